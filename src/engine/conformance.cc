// The ONNX conformance runner (see include/citadel/conformance.h).
#include "citadel/conformance.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include <onnx/onnx_pb.h>

#include "citadel/bytes.h"
#include "citadel/engine.h"
#include "tensor_proto.h"

namespace citadel::conformance {
namespace {

namespace fs = std::filesystem;

double ElementAsDouble(const Tensor& t, size_t i) {
  switch (t.dtype()) {
    case DType::kFloat32: return t.data<float>()[i];
    case DType::kFloat64: return t.data<double>()[i];
    case DType::kFloat16: return HalfToFloat(t.data<uint16_t>()[i]);
    case DType::kBFloat16: return BFloat16ToFloat(t.data<uint16_t>()[i]);
    case DType::kInt8: return t.data<int8_t>()[i];
    case DType::kInt16: return t.data<int16_t>()[i];
    case DType::kInt32: return t.data<int32_t>()[i];
    case DType::kInt64: return static_cast<double>(t.data<int64_t>()[i]);
    case DType::kUInt8: return t.data<uint8_t>()[i];
    case DType::kUInt16: return t.data<uint16_t>()[i];
    case DType::kUInt32: return t.data<uint32_t>()[i];
    case DType::kUInt64: return static_cast<double>(t.data<uint64_t>()[i]);
    case DType::kBool: return t.data<uint8_t>()[i];
    case DType::kString: return 0;
  }
  return 0;
}

bool IsFloating(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kFloat16 ||
         t == DType::kBFloat16;
}

struct NamedProto {
  std::string name;
  Tensor tensor;
};

Result<NamedProto> ReadNamedTensor(const std::string& path) {
  CITADEL_ASSIGN_OR_RETURN(Bytes bytes, ReadFileBytes(path, size_t{1} << 30));
  onnx::TensorProto proto;
  if (bytes.size() > static_cast<size_t>(INT32_MAX) ||
      !proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::InvalidArgument("cannot parse " + path + " as a TensorProto");
  }
  CITADEL_ASSIGN_OR_RETURN(Tensor t, engine::TensorFromProto(proto));
  return NamedProto{proto.name(), std::move(t)};
}

// ONNX 1.12 stores bfloat16 test data as UINT16 TensorProtos holding the raw
// bfloat16 bits; its runner reinterprets them by the model's declared type.
// Do the same, and nothing else: any other mismatch is the engine's to report.
Tensor AdaptToDeclared(Tensor t, DType declared) {
  if (declared == DType::kBFloat16 && t.dtype() == DType::kUInt16) {
    auto r = Tensor::FromBytes(DType::kBFloat16, t.shape(), t.bytes());
    if (r.ok()) return std::move(r).value();
  }
  return t;
}

// Declared element type and shape (nullopt: no shape) of the graph inputs.
struct Declared {
  int32_t elem_type = 0;
  std::optional<std::vector<int64_t>> shape;  // -1 for symbolic/unknown dims
};

std::map<std::string, Declared> DeclaredInputs(const fs::path& model_path) {
  std::map<std::string, Declared> out;
  auto bytes = ReadFileBytes(model_path.string(), size_t{1} << 30);
  onnx::ModelProto proto;
  if (!bytes.ok() || bytes->size() > static_cast<size_t>(INT32_MAX) ||
      !proto.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
    return out;
  }
  for (const auto& vi : proto.graph().input()) {
    if (!vi.type().has_tensor_type()) continue;
    Declared d;
    d.elem_type = vi.type().tensor_type().elem_type();
    if (vi.type().tensor_type().has_shape()) {
      d.shape.emplace();
      for (const auto& dim : vi.type().tensor_type().shape().dim()) {
        d.shape->push_back(dim.has_dim_value() ? dim.dim_value() : -1);
      }
    }
    out[vi.name()] = std::move(d);
  }
  return out;
}

// "" when `t` fits the declaration, else why the reference data contradicts
// the model (ONNX's runner does not check this; a strict engine must refuse
// such input, so the case says nothing about the engine).
std::string CheckAgainstDeclared(const std::string& name, const Tensor& t, const Declared& d) {
  if (d.elem_type != 0 && engine::DTypeToOnnx(t.dtype()) != d.elem_type) {
    return "reference input '" + name + "' is " + std::string(DTypeName(t.dtype())) +
           " but the model declares ONNX type " + std::to_string(d.elem_type);
  }
  if (!d.shape) return "";
  bool ok = d.shape->size() == t.rank();
  for (size_t i = 0; ok && i < t.rank(); ++i) {
    ok = (*d.shape)[i] < 0 || (*d.shape)[i] == t.shape()[i];
  }
  if (ok) return "";
  return "reference input '" + name + "' has shape " + ShapeToString(t.shape()) +
         " but the model declares " + ShapeToString(*d.shape);
}

std::vector<fs::path> DataSets(const fs::path& dir) {
  std::vector<fs::path> sets;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && it->path().filename().string().rfind("test_data_set_", 0) == 0) {
      sets.push_back(it->path());
    }
  }
  std::sort(sets.begin(), sets.end());
  return sets;
}

