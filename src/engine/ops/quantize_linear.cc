// QuantizeLinear (10, 13: per-axis), DequantizeLinear (10, 13: per-axis) and
// DynamicQuantizeLinear (11).
//
//   Quantize:   y = saturate(round_half_even(x / scale) + zero_point)
//   Dequantize: y = (x - zero_point) * scale
//   Dynamic:    scale = (max(0, max x) - min(0, min x)) / 255,
//               zero_point = saturate(round_half_even(0 - min(0, min x) / scale)),
//               y = saturate(round_half_even(x / scale) + zero_point)  (uint8)
//
// Arithmetic follows the ONNX reference (numpy) type by type, because the
// results are integers and one ulp can move a value across a rounding tie:
// float32 inputs divide in float32, int32 inputs in float64.
#include <algorithm>
#include <cmath>
#include <memory>

#include "common.h"
#include "ops.h"
#include "quant_util.h"

namespace citadel::engine::ops {
namespace {

// Splits a tensor around `axis` so that element i has channel
// (i / inner) % dim. Per-tensor parameters use dim == 1.
struct AxisSplit {
  size_t dim = 1;
  size_t inner = 1;
  size_t Channel(size_t i) const { return dim == 1 ? 0 : (i / inner) % dim; }
};

// Per-tensor when the scale has one element; per-axis otherwise (opset 13+).
Result<AxisSplit> SplitFor(const Tensor& x, const Tensor& scale, int64_t axis, bool per_axis_ok,
                           const char* op) {
  AxisSplit s;
  if (scale.num_elements() == 1) return s;
  if (!per_axis_ok) {
    return Status::InvalidArgument(std::string(op) +
                                   " before opset 13 needs a scalar scale, got shape " +
                                   ShapeToString(scale.shape()));
  }
  CITADEL_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(axis, static_cast<int64_t>(x.rank())));
  s.dim = static_cast<size_t>(x.shape()[a]);
  for (size_t d = static_cast<size_t>(a) + 1; d < x.rank(); ++d) s.inner *= static_cast<size_t>(x.shape()[d]);
  if (s.dim == 0) s.dim = 1;  // empty tensor: nothing to index
  return s;
}

// Zero points must pair with scales: a scalar, or one per channel.
Status CheckPairing(const std::vector<float>& scales, const std::vector<int32_t>& zps,
                    const char* op) {
  if (zps.size() != 1 && zps.size() != scales.size()) {
    return Status::InvalidArgument(std::string(op) + ": " + std::to_string(zps.size()) +
                                   " zero points for " + std::to_string(scales.size()) +
                                   " scales");
  }
  return Status::Ok();
}

class QuantizeLinearKernel final : public Kernel {
 public:
  QuantizeLinearKernel(int64_t axis, bool per_axis_ok) : axis_(axis), per_axis_ok_(per_axis_ok) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "x"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* s, RequireInput(ctx, 1, "y_scale"));
    const Tensor* zp = ctx.input(2);
    const DType out_type = zp != nullptr ? zp->dtype() : DType::kUInt8;
    if (x->dtype() != DType::kFloat32 && x->dtype() != DType::kInt32 &&
        x->dtype() != DType::kFloat16) {
      return Status::InvalidArgument("QuantizeLinear input must be float32, float16 or int32, got " +
                                     std::string(DTypeName(x->dtype())));
    }
    CITADEL_ASSIGN_OR_RETURN(AxisSplit split, SplitFor(*x, *s, axis_, per_axis_ok_, "QuantizeLinear"));
    CITADEL_ASSIGN_OR_RETURN(std::vector<float> scales,
                             ReadScales(*s, static_cast<int64_t>(split.dim), "y_scale"));
    return DispatchQuant8(out_type, "y_zero_point", [&]<typename Q>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(
          std::vector<int32_t> zps,
          ReadZeroPoints(zp, out_type, static_cast<int64_t>(split.dim), "y_zero_point"));
      CITADEL_RETURN_IF_ERROR(CheckPairing(scales, zps, "QuantizeLinear"));
      CITADEL_ASSIGN_OR_RETURN(Tensor* y, ctx.Allocate(0, out_type, x->shape()));
      Q* out = y->data<Q>();
      const size_t n = x->num_elements();
      for (size_t i = 0; i < n; ++i) {
        const size_t c = split.Channel(i);
        const float sc = scales[scales.size() == 1 ? 0 : c];
        const int32_t z = zps[zps.size() == 1 ? 0 : c];
        double q;
        switch (x->dtype()) {
          case DType::kFloat32: q = static_cast<double>(x->data<float>()[i] / sc); break;
          case DType::kFloat16: q = static_cast<double>(HalfToFloat(x->data<uint16_t>()[i]) / sc); break;
          default: q = static_cast<double>(x->data<int32_t>()[i]) / static_cast<double>(sc); break;
        }
        out[i] = SaturateTo<Q>(RoundHalfEven(q) + z);
      }
      return Status::Ok();
    });
  }

 private:
  int64_t axis_;
  bool per_axis_ok_;
};

