// InspectModel: walks the ModelProto directly (not the engine IR) because the
// IR builder refuses what the engine cannot run, and inspect exists precisely
// to describe such models.
#include "citadel/inspect.h"

#include <cstdio>
#include <set>
#include <sstream>

#include <onnx/onnx_pb.h>

#include "kernel.h"
#include "loader.h"
#include "tensor_proto.h"

namespace citadel {
namespace {

std::string DisplayDomain(const std::string& d) {
  return d.empty() || d == "ai.onnx" ? "ai.onnx" : d;
}
// The registry keys the default domain as "".
std::string RegistryDomain(const std::string& d) { return d == "ai.onnx" ? "" : d; }

std::string ElemTypeName(int32_t elem) {
  auto dt = engine::DTypeFromOnnx(elem);
  if (dt.ok()) return std::string(DTypeName(*dt));
  if (onnx::TensorProto_DataType_IsValid(elem)) {
    std::string n = onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(elem));
    for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return n;
  }
  return "elem_type_" + std::to_string(elem);
}

// Types nest (sequence of map of tensor); a hostile model could nest them
// deeply, so recursion is bounded.
std::string TypeName(const onnx::TypeProto& t, int depth = 0) {
  if (depth > 8) return "...";
  switch (t.value_case()) {
    case onnx::TypeProto::kTensorType: return ElemTypeName(t.tensor_type().elem_type());
    case onnx::TypeProto::kSequenceType:
      return "sequence(" + TypeName(t.sequence_type().elem_type(), depth + 1) + ")";
    case onnx::TypeProto::kMapType:
      return "map(" + ElemTypeName(t.map_type().key_type()) + ", " +
             TypeName(t.map_type().value_type(), depth + 1) + ")";
    case onnx::TypeProto::kOptionalType:
      return "optional(" + TypeName(t.optional_type().elem_type(), depth + 1) + ")";
    case onnx::TypeProto::kSparseTensorType:
      return "sparse(" + ElemTypeName(t.sparse_tensor_type().elem_type()) + ")";
    default: return "unknown";
  }
}

ValueDescription Describe(const onnx::ValueInfoProto& vi) {
  ValueDescription d;
  d.name = vi.name();
  d.type = vi.has_type() ? TypeName(vi.type()) : "unknown";
  if (vi.has_type() && vi.type().has_tensor_type() && vi.type().tensor_type().has_shape()) {
    d.has_shape = true;
    for (const auto& dim : vi.type().tensor_type().shape().dim()) {
      if (dim.has_dim_value()) d.dims.push_back(std::to_string(dim.dim_value()));
      else if (dim.has_dim_param() && !dim.dim_param().empty()) d.dims.push_back(dim.dim_param());
      else d.dims.push_back("?");
    }
  }
  return d;
}

struct Walker {
  const engine::OpRegistry& registry;
  ModelInspection* m;
  std::map<std::pair<std::string, std::string>, OpUsage> usage;

  int64_t OpsetFor(const std::string& domain) const {
    auto it = m->opsets.find(DisplayDomain(domain));
    return it == m->opsets.end() ? 0 : it->second;
  }

  // Subgraphs (If branches, Loop/Scan bodies) are walked with a path prefix
  // so an unsupported node inside one can be found. Depth is bounded against
  // hostile nesting.
  void Walk(const onnx::GraphProto& g, const std::string& prefix, int depth) {
    if (depth > 32) return;
    for (int i = 0; i < g.node_size(); ++i) {
      const onnx::NodeProto& n = g.node(i);
      ++m->node_count;
      const std::string dom = DisplayDomain(n.domain());
      const int64_t opset = OpsetFor(n.domain());
      auto found = registry.Find(RegistryDomain(n.domain()), n.op_type(), opset);
      OpUsage& u = usage[{dom, n.op_type()}];
      u.domain = dom;
      u.op_type = n.op_type();
      u.opset = opset;
      u.supported = found.ok();
      ++u.count;
      const std::string name = prefix + (n.name().empty() ? "#" + std::to_string(i) : n.name());
      if (!found.ok()) {
        m->unsupported.push_back(
            UnsupportedNode{name, n.op_type(), dom, opset, found.status().message()});
      }
      for (const auto& a : n.attribute()) {
        if (a.has_g()) Walk(a.g(), name + "/" + a.name() + "/", depth + 1);
        for (const auto& sg : a.graphs()) Walk(sg, name + "/" + a.name() + "/", depth + 1);
      }
    }
  }
};

void JsonEscapeTo(std::ostringstream& os, const std::string& s) {
  os << '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': os << "\\\""; break;
      case '\\': os << "\\\\"; break;
      case '\n': os << "\\n"; break;
      case '\r': os << "\\r"; break;
      case '\t': os << "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          os << buf;
        } else {
          os << static_cast<char>(c);
        }
    }
  }
  os << '"';
}