// Files prefix_0.pb, prefix_1.pb, ... until the first gap.
std::vector<fs::path> NumberedFiles(const fs::path& set, const std::string& prefix) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (size_t i = 0;; ++i) {
    fs::path p = set / (prefix + "_" + std::to_string(i) + ".pb");
    if (!fs::exists(p, ec)) break;
    files.push_back(p);
  }
  return files;
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string SummaryJson(const Summary& s) {
  std::ostringstream os;
  os << "{\"total\": " << s.total << ", \"pass\": " << s.pass << ", \"fail\": " << s.fail
     << ", \"unsupported\": " << s.unsupported << ", \"error\": " << s.error << "}";
  return os.str();
}

std::string SummaryLine(const std::string& label, const Summary& s) {
  std::ostringstream os;
  os << label << ": " << s.total << " cases, " << s.pass << " pass, " << s.fail << " fail, "
     << s.unsupported << " unsupported";
  if (s.error) os << ", " << s.error << " error";
  if (s.total) {
    os.setf(std::ios::fixed);
    os.precision(1);
    os << " (" << 100.0 * static_cast<double>(s.pass) / static_cast<double>(s.total) << "% pass)";
  }
  return os.str();
}

CaseResult Finish(CaseResult r, CaseStatus s, std::string reason) {
  r.status = s;
  r.reason = std::move(reason);
  return r;
}

}  // namespace

const char* CaseStatusName(CaseStatus s) {
  switch (s) {
    case CaseStatus::kPass: return "pass";
    case CaseStatus::kFail: return "fail";
    case CaseStatus::kUnsupported: return "unsupported";
    case CaseStatus::kError: return "error";
  }
  return "error";
}

void Summary::Add(CaseStatus s) {
  ++total;
  switch (s) {
    case CaseStatus::kPass: ++pass; break;
    case CaseStatus::kFail: ++fail; break;
    case CaseStatus::kUnsupported: ++unsupported; break;
    case CaseStatus::kError: ++error; break;
  }
}

