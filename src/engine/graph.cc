#include "graph.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <set>

#include <onnx/onnx_pb.h>

#include "tensor_proto.h"

namespace citadel::engine {

// ---- Attributes -------------------------------------------------------------

const Attribute* Attributes::Find(const std::string& name) const {
  auto it = map_.find(name);
  return it == map_.end() ? nullptr : &it->second;
}

namespace {
Status WrongKind(const std::string& name, const char* want) {
  return Status::InvalidArgument("attribute '" + name + "' must be " + want);
}
}  // namespace

Result<int64_t> Attributes::GetInt(const std::string& name, int64_t def) const {
  const Attribute* a = Find(name);
  if (a == nullptr) return def;
  if (a->kind != Attribute::Kind::kInt) return WrongKind(name, "an int");
  return a->i;
}

Result<float> Attributes::GetFloat(const std::string& name, float def) const {
  const Attribute* a = Find(name);
  if (a == nullptr) return def;
  if (a->kind != Attribute::Kind::kFloat) return WrongKind(name, "a float");
  return a->f;
}

Result<std::string> Attributes::GetString(const std::string& name, const std::string& def) const {
  const Attribute* a = Find(name);
  if (a == nullptr) return def;
  if (a->kind != Attribute::Kind::kString) return WrongKind(name, "a string");
  return a->s;
}

Result<std::vector<int64_t>> Attributes::GetInts(const std::string& name,
                                                 const std::vector<int64_t>& def) const {
  const Attribute* a = Find(name);
  if (a == nullptr) return def;
  // An empty list is encoded with no values, so its kind may look undefined.
  if (a->kind == Attribute::Kind::kOther && a->ints.empty()) return std::vector<int64_t>{};
  if (a->kind != Attribute::Kind::kInts) return WrongKind(name, "a list of ints");
  return a->ints;
}

Result<std::vector<float>> Attributes::GetFloats(const std::string& name) const {
  const Attribute* a = Find(name);
  if (a == nullptr) return std::vector<float>{};
  if (a->kind != Attribute::Kind::kFloats) return WrongKind(name, "a list of floats");
  return a->floats;
}

Result<std::shared_ptr<Graph>> Attributes::GetGraph(const std::string& name) const {
  const Attribute* a = Find(name);
  if (a == nullptr) return Status::InvalidArgument("missing graph attribute '" + name + "'");
  if (a->kind != Attribute::Kind::kGraph || !a->g) return WrongKind(name, "a graph");
  return a->g;
}

Result<Tensor> Attributes::GetTensor(const std::string& name) const {
  const Attribute* a = Find(name);
  if (a == nullptr) return Status::InvalidArgument("missing tensor attribute '" + name + "'");
  if (a->kind != Attribute::Kind::kTensor) return WrongKind(name, "a tensor");
  return a->t;
}

// ---- Graph ------------------------------------------------------------------

std::string Node::DisplayName(size_t index) const {
  return name.empty() ? "#" + std::to_string(index) : "'" + name + "'";
}

int64_t Graph::OpsetFor(const std::string& domain) const {
  auto it = opsets.find(domain);
  return it == opsets.end() ? 0 : it->second;
}

int Graph::AddValue(const std::string& name) {
  int id = static_cast<int>(values.size());
  values.push_back(Value{name, {}, {}, false});
  value_ids.emplace(name, id);
  return id;
}

namespace {

std::string NormalizeDomain(const std::string& d) { return d == "ai.onnx" ? "" : d; }

Result<Attribute> ConvertAttribute(const onnx::AttributeProto& ap) {
  using A = onnx::AttributeProto;
  Attribute a;
  int type = ap.type();
  if (type == A::UNDEFINED) {
    // Very old exporters leave `type` unset; infer it from the populated field.
    if (ap.has_f()) type = A::FLOAT;
    else if (ap.has_i()) type = A::INT;
    else if (ap.has_s()) type = A::STRING;
    else if (ap.has_t()) type = A::TENSOR;
    else if (ap.floats_size() > 0) type = A::FLOATS;
    else if (ap.ints_size() > 0) type = A::INTS;
    else if (ap.strings_size() > 0) type = A::STRINGS;
  }
  switch (type) {
    case A::FLOAT: a.kind = Attribute::Kind::kFloat; a.f = ap.f(); break;
    case A::INT: a.kind = Attribute::Kind::kInt; a.i = ap.i(); break;
    case A::STRING: a.kind = Attribute::Kind::kString; a.s = ap.s(); break;
    case A::TENSOR: {
      a.kind = Attribute::Kind::kTensor;
      auto t = TensorFromProto(ap.t());
      if (!t.ok()) return t.status().WithContext("attribute '" + ap.name() + "'");
      a.t = std::move(t).value();
      break;
    }
    case A::FLOATS:
      a.kind = Attribute::Kind::kFloats;
      a.floats.assign(ap.floats().begin(), ap.floats().end());
      break;
    case A::INTS:
      a.kind = Attribute::Kind::kInts;
      a.ints.assign(ap.ints().begin(), ap.ints().end());
      break;
    case A::STRINGS:
      a.kind = Attribute::Kind::kStrings;
      a.strings.assign(ap.strings().begin(), ap.strings().end());
      break;
    default:
      // Graphs, sparse tensors, type protos: only ops we do not implement use
      // them, and those fail at planning with a clearer message.
      a.kind = Attribute::Kind::kOther;
      break;
  }
  return a;
}

// Reads element type and shape of a tensor-typed ValueInfoProto.
Result<TensorInfo> InfoFromValueInfo(const onnx::ValueInfoProto& vi, ValueType* vt) {
  TensorInfo info;
  info.name = vi.name();
  if (!vi.has_type() || !vi.type().has_tensor_type()) {
    return Status::Unsupported("graph input/output '" + vi.name() +
                               "' is not a tensor (sequences, maps and optionals are not supported)");
  }
  const auto& tt = vi.type().tensor_type();
  auto dt = DTypeFromOnnx(tt.elem_type());
  if (!dt.ok()) return dt.status().WithContext("graph input/output '" + vi.name() + "'");
  info.dtype = *dt;
  vt->dtype = *dt;
  if (tt.has_shape()) {
    Shape shape;
    for (const auto& d : tt.shape().dim()) {
      if (d.has_dim_value()) {
        if (d.dim_value() < 0) {
          return Status::InvalidArgument("graph input/output '" + vi.name() +
                                         "' has a negative dimension");
        }
        info.shape.push_back(d.dim_value());
        info.dim_params.push_back("");
      } else {
        info.shape.push_back(-1);
        info.dim_params.push_back(d.has_dim_param() ? d.dim_param() : "");
      }
      shape.push_back(info.shape.back());
    }
    vt->shape = shape;
  }
  return info;
}

}  // namespace

namespace {

// Initializers at least this large are released by BuildGraphReleasingWeights.
// Shape inference reads constant *values* only for shape-like inputs
// (Reshape, Slice, Expand, Resize scales, ...), which are far smaller.
constexpr size_t kReleaseMinBytes = size_t{64} << 10;

// Answers whether an enclosing scope defines `name` (creating the capture
// there when that scope is itself a subgraph). Null for the main graph.
using OuterScope = std::function<bool(const std::string&)>;

// Subgraphs nest; a hostile model must not recurse the stack away.
constexpr int kMaxSubgraphDepth = 32;

// `release`: the same GraphProto, mutable, whose large initializers are
// freed once converted (BuildGraphReleasingWeights), or null.
Result<Graph> BuildGraphFrom(const onnx::GraphProto& gp, const std::map<std::string, int64_t>& opsets,
                             const OuterScope* outer, int depth,
                             onnx::GraphProto* release = nullptr) {
  if (depth > kMaxSubgraphDepth) {
    return Status::InvalidArgument("subgraphs are nested more than " +
                                   std::to_string(kMaxSubgraphDepth) + " deep");
  }
  const bool sub = outer != nullptr;
  Graph g;
  g.graph_name = gp.name();
  g.opsets = opsets;
  // Local definitions first, then the enclosing scopes (captured on first use).
  auto resolve = [&](const std::string& name) -> int {
    auto it = g.value_ids.find(name);
    if (it != g.value_ids.end()) return it->second;
    if (outer == nullptr || !(*outer)(name)) return kNoValue;
    int id = g.AddValue(name);
    g.capture_ids.push_back(id);
    return id;
  };
  const OuterScope inner = [&](const std::string& name) { return resolve(name) != kNoValue; };
  if (gp.sparse_initializer_size() > 0) {
    return Status::Unsupported("sparse initializers are not supported");
  }

  // Initializers first: they are values with a known tensor.
  for (int i = 0; i < gp.initializer_size(); ++i) {
    const onnx::TensorProto& tp = gp.initializer(i);
    if (tp.name().empty()) return Status::InvalidArgument("initializer without a name");
    if (g.value_ids.count(tp.name())) {
      return Status::InvalidArgument("initializer '" + tp.name() + "' is defined twice");
    }
    auto t = TensorFromProto(tp);
    if (!t.ok()) return t.status().WithContext("initializer '" + tp.name() + "'");
    if (release != nullptr && tp.raw_data().size() >= kReleaseMinBytes) {
      // `tp` is `release`'s own initializer i (same object, viewed const).
      auto* mutable_tp = release->mutable_initializer(i);
      std::string stub(1, '\0');
      mutable_tp->mutable_raw_data()->swap(stub);  // the bytes are freed with `stub`
    }
    int id = g.AddValue(tp.name());
    g.values[id].constant = std::move(t).value();
    g.values[id].type.dtype = g.values[id].constant.dtype();
    g.values[id].type.shape = g.values[id].constant.shape();
  }

  // Graph inputs. Those backed by an initializer are optional overrides and
  // are not listed in `inputs` (old exporters list every weight there).
  std::set<std::string> seen_inputs;
  for (const auto& vi : gp.input()) {
    if (vi.name().empty()) return Status::InvalidArgument("graph input without a name");
    if (!seen_inputs.insert(vi.name()).second) {
      return Status::InvalidArgument("graph input '" + vi.name() + "' is listed twice");
    }
    ValueType vt;
    auto info_or = InfoFromValueInfo(vi, &vt);
    // Subgraph inputs may leave their type to inference (Loop/Scan bodies).
    if (!info_or.ok() && !(sub && !vi.type().has_tensor_type())) return info_or.status();
    TensorInfo info = info_or.ok() ? std::move(info_or).value() : TensorInfo{vi.name(), {}, {}, {}};
    auto it = g.value_ids.find(vi.name());
    if (it != g.value_ids.end()) {
      Value& v = g.values[it->second];
      if (vt.dtype && *vt.dtype != v.constant.dtype()) {
        return Status::InvalidArgument("graph input '" + vi.name() +
                                       "' disagrees with its initializer's type");
      }
      v.overridable = true;
      continue;
    }
    int id = g.AddValue(vi.name());
    g.values[id].type = vt;
    g.input_ids.push_back(id);
    g.inputs.push_back(std::move(info));
  }

  // Nodes: create every output value first so inputs may refer to values
  // produced later in file order (we sort below).
  std::vector<Node> nodes;
  nodes.reserve(gp.node_size());
  for (int n = 0; n < gp.node_size(); ++n) {
    const auto& np = gp.node(n);
    Node node;
    node.name = np.name();
    node.op_type = np.op_type();
    node.domain = NormalizeDomain(np.domain());
    if (node.op_type.empty()) {
      return Status::InvalidArgument("node #" + std::to_string(n) + " has no op_type");
    }
    for (const auto& out : np.output()) {
      if (out.empty()) {
        node.outputs.push_back(kNoValue);
        continue;
      }
      if (g.value_ids.count(out)) {
        return Status::InvalidArgument("node " + node.DisplayName(n) + " (" + node.op_type +
                                       ") writes '" + out + "', which is already defined");
      }
      node.outputs.push_back(g.AddValue(out));
    }
    for (const auto& ap : np.attribute()) {
      auto a = ConvertAttribute(ap);
      if (!a.ok()) {
        return a.status().WithContext("node " + node.DisplayName(n) + " (" + node.op_type + ")");
      }
      node.attrs.Set(ap.name(), std::move(a).value());
    }
    nodes.push_back(std::move(node));
  }
  for (int n = 0; n < gp.node_size(); ++n) {
    for (const auto& in : gp.node(n).input()) {
      if (in.empty()) {
        nodes[n].inputs.push_back(kNoValue);
        continue;
      }
      const int id = resolve(in);
      if (id == kNoValue) {
        return Status::InvalidArgument("node " + nodes[n].DisplayName(n) + " (" +
                                       nodes[n].op_type + ") reads '" + in +
                                       "', which nothing defines");
      }
      nodes[n].inputs.push_back(id);
    }
    // Subgraphs are built once every value of this graph exists, so they may
    // read any of them; what they read becomes implicit inputs of the node.
    for (const auto& ap : gp.node(n).attribute()) {
      if (ap.type() != onnx::AttributeProto::GRAPH && !(ap.type() == 0 && ap.has_g())) continue;
      auto body = BuildGraphFrom(ap.g(), opsets, &inner, depth + 1);
      if (!body.ok()) {
        return body.status().WithContext("subgraph '" + ap.name() + "' of node " +
                                         nodes[n].DisplayName(n) + " (" + nodes[n].op_type + ")");
      }
      Attribute a;
      a.kind = Attribute::Kind::kGraph;
      a.g = std::make_shared<Graph>(std::move(body).value());
      for (int cap : a.g->capture_ids) {
        const int id = resolve(a.g->values[cap].name);  // found: the subgraph asked already
        const auto first = nodes[n].inputs.end() - nodes[n].num_implicit_inputs;
        if (std::find(first, nodes[n].inputs.end(), id) == nodes[n].inputs.end()) {
          nodes[n].inputs.push_back(id);
          ++nodes[n].num_implicit_inputs;
        }
      }
      nodes[n].attrs.Set(ap.name(), std::move(a));
    }
  }

  // Topological order (Kahn). ONNX requires sorted graphs, but sorting here
  // costs little and turns a cycle into an error instead of a hang.
  std::vector<int> producer(g.values.size(), -1);
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (int o : nodes[n].outputs) {
      if (o != kNoValue) producer[o] = static_cast<int>(n);
    }
  }
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<int>> consumers(nodes.size());
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (int in : nodes[n].inputs) {
      if (in != kNoValue && producer[in] >= 0) {
        ++pending[n];
        consumers[producer[in]].push_back(static_cast<int>(n));
      }
    }
  }
  std::deque<int> ready;
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (pending[n] == 0) ready.push_back(static_cast<int>(n));
  }
  std::vector<int> order;
  while (!ready.empty()) {
    int n = ready.front();
    ready.pop_front();
    order.push_back(n);
    for (int c : consumers[n]) {
      if (--pending[c] == 0) ready.push_back(c);
    }
  }
  if (order.size() != nodes.size()) {
    return Status::InvalidArgument("graph has a cycle");
  }
  g.nodes.reserve(nodes.size());
  for (int n : order) g.nodes.push_back(std::move(nodes[n]));

  for (const auto& vi : gp.output()) {
    const int id = resolve(vi.name());
    if (id == kNoValue) {
      return Status::InvalidArgument("graph output '" + vi.name() + "' is never defined");
    }
    ValueType vt;
    auto info_or = InfoFromValueInfo(vi, &vt);
    if (!info_or.ok() && !(sub && !vi.type().has_tensor_type())) return info_or.status();
    TensorInfo info = info_or.ok() ? std::move(info_or).value() : TensorInfo{vi.name(), {}, {}, {}};
    Value& v = g.values[id];
    if (!v.type.dtype) v.type.dtype = vt.dtype;
    if (!v.type.shape) v.type.shape = vt.shape;
    g.output_ids.push_back(id);
    g.outputs.push_back(std::move(info));
  }
  if (g.outputs.empty()) return Status::InvalidArgument("graph has no outputs");
  return g;
}

}  // namespace