bool IsDigits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string ShapeText(const ValueDescription& v) {
  if (!v.has_shape) return "[unknown rank]";
  std::string s = "[";
  for (size_t i = 0; i < v.dims.size(); ++i) s += (i ? "," : "") + v.dims[i];
  return s + "]";
}

}  // namespace

Result<ModelInspection> InspectModel(ByteSpan onnx_bytes, const LoadOptions& options) {
  CITADEL_ASSIGN_OR_RETURN(auto proto, engine::ParseModelProto(onnx_bytes, options.max_model_bytes));
  ModelInspection m;
  m.producer_name = proto->producer_name();
  m.producer_version = proto->producer_version();
  m.ir_version = proto->ir_version();
  const onnx::GraphProto& g = proto->graph();
  m.graph_name = g.name();
  for (const auto& op : proto->opset_import()) m.opsets[DisplayDomain(op.domain())] = op.version();

  std::set<std::string> initializers;
  for (const auto& t : g.initializer()) {
    initializers.insert(t.name());
    ++m.initializer_count;
    uint64_t n = 1;
    for (int64_t d : t.dims()) n = d > 0 ? n * static_cast<uint64_t>(d) : 0;
    m.parameter_count += n;
  }
  // Initializers listed as inputs are optional overrides, not inputs a
  // caller must feed (same rule as the engine's graph builder).
  for (const auto& vi : g.input()) {
    if (!initializers.count(vi.name())) m.inputs.push_back(Describe(vi));
  }
  for (const auto& vi : g.output()) m.outputs.push_back(Describe(vi));

  Walker w{engine::OpRegistry::Default(), &m, {}};
  w.Walk(g, "", 0);
  for (auto& [key, u] : w.usage) m.ops.push_back(u);

  if (m.unsupported.empty()) {
    proto.reset();
    m.load_attempted = true;
    auto model = Model::Load(onnx_bytes, options);
    m.load_status = model.ok() ? Status::Ok() : model.status();
  }
  return m;
}

std::string InspectionToText(const ModelInspection& m) {
  std::ostringstream os;
  os << "model: " << (m.graph_name.empty() ? "(unnamed graph)" : m.graph_name);
  if (!m.producer_name.empty()) os << " (producer " << m.producer_name << " " << m.producer_version << ")";
  os << ", IR v" << m.ir_version << "\n";
  os << "opsets:";
  for (const auto& [d, v] : m.opsets) os << " " << d << ":" << v;
  os << "\n";
  os << "inputs:\n";
  for (const auto& v : m.inputs) os << "  " << v.name << ": " << v.type << " " << ShapeText(v) << "\n";
  os << "outputs:\n";
  for (const auto& v : m.outputs) os << "  " << v.name << ": " << v.type << " " << ShapeText(v) << "\n";
  os << "nodes: " << m.node_count << ", initializers: " << m.initializer_count
     << " (" << m.parameter_count << " parameters)\n";
  os << "ops:\n";
  for (const auto& u : m.ops) {
    os << "  " << (u.domain == "ai.onnx" ? "" : u.domain + ".") << u.op_type << " x" << u.count
       << (u.supported ? "" : "  UNSUPPORTED") << "\n";
  }
  if (!m.unsupported.empty()) {
    os << "unsupported nodes:\n";
    for (const auto& u : m.unsupported) {
      os << "  node '" << u.node << "': " << u.op_type << " (domain " << u.domain << ", opset "
         << u.opset << ")\n";
    }
  }
  if (m.supported()) {
    os << "supported: yes (the model loads)\n";
  } else if (!m.unsupported.empty()) {
    os << "supported: no (" << m.unsupported.size() << " node"
       << (m.unsupported.size() == 1 ? "" : "s") << " with unsupported ops)\n";
  } else {
    os << "supported: no (load failed: " << m.load_status.ToString() << ")\n";
  }
  return os.str();
}

