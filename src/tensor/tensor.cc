#include "citadel/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>

#include "citadel/bytes.h"

namespace citadel {

namespace {
struct DTypeEntry {
  DType type;
  size_t size;
  std::string_view name;
  std::string_view kserve;
};
constexpr DTypeEntry kDTypes[] = {
    {DType::kFloat32, 4, "float32", "FP32"},  {DType::kFloat64, 8, "float64", "FP64"},
    {DType::kFloat16, 2, "float16", "FP16"},  {DType::kBFloat16, 2, "bfloat16", "BF16"},
    {DType::kInt8, 1, "int8", "INT8"},        {DType::kInt16, 2, "int16", "INT16"},
    {DType::kInt32, 4, "int32", "INT32"},     {DType::kInt64, 8, "int64", "INT64"},
    {DType::kUInt8, 1, "uint8", "UINT8"},     {DType::kUInt16, 2, "uint16", "UINT16"},
    {DType::kUInt32, 4, "uint32", "UINT32"},  {DType::kUInt64, 8, "uint64", "UINT64"},
    {DType::kBool, 1, "bool", "BOOL"},        {DType::kString, 0, "string", "BYTES"},
};
const DTypeEntry& Entry(DType t) {
  for (const auto& e : kDTypes)
    if (e.type == t) return e;
  return kDTypes[0];
}
}  // namespace

size_t DTypeSize(DType t) { return Entry(t).size; }
std::string_view DTypeName(DType t) { return Entry(t).name; }
std::string_view DTypeKServeName(DType t) { return Entry(t).kserve; }

std::optional<DType> DTypeFromName(std::string_view name) {
  for (const auto& e : kDTypes)
    if (e.name == name) return e.type;
  return std::nullopt;
}
std::optional<DType> DTypeFromKServeName(std::string_view name) {
  for (const auto& e : kDTypes)
    if (e.kserve == name) return e.type;
  return std::nullopt;
}

Result<size_t> ShapeElementCount(const Shape& shape, size_t max_elements) {
  size_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return Status::InvalidArgument("negative dimension in shape " + ShapeToString(shape));
    if (d != 0 && n > max_elements / static_cast<size_t>(d)) {
      return Status::ResourceExhausted("shape " + ShapeToString(shape) + " has more than " +
                                       std::to_string(max_elements) + " elements");
    }
    n *= static_cast<size_t>(d);
  }
  if (n > max_elements) {
    return Status::ResourceExhausted("shape " + ShapeToString(shape) + " has more than " +
                                     std::to_string(max_elements) + " elements");
  }
  return n;
}