class DequantizeLinearKernel final : public Kernel {
 public:
  DequantizeLinearKernel(int64_t axis, bool per_axis_ok) : axis_(axis), per_axis_ok_(per_axis_ok) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "x"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* s, RequireInput(ctx, 1, "x_scale"));
    const DType t = x->dtype();
    if (t != DType::kUInt8 && t != DType::kInt8 && t != DType::kInt32) {
      return Status::InvalidArgument("DequantizeLinear input must be uint8, int8 or int32, got " +
                                     std::string(DTypeName(t)));
    }
    CITADEL_ASSIGN_OR_RETURN(AxisSplit split,
                             SplitFor(*x, *s, axis_, per_axis_ok_, "DequantizeLinear"));
    CITADEL_ASSIGN_OR_RETURN(std::vector<float> scales,
                             ReadScales(*s, static_cast<int64_t>(split.dim), "x_scale"));
    CITADEL_ASSIGN_OR_RETURN(
        std::vector<int32_t> zps,
        ReadZeroPoints(ctx.input(2), t, static_cast<int64_t>(split.dim), "x_zero_point"));
    CITADEL_RETURN_IF_ERROR(CheckPairing(scales, zps, "DequantizeLinear"));
    CITADEL_ASSIGN_OR_RETURN(Tensor* y, ctx.Allocate(0, DType::kFloat32, x->shape()));
    float* out = y->data<float>();
    const size_t n = x->num_elements();
    for (size_t i = 0; i < n; ++i) {
      const size_t c = split.Channel(i);
      const int32_t v = t == DType::kInt32 ? x->data<int32_t>()[i] : QuantAt(*x, i);
      // The reference converts both operands to float32 before subtracting.
      out[i] = (static_cast<float>(v) - static_cast<float>(zps[zps.size() == 1 ? 0 : c])) *
               scales[scales.size() == 1 ? 0 : c];
    }
    return Status::Ok();
  }

 private:
  int64_t axis_;
  bool per_axis_ok_;
};

class DynamicQuantizeLinearKernel final : public Kernel {
 public:
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "x"));
    CITADEL_RETURN_IF_ERROR(ExpectDType(*x, DType::kFloat32, "DynamicQuantizeLinear input"));
    const float* in = x->data<float>();
    const size_t n = x->num_elements();
    // The range always includes 0 so that 0 is exactly representable.
    float lo = 0, hi = 0;
    for (size_t i = 0; i < n; ++i) {
      if (std::isnan(in[i])) {
        return Status::InvalidArgument("DynamicQuantizeLinear input contains NaN");
      }
      lo = std::min(lo, in[i]);
      hi = std::max(hi, in[i]);
    }
    if (!std::isfinite(lo) || !std::isfinite(hi)) {
      return Status::InvalidArgument("DynamicQuantizeLinear input contains an infinity");
    }
    const float scale = (hi - lo) / 255.0f;
    // All-zero input: scale 0; every value (all 0) maps to zero point 0.
    uint8_t zp = 0;
    if (scale > 0) zp = SaturateTo<uint8_t>(RoundHalfEven(static_cast<double>(0.0f - lo / scale)));
    CITADEL_ASSIGN_OR_RETURN(Tensor* y, ctx.Allocate(0, DType::kUInt8, x->shape()));
    CITADEL_ASSIGN_OR_RETURN(Tensor* ys, ctx.Allocate(1, DType::kFloat32, Shape{}));
    CITADEL_ASSIGN_OR_RETURN(Tensor* yz, ctx.Allocate(2, DType::kUInt8, Shape{}));
    ys->data<float>()[0] = scale;
    yz->data<uint8_t>()[0] = zp;
    uint8_t* out = y->data<uint8_t>();
    for (size_t i = 0; i < n; ++i) {
      out[i] = scale > 0 ? SaturateTo<uint8_t>(RoundHalfEven(static_cast<double>(in[i] / scale)) + zp)
                         : zp;
    }
    return Status::Ok();
  }
};

KernelFactory QuantFactory(bool dequantize) {
  return [dequantize](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, init.node.attrs.GetInt("axis", 1));
    const bool per_axis_ok = init.opset >= 13;
    if (dequantize) return std::unique_ptr<Kernel>(std::make_unique<DequantizeLinearKernel>(axis, per_axis_ok));
    return std::unique_ptr<Kernel>(std::make_unique<QuantizeLinearKernel>(axis, per_axis_ok));
  };
}

}  // namespace

void RegisterQuantizeLinearOps(OpRegistry& r) {
  // Opset 19 adds float8 and saturate; 21 adds blocked quantization. Both are
  // beyond kMaxOnnxOpset, so 10-17 covers every model this engine accepts.
  r.Register("", "QuantizeLinear", 10, kMaxOnnxOpset, QuantFactory(false));
  r.Register("", "DequantizeLinear", 10, kMaxOnnxOpset, QuantFactory(true));
  r.Register("", "DynamicQuantizeLinear", 11, kMaxOnnxOpset,
             SimpleFactory<DynamicQuantizeLinearKernel>());
}

}  // namespace citadel::engine::ops
