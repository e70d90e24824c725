// DFT (opset 17): the discrete Fourier transform of real ([..., 1]) or
// complex ([..., 2]) signals along `axis`, forward or inverse (scaled by
// 1/n), optionally onesided (first n/2 + 1 bins) and zero-padded or
// truncated to dft_length. Computed directly in double with the twiddle
// angle reduced modulo n, so bins that are exactly zero in exact
// arithmetic (the imaginary part of DC for real input) come out zero: the
// ONNX runner compares them with atol 1e-7.
#include <cmath>
#include <numbers>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class DFTKernel : public Kernel {
 public:
  DFTKernel(int64_t axis, bool inverse, bool onesided) : axis_(axis), inverse_(inverse), onesided_(onesided) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    const int64_t rank = static_cast<int64_t>(x->rank());
    if (rank < 2 || (x->shape()[rank - 1] != 1 && x->shape()[rank - 1] != 2)) {
      return Status::InvalidArgument("DFT input must be [..., 1] (real) or [..., 2] (complex), got " +
                                     ShapeToString(x->shape()));
    }
    // The last dim holds the components and is not a signal axis.
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, rank - 1, "DFT axis"));
    const int64_t in_len = x->shape()[axis];
    int64_t n = in_len;
    if (const Tensor* lt = ctx.input(1)) {
      CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> lv, ReadInt64s(*lt, "DFT dft_length"));
      if (lv.size() != 1 || lv[0] <= 0) return Status::InvalidArgument("DFT dft_length must be a positive scalar");
      // Bounds the twiddle tables (and k * t below) even when the output is
      // empty and so passes the allocation limit.
      if (lv[0] > (int64_t{1} << 24)) return Status::InvalidArgument("DFT dft_length above 2^24 is not supported");
      n = lv[0];
    }
    if (onesided_ && inverse_) return Status::Unsupported("DFT with both onesided and inverse is not supported");
    const int64_t bins = onesided_ ? n / 2 + 1 : n;
    const bool complex_in = x->shape()[rank - 1] == 2;
    Shape out_shape = x->shape();
    out_shape[axis] = bins;
    out_shape[rank - 1] = 2;
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x->shape()[d];
    for (int64_t d = axis + 1; d < rank - 1; ++d) inner *= x->shape()[d];
    const int64_t comps = complex_in ? 2 : 1;
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitialized(0, x->dtype(), out_shape));
      const T* in = x->data<T>();
      T* out = y->data<T>();
      std::vector<double> cs(n), sn(n);
      const double sign = inverse_ ? 1.0 : -1.0;
      for (int64_t k = 0; k < n; ++k) {
        const double a = 2 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n);
        cs[k] = std::cos(a);
        sn[k] = sign * std::sin(a);
      }
      // Exact zeros where the angle is a multiple of pi/2.
      for (int64_t k = 0; k < n; ++k) {
        if ((4 * k) % n == 0) {
          const int64_t q = (4 * k) / n;
          cs[k] = q == 0 ? 1 : q == 2 ? -1 : 0;
          sn[k] = q == 1 ? sign : q == 3 ? -sign : 0;
        }
      }
      const int64_t m = std::min(in_len, n);  // samples used (rest is zero padding)
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          for (int64_t k = 0; k < bins; ++k) {
            double re = 0, im = 0;
            for (int64_t t = 0; t < m; ++t) {
              const T* s = in + ((o * in_len + t) * inner + i) * comps;
              const double xr = s[0], xi = complex_in ? static_cast<double>(s[1]) : 0.0;
              const int64_t w = (k * t) % n;
              re += xr * cs[w] - xi * sn[w];
              im += xr * sn[w] + xi * cs[w];
            }
            if (inverse_) {
              re /= static_cast<double>(n);
              im /= static_cast<double>(n);
            }
            T* d = out + ((o * bins + k) * inner + i) * 2;
            d[0] = static_cast<T>(re);
            d[1] = static_cast<T>(im);
          }
        }
      }
      return Status::Ok();
    });
  }

 private:
  int64_t axis_;
  bool inverse_, onesided_;
};

}  // namespace

void RegisterDFTOps(OpRegistry& r) {
  r.Register("", "DFT", 17, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, init.node.attrs.GetInt("axis", 1));
    CITADEL_ASSIGN_OR_RETURN(int64_t inverse, init.node.attrs.GetInt("inverse", 0));
    CITADEL_ASSIGN_OR_RETURN(int64_t onesided, init.node.attrs.GetInt("onesided", 0));
    if (onesided != 0 && inverse != 0) return Status::Unsupported("DFT with both onesided and inverse is not supported");
    return std::unique_ptr<Kernel>(std::make_unique<DFTKernel>(axis, inverse != 0, onesided != 0));
  });
}

}  // namespace citadel::engine::ops
