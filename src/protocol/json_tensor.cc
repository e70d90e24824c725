#include <cmath>
#include <limits>

#include "citadel/protocol.h"

namespace citadel {
namespace {

using nlohmann::json;

template <typename T>
void AppendNumbers(const Tensor& t, json* out) {
  const T* p = t.data<T>();
  for (size_t i = 0; i < t.num_elements(); ++i) out->push_back(p[i]);
}

// Flattens nested arrays (KServe allows both flat and nested data) into
// `out`, stopping early once more than `limit` leaves are seen.
Status Flatten(const json& j, std::vector<const json*>* out, size_t limit, int depth) {
  if (depth > 32) return Status::InvalidArgument("data nested more than 32 levels deep");
  if (j.is_array()) {
    for (const auto& e : j) {
      CITADEL_RETURN_IF_ERROR(Flatten(e, out, limit, depth + 1));
    }
    return Status::Ok();
  }
  if (out->size() >= limit) return Status::InvalidArgument("data has more elements than the shape allows");
  out->push_back(&j);
  return Status::Ok();
}

template <typename T>
Status FillIntegers(const std::vector<const json*>& leaves, Tensor* t, const std::string& where) {
  T* p = t->data<T>();
  for (size_t i = 0; i < leaves.size(); ++i) {
    const json& v = *leaves[i];
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        return Status::InvalidArgument(where + ".data[" + std::to_string(i) + "] is out of range for " +
                                       std::string(DTypeKServeName(t->dtype())));
      }
      p[i] = static_cast<T>(u);
    } else if (v.is_number_integer()) {
      int64_t s = v.get<int64_t>();
      if constexpr (std::is_unsigned_v<T>) {
        if (s < 0) {
          return Status::InvalidArgument(where + ".data[" + std::to_string(i) + "] is negative for " +
                                         std::string(DTypeKServeName(t->dtype())));
        }
      }
      if (s < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          (s > 0 && static_cast<uint64_t>(s) > static_cast<uint64_t>(std::numeric_limits<T>::max()))) {
        return Status::InvalidArgument(where + ".data[" + std::to_string(i) + "] is out of range for " +
                                       std::string(DTypeKServeName(t->dtype())));
      }
      p[i] = static_cast<T>(s);
    } else {
      return Status::InvalidArgument(where + ".data[" + std::to_string(i) + "] must be an integer for " +
                                     std::string(DTypeKServeName(t->dtype())));
    }
  }
  return Status::Ok();
}

// Non-finite floats have no JSON number form: they travel as the strings
// "NaN", "-NaN", "Infinity", "-Infinity" (encoder and decoder agree, so
// outputs holding them reach the client and their receipt digests match;
// NaN payload bits other than the sign are not carried).
json FloatJson(double v) {
  if (std::isfinite(v)) return v;
  if (std::isnan(v)) return std::signbit(v) ? "-NaN" : "NaN";
  return v > 0 ? "Infinity" : "-Infinity";
}

Result<double> NumberAt(const std::vector<const json*>& leaves, size_t i, const std::string& where) {
  const json& v = *leaves[i];
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "-NaN") return -std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
  }
  if (!v.is_number()) return Status::InvalidArgument(where + ".data[" + std::to_string(i) + "] must be a number");
  return v.get<double>();
}

}  // namespace

json TensorToJson(const NamedTensor& nt) {
  const Tensor& t = nt.tensor;
  json j;
  j["name"] = nt.name;
  j["datatype"] = std::string(DTypeKServeName(t.dtype()));
  j["shape"] = t.shape();
  json data = json::array();
  switch (t.dtype()) {
    case DType::kFloat32: {
      // Non-finite values: see FloatJson.
      const float* p = t.data<float>();
      for (size_t i = 0; i < t.num_elements(); ++i) data.push_back(FloatJson(p[i]));
      break;
    }
    case DType::kFloat64: {
      const double* p = t.data<double>();
      for (size_t i = 0; i < t.num_elements(); ++i) data.push_back(FloatJson(p[i]));
      break;
    }
    case DType::kFloat16: {
      const uint16_t* p = t.data<uint16_t>();
      for (size_t i = 0; i < t.num_elements(); ++i) data.push_back(FloatJson(HalfToFloat(p[i])));
      break;
    }
    case DType::kBFloat16: {
      const uint16_t* p = t.data<uint16_t>();
      for (size_t i = 0; i < t.num_elements(); ++i) data.push_back(FloatJson(BFloat16ToFloat(p[i])));
      break;
    }
    case DType::kInt8: AppendNumbers<int8_t>(t, &data); break;
    case DType::kInt16: AppendNumbers<int16_t>(t, &data); break;
    case DType::kInt32: AppendNumbers<int32_t>(t, &data); break;
    case DType::kInt64: AppendNumbers<int64_t>(t, &data); break;
    case DType::kUInt8: AppendNumbers<uint8_t>(t, &data); break;
    case DType::kUInt16: AppendNumbers<uint16_t>(t, &data); break;
    case DType::kUInt32: AppendNumbers<uint32_t>(t, &data); break;
    case DType::kUInt64: AppendNumbers<uint64_t>(t, &data); break;
    case DType::kBool: {
      const uint8_t* p = t.data<uint8_t>();
      for (size_t i = 0; i < t.num_elements(); ++i) data.push_back(p[i] != 0);
      break;
    }
    case DType::kString:
      for (const auto& s : t.strings()) data.push_back(s);
      break;
  }
  j["data"] = std::move(data);
  return j;
}

