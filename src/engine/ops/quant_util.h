// Helpers shared by the quantized ops (quantize_linear.cc, matmul_integer.cc,
// conv_integer.cc): the exact integer semantics the ONNX spec prescribes.
#ifndef CITADEL_ENGINE_OPS_QUANT_UTIL_H_
#define CITADEL_ENGINE_OPS_QUANT_UTIL_H_

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "citadel/status.h"
#include "citadel/tensor.h"
#include "common.h"

namespace citadel::engine::ops {

// ONNX quantizers round half to even (numpy.rint), not half away from zero
// as std::round does: 2.5 -> 2, 3.5 -> 4, -2.5 -> -2. Written out rather than
// relying on std::nearbyint so a changed floating-point rounding mode cannot
// change results.
inline double RoundHalfEven(double x) {
  const double r = std::floor(x);
  const double diff = x - r;
  if (diff > 0.5) return r + 1;
  if (diff < 0.5) return r;
  return std::fmod(r, 2.0) == 0 ? r : r + 1;
}

// Clamps to Q's range before converting (converting an out-of-range double
// to an integer is undefined behaviour). NaN maps to 0: the spec leaves it
// undefined and 0 is what a saturating hardware conversion gives.
template <typename Q>
Q SaturateTo(double v) {
  if (std::isnan(v)) return 0;
  constexpr double lo = static_cast<double>(std::numeric_limits<Q>::min());
  constexpr double hi = static_cast<double>(std::numeric_limits<Q>::max());
  if (v <= lo) return std::numeric_limits<Q>::min();
  if (v >= hi) return std::numeric_limits<Q>::max();
  return static_cast<Q>(v);
}

// Calls f.template operator()<T>() for the 8-bit quantized types.
template <typename F>
Status DispatchQuant8(DType dtype, const char* what, F&& f) {
  switch (dtype) {
    case DType::kUInt8: return f.template operator()<uint8_t>();
    case DType::kInt8: return f.template operator()<int8_t>();
    default:
      return Status::InvalidArgument(std::string(what) + " must be uint8 or int8, got " +
                                     std::string(DTypeName(dtype)));
  }
}

// Reads a float32 scale that is a scalar (or one element) or a 1-D tensor of
// `n` elements (per-axis / per-row / per-channel). Values are not checked:
// a zero scale gives +-inf or NaN quotients, which saturate (NaN to zero),
// so even a degenerate scale yields a defined result.
inline Result<std::vector<float>> ReadScales(const Tensor& s, int64_t n, const char* what) {
  if (s.dtype() != DType::kFloat32) {
    return Status::InvalidArgument(std::string(what) + " must be float32, got " +
                                   std::string(DTypeName(s.dtype())));
  }
  if (s.num_elements() != 1 && !(s.rank() == 1 && s.shape()[0] == n)) {
    return Status::InvalidArgument(std::string(what) + " must be a scalar or have " +
                                   std::to_string(n) + " elements, got shape " +
                                   ShapeToString(s.shape()));
  }
  return std::vector<float>(s.data<float>(), s.data<float>() + s.num_elements());
}

// Reads a zero point (nullptr: absent, meaning 0) of dtype `want` that is a
// scalar or has `n` elements, widened to int32.
inline Result<std::vector<int32_t>> ReadZeroPoints(const Tensor* zp, DType want, int64_t n,
                                                   const char* what) {
  if (zp == nullptr) return std::vector<int32_t>{0};
  if (zp->dtype() != want) {
    return Status::InvalidArgument(std::string(what) + " must be " +
                                   std::string(DTypeName(want)) + " like its data, got " +
                                   std::string(DTypeName(zp->dtype())));
  }
  if (zp->num_elements() != 1 && !(zp->rank() == 1 && zp->shape()[0] == n)) {
    return Status::InvalidArgument(std::string(what) + " must be a scalar or have " +
                                   std::to_string(n) + " elements, got shape " +
                                   ShapeToString(zp->shape()));
  }
  std::vector<int32_t> out(zp->num_elements());
  for (size_t i = 0; i < out.size(); ++i) {
    switch (want) {
      case DType::kUInt8: out[i] = zp->data<uint8_t>()[i]; break;
      case DType::kInt8: out[i] = zp->data<int8_t>()[i]; break;
      case DType::kInt32: out[i] = zp->data<int32_t>()[i]; break;
      default: return Status::InvalidArgument(std::string(what) + ": unsupported type");
    }
  }
  return out;
}

// Element i of a quantized uint8/int8 tensor, widened.
inline int32_t QuantAt(const Tensor& t, size_t i) {
  return t.dtype() == DType::kUInt8 ? static_cast<int32_t>(t.data<uint8_t>()[i])
                                    : static_cast<int32_t>(t.data<int8_t>()[i]);
}

}  // namespace citadel::engine::ops

#endif  // CITADEL_ENGINE_OPS_QUANT_UTIL_H_
