// Running a subgraph (the body of If, Loop or Scan) from inside a kernel.
//
// A subgraph is its own Graph with its own Plan, built when the kernel is
// built (at Load). At run time the kernel binds the subgraph's formal inputs
// (Loop's iteration number and carried values, Scan's slices) and its
// outer-scope captures (the node's implicit inputs), executes the plan and
// gets the subgraph's outputs back.
#ifndef CITADEL_ENGINE_SUBGRAPH_H_
#define CITADEL_ENGINE_SUBGRAPH_H_

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "citadel/status.h"
#include "citadel/tensor.h"
#include "graph.h"
#include "kernel.h"
#include "plan.h"

namespace citadel::engine {

struct Subgraph {
  std::shared_ptr<const Graph> graph;
  Plan plan;
  // Per graph->capture_ids[k]: the index of the node input that carries it.
  std::vector<size_t> capture_inputs;
  size_t num_inputs() const { return graph->input_ids.size(); }
  size_t num_outputs() const { return graph->output_ids.size(); }
};

// Builds the plan of graph attribute `attr` of the node being initialised
// and maps its captures to the node's implicit inputs. Unsupported ops in
// the subgraph fail here, at Load.
Result<Subgraph> PrepareSubgraph(const KernelInit& init, const std::string& attr);

// Runs `sg` with `inputs` bound to its formal inputs (in order) and its
// captures taken from `ctx`'s inputs. Memory and limits come from `ctx`.
// An output that shares memory with a constant of the subgraph is copied,
// so no caller can write into the model.
Result<std::vector<Tensor>> RunSubgraph(const Subgraph& sg, std::span<const Tensor> inputs,
                                        const KernelContext& ctx);

// Tensor i along `axis` of `t` (rank reduced by one).
Result<Tensor> SliceAlongAxis(const Tensor& t, int64_t axis, int64_t i, const KernelContext& ctx);

// Stacks `parts` (same dtype and shape S) into S with a new dimension of
// size parts.size() inserted at `axis`; part j goes to index j, or to
// parts.size()-1-j when `reverse`. With no parts, `empty_shape` (the shape S
// or nothing when unknown) gives [0]+S, or [0] when unknown.
Result<Tensor> StackAlongAxis(const std::vector<Tensor>& parts, int64_t axis, bool reverse,
                              DType dtype, const std::optional<Shape>& empty_shape,
                              const KernelContext& ctx);

}  // namespace citadel::engine

#endif  // CITADEL_ENGINE_SUBGRAPH_H_
