// Stage 5: from the optimised IR to an executable plan: one kernel per node
// (looked up in the op registry) and the liveness of every value, so the
// executor can free intermediates as soon as their last reader has run.
#ifndef CITADEL_ENGINE_PLAN_H_
#define CITADEL_ENGINE_PLAN_H_

#include <memory>
#include <string>
#include <vector>

#include "citadel/status.h"
#include "graph.h"
#include "kernel.h"

namespace citadel::engine {

struct Step {
  size_t node;                          // index into Graph::nodes
  std::unique_ptr<Kernel> kernel;
  std::vector<int> release_after;       // values no later step reads
  // Layout (see KernelContext::blocked_channels): per input, the logical
  // channel count when the value is stored blocked, else 0; empty when no
  // input is blocked. out_blocked: output 0 is stored blocked.
  std::vector<int64_t> in_blocked;
  bool out_blocked = false;
  // Per input: true when its value may become an output of this step
  // (KernelContext::TakeInputAsOutput): produced by a node of this graph,
  // released after this step, read once by this node, not a graph output.
  // Empty when no input qualifies.
  std::vector<bool> donors;
};

struct Plan {
  std::vector<Step> steps;
};

// Fails with Unsupported for the first node no kernel implements, naming op
// type, domain, opset and node. Used before the ONNX checker so that an op
// we lack is reported as such, not as a schema error.
Status CheckSupported(const Graph& graph, const OpRegistry& registry);

// Recurses into subgraphs (If/Loop/Scan bodies), naming the path to the node.
// Also chooses the layout of every value: a 4-D float32 activation flows in
// oneDNN's channel-blocked layout between kernels that all handle it (Conv,
// pooling, Concat, ...), so the reorders happen only at the boundaries.
Result<Plan> BuildPlan(const Graph& graph, const OpRegistry& registry);

// Executes `plan` over `slots` (one per value of `graph`, already holding
// the constants and the bound inputs): runs each step, stores its outputs
// and releases values after their last reader. Used by Model::Run and by
// the kernels that run subgraphs. `pool` may be null (heap); `profile`, when
// non-null, gets one entry per executed node.
Status ExecutePlan(const Graph& graph, const Plan& plan, std::vector<Tensor>* slots,
                   size_t max_tensor_bytes, BufferPool* pool, std::vector<NodeTiming>* profile);

}  // namespace citadel::engine

#endif  // CITADEL_ENGINE_PLAN_H_
