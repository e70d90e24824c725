// ConvInteger (10) and QLinearConv (10): direct N-D (1-3 spatial dims)
// convolution over 8-bit integers with exact int32 accumulation.
//
//   ConvInteger: Y[int32] = conv(x - x_zero_point, w - w_zero_point)
//   QLinearConv: Y = saturate(round_half_even((acc + B) * x_scale * w_scale / y_scale)
//                             + y_zero_point)
//
// Padding contributes x_zero_point (i.e. zero after the subtraction), as the
// spec requires. w's zero point and scale may be per output channel. The
// reference loop is deliberately simple: quantized models are rare in the
// inference path this engine targets, and exactness matters more here than
// speed (an int8 oneDNN path can replace it without changing results).
#include <memory>

#include "common.h"
#include "ops.h"
#include "quant_util.h"

namespace citadel::engine::ops {
namespace {

struct Geometry {
  int64_t N = 0, C = 0, M = 0, CG = 0, MG = 0;
  // Spatial dims padded to 3 (missing ones are size 1, stride 1, no pad).
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, dil[3] = {1, 1, 1}, pad[3] = {0, 0, 0};
  Shape out_shape;
};

Result<Geometry> MakeGeometry(const SpatialParams& attrs, int64_t group, const Shape& xs,
                              const Shape& ws, const char* op) {
  const size_t rank = xs.size();
  if (rank < 3 || rank > 5 || ws.size() != rank) {
    return Status::InvalidArgument(std::string(op) + " needs input and weight of equal rank 3 to 5, got " +
                                   ShapeToString(xs) + " and " + ShapeToString(ws));
  }
  const size_t spatial = rank - 2;
  Geometry g;
  g.N = xs[0];
  g.C = xs[1];
  g.M = ws[0];
  g.CG = ws[1];
  if (g.C != g.CG * group || g.M % group != 0) {
    return Status::InvalidArgument(std::string(op) + " channels do not match: input " +
                                   ShapeToString(xs) + ", weight " + ShapeToString(ws) +
                                   ", group " + std::to_string(group));
  }
  g.MG = g.M / group;
  SpatialParams p = attrs;
  const Shape wk(ws.begin() + 2, ws.end());
  if (p.kernel.empty()) p.kernel = wk;
  if (p.strides.empty()) p.strides.assign(spatial, 1);
  if (p.dilations.empty()) p.dilations.assign(spatial, 1);
  if (p.pads.empty()) p.pads.assign(2 * spatial, 0);
  if (p.kernel != wk || p.strides.size() != spatial || p.dilations.size() != spatial ||
      p.pads.size() != 2 * spatial) {
    return Status::InvalidArgument(std::string(op) + " attributes do not match weight " +
                                   ShapeToString(ws));
  }
  for (size_t i = 0; i < spatial; ++i) {
    if (p.strides[i] <= 0 || p.dilations[i] <= 0 || p.pads[i] < 0 || p.pads[i + spatial] < 0) {
      return Status::InvalidArgument(std::string(op) +
                                     " strides/dilations must be positive, pads non-negative");
    }
  }
  const Shape in_sp(xs.begin() + 2, xs.end());
  Shape out_sp;
  std::vector<int64_t> pad_begin;
  CITADEL_RETURN_IF_ERROR(ComputeSpatialOutput(p, in_sp, &out_sp, &pad_begin));
  g.out_shape = {g.N, g.M};
  for (size_t i = 0; i < spatial; ++i) {
    const size_t d = 3 - spatial + i;  // right-align into the 3 slots
    g.in[d] = in_sp[i];
    g.k[d] = wk[i];
    g.out[d] = out_sp[i];
    g.stride[d] = p.strides[i];
    g.dil[d] = p.dilations[i];
    g.pad[d] = pad_begin[i];
    g.out_shape.push_back(out_sp[i]);
  }
  return g;
}

// acc[n, m, od, oh, ow] over int32 operands with zero points subtracted.
Result<Tensor> IntConv(const KernelContext& ctx, const Tensor& x, const Tensor& w,
                       const Tensor* x_zp_t, const Tensor* w_zp_t, const SpatialParams& attrs,
                       int64_t group, const char* op, Geometry* geom) {
  for (const Tensor* t : {&x, &w}) {
    if (t->dtype() != DType::kUInt8 && t->dtype() != DType::kInt8) {
      return Status::InvalidArgument(std::string(op) + " x and w must be uint8 or int8, got " +
                                     std::string(DTypeName(t->dtype())));
    }
  }
  CITADEL_ASSIGN_OR_RETURN(Geometry g, MakeGeometry(attrs, group, x.shape(), w.shape(), op));
  CITADEL_ASSIGN_OR_RETURN(std::vector<int32_t> xz, ReadZeroPoints(x_zp_t, x.dtype(), 1, "x_zero_point"));
  CITADEL_ASSIGN_OR_RETURN(std::vector<int32_t> wz, ReadZeroPoints(w_zp_t, w.dtype(), g.M, "w_zero_point"));

  CITADEL_ASSIGN_OR_RETURN(Tensor xw, ctx.NewTensor(DType::kInt32, x.shape()));
  CITADEL_ASSIGN_OR_RETURN(Tensor ww, ctx.NewTensor(DType::kInt32, w.shape()));
  int32_t* xp = xw.data<int32_t>();
  int32_t* wp = ww.data<int32_t>();
  for (size_t i = 0; i < x.num_elements(); ++i) xp[i] = QuantAt(x, i) - xz[0];
  const size_t per_m = g.M > 0 ? w.num_elements() / static_cast<size_t>(g.M) : 0;
  for (size_t i = 0; i < w.num_elements(); ++i) {
    wp[i] = QuantAt(w, i) - wz[wz.size() == 1 ? 0 : i / per_m];
  }

  CITADEL_ASSIGN_OR_RETURN(Tensor acc, ctx.NewTensor(DType::kInt32, g.out_shape));
  int32_t* yp = acc.data<int32_t>();
  const int64_t in_sz = g.in[0] * g.in[1] * g.in[2];
  const int64_t k_sz = g.k[0] * g.k[1] * g.k[2];
  size_t o = 0;
  for (int64_t n = 0; n < g.N; ++n) {
    for (int64_t m = 0; m < g.M; ++m) {
      const int64_t c0 = (m / g.MG) * g.CG;  // first input channel of m's group
      const int32_t* wm = wp + m * g.CG * k_sz;
      for (int64_t od = 0; od < g.out[0]; ++od) {
        for (int64_t oh = 0; oh < g.out[1]; ++oh) {
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            int64_t s = 0;
            for (int64_t c = 0; c < g.CG; ++c) {
              const int32_t* xc = xp + ((n * g.C) + c0 + c) * in_sz;
              const int32_t* wc = wm + c * k_sz;
              for (int64_t kd = 0; kd < g.k[0]; ++kd) {
                const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dil[0];
                if (id < 0 || id >= g.in[0]) continue;
                for (int64_t kh = 0; kh < g.k[1]; ++kh) {
                  const int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dil[1];
                  if (ih < 0 || ih >= g.in[1]) continue;
                  for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                    const int64_t iw = ow * g.stride[2] - g.pad[2] + kw * g.dil[2];
                    if (iw < 0 || iw >= g.in[2]) continue;
                    s += static_cast<int64_t>(xc[(id * g.in[1] + ih) * g.in[2] + iw]) *
                         wc[(kd * g.k[1] + kh) * g.k[2] + kw];
                  }
                }
              }
            }
            yp[o++] = static_cast<int32_t>(static_cast<uint32_t>(s));  // int32 accumulator wraps
          }
        }
      }
    }
  }
  *geom = g;
  return acc;
}

