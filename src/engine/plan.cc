#include "plan.h"

namespace citadel::engine {

namespace {
std::string NodeContext(const Graph& g, size_t n) {
  const Node& node = g.nodes[n];
  return "node " + node.DisplayName(n) + " (" + node.op_type + ")";
}
}  // namespace

Status CheckSupported(const Graph& g, const OpRegistry& registry) {
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const Node& node = g.nodes[n];
    auto f = registry.Find(node.domain, node.op_type, g.OpsetFor(node.domain));
    if (!f.ok()) return f.status().WithContext(NodeContext(g, n));
  }
  return Status::Ok();
}

Result<Plan> BuildPlan(const Graph& g, const OpRegistry& registry) {
  Plan plan;
  std::vector<int> last_use(g.values.size(), -1);
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const Node& node = g.nodes[n];
    auto f = registry.Find(node.domain, node.op_type, g.OpsetFor(node.domain));
    if (!f.ok()) return f.status().WithContext(NodeContext(g, n));
    auto kernel = (**f)(KernelInit{node, g.OpsetFor(node.domain), g});
    if (!kernel.ok()) return kernel.status().WithContext(NodeContext(g, n));
    plan.steps.push_back(Step{n, std::move(kernel).value(), {}});
    for (int in : node.inputs) {
      if (in != kNoValue) last_use[in] = static_cast<int>(n);
    }
    // A value nobody reads is released right after it is produced.
    for (int o : node.outputs) {
      if (o != kNoValue && last_use[o] < static_cast<int>(n)) last_use[o] = static_cast<int>(n);
    }
  }
  std::vector<bool> is_output(g.values.size(), false);
  for (int id : g.output_ids) is_output[id] = true;
  for (size_t v = 0; v < g.values.size(); ++v) {
    if (last_use[v] < 0 || is_output[v]) continue;
    plan.steps[last_use[v]].release_after.push_back(static_cast<int>(v));
  }
  return plan;
}

}  // namespace citadel::engine