json TensorListToJson(const TensorList& tensors) {
  json arr = json::array();
  for (const auto& t : tensors) arr.push_back(TensorToJson(t));
  return arr;
}

Result<NamedTensor> TensorFromJson(const json& j, const std::string& where, const TensorLimits& limits) {
  if (!j.is_object()) return Status::InvalidArgument(where + " must be an object");
  for (const auto& [key, _] : j.items()) {
    if (key != "name" && key != "shape" && key != "datatype" && key != "data" && key != "parameters") {
      return Status::InvalidArgument(where + " has unknown field '" + key + "'");
    }
  }
  auto name_it = j.find("name");
  if (name_it == j.end() || !name_it->is_string() || name_it->get<std::string>().empty()) {
    return Status::InvalidArgument(where + ".name must be a non-empty string");
  }
  auto dt_it = j.find("datatype");
  if (dt_it == j.end() || !dt_it->is_string()) return Status::InvalidArgument(where + ".datatype must be a string");
  auto dtype = DTypeFromKServeName(dt_it->get<std::string>());
  if (!dtype) return Status::InvalidArgument(where + ".datatype '" + dt_it->get<std::string>() + "' is not a known datatype");
  auto shape_it = j.find("shape");
  if (shape_it == j.end() || !shape_it->is_array()) return Status::InvalidArgument(where + ".shape must be an array");
  if (shape_it->size() > 32) return Status::InvalidArgument(where + ".shape has more than 32 dimensions");
  Shape shape;
  for (const auto& d : *shape_it) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0) {
      return Status::InvalidArgument(where + ".shape must hold non-negative integers");
    }
    shape.push_back(d.get<int64_t>());
  }
  auto count = ShapeElementCount(shape, limits.max_elements_per_tensor);
  if (!count.ok()) return count.status().WithContext(where);
  auto data_it = j.find("data");
  if (data_it == j.end()) return Status::InvalidArgument(where + ".data is missing");
  std::vector<const json*> leaves;
  leaves.reserve(*count);
  CITADEL_RETURN_IF_ERROR(Flatten(*data_it, &leaves, *count, 0).WithContext(where));
  if (leaves.size() != *count) {
    return Status::InvalidArgument(where + ".data has " + std::to_string(leaves.size()) + " elements, shape " +
                                   ShapeToString(shape) + " needs " + std::to_string(*count));
  }
  NamedTensor out;
  out.name = name_it->get<std::string>();
  if (*dtype == DType::kString) {
    std::vector<std::string> values;
    for (size_t i = 0; i < leaves.size(); ++i) {
      if (!leaves[i]->is_string()) return Status::InvalidArgument(where + ".data[" + std::to_string(i) + "] must be a string");
      values.push_back(leaves[i]->get<std::string>());
    }
    CITADEL_ASSIGN_OR_RETURN(out.tensor, Tensor::FromStrings(shape, std::move(values)));
    return out;
  }
  CITADEL_ASSIGN_OR_RETURN(out.tensor, Tensor::Zeros(*dtype, shape));
  Tensor& t = out.tensor;
  switch (*dtype) {
    case DType::kFloat32:
    case DType::kFloat64:
    case DType::kFloat16:
    case DType::kBFloat16:
      for (size_t i = 0; i < leaves.size(); ++i) {
        CITADEL_ASSIGN_OR_RETURN(double v, NumberAt(leaves, i, where));
        if (*dtype == DType::kFloat32) t.data<float>()[i] = static_cast<float>(v);
        else if (*dtype == DType::kFloat64) t.data<double>()[i] = v;
        else if (*dtype == DType::kFloat16) t.data<uint16_t>()[i] = FloatToHalf(static_cast<float>(v));
        else t.data<uint16_t>()[i] = FloatToBFloat16(static_cast<float>(v));
      }
      break;
    case DType::kInt8: CITADEL_RETURN_IF_ERROR(FillIntegers<int8_t>(leaves, &t, where)); break;
    case DType::kInt16: CITADEL_RETURN_IF_ERROR(FillIntegers<int16_t>(leaves, &t, where)); break;
    case DType::kInt32: CITADEL_RETURN_IF_ERROR(FillIntegers<int32_t>(leaves, &t, where)); break;
    case DType::kInt64: CITADEL_RETURN_IF_ERROR(FillIntegers<int64_t>(leaves, &t, where)); break;
    case DType::kUInt8: CITADEL_RETURN_IF_ERROR(FillIntegers<uint8_t>(leaves, &t, where)); break;
    case DType::kUInt16: CITADEL_RETURN_IF_ERROR(FillIntegers<uint16_t>(leaves, &t, where)); break;
    case DType::kUInt32: CITADEL_RETURN_IF_ERROR(FillIntegers<uint32_t>(leaves, &t, where)); break;
    case DType::kUInt64: CITADEL_RETURN_IF_ERROR(FillIntegers<uint64_t>(leaves, &t, where)); break;
    case DType::kBool:
      for (size_t i = 0; i < leaves.size(); ++i) {
        if (!leaves[i]->is_boolean()) return Status::InvalidArgument(where + ".data[" + std::to_string(i) + "] must be true or false");
        t.data<uint8_t>()[i] = leaves[i]->get<bool>() ? 1 : 0;
      }
      break;
    case DType::kString:
      break;
  }
  return out;
}

