#include "subgraph.h"

#include <cstring>

namespace citadel::engine {

Result<Subgraph> PrepareSubgraph(const KernelInit& init, const std::string& attr) {
  CITADEL_ASSIGN_OR_RETURN(std::shared_ptr<Graph> g, init.node.attrs.GetGraph(attr));
  Subgraph sg;
  sg.graph = g;
  for (int cap : g->capture_ids) {
    const std::string& name = g->values[cap].name;
    size_t found = init.node.inputs.size();
    for (size_t i = 0; i < init.node.inputs.size(); ++i) {
      const int v = init.node.inputs[i];
      if (v != kNoValue && init.graph.values[v].name == name) found = i;
    }
    if (found == init.node.inputs.size()) {
      return Status::Internal("subgraph '" + attr + "' reads outer value '" + name +
                              "', which the node does not carry");
    }
    sg.capture_inputs.push_back(found);
  }
  auto plan = BuildPlan(*g, OpRegistry::Default());
  if (!plan.ok()) return plan.status().WithContext("subgraph '" + attr + "'");
  sg.plan = std::move(plan).value();
  return sg;
}

namespace {
bool AliasesConstant(const Graph& g, const Tensor& t) {
  if (t.dtype() == DType::kString) return true;  // cheap to copy, not worth tracking
  if (t.byte_size() == 0) return false;
  const uint8_t* p = t.raw_data();
  for (const auto& v : g.values) {
    if (!v.constant.valid() || v.constant.dtype() == DType::kString) continue;
    const uint8_t* c = v.constant.raw_data();
    if (p >= c && p < c + v.constant.byte_size()) return true;
  }
  return false;
}
}  // namespace

Result<std::vector<Tensor>> RunSubgraph(const Subgraph& sg, std::span<const Tensor> inputs,
                                        const KernelContext& ctx) {
  const Graph& g = *sg.graph;
  if (inputs.size() != g.input_ids.size()) {
    return Status::InvalidArgument("subgraph takes " + std::to_string(g.input_ids.size()) +
                                   " inputs, given " + std::to_string(inputs.size()));
  }
  std::vector<Tensor> slots(g.values.size());
  for (size_t v = 0; v < g.values.size(); ++v) {
    if (g.values[v].constant.valid()) slots[v] = g.values[v].constant;
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value& v = g.values[g.input_ids[i]];
    if (!inputs[i].valid()) {
      return Status::InvalidArgument("subgraph input '" + v.name + "' is not set");
    }
    if (v.type.dtype && *v.type.dtype != inputs[i].dtype()) {
      return Status::InvalidArgument("subgraph input '" + v.name + "' must be " +
                                     std::string(DTypeName(*v.type.dtype)) + ", got " +
                                     std::string(DTypeName(inputs[i].dtype())));
    }
    slots[g.input_ids[i]] = inputs[i];
  }
  for (size_t k = 0; k < g.capture_ids.size(); ++k) {
    const Tensor* t = ctx.input(sg.capture_inputs[k]);
    if (t == nullptr || !t->valid()) {
      if (g.values[g.capture_ids[k]].constant.valid()) continue;  // folded in at Load
      return Status::Internal("outer value '" + g.values[g.capture_ids[k]].name +
                              "' is not available to the subgraph");
    }
    slots[g.capture_ids[k]] = *t;
  }
  CITADEL_RETURN_IF_ERROR(
      ExecutePlan(g, sg.plan, &slots, ctx.max_tensor_bytes(), ctx.pool(), nullptr));
  std::vector<Tensor> out;
  out.reserve(g.output_ids.size());
  for (size_t i = 0; i < g.output_ids.size(); ++i) {
    Tensor t = slots[g.output_ids[i]];
    if (!t.valid()) {
      return Status::Internal("subgraph output '" + g.values[g.output_ids[i]].name +
                              "' was not computed");
    }
    out.push_back(AliasesConstant(g, t) ? t.Clone() : std::move(t));
  }
  return out;
}

Result<Tensor> SliceAlongAxis(const Tensor& t, int64_t axis, int64_t i, const KernelContext& ctx) {
  const Shape& s = t.shape();
  if (axis < 0 || axis >= static_cast<int64_t>(s.size()) || i < 0 || i >= s[axis]) {
    return Status::InvalidArgument("slice " + std::to_string(i) + " along axis " +
                                   std::to_string(axis) + " of " + ShapeToString(s));
  }
  Shape out_shape = s;
  out_shape.erase(out_shape.begin() + axis);
  size_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= static_cast<size_t>(s[d]);
  for (size_t d = axis + 1; d < s.size(); ++d) inner *= static_cast<size_t>(s[d]);
  const size_t n = static_cast<size_t>(s[axis]);
  if (t.dtype() == DType::kString) {
    std::vector<std::string> v(outer * inner);
    for (size_t o = 0; o < outer; ++o) {
      for (size_t k = 0; k < inner; ++k) v[o * inner + k] = t.strings()[(o * n + i) * inner + k];
    }
    return Tensor::FromStrings(out_shape, std::move(v));
  }
  const size_t es = DTypeSize(t.dtype());
  CITADEL_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(t.dtype(), out_shape, /*zero=*/false));
  if (out.byte_size() == 0) return out;
  for (size_t o = 0; o < outer; ++o) {
    std::memcpy(out.raw_data() + o * inner * es, t.raw_data() + (o * n + i) * inner * es,
                inner * es);
  }
  return out;
}

