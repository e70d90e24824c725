#include "plan.h"

#include <algorithm>

#include <chrono>

namespace citadel::engine {

namespace {
std::string NodeContext(const Graph& g, size_t n) {
  const Node& node = g.nodes[n];
  return "node " + node.DisplayName(n) + " (" + node.op_type + ")";
}
// Chooses which values are stored channel-blocked. A value is blocked when
// it is a 4-D float32 activation with static C, H, W, produced as output 0
// by a kernel that can write blocked, read only by kernels that can read it
// blocked, and not a graph output. Kernels whose input and output layouts
// are tied (pooling, Concat) then force their inputs and output to agree:
// any of them plain makes all of them plain, repeated to a fixpoint.
void PlanLayouts(const Graph& g, const std::vector<bool>& is_output, Plan* plan) {
  const size_t nv = g.values.size();
  std::vector<bool> blocked(nv, false);
  std::vector<int> producer(nv, -1);
  for (size_t s = 0; s < plan->steps.size(); ++s) {
    const Node& node = g.nodes[plan->steps[s].node];
    if (!node.outputs.empty() && node.outputs[0] != kNoValue) producer[node.outputs[0]] = static_cast<int>(s);
  }
  for (size_t v = 0; v < nv; ++v) {
    const Value& val = g.values[v];
    if (producer[v] < 0 || is_output[v] || val.is_constant()) continue;
    if (!val.type.dtype || *val.type.dtype != DType::kFloat32 || !val.type.shape) continue;
    const Shape& sh = *val.type.shape;
    if (sh.size() != 4 || sh[1] <= 0 || sh[2] <= 0 || sh[3] <= 0) continue;
    blocked[v] = plan->steps[producer[v]].kernel->CanWriteBlocked();
  }
  for (const Step& step : plan->steps) {
    const Node& node = g.nodes[step.node];
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int in = node.inputs[i];
      if (in != kNoValue && !step.kernel->CanReadBlocked(i)) blocked[in] = false;
    }
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (const Step& step : plan->steps) {
      if (!step.kernel->BlockedTied()) continue;
      const Node& node = g.nodes[step.node];
      std::vector<int> tied;
      if (!node.outputs.empty() && node.outputs[0] != kNoValue) tied.push_back(node.outputs[0]);
      for (size_t i = 0; i < node.inputs.size(); ++i) {
        if (node.inputs[i] != kNoValue && step.kernel->CanReadBlocked(i)) tied.push_back(node.inputs[i]);
      }
      bool all = !tied.empty() && node.outputs[0] != kNoValue;
      for (int v : tied) all = all && blocked[v];
      if (all) continue;
      for (int v : tied) {
        if (blocked[v]) {
          blocked[v] = false;
          changed = true;
        }
      }
    }
  }
  for (Step& step : plan->steps) {
    const Node& node = g.nodes[step.node];
    bool any = false;
    std::vector<int64_t> in(node.inputs.size(), 0);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int v = node.inputs[i];
      if (v != kNoValue && blocked[v]) {
        in[i] = (*g.values[v].type.shape)[1];
        any = true;
      }
    }
    if (any) step.in_blocked = std::move(in);
    step.out_blocked = !node.outputs.empty() && node.outputs[0] != kNoValue && blocked[node.outputs[0]];
  }
}

}  // namespace

Status CheckSupported(const Graph& g, const OpRegistry& registry) {
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const Node& node = g.nodes[n];
    auto f = registry.Find(node.domain, node.op_type, g.OpsetFor(node.domain));
    if (!f.ok()) return f.status().WithContext(NodeContext(g, n));
    for (const auto& [name, a] : node.attrs.all()) {
      if (a.kind != Attribute::Kind::kGraph || !a.g) continue;
      Status st = CheckSupported(*a.g, registry);
      if (!st.ok()) return st.WithContext("subgraph '" + name + "' of " + NodeContext(g, n));
    }
  }
  return Status::Ok();
}

Status ExecutePlan(const Graph& g, const Plan& plan, std::vector<Tensor>* slots,
                   size_t max_tensor_bytes, BufferPool* pool, std::vector<NodeTiming>* profile) {
  std::vector<const Tensor*> in_ptrs;
  std::vector<Tensor*> donor_slots;
  std::vector<Tensor> outs;
  for (const Step& step : plan.steps) {
    const Node& node = g.nodes[step.node];
    in_ptrs.clear();
    donor_slots.clear();
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int in = node.inputs[i];
      in_ptrs.push_back(in == kNoValue ? nullptr : &(*slots)[in]);
      if (!step.donors.empty()) donor_slots.push_back(step.donors[i] ? &(*slots)[in] : nullptr);
    }
    outs.assign(node.outputs.size(), Tensor());
    KernelContext ctx(in_ptrs, &outs, max_tensor_bytes);
    ctx.SetLayout(step.in_blocked, step.out_blocked);
    ctx.SetPool(pool);
    ctx.SetDonors(donor_slots);
    const auto start = profile ? std::chrono::steady_clock::now()
                               : std::chrono::steady_clock::time_point();
    Status st = step.kernel->Run(ctx);
    if (profile != nullptr) {
      const double ms = std::chrono::duration<double, std::milli>(
                            std::chrono::steady_clock::now() - start).count();
      profile->push_back(NodeTiming{
          node.name.empty() ? "#" + std::to_string(step.node) : node.name, node.op_type, ms});
    }
    if (!st.ok()) return st.WithContext(NodeContext(g, step.node));
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const int id = node.outputs[o];
      if (id == kNoValue) continue;
      if (!outs[o].valid()) {
        return Status::Internal(NodeContext(g, step.node) + " produced no output " +
                                std::to_string(o));
      }
      (*slots)[id] = std::move(outs[o]);
    }
    for (int v : step.release_after) (*slots)[v] = Tensor();
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
  // Donatable inputs (in-place outputs): only values this graph's nodes
  // produce, so never a graph input (the caller's memory), a constant (the
  // model's weights) or a value of an enclosing graph.
  std::vector<bool> produced(g.values.size(), false);
  for (const Node& node : g.nodes) {
    for (int o : node.outputs) {
      if (o != kNoValue) produced[o] = true;
    }
  }
  for (Step& step : plan.steps) {
    const Node& node = g.nodes[step.node];
    std::vector<bool> donors(node.inputs.size(), false);
    bool any = false;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int v = node.inputs[i];
      if (v == kNoValue || !produced[v] || is_output[v] || g.values[v].is_constant()) continue;
      if (std::count(node.inputs.begin(), node.inputs.end(), v) != 1) continue;
      if (std::find(step.release_after.begin(), step.release_after.end(), v) == step.release_after.end()) continue;
      donors[i] = any = true;
    }
    if (any) step.donors = std::move(donors);
  }
  PlanLayouts(g, is_output, &plan);
  return plan;
}

}  // namespace citadel::engine
