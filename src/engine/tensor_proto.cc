#include "tensor_proto.h"

#include <bit>
#include <cstring>

#include <onnx/onnx_pb.h>

#include "citadel/bytes.h"

namespace citadel::engine {

static_assert(std::endian::native == std::endian::little,
              "ONNX raw_data is little-endian; a big-endian host needs byte swapping here");

Result<DType> DTypeFromOnnx(int32_t t) {
  using P = onnx::TensorProto;
  switch (t) {
    case P::FLOAT: return DType::kFloat32;
    case P::DOUBLE: return DType::kFloat64;
    case P::FLOAT16: return DType::kFloat16;
    case P::BFLOAT16: return DType::kBFloat16;
    case P::INT8: return DType::kInt8;
    case P::INT16: return DType::kInt16;
    case P::INT32: return DType::kInt32;
    case P::INT64: return DType::kInt64;
    case P::UINT8: return DType::kUInt8;
    case P::UINT16: return DType::kUInt16;
    case P::UINT32: return DType::kUInt32;
    case P::UINT64: return DType::kUInt64;
    case P::BOOL: return DType::kBool;
    case P::STRING: return DType::kString;
    default:
      return Status::Unsupported("ONNX tensor data type " + std::to_string(t) + " is not supported");
  }
}

int32_t DTypeToOnnx(DType d) {
  using P = onnx::TensorProto;
  switch (d) {
    case DType::kFloat32: return P::FLOAT;
    case DType::kFloat64: return P::DOUBLE;
    case DType::kFloat16: return P::FLOAT16;
    case DType::kBFloat16: return P::BFLOAT16;
    case DType::kInt8: return P::INT8;
    case DType::kInt16: return P::INT16;
    case DType::kInt32: return P::INT32;
    case DType::kInt64: return P::INT64;
    case DType::kUInt8: return P::UINT8;
    case DType::kUInt16: return P::UINT16;
    case DType::kUInt32: return P::UINT32;
    case DType::kUInt64: return P::UINT64;
    case DType::kBool: return P::BOOL;
    case DType::kString: return P::STRING;
  }
  return P::UNDEFINED;
}

namespace {

// Copies a repeated typed field into the tensor buffer, narrowing each
// element to Dst. Used for the int32_data / uint64_data fields, which carry
// several smaller types.
template <typename Dst, typename Field>
void CopyField(const Field& field, Tensor* t) {
  Dst* out = t->data<Dst>();
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<Dst>(field.Get(i));
}

template <typename Field>
Status CheckCount(const Field& field, size_t expected, const char* field_name,
                  const std::string& name) {
  if (static_cast<size_t>(field.size()) != expected) {
    return Status::InvalidArgument("tensor '" + name + "': " + field_name + " has " +
                                   std::to_string(field.size()) + " elements, dims say " +
                                   std::to_string(expected));
  }
  return Status::Ok();
}

}  // namespace

Result<Tensor> TensorFromProto(const onnx::TensorProto& p, const TensorProtoLimits& limits) {
  const std::string& name = p.name();
  if (p.has_segment()) {
    return Status::Unsupported("tensor '" + name + "': segmented tensors are not supported");
  }
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    return Status::InvalidArgument("tensor '" + name + "': external data was not resolved");
  }
  CITADEL_ASSIGN_OR_RETURN(DType dtype, DTypeFromOnnx(p.data_type()));
  Shape shape(p.dims().begin(), p.dims().end());
  for (int64_t d : shape) {
    if (d < 0) {
      return Status::InvalidArgument("tensor '" + name + "': negative dimension in " +
                                     ShapeToString(shape));
    }
  }
  auto count_or = ShapeElementCount(shape);
  if (!count_or.ok()) {
    return Status::InvalidArgument("tensor '" + name + "': " + count_or.status().message());
  }
  const size_t count = *count_or;

  if (dtype == DType::kString) {
    CITADEL_RETURN_IF_ERROR(CheckCount(p.string_data(), count, "string_data", name));
    return Tensor::FromStrings(shape, {p.string_data().begin(), p.string_data().end()});
  }