std::string InspectionToJson(const ModelInspection& m) {
  std::ostringstream os;
  auto values = [&](const std::vector<ValueDescription>& vs) {
    os << "[";
    for (size_t i = 0; i < vs.size(); ++i) {
      const auto& v = vs[i];
      os << (i ? ", " : "") << "{\"name\": ";
      JsonEscapeTo(os, v.name);
      os << ", \"type\": ";
      JsonEscapeTo(os, v.type);
      os << ", \"shape\": ";
      if (!v.has_shape) {
        os << "null";
      } else {
        os << "[";
        for (size_t d = 0; d < v.dims.size(); ++d) {
          os << (d ? ", " : "");
          // Known dims are numbers; symbolic and unknown ones strings.
          if (IsDigits(v.dims[d])) os << v.dims[d];
          else JsonEscapeTo(os, v.dims[d]);
        }
        os << "]";
      }
      os << "}";
    }
    os << "]";
  };
  os << "{\"producer\": ";
  JsonEscapeTo(os, m.producer_name + (m.producer_version.empty() ? "" : " " + m.producer_version));
  os << ", \"graph_name\": ";
  JsonEscapeTo(os, m.graph_name);
  os << ", \"ir_version\": " << m.ir_version << ", \"opsets\": {";
  bool first = true;
  for (const auto& [d, v] : m.opsets) {
    os << (first ? "" : ", ");
    JsonEscapeTo(os, d);
    os << ": " << v;
    first = false;
  }
  os << "}, \"inputs\": ";
  values(m.inputs);
  os << ", \"outputs\": ";
  values(m.outputs);
  os << ", \"node_count\": " << m.node_count << ", \"initializer_count\": " << m.initializer_count
     << ", \"parameter_count\": " << m.parameter_count << ", \"ops\": [";
  for (size_t i = 0; i < m.ops.size(); ++i) {
    const auto& u = m.ops[i];
    os << (i ? ", " : "") << "{\"domain\": ";
    JsonEscapeTo(os, u.domain);
    os << ", \"op_type\": ";
    JsonEscapeTo(os, u.op_type);
    os << ", \"opset\": " << u.opset << ", \"count\": " << u.count
       << ", \"supported\": " << (u.supported ? "true" : "false") << "}";
  }
  os << "], \"unsupported\": [";
  for (size_t i = 0; i < m.unsupported.size(); ++i) {
    const auto& u = m.unsupported[i];
    os << (i ? ", " : "") << "{\"node\": ";
    JsonEscapeTo(os, u.node);
    os << ", \"op_type\": ";
    JsonEscapeTo(os, u.op_type);
    os << ", \"domain\": ";
    JsonEscapeTo(os, u.domain);
    os << ", \"opset\": " << u.opset << ", \"reason\": ";
    JsonEscapeTo(os, u.reason);
    os << "}";
  }
  os << "], \"load\": {\"attempted\": " << (m.load_attempted ? "true" : "false")
     << ", \"ok\": " << (m.load_attempted && m.load_status.ok() ? "true" : "false")
     << ", \"error\": ";
  if (m.load_attempted && !m.load_status.ok()) JsonEscapeTo(os, m.load_status.ToString());
  else os << "null";
  os << "}, \"supported\": " << (m.supported() ? "true" : "false") << "}\n";
  return os.str();
}

}  // namespace citadel