Result<TensorList> TensorListFromJson(const json& j, const std::string& field, const TensorLimits& limits) {
  if (!j.is_array()) return Status::InvalidArgument("'" + field + "' must be an array");
  if (j.size() > limits.max_tensors) {
    return Status::InvalidArgument("'" + field + "' has " + std::to_string(j.size()) + " tensors, more than the limit of " +
                                   std::to_string(limits.max_tensors));
  }
  TensorList out;
  size_t total = 0;
  for (size_t i = 0; i < j.size(); ++i) {
    CITADEL_ASSIGN_OR_RETURN(NamedTensor t, TensorFromJson(j[i], field + "[" + std::to_string(i) + "]", limits));
    total += t.tensor.num_elements();
    if (total > limits.max_total_elements) {
      return Status::ResourceExhausted("'" + field + "' holds more than " + std::to_string(limits.max_total_elements) +
                                       " elements in total");
    }
    for (const auto& prev : out) {
      if (prev.name == t.name) return Status::InvalidArgument("tensor '" + t.name + "' is given twice in '" + field + "'");
    }
    out.push_back(std::move(t));
  }
  return out;
}

Status ValidateModelName(const std::string& name) {
  if (name.empty() || name.size() > 128) return Status::InvalidArgument("model name must be 1 to 128 characters");
  if (name[0] == '.') return Status::InvalidArgument("model name must not start with '.'");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    if (!ok) return Status::InvalidArgument("model name may only hold letters, digits, '.', '_' and '-'");
  }
  return Status::Ok();
}

Result<json> ParseJson(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("request body is not valid JSON");
  return j;
}

std::string ErrorBody(const Status& status) {
  json j;
  j["error"] = status.message();
  j["code"] = std::string(CodeName(status.code()));
  return j.dump();
}

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kUnsupported: return 400;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists: return 409;
    case Code::kFailedPrecondition: return 409;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied: return 403;
    case Code::kResourceExhausted: return 413;
    case Code::kUnavailable: return 503;
    case Code::kAttestationFailed:
    case Code::kPolicyRejected:
    case Code::kDataLoss:
    case Code::kInternal: return 500;
  }
  return 500;
}

Status StatusFromErrorBody(int http_status, std::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) {
    std::string message = j["error"].get<std::string>();
    Code code = Code::kInternal;
    if (j.contains("code") && j["code"].is_string()) {
      std::string name = j["code"].get<std::string>();
      for (int c = 0; c <= static_cast<int>(Code::kInternal); ++c) {
        if (CodeName(static_cast<Code>(c)) == name) code = static_cast<Code>(c);
      }
    }
    if (code == Code::kOk) code = Code::kInternal;
    return Status(code, message);
  }
  Code code = http_status == 404 ? Code::kNotFound
              : http_status == 413 ? Code::kResourceExhausted
              : http_status == 401 ? Code::kUnauthenticated
              : http_status == 503 ? Code::kUnavailable
              : http_status >= 400 && http_status < 500 ? Code::kInvalidArgument
                                                        : Code::kInternal;
  return Status(code, "server answered HTTP " + std::to_string(http_status));
}

}  // namespace citadel
