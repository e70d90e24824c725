// Conv (1-D to 3-D spatial, groups, dilations, pads, auto_pad).
//
// Reference path: a direct convolution written for clarity. Spatial dims are
// padded to three (D, H, W) with leading ones so one loop nest serves 1-D,
// 2-D and 3-D. The innermost loop runs along the output row with the valid
// range precomputed, so it has no bounds checks and vectorises.
#include <algorithm>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class ConvKernel : public Kernel {
 public:
  explicit ConvKernel(SpatialParams p, int64_t group) : p_(std::move(p)), group_(group) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* w, RequireInput(ctx, 1, "W"));
    const Tensor* b = ctx.input(2);
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *w, "Conv X and W"));
    if (b != nullptr) CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *b, "Conv X and B"));
    return DispatchFloat(x->dtype(), [&]<typename T>() { return Compute<T>(ctx, *x, *w, b); });
  }

 private:
  template <typename T>
  Status Compute(KernelContext& ctx, const Tensor& x, const Tensor& w, const Tensor* b) const {
    const size_t rank = x.rank();
    if (rank < 3 || rank > 5) {
      return Status::InvalidArgument("Conv input must have rank 3 to 5, got " +
                                     ShapeToString(x.shape()));
    }
    const size_t spatial = rank - 2;
    if (w.rank() != rank) {
      return Status::InvalidArgument("Conv weight " + ShapeToString(w.shape()) +
                                     " does not match input " + ShapeToString(x.shape()));
    }
    const int64_t N = x.shape()[0], C = x.shape()[1], M = w.shape()[0], CG = w.shape()[1];
    if (group_ <= 0 || C != CG * group_ || M % group_ != 0 || M == 0) {
      return Status::InvalidArgument("Conv channels do not match: input " +
                                     ShapeToString(x.shape()) + ", weight " +
                                     ShapeToString(w.shape()) + ", group " +
                                     std::to_string(group_));
    }
    if (b != nullptr && (b->rank() != 1 || b->shape()[0] != M)) {
      return Status::InvalidArgument("Conv bias must be [" + std::to_string(M) + "], got " +
                                     ShapeToString(b->shape()));
    }
    SpatialParams p = p_;
    Shape wk(w.shape().begin() + 2, w.shape().end());
    if (p.kernel.empty()) p.kernel = wk;
    if (p.kernel != wk) {
      return Status::InvalidArgument("Conv kernel_shape " + ShapeToString(p.kernel) +
                                     " does not match weight " + ShapeToString(w.shape()));
    }
    if (p.strides.empty()) p.strides.assign(spatial, 1);
    if (p.dilations.empty()) p.dilations.assign(spatial, 1);
    if (p.pads.empty()) p.pads.assign(2 * spatial, 0);
    if (p.strides.size() != spatial || p.dilations.size() != spatial || p.pads.size() != 2 * spatial) {
      return Status::InvalidArgument("Conv attributes do not match input rank " +
                                     std::to_string(rank));
    }
    for (size_t i = 0; i < spatial; ++i) {
      if (p.strides[i] <= 0 || p.dilations[i] <= 0 || p.pads[i] < 0 || p.pads[i + spatial] < 0) {
        return Status::InvalidArgument("Conv strides/dilations must be positive, pads non-negative");
      }
    }
    Shape in_sp(x.shape().begin() + 2, x.shape().end());
    Shape out_sp;
    std::vector<int64_t> pad;
    CITADEL_RETURN_IF_ERROR(ComputeSpatialOutput(p, in_sp, &out_sp, &pad));

    Shape out_shape = {N, M};
    out_shape.insert(out_shape.end(), out_sp.begin(), out_sp.end());
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x.dtype(), out_shape));

    // Pad everything to 3 spatial dims.
    auto to3 = [&](const std::vector<int64_t>& v, int64_t fill) {
      std::vector<int64_t> r(3 - spatial, fill);
      r.insert(r.end(), v.begin(), v.end());
      return r;
    };
    const auto in3 = to3(in_sp, 1), out3 = to3(out_sp, 1), k3 = to3(p.kernel, 1);
    const auto s3 = to3(p.strides, 1), d3 = to3(p.dilations, 1), pad3 = to3(pad, 0);
    const int64_t in_plane = in3[0] * in3[1] * in3[2];
    const int64_t out_plane = out3[0] * out3[1] * out3[2];
    const int64_t k_plane = k3[0] * k3[1] * k3[2];
    const int64_t MG = M / group_;

    // Valid output-W range per kernel column: iw = ow*s - pad + kw*d in [0, W).
    std::vector<int64_t> ow_lo(k3[2]), ow_hi(k3[2]);
    for (int64_t kw = 0; kw < k3[2]; ++kw) {
      const int64_t off = kw * d3[2] - pad3[2];
      // smallest ow with ow*s + off >= 0; largest with ow*s + off <= W-1
      int64_t lo = off >= 0 ? 0 : (-off + s3[2] - 1) / s3[2];
      int64_t hi = (in3[2] - 1 - off) < 0 ? -1 : (in3[2] - 1 - off) / s3[2];
      ow_lo[kw] = lo;
      ow_hi[kw] = std::min(hi, out3[2] - 1);
    }

    const T* X = x.data<T>();
    const T* W = w.data<T>();
    T* Y = y->data<T>();
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t m = 0; m < M; ++m) {
        const int64_t g = m / MG;
        T* yp = Y + (n * M + m) * out_plane;
        const T bias = b != nullptr ? b->data<T>()[m] : T(0);
        std::fill_n(yp, out_plane, bias);
        for (int64_t cg = 0; cg < CG; ++cg) {
          const T* xp = X + (n * C + g * CG + cg) * in_plane;
          const T* wp = W + (m * CG + cg) * k_plane;
          for (int64_t kd = 0; kd < k3[0]; ++kd) {
            for (int64_t kh = 0; kh < k3[1]; ++kh) {
              for (int64_t kw = 0; kw < k3[2]; ++kw) {
                const T wv = wp[(kd * k3[1] + kh) * k3[2] + kw];
                if (ow_lo[kw] > ow_hi[kw]) continue;
                for (int64_t od = 0; od < out3[0]; ++od) {
                  const int64_t id = od * s3[0] - pad3[0] + kd * d3[0];
                  if (id < 0 || id >= in3[0]) continue;
                  for (int64_t oh = 0; oh < out3[1]; ++oh) {
                    const int64_t ih = oh * s3[1] - pad3[1] + kh * d3[1];
                    if (ih < 0 || ih >= in3[1]) continue;
                    const T* xrow = xp + (id * in3[1] + ih) * in3[2];
                    T* yrow = yp + (od * out3[1] + oh) * out3[2];
                    const int64_t s = s3[2];
                    const int64_t off = kw * d3[2] - pad3[2];
                    for (int64_t ow = ow_lo[kw]; ow <= ow_hi[kw]; ++ow) {
                      yrow[ow] += wv * xrow[ow * s + off];
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    return Status::Ok();
  }

  SpatialParams p_;
  int64_t group_;
};

}  // namespace

void RegisterConvOps(OpRegistry& r) {
  r.Register("", "Conv", 1, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const auto& attrs = init.node.attrs;
    CITADEL_ASSIGN_OR_RETURN(int64_t group, attrs.GetInt("group", 1));
    if (group <= 0) return Status::InvalidArgument("Conv group must be positive");
    // The spatial rank is known at Load when the weight is a constant;
    // otherwise attributes are checked against the input at Run.
    size_t spatial = 0;
    if (const Tensor* w = init.ConstantInput(1); w != nullptr && w->rank() >= 3) {
      spatial = w->rank() - 2;
    }
    CITADEL_ASSIGN_OR_RETURN(SpatialParams p, ReadSpatialParams(attrs, spatial, /*pool=*/false));
    return std::unique_ptr<Kernel>(std::make_unique<ConvKernel>(std::move(p), group));
  });
}

}  // namespace citadel::engine::ops