class ConvIntegerKernel final : public Kernel {
 public:
  ConvIntegerKernel(SpatialParams p, int64_t group) : p_(std::move(p)), group_(group) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "x"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* w, RequireInput(ctx, 1, "w"));
    Geometry g;
    CITADEL_ASSIGN_OR_RETURN(Tensor acc, IntConv(ctx, *x, *w, ctx.input(2), ctx.input(3), p_,
                                                 group_, "ConvInteger", &g));
    ctx.SetOutput(0, std::move(acc));
    return Status::Ok();
  }

 private:
  SpatialParams p_;
  int64_t group_;
};

class QLinearConvKernel final : public Kernel {
 public:
  QLinearConvKernel(SpatialParams p, int64_t group) : p_(std::move(p)), group_(group) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "x"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x_scale, RequireInput(ctx, 1, "x_scale"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* w, RequireInput(ctx, 3, "w"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* w_scale, RequireInput(ctx, 4, "w_scale"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* y_scale, RequireInput(ctx, 6, "y_scale"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* y_zp_t, RequireInput(ctx, 7, "y_zero_point"));
    Geometry g;
    CITADEL_ASSIGN_OR_RETURN(Tensor acc, IntConv(ctx, *x, *w, ctx.input(2), ctx.input(5), p_,
                                                 group_, "QLinearConv", &g));
    CITADEL_ASSIGN_OR_RETURN(std::vector<float> xs, ReadScales(*x_scale, 1, "x_scale"));
    CITADEL_ASSIGN_OR_RETURN(std::vector<float> ws, ReadScales(*w_scale, g.M, "w_scale"));
    CITADEL_ASSIGN_OR_RETURN(std::vector<float> ys, ReadScales(*y_scale, 1, "y_scale"));
    std::vector<int32_t> bias(static_cast<size_t>(g.M), 0);
    if (const Tensor* b = ctx.input(8)) {
      if (b->dtype() != DType::kInt32 || b->rank() != 1 || b->shape()[0] != g.M) {
        return Status::InvalidArgument("QLinearConv B must be int32 [" + std::to_string(g.M) +
                                       "], got " + std::string(DTypeName(b->dtype())) + " " +
                                       ShapeToString(b->shape()));
      }
      bias.assign(b->data<int32_t>(), b->data<int32_t>() + g.M);
    }
    const DType out_type = y_zp_t->dtype();
    return DispatchQuant8(out_type, "y_zero_point", [&]<typename Q>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(std::vector<int32_t> yz,
                               ReadZeroPoints(y_zp_t, out_type, 1, "y_zero_point"));
      CITADEL_ASSIGN_OR_RETURN(Tensor* y, ctx.Allocate(0, out_type, acc.shape()));
      const int32_t* a = acc.data<int32_t>();
      Q* out = y->data<Q>();
      const size_t plane = static_cast<size_t>(g.out[0] * g.out[1] * g.out[2]);
      for (size_t i = 0; i < acc.num_elements(); ++i) {
        const size_t m = (i / plane) % static_cast<size_t>(g.M);
        // Like the reference: multiplier in float32, applied in float64.
        const float mult = xs[0] * ws[ws.size() == 1 ? 0 : m] / ys[0];
        const double v = static_cast<double>(static_cast<int64_t>(a[i]) + bias[m]) *
                         static_cast<double>(mult);
        out[i] = SaturateTo<Q>(RoundHalfEven(v) + yz[0]);
      }
      return Status::Ok();
    });
  }

 private:
  SpatialParams p_;
  int64_t group_;
};

template <typename K>
KernelFactory IntConvFactory(size_t weight_input) {
  return [weight_input](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t group, init.node.attrs.GetInt("group", 1));
    if (group <= 0) return Status::InvalidArgument("group must be positive");
    // With a constant weight the spatial rank (and so the attributes) is
    // checked at Load; otherwise at Run.
    size_t spatial = 0;
    const Tensor* w = init.ConstantInput(weight_input);
    if (w != nullptr && w->rank() >= 3) spatial = w->rank() - 2;
    CITADEL_ASSIGN_OR_RETURN(SpatialParams p, ReadSpatialParams(init.node.attrs, spatial, /*pool=*/false));
    return std::unique_ptr<Kernel>(std::make_unique<K>(std::move(p), group));
  };
}

}  // namespace

void RegisterConvIntegerOps(OpRegistry& r) {
  r.Register("", "ConvInteger", 10, kMaxOnnxOpset, IntConvFactory<ConvIntegerKernel>(1));
  r.Register("", "QLinearConv", 10, kMaxOnnxOpset, IntConvFactory<QLinearConvKernel>(3));
}

}  // namespace citadel::engine::ops