  const size_t elem = DTypeSize(dtype);
  if (count > limits.max_bytes / elem) {
    return Status::ResourceExhausted("tensor '" + name + "' " + ShapeToString(shape) +
                                     " exceeds the tensor size limit");
  }
  if (p.has_raw_data()) {
    const std::string& raw = p.raw_data();
    if (raw.size() != count * elem) {
      return Status::InvalidArgument("tensor '" + name + "': raw_data has " +
                                     std::to_string(raw.size()) + " bytes, dims " +
                                     ShapeToString(shape) + " of " +
                                     std::string(DTypeName(dtype)) + " need " +
                                     std::to_string(count * elem));
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor t, Tensor::FromBytes(dtype, shape, AsBytes(raw)));
    if (dtype == DType::kBool) {
      // Normalise so kernels may rely on bool bytes being exactly 0 or 1.
      uint8_t* b = t.raw_data();
      for (size_t i = 0; i < count; ++i) b[i] = b[i] != 0;
    }
    return t;
  }

  CITADEL_ASSIGN_OR_RETURN(Tensor t, Tensor::Zeros(dtype, shape, limits.max_bytes));
  switch (dtype) {
    case DType::kFloat32:
      CITADEL_RETURN_IF_ERROR(CheckCount(p.float_data(), count, "float_data", name));
      CopyField<float>(p.float_data(), &t);
      break;
    case DType::kFloat64:
      CITADEL_RETURN_IF_ERROR(CheckCount(p.double_data(), count, "double_data", name));
      CopyField<double>(p.double_data(), &t);
      break;
    case DType::kInt64:
      CITADEL_RETURN_IF_ERROR(CheckCount(p.int64_data(), count, "int64_data", name));
      CopyField<int64_t>(p.int64_data(), &t);
      break;
    case DType::kUInt32:
      CITADEL_RETURN_IF_ERROR(CheckCount(p.uint64_data(), count, "uint64_data", name));
      CopyField<uint32_t>(p.uint64_data(), &t);
      break;
    case DType::kUInt64:
      CITADEL_RETURN_IF_ERROR(CheckCount(p.uint64_data(), count, "uint64_data", name));
      CopyField<uint64_t>(p.uint64_data(), &t);
      break;
    // The small integer types, bool and the 16-bit floats all travel in
    // int32_data, one element per int32 (the 16-bit floats as bit patterns).
    case DType::kInt32:
      CITADEL_RETURN_IF_ERROR(CheckCount(p.int32_data(), count, "int32_data", name));
      CopyField<int32_t>(p.int32_data(), &t);
      break;
    case DType::kInt16:
      CITADEL_RETURN_IF_ERROR(CheckCount(p.int32_data(), count, "int32_data", name));
      CopyField<int16_t>(p.int32_data(), &t);
      break;
    case DType::kInt8:
      CITADEL_RETURN_IF_ERROR(CheckCount(p.int32_data(), count, "int32_data", name));
      CopyField<int8_t>(p.int32_data(), &t);
      break;
    case DType::kUInt16:
    case DType::kFloat16:
    case DType::kBFloat16:
      CITADEL_RETURN_IF_ERROR(CheckCount(p.int32_data(), count, "int32_data", name));
      CopyField<uint16_t>(p.int32_data(), &t);
      break;
    case DType::kUInt8:
      CITADEL_RETURN_IF_ERROR(CheckCount(p.int32_data(), count, "int32_data", name));
      CopyField<uint8_t>(p.int32_data(), &t);
      break;
    case DType::kBool: {
      CITADEL_RETURN_IF_ERROR(CheckCount(p.int32_data(), count, "int32_data", name));
      uint8_t* b = t.raw_data();
      for (size_t i = 0; i < count; ++i) b[i] = p.int32_data(static_cast<int>(i)) != 0;
      break;
    }
    case DType::kString:
      break;  // handled above
  }
  return t;
}

Status TensorToProto(const Tensor& t, const std::string& name, onnx::TensorProto* p) {
  p->Clear();
  p->set_name(name);
  p->set_data_type(DTypeToOnnx(t.dtype()));
  for (int64_t d : t.shape()) p->add_dims(d);
  if (t.dtype() == DType::kString) {
    for (const std::string& s : t.strings()) p->add_string_data(s);
  } else {
    p->set_raw_data(reinterpret_cast<const char*>(t.raw_data()), t.byte_size());
  }
  return Status::Ok();
}

}  // namespace citadel::engine