namespace {

Result<Graph> BuildGraphImpl(const onnx::ModelProto& model, onnx::ModelProto* release) {
  if (!model.has_graph()) return Status::InvalidArgument("model has no graph");
  if (model.ir_version() <= 0) return Status::InvalidArgument("model has no ir_version");
  std::map<std::string, int64_t> opsets;
  for (const auto& op : model.opset_import()) opsets[NormalizeDomain(op.domain())] = op.version();
  if (opsets.empty()) return Status::InvalidArgument("model declares no opset_import");
  CITADEL_ASSIGN_OR_RETURN(Graph g, BuildGraphFrom(model.graph(), opsets, nullptr, 0,
                                                    release != nullptr ? release->mutable_graph() : nullptr));
  g.producer_name = model.producer_name();
  g.producer_version = model.producer_version();
  g.ir_version = model.ir_version();
  return g;
}

}  // namespace

Result<Graph> BuildGraph(const onnx::ModelProto& model) { return BuildGraphImpl(model, nullptr); }

Result<Graph> BuildGraphReleasingWeights(onnx::ModelProto* model) {
  return BuildGraphImpl(*model, model);
}

namespace {
void ApplyGraphValueInfo(const onnx::GraphProto& gp, Graph* graph, int depth) {
  if (depth > kMaxSubgraphDepth) return;
  auto apply = [&](const onnx::ValueInfoProto& vi) {
    auto it = graph->value_ids.find(vi.name());
    if (it == graph->value_ids.end()) return;
    if (!vi.type().has_tensor_type()) return;
    Value& v = graph->values[it->second];
    ValueType vt;
    const auto& tt = vi.type().tensor_type();
    if (auto dt = DTypeFromOnnx(tt.elem_type()); dt.ok()) vt.dtype = *dt;
    if (tt.has_shape()) {
      Shape s;
      for (const auto& d : tt.shape().dim()) {
        s.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value() : -1);
      }
      vt.shape = s;
    }
    if (!v.type.dtype) v.type.dtype = vt.dtype;
    if (!v.type.shape) v.type.shape = vt.shape;
  };
  for (const auto& vi : gp.value_info()) apply(vi);
  for (const auto& vi : gp.output()) apply(vi);
  for (const auto& vi : gp.input()) apply(vi);
  // Subgraphs: find the IR node by an output it writes (names are unique).
  std::unordered_map<int, size_t> node_of;
  for (size_t n = 0; n < graph->nodes.size(); ++n) {
    for (int o : graph->nodes[n].outputs) {
      if (o != kNoValue) node_of[o] = n;
    }
  }
  for (const auto& np : gp.node()) {
    for (const auto& ap : np.attribute()) {
      if (!ap.has_g()) continue;
      for (const auto& out : np.output()) {
        auto vit = graph->value_ids.find(out);
        if (out.empty() || vit == graph->value_ids.end()) continue;
        auto nit = node_of.find(vit->second);
        if (nit == node_of.end()) continue;
        const Attribute* a = graph->nodes[nit->second].attrs.Find(ap.name());
        if (a != nullptr && a->kind == Attribute::Kind::kGraph && a->g) {
          ApplyGraphValueInfo(ap.g(), a->g.get(), depth + 1);
        }
        break;
      }
    }
  }
}
}  // namespace

void ApplyValueInfo(const onnx::ModelProto& model, Graph* graph) {
  ApplyGraphValueInfo(model.graph(), graph, 0);
}

}  // namespace citadel::engine