std::string CompareTensors(const Tensor& expected, const Tensor& actual, double rtol,
                           double atol) {
  if (expected.dtype() != actual.dtype()) {
    return "dtype " + std::string(DTypeName(actual.dtype())) + ", expected " +
           std::string(DTypeName(expected.dtype()));
  }
  if (expected.shape() != actual.shape()) {
    return "shape " + ShapeToString(actual.shape()) + ", expected " +
           ShapeToString(expected.shape());
  }
  if (expected.dtype() == DType::kString) {
    return expected.strings() == actual.strings() ? "" : "strings differ";
  }
  const bool is_float = IsFloating(expected.dtype());
  const size_t w = DTypeSize(expected.dtype());
  for (size_t i = 0; i < expected.num_elements(); ++i) {
    if (!is_float) {
      // Raw element bytes: exact, and right for 64-bit integers.
      if (std::memcmp(expected.raw_data() + i * w, actual.raw_data() + i * w, w) != 0) {
        std::ostringstream os;
        os << "element " << i << ": " << ElementAsDouble(actual, i) << ", expected "
           << ElementAsDouble(expected, i);
        return os.str();
      }
      continue;
    }
    const double e = ElementAsDouble(expected, i), a = ElementAsDouble(actual, i);
    if (std::isnan(e) && std::isnan(a)) continue;
    // Like numpy's assert_allclose: infinities must match exactly (the
    // tolerance test alone would accept -inf for +inf: inf <= rtol * inf).
    if (std::isinf(e) || std::isinf(a)) {
      if (a == e) continue;
      std::ostringstream os;
      os << "element " << i << ": " << a << ", expected " << e;
      return os.str();
    }
    if (!(std::fabs(a - e) <= atol + rtol * std::fabs(e))) {
      std::ostringstream os;
      os.precision(9);
      os << "element " << i << ": " << a << ", expected " << e;
      return os.str();
    }
  }
  return "";
}

Result<Tensor> ReadTensorProtoFile(const std::string& path) {
  CITADEL_ASSIGN_OR_RETURN(NamedProto p, ReadNamedTensor(path));
  return std::move(p.tensor);
}

CaseResult RunCase(const std::string& case_dir, const std::string& folder,
                   const Options& options) {
  const auto start = std::chrono::steady_clock::now();
  const fs::path dir(case_dir);
  CaseResult r;
  r.name = dir.filename().string();
  r.folder = folder;
  auto done = [&](CaseStatus s, std::string reason) {
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return Finish(r, s, std::move(reason));
  };

  std::error_code ec;
  if (!fs::exists(dir / "model.onnx", ec)) return done(CaseStatus::kError, "no model.onnx");
  const std::vector<fs::path> sets = DataSets(dir);
  if (sets.empty()) return done(CaseStatus::kError, "no test_data_set_*");

  auto model = Model::LoadFile((dir / "model.onnx").string());
  if (!model.ok()) {
    if (model.status().code() == Code::kUnsupported) {
      return done(CaseStatus::kUnsupported, model.status().ToString());
    }
    return done(CaseStatus::kFail, "load: " + model.status().ToString());
  }
  const Model& m = **model;
  const std::map<std::string, Declared> declared = DeclaredInputs(dir / "model.onnx");

  for (const fs::path& set : sets) {
    const std::string where = set.filename().string() + ": ";
    TensorList inputs;
    const std::vector<fs::path> in_files = NumberedFiles(set, "input");
    for (size_t i = 0; i < in_files.size(); ++i) {
      auto t = ReadNamedTensor(in_files[i].string());
      if (!t.ok()) return done(CaseStatus::kError, where + "input: " + t.status().ToString());
      // By name when the data names a model input (the usual case), else by
      // position among the model's inputs.
      std::string name = t->name;
      auto it = std::find_if(m.inputs().begin(), m.inputs().end(),
                             [&](const TensorInfo& info) { return info.name == name; });
      if (it == m.inputs().end()) {
        if (!name.empty() || i >= m.inputs().size()) {
          if (name.empty()) {
            return done(CaseStatus::kError, where + "input " + std::to_string(i) +
                                                " has no name and the model has only " +
                                                std::to_string(m.inputs().size()) + " inputs");
          }
          // Possibly an initializer override; the engine decides.
          inputs.push_back({name, std::move(t->tensor)});
          continue;
        }
        it = m.inputs().begin() + static_cast<std::ptrdiff_t>(i);
        name = it->name;
      }
      inputs.push_back({name, AdaptToDeclared(std::move(t->tensor), it->dtype)});
    }
    for (const NamedTensor& in : inputs) {
      auto d = declared.find(in.name);
      if (d == declared.end()) continue;
      std::string bad = CheckAgainstDeclared(in.name, in.tensor, d->second);
      if (!bad.empty()) return done(CaseStatus::kError, where + bad);
    }

    auto out = m.Run(inputs);
    if (!out.ok()) return done(CaseStatus::kFail, where + "run: " + out.status().ToString());

    const std::vector<fs::path> out_files = NumberedFiles(set, "output");
    if (out_files.size() != out->size()) {
      return done(CaseStatus::kFail, where + "produced " + std::to_string(out->size()) +
                                         " outputs, reference has " +
                                         std::to_string(out_files.size()));
    }
    for (size_t i = 0; i < out_files.size(); ++i) {
      auto expected = ReadNamedTensor(out_files[i].string());
      if (!expected.ok()) {
        return done(CaseStatus::kError, where + "expected output: " + expected.status().ToString());
      }
      Tensor want = std::move(expected->tensor);
      if (i < m.outputs().size()) want = AdaptToDeclared(std::move(want), m.outputs()[i].dtype);
      std::string diff = CompareTensors(want, (*out)[i].tensor, options.rtol, options.atol);
      if (!diff.empty()) {
        return done(CaseStatus::kFail, where + "output " + std::to_string(i) + " ('" +
                                           (*out)[i].name + "'): " + diff);
      }
    }
  }
  return done(CaseStatus::kPass, "");
}