Result<Tensor> StackAlongAxis(const std::vector<Tensor>& parts, int64_t axis, bool reverse,
                              DType dtype, const std::optional<Shape>& empty_shape,
                              const KernelContext& ctx) {
  if (parts.empty()) {
    Shape s = empty_shape.value_or(Shape{});
    for (int64_t& d : s) d = d < 0 ? 0 : d;  // no data: an unknown dim is empty too
    if (axis < 0 || axis > static_cast<int64_t>(s.size())) axis = 0;
    s.insert(s.begin() + axis, 0);
    if (dtype == DType::kString) return Tensor::FromStrings(s, {});
    return ctx.NewTensor(dtype, s);
  }
  const Shape& s = parts[0].shape();
  if (axis < 0 || axis > static_cast<int64_t>(s.size())) {
    return Status::InvalidArgument("axis " + std::to_string(axis) + " is out of range for rank " +
                                   std::to_string(s.size() + 1));
  }
  for (const Tensor& p : parts) {
    if (p.dtype() != parts[0].dtype() || p.shape() != s) {
      return Status::InvalidArgument("per-iteration outputs differ: " + ShapeToString(s) + " " +
                                     std::string(DTypeName(parts[0].dtype())) + " vs " +
                                     ShapeToString(p.shape()) + " " +
                                     std::string(DTypeName(p.dtype())));
    }
  }
  const size_t n = parts.size();
  Shape out_shape = s;
  out_shape.insert(out_shape.begin() + axis, static_cast<int64_t>(n));
  size_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= static_cast<size_t>(s[d]);
  for (size_t d = axis; d < s.size(); ++d) inner *= static_cast<size_t>(s[d]);
  if (parts[0].dtype() == DType::kString) {
    std::vector<std::string> v(outer * n * inner);
    for (size_t j = 0; j < n; ++j) {
      const size_t at = reverse ? n - 1 - j : j;
      for (size_t o = 0; o < outer; ++o) {
        for (size_t k = 0; k < inner; ++k) v[(o * n + at) * inner + k] = parts[j].strings()[o * inner + k];
      }
    }
    return Tensor::FromStrings(out_shape, std::move(v));
  }
  const size_t es = DTypeSize(parts[0].dtype());
  CITADEL_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(parts[0].dtype(), out_shape, /*zero=*/false));
  if (out.byte_size() == 0) return out;
  for (size_t j = 0; j < n; ++j) {
    const size_t at = reverse ? n - 1 - j : j;
    for (size_t o = 0; o < outer; ++o) {
      std::memcpy(out.raw_data() + (o * n + at) * inner * es,
                  parts[j].raw_data() + o * inner * es, inner * es);
    }
  }
  return out;
}

}  // namespace citadel::engine
