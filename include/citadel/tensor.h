// Tensors: a dtype, a shape and a contiguous row-major buffer.
//
// A Tensor shares its buffer on copy (cheap, like a shared_ptr); use Clone()
// for a deep copy. Buffers are 64-byte aligned (oneDNN and AVX friendly) and
// wiped when freed, because they hold patient data and model weights.
#ifndef CITADEL_TENSOR_H_
#define CITADEL_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/status.h"

namespace citadel {

enum class DType : uint8_t {
  kFloat32,
  kFloat64,
  kFloat16,
  kBFloat16,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUInt8,
  kUInt16,
  kUInt32,
  kUInt64,
  kBool,    // one byte per element, 0 or 1
  kString,  // stored in Tensor::strings(), not in the byte buffer
};

// Bytes per element (0 for kString).
size_t DTypeSize(DType t);
// Lower-case numpy-like name: "float32", "int64", "bool", "string".
std::string_view DTypeName(DType t);
std::optional<DType> DTypeFromName(std::string_view name);
// Open Inference Protocol (KServe v2) names: "FP32", "INT64", "BOOL", "BYTES".
std::string_view DTypeKServeName(DType t);
std::optional<DType> DTypeFromKServeName(std::string_view name);

using Shape = std::vector<int64_t>;

// Element count of a static shape; error on negative dims or overflow past
// max_elements.
Result<size_t> ShapeElementCount(const Shape& shape, size_t max_elements = size_t{1} << 40);
std::string ShapeToString(const Shape& shape);  // "[1,3,224,224]"

class Tensor {
 public:
  Tensor() = default;  // empty float32 scalar-less placeholder (valid() == false)

  // Zero-filled tensor. Fails on bad shapes or when the byte size would
  // exceed max_bytes (protects against hostile shapes).
  static Result<Tensor> Zeros(DType dtype, const Shape& shape,
                              size_t max_bytes = size_t{1} << 34);
  // Copies `data` (must be exactly num_elements * DTypeSize bytes).
  static Result<Tensor> FromBytes(DType dtype, const Shape& shape, std::span<const uint8_t> data);
  static Result<Tensor> FromStrings(const Shape& shape, std::vector<std::string> values);
  // A tensor over memory it does not allocate: `data` (64-byte aligned,
  // `capacity` >= the tensor's byte size) must stay valid while `owner`
  // lives, and the tensor (and its copies) hold `owner`. Nothing is zeroed
  // or wiped here: the owner decides (the engine's buffer pool wipes a
  // block before it goes back to the heap). Not for strings.
  static Result<Tensor> Wrap(DType dtype, const Shape& shape, std::shared_ptr<void> owner,
                             uint8_t* data, size_t capacity);

  template <typename T>
  static Result<Tensor> FromVector(DType dtype, const Shape& shape, const std::vector<T>& v) {
    return FromBytes(dtype, shape,
                     {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(T)});
  }

  bool valid() const { return valid_; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  size_t rank() const { return shape_.size(); }
  size_t num_elements() const { return num_elements_; }
  size_t byte_size() const { return num_elements_ * DTypeSize(dtype_); }

  uint8_t* raw_data();
  const uint8_t* raw_data() const;
  std::span<const uint8_t> bytes() const { return {raw_data(), byte_size()}; }

  template <typename T>
  T* data() { return reinterpret_cast<T*>(raw_data()); }
  template <typename T>
  const T* data() const { return reinterpret_cast<const T*>(raw_data()); }

  const std::vector<std::string>& strings() const;
  std::vector<std::string>& mutable_strings();

  // True when no other Tensor shares this one's storage (copies and
  // Reshaped views share it); the engine may then write over it in place.
  bool sole_owner() const { return buffer_ != nullptr && buffer_.use_count() == 1; }

  // Same buffer, new shape with the same element count.
  Result<Tensor> Reshaped(const Shape& new_shape) const;
  Tensor Clone() const;

 private:
  struct Buffer;
  bool valid_ = false;
  DType dtype_ = DType::kFloat32;
  Shape shape_;
  size_t num_elements_ = 0;
  std::shared_ptr<Buffer> buffer_;
};

struct NamedTensor {
  std::string name;
  Tensor tensor;
};
using TensorList = std::vector<NamedTensor>;

// Float16 / BFloat16 conversions (round to nearest even).
float HalfToFloat(uint16_t h);
uint16_t FloatToHalf(float f);
float BFloat16ToFloat(uint16_t b);
uint16_t FloatToBFloat16(float f);

}  // namespace citadel

#endif  // CITADEL_TENSOR_H_