Result<Report> Run(const Options& options) {
  std::error_code ec;
  if (!fs::is_directory(options.data_dir, ec)) {
    return Status::NotFound("conformance data directory " + options.data_dir +
                            " does not exist (install libonnx-testdata)");
  }
  std::regex re;
  if (!options.filter.empty()) {
    try {
      re = std::regex(options.filter, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return Status::InvalidArgument("--filter is not a valid regex: " + std::string(e.what()));
    }
  }
  Report report;
  for (const std::string& folder : options.folders) {
    const fs::path fdir = fs::path(options.data_dir) / folder;
    std::vector<fs::path> cases;
    for (fs::directory_iterator it(fdir, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_directory(ec)) continue;
      const std::string name = it->path().filename().string();
      if (!options.filter.empty() && !std::regex_search(name, re) &&
          !std::regex_search(folder + "/" + name, re)) {
        continue;
      }
      cases.push_back(it->path());
    }
    ec.clear();
    std::sort(cases.begin(), cases.end());
    Summary& fs_summary = report.folders[folder];
    for (const fs::path& c : cases) {
      CaseResult res = RunCase(c.string(), folder, options);
      report.summary.Add(res.status);
      fs_summary.Add(res.status);
      if (options.on_case) options.on_case(res);
      report.tests.push_back(std::move(res));
    }
  }
  return report;
}

std::string ReportToJson(const Report& report) {
  std::ostringstream os;
  os << "{\n  \"summary\": " << SummaryJson(report.summary) << ",\n  \"folders\": {";
  bool first = true;
  for (const auto& [name, s] : report.folders) {
    os << (first ? "\n" : ",\n") << "    \"" << JsonEscape(name) << "\": " << SummaryJson(s);
    first = false;
  }
  os << "\n  },\n  \"tests\": [";
  first = true;
  for (const CaseResult& t : report.tests) {
    os << (first ? "\n" : ",\n") << "    {\"name\": \"" << JsonEscape(t.name) << "\", \"folder\": \""
       << JsonEscape(t.folder) << "\", \"status\": \"" << CaseStatusName(t.status)
       << "\", \"reason\": \"" << JsonEscape(t.reason) << "\"}";
    first = false;
  }
  os << "\n  ]\n}\n";
  return os.str();
}

std::string ReportToText(const Report& report, bool list_failures) {
  std::ostringstream os;
  if (list_failures) {
    for (const CaseResult& t : report.tests) {
      if (t.status == CaseStatus::kPass) continue;
      os << CaseStatusName(t.status) << "\t" << t.folder << "/" << t.name << "\t" << t.reason
         << "\n";
    }
  }
  for (const auto& [name, s] : report.folders) os << SummaryLine(name, s) << "\n";
  os << SummaryLine("overall", report.summary) << "\n";
  return os.str();
}

}  // namespace citadel::conformance
