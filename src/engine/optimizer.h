// Stage 4: graph optimisations on the IR. Each pass keeps the graph's
// observable behaviour (outputs for every input) unchanged.
#ifndef CITADEL_ENGINE_OPTIMIZER_H_
#define CITADEL_ENGINE_OPTIMIZER_H_

#include <cstddef>

#include "citadel/status.h"
#include "graph.h"
#include "kernel.h"

namespace citadel::engine {

struct OptimizeStats {
  size_t folded = 0;   // nodes replaced by constants
  size_t removed = 0;  // dead nodes dropped
  size_t fused = 0;    // nodes folded or fused into a Conv
};

// Runs every node whose inputs are all constants once, at Load, and turns
// its outputs into constants. Results larger than max_folded_bytes stay
// computed at run time (folding must not turn a small model into a big one).
// A node that fails on constant inputs fails the Load: it would fail every Run.
Status FoldConstants(Graph* graph, const OpRegistry& registry, size_t max_folded_bytes,
                     OptimizeStats* stats);

// Optimises the subgraphs of If/Loop/Scan nodes, innermost first: an outer
// constant a subgraph reads becomes a constant inside it, then FoldConstants
// (loop-invariant work is done once, at Load) and EliminateDeadNodes run on
// the subgraph. Run after FoldConstants on the main graph.
Status OptimizeSubgraphs(Graph* graph, const OpRegistry& registry, size_t max_folded_bytes,
                         OptimizeStats* stats);

// Drops nodes none of whose outputs reach a graph output, and constants
// nothing reads any more.
void EliminateDeadNodes(Graph* graph, OptimizeStats* stats);

// Inference fusions for the oneDNN kernels (float32 only):
//  * Conv + BatchNormalization (constant statistics) -> Conv with folded
//    weights and bias;
//  * Conv + a chain of Relu / Clip / LeakyRelu / Sigmoid / x*Sigmoid(x)
//    (SiLU) / residual Add (same shape) -> one Conv with post-ops
//    (ops/post_ops.h). The fused node takes the place of the chain's last
//    node, so a residual produced after the Conv is ready when it runs.
// Only values read by exactly one node (and not graph outputs) are fused
// away. Run EliminateDeadNodes afterwards to drop the unread constants.
void FuseForInference(Graph* graph, OptimizeStats* stats);

}  // namespace citadel::engine

#endif  // CITADEL_ENGINE_OPTIMIZER_H_
