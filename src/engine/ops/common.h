// Helpers shared by kernels: dtype dispatch, broadcasting, axis handling.
#ifndef CITADEL_ENGINE_OPS_COMMON_H_
#define CITADEL_ENGINE_OPS_COMMON_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "citadel/status.h"
#include "citadel/tensor.h"
#include "../kernel.h"

namespace citadel::engine::ops {

// Calls f.template operator()<T>() with the C++ type of `dtype`. The *Numeric
// variant covers the arithmetic types; 16-bit floats and strings are
// Unsupported there (callers convert them first if they want them).
template <typename F>
Status DispatchNumeric(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat32: return f.template operator()<float>();
    case DType::kFloat64: return f.template operator()<double>();
    case DType::kInt8: return f.template operator()<int8_t>();
    case DType::kInt16: return f.template operator()<int16_t>();
    case DType::kInt32: return f.template operator()<int32_t>();
    case DType::kInt64: return f.template operator()<int64_t>();
    case DType::kUInt8: return f.template operator()<uint8_t>();
    case DType::kUInt16: return f.template operator()<uint16_t>();
    case DType::kUInt32: return f.template operator()<uint32_t>();
    case DType::kUInt64: return f.template operator()<uint64_t>();
    default:
      return Status::Unsupported("element type " + std::string(DTypeName(dtype)) +
                                 " is not supported by this operator");
  }
}

// Floating-point kernels (transcendental functions, Conv, Softmax).
template <typename F>
Status DispatchFloat(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat32: return f.template operator()<float>();
    case DType::kFloat64: return f.template operator()<double>();
    default:
      return Status::Unsupported("element type " + std::string(DTypeName(dtype)) +
                                 " is not supported by this operator (float32/float64 only)");
  }
}

inline bool IsFloatType(DType t) { return t == DType::kFloat32 || t == DType::kFloat64; }

// Multidirectional (numpy) broadcasting of shapes; InvalidArgument names both.
Result<Shape> BroadcastShapes(const Shape& a, const Shape& b);
// Strides of `in` viewed in `out`'s rank, 0 along broadcast dims.
std::vector<int64_t> BroadcastStrides(const Shape& in, const Shape& out);
// Row-major strides.
std::vector<int64_t> Strides(const Shape& s);

// Normalises a possibly negative axis into [0, rank).
Result<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const char* what = "axis");

// Reads a 0-d or 1-d int32/int64 tensor as int64 values.
Result<std::vector<int64_t>> ReadInt64s(const Tensor& t, const char* what);

// Requires input i to be present; returns it.
Result<const Tensor*> RequireInput(const KernelContext& ctx, size_t i, const char* what);

Status ExpectDType(const Tensor& t, DType want, const char* what);
Status ExpectSameDType(const Tensor& a, const Tensor& b, const char* what);

// Walks every element of `out_shape` in row-major order with N broadcast
// inputs, calling f(out_index, offsets) where offsets[k] indexes input k.
template <size_t N, typename F>
void ForEachBroadcast(const Shape& out_shape, const std::array<const Shape*, N>& in_shapes, F&& f) {
  const size_t rank = out_shape.size();
  size_t total = 1;
  for (int64_t d : out_shape) total *= static_cast<size_t>(d);
  if (total == 0) return;
  if (rank == 0) {
    std::array<int64_t, N> off{};
    f(size_t{0}, off);
    return;
  }
  std::array<std::vector<int64_t>, N> strides;
  for (size_t k = 0; k < N; ++k) strides[k] = BroadcastStrides(*in_shapes[k], out_shape);
  const int64_t inner = out_shape[rank - 1];
  std::array<int64_t, N> inner_stride;
  for (size_t k = 0; k < N; ++k) inner_stride[k] = strides[k][rank - 1];
  std::vector<int64_t> idx(rank, 0);
  std::array<int64_t, N> base{};
  size_t out = 0;
  const size_t outer = total / static_cast<size_t>(inner);
  for (size_t o = 0; o < outer; ++o) {
    std::array<int64_t, N> off = base;
    for (int64_t j = 0; j < inner; ++j) {
      f(out++, off);
      for (size_t k = 0; k < N; ++k) off[k] += inner_stride[k];
    }
    // Advance the outer multi-index (all dims but the last).
    for (int64_t d = static_cast<int64_t>(rank) - 2; d >= 0; --d) {
      ++idx[d];
      for (size_t k = 0; k < N; ++k) base[k] += strides[k][d];
      if (idx[d] < out_shape[d]) break;
      for (size_t k = 0; k < N; ++k) base[k] -= strides[k][d] * out_shape[d];
      idx[d] = 0;
    }
  }
}

// Spatial geometry shared by Conv and the pooling ops.
struct SpatialParams {
  std::vector<int64_t> kernel;     // per spatial dim
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads;       // begin..., end...
  std::string auto_pad = "NOTSET";
  bool ceil_mode = false;
};

// Reads strides/dilations/pads/auto_pad (and ceil_mode when `pool`) from
// attributes for `spatial` dims (kernel filled by the caller, may be empty
// until run time for Conv with non-constant weights).
Result<SpatialParams> ReadSpatialParams(const Attributes& attrs, size_t spatial, bool pool);

// Computes the output spatial dims and the effective begin pads for `in`
// (spatial dims only). Rejects non-positive outputs.
Status ComputeSpatialOutput(const SpatialParams& p, const Shape& in, Shape* out,
                            std::vector<int64_t>* pad_begin);

// Sets output i to a string tensor of `shape` holding `values`. Allocate
// and NewTensor refuse strings (so a byte-copying kernel cannot silently
// produce empty strings); kernels that handle strings build them and hand
// them over here, under the same per-tensor limit (string bytes plus a
// per-element overhead).
Status SetStringOutput(KernelContext& ctx, size_t i, const Shape& shape, std::vector<std::string> values);

// MaxPool with the Indices output (max_pool_indices.cc); pool.cc's factory
// hands such nodes over after reading the shared attributes.
Result<std::unique_ptr<Kernel>> MakeMaxPoolWithIndices(SpatialParams p, int64_t storage_order);

// Four float lanes as one GCC vector: an SSE register at the baseline
// x86-64 ISA the build targets. Loops over the B lanes of a channel block
// (blocked activations, see KernelContext::blocked_channels) use B/4 of
// them as named locals so they stay in registers; with a run-time block
// width GCC -O2 left such loops scalar, and a 16-lane vector type or an
// array of accumulators was kept on the stack.
typedef float Float4 __attribute__((vector_size(4 * sizeof(float))));
inline Float4 LoadFloat4(const float* p) {
  Float4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void StoreFloat4(float* p, Float4 v) { std::memcpy(p, &v, sizeof(v)); }

}  // namespace citadel::engine::ops

#endif  // CITADEL_ENGINE_OPS_COMMON_H_
