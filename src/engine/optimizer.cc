#include "optimizer.h"

#include <vector>

namespace citadel::engine {

Status FoldConstants(Graph* g, const OpRegistry& registry, size_t max_folded_bytes,
                     OptimizeStats* stats) {
  std::vector<Node> kept;
  kept.reserve(g->nodes.size());
  for (size_t n = 0; n < g->nodes.size(); ++n) {
    Node& node = g->nodes[n];
    bool all_const = true;
    for (int in : node.inputs) {
      if (in != kNoValue && !g->values[in].is_constant()) all_const = false;
    }
    if (!all_const) {
      kept.push_back(std::move(node));
      continue;
    }
    auto factory = registry.Find(node.domain, node.op_type, g->OpsetFor(node.domain));
    if (!factory.ok()) return factory.status();  // planning reports it with context
    auto kernel = (**factory)(KernelInit{node, g->OpsetFor(node.domain), *g});
    if (!kernel.ok()) {
      kept.push_back(std::move(node));  // planning reports it with context
      continue;
    }
    std::vector<const Tensor*> inputs;
    for (int in : node.inputs) inputs.push_back(in == kNoValue ? nullptr : &g->values[in].constant);
    std::vector<Tensor> outputs(node.outputs.size());
    KernelContext ctx(inputs, &outputs, max_folded_bytes);
    Status st = (*kernel)->Run(ctx);
    if (st.code() == Code::kResourceExhausted) {
      kept.push_back(std::move(node));
      continue;
    }
    if (!st.ok()) {
      return st.WithContext("node " + node.DisplayName(n) + " (" + node.op_type +
                            ") on constant inputs");
    }
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o] == kNoValue) continue;
      if (!outputs[o].valid()) {
        return Status::Internal("node " + node.DisplayName(n) + " (" + node.op_type +
                                ") produced no output " + std::to_string(o));
      }
      Value& v = g->values[node.outputs[o]];
      v.constant = outputs[o];
      v.type.dtype = outputs[o].dtype();
      v.type.shape = outputs[o].shape();
    }
    ++stats->folded;
  }
  g->nodes = std::move(kept);
  return Status::Ok();
}

void EliminateDeadNodes(Graph* g, OptimizeStats* stats) {
  std::vector<bool> live(g->values.size(), false);
  for (int id : g->output_ids) live[id] = true;
  std::vector<bool> keep(g->nodes.size(), false);
  for (size_t n = g->nodes.size(); n-- > 0;) {
    const Node& node = g->nodes[n];
    for (int o : node.outputs) {
      if (o != kNoValue && live[o]) keep[n] = true;
    }
    if (!keep[n]) continue;
    for (int in : node.inputs) {
      if (in != kNoValue) live[in] = true;
    }
  }
  std::vector<Node> kept;
  for (size_t n = 0; n < g->nodes.size(); ++n) {
    if (keep[n]) {
      kept.push_back(std::move(g->nodes[n]));
    } else {
      ++stats->removed;
    }
  }
  g->nodes = std::move(kept);
  // Unread constants (weights of removed nodes, folded intermediates) would
  // only hold memory.
  for (size_t v = 0; v < g->values.size(); ++v) {
    Value& val = g->values[v];
    if (!live[v] && val.constant.valid() && !val.overridable) val.constant = Tensor();
  }
}

}  // namespace citadel::engine
