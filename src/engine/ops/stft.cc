// STFT (opset 17): short-time Fourier transform of [batch, length, 1|2]
// signals: frames of frame_length samples every frame_step, multiplied by
// the optional window, transformed to [batch, frames, bins, 2] (bins =
// frame_length / 2 + 1 when onesided). Direct DFT in double, twiddles
// exact at multiples of pi/2 (see dft.cc).
#include <cmath>
#include <numbers>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class STFTKernel : public Kernel {
 public:
  explicit STFTKernel(bool onesided) : onesided_(onesided) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "signal"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* st, RequireInput(ctx, 1, "frame_step"));
    if (x->rank() != 3 || (x->shape()[2] != 1 && x->shape()[2] != 2)) {
      return Status::InvalidArgument("STFT signal must be [batch, length, 1|2], got " + ShapeToString(x->shape()));
    }
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> sv, ReadInt64s(*st, "STFT frame_step"));
    if (sv.size() != 1 || sv[0] <= 0) return Status::InvalidArgument("STFT frame_step must be a positive scalar");
    const int64_t step = sv[0];
    const Tensor* window = ctx.input(2);
    int64_t len = -1;
    if (window != nullptr) {
      CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *window, "STFT signal and window"));
      if (window->rank() != 1) return Status::InvalidArgument("STFT window must be 1-D");
      len = window->shape()[0];
    }
    if (const Tensor* lt = ctx.input(3)) {
      CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> lv, ReadInt64s(*lt, "STFT frame_length"));
      if (lv.size() != 1 || lv[0] <= 0) return Status::InvalidArgument("STFT frame_length must be a positive scalar");
      if (len >= 0 && lv[0] != len) return Status::InvalidArgument("STFT frame_length differs from the window length");
      len = lv[0];
    }
    if (len <= 0) return Status::InvalidArgument("STFT needs a window or a frame_length");
    const int64_t batch = x->shape()[0], length = x->shape()[1];
    const bool complex_in = x->shape()[2] == 2;
    if (length < len) return Status::InvalidArgument("STFT frame_length is longer than the signal");
    if (onesided_ && complex_in) return Status::InvalidArgument("STFT onesided needs a real signal");
    const int64_t frames = (length - len) / step + 1;
    const int64_t bins = onesided_ ? len / 2 + 1 : len;
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitialized(0, x->dtype(), {batch, frames, bins, 2}));
      std::vector<double> cs(len), sn(len);
      for (int64_t k = 0; k < len; ++k) {
        if ((4 * k) % len == 0) {
          const int64_t q = (4 * k) / len;
          cs[k] = q == 0 ? 1 : q == 2 ? -1 : 0;
          sn[k] = q == 1 ? -1 : q == 3 ? 1 : 0;
        } else {
          const double a = 2 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(len);
          cs[k] = std::cos(a);
          sn[k] = -std::sin(a);
        }
      }
      const T* in = x->data<T>();
      const int64_t comps = complex_in ? 2 : 1;
      std::vector<double> fr(len), fi(len);
      T* out = y->data<T>();
      for (int64_t b = 0; b < batch; ++b) {
        for (int64_t f = 0; f < frames; ++f) {
          for (int64_t t = 0; t < len; ++t) {
            const T* s = in + (b * length + f * step + t) * comps;
            const double w = window ? static_cast<double>(window->data<T>()[t]) : 1.0;
            fr[t] = s[0] * w;
            fi[t] = complex_in ? s[1] * w : 0.0;
          }
          for (int64_t k = 0; k < bins; ++k) {
            double re = 0, im = 0;
            for (int64_t t = 0; t < len; ++t) {
              const int64_t w = (k * t) % len;
              re += fr[t] * cs[w] - fi[t] * sn[w];
              im += fr[t] * sn[w] + fi[t] * cs[w];
            }
            T* d = out + ((b * frames + f) * bins + k) * 2;
            d[0] = static_cast<T>(re);
            d[1] = static_cast<T>(im);
          }
        }
      }
      return Status::Ok();
    });
  }

 private:
  bool onesided_;
};

}  // namespace

void RegisterSTFTOps(OpRegistry& r) {
  r.Register("", "STFT", 17, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t onesided, init.node.attrs.GetInt("onesided", 1));
    return std::unique_ptr<Kernel>(std::make_unique<STFTKernel>(onesided != 0));
  });
}

}  // namespace citadel::engine::ops