std::string ShapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// Aligned, zero-initialised, wiped on free: tensors carry patient data and
// weights, which must not linger in freed heap memory.
struct Tensor::Buffer {
  // `zero` false: only the alignment padding past `n` is zeroed; the caller
  // writes all n bytes at once (FromBytes), which saves a pass that would
  // page the memory in twice (expensive when loading large weights).
  explicit Buffer(size_t n, bool zero = true) : size(n) {
    size_t alloc = (n + 63) / 64 * 64;
    if (alloc == 0) alloc = 64;
    data = static_cast<uint8_t*>(std::aligned_alloc(64, alloc));
    if (data) std::memset(data + (zero ? 0 : n), 0, zero ? alloc : alloc - n);
  }
  // Memory owned elsewhere (Tensor::Wrap): released with `owner`.
  Buffer(uint8_t* d, size_t n, std::shared_ptr<void> o) : data(d), size(n), owner(std::move(o)) {}
  ~Buffer() {
    if (data && !owner) {
      SecureZero(data, size);
      std::free(data);
    }
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  uint8_t* data = nullptr;
  size_t size = 0;
  std::shared_ptr<void> owner;
  std::vector<std::string> strings;
};

Result<Tensor> Tensor::Zeros(DType dtype, const Shape& shape, size_t max_bytes) {
  size_t elem = DTypeSize(dtype);
  size_t max_elements = elem == 0 ? (size_t{1} << 28) : max_bytes / elem;
  auto count = ShapeElementCount(shape, max_elements);
  if (!count.ok()) {
    if (count.status().code() == Code::kResourceExhausted) {
      return Status::ResourceExhausted("tensor of shape " + ShapeToString(shape) + " and dtype " +
                                       std::string(DTypeName(dtype)) + " exceeds the limit of " +
                                       std::to_string(max_bytes) + " bytes");
    }
    return count.status();
  }
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = shape;
  t.num_elements_ = *count;
  t.buffer_ = std::make_shared<Buffer>(*count * elem);
  if (!t.buffer_->data) return Status::ResourceExhausted("out of memory allocating tensor");
  if (dtype == DType::kString) t.buffer_->strings.resize(*count);
  t.valid_ = true;
  return t;
}

Result<Tensor> Tensor::FromBytes(DType dtype, const Shape& shape, std::span<const uint8_t> data) {
  if (dtype == DType::kString) return Status::InvalidArgument("string tensors are built with FromStrings");
  // Zeros' checks on an empty shape of the same rank (no allocation), then
  // a buffer that is written once by the copy instead of zeroed first.
  CITADEL_ASSIGN_OR_RETURN(Tensor t, Zeros(dtype, Shape(shape.size(), 0)));
  CITADEL_ASSIGN_OR_RETURN(size_t count, ShapeElementCount(shape, (size_t{1} << 34) / DTypeSize(dtype)));
  if (data.size() != count * DTypeSize(dtype)) {
    return Status::InvalidArgument("tensor of shape " + ShapeToString(shape) + " and dtype " +
                                   std::string(DTypeName(dtype)) + " needs " +
                                   std::to_string(count * DTypeSize(dtype)) + " bytes, got " +
                                   std::to_string(data.size()));
  }
  t.shape_ = shape;
  t.num_elements_ = count;
  t.buffer_ = std::make_shared<Buffer>(data.size(), /*zero=*/false);
  if (!t.buffer_->data) return Status::ResourceExhausted("out of memory allocating tensor");
  if (!data.empty()) std::memcpy(t.raw_data(), data.data(), data.size());
  return t;
}

Result<Tensor> Tensor::Wrap(DType dtype, const Shape& shape, std::shared_ptr<void> owner,
                            uint8_t* data, size_t capacity) {
  if (dtype == DType::kString) return Status::InvalidArgument("Tensor::Wrap cannot hold strings");
  CITADEL_ASSIGN_OR_RETURN(size_t count, ShapeElementCount(shape));
  const size_t elem = DTypeSize(dtype);
  if (count > capacity / elem || data == nullptr || owner == nullptr) {
    return Status::InvalidArgument("Tensor::Wrap: buffer too small for " + ShapeToString(shape));
  }
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = shape;
  t.num_elements_ = count;
  t.buffer_ = std::make_shared<Buffer>(data, count * elem, std::move(owner));
  t.valid_ = true;
  return t;
}

Result<Tensor> Tensor::FromStrings(const Shape& shape, std::vector<std::string> values) {
  CITADEL_ASSIGN_OR_RETURN(Tensor t, Zeros(DType::kString, shape));
  if (values.size() != t.num_elements()) {
    return Status::InvalidArgument("string tensor of shape " + ShapeToString(shape) + " needs " +
                                   std::to_string(t.num_elements()) + " values, got " +
                                   std::to_string(values.size()));
  }
  t.buffer_->strings = std::move(values);
  return t;
}

uint8_t* Tensor::raw_data() { return buffer_ ? buffer_->data : nullptr; }
const uint8_t* Tensor::raw_data() const { return buffer_ ? buffer_->data : nullptr; }

const std::vector<std::string>& Tensor::strings() const {
  static const std::vector<std::string> kEmpty;
  return buffer_ ? buffer_->strings : kEmpty;
}
std::vector<std::string>& Tensor::mutable_strings() {
  if (!buffer_) buffer_ = std::make_shared<Buffer>(0);
  return buffer_->strings;
}

Result<Tensor> Tensor::Reshaped(const Shape& new_shape) const {
  CITADEL_ASSIGN_OR_RETURN(size_t n, ShapeElementCount(new_shape));
  if (n != num_elements_) {
    return Status::InvalidArgument("cannot reshape " + ShapeToString(shape_) + " to " + ShapeToString(new_shape));
  }
  Tensor t = *this;
  t.shape_ = new_shape;
  return t;
}

Tensor Tensor::Clone() const {
  if (!valid_) return Tensor();
  auto copy = Zeros(dtype_, shape_);
  if (!copy.ok()) return Tensor();
  Tensor t = std::move(copy).value();
  if (byte_size()) std::memcpy(t.raw_data(), raw_data(), byte_size());
  if (dtype_ == DType::kString) t.buffer_->strings = buffer_->strings;
  return t;
}

float HalfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ff;
      bits = sign | exp << 23 | mant << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000 | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffff;
  if (absx >= 0x7f800000) {  // inf or nan
    return static_cast<uint16_t>(sign | 0x7c00 | (absx > 0x7f800000 ? 0x200 : 0));
  }
  if (absx >= 0x477ff000) return static_cast<uint16_t>(sign | 0x7c00);  // overflow -> inf
  if (absx < 0x38800000) {  // subnormal or zero in half
    // Shift with round to nearest even.
    float a;
    std::memcpy(&a, &absx, 4);
    float scaled = a * 16777216.0f;  // 2^24: half subnormal unit is 2^-24
    uint32_t m = static_cast<uint32_t>(scaled);
    float rem = scaled - static_cast<float>(m);
    if (rem > 0.5f || (rem == 0.5f && (m & 1))) ++m;
    return static_cast<uint16_t>(sign | m);
  }
  uint32_t exp = (absx >> 23) - 127 + 15;
  uint32_t mant = absx & 0x7fffff;
  uint32_t h = exp << 10 | mant >> 13;
  uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;  // may carry into exponent: correct
  return static_cast<uint16_t>(sign | h);
}

float BFloat16ToFloat(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t FloatToBFloat16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((x >> 16) | 0x40);  // quiet nan
  uint32_t rounding = 0x7fff + ((x >> 16) & 1);
  return static_cast<uint16_t>((x + rounding) >> 16);
}

}  // namespace citadel
