// LRN: local response normalisation across channels of [N, C, ...]:
// y = x / (bias + alpha / size * sum of x^2 over the channel window)^beta,
// the window running from c - floor((size-1)/2) to c + ceil((size-1)/2).
#include <cmath>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class LRNKernel : public Kernel {
 public:
  LRNKernel(float alpha, float beta, float bias, int64_t size)
      : alpha_(alpha), beta_(beta), bias_(bias), size_(size) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    if (x->rank() < 2) return Status::InvalidArgument("LRN input must have rank >= 2");
    const int64_t n = x->shape()[0], c = x->shape()[1];
    const int64_t plane = n * c == 0 ? 0 : static_cast<int64_t>(x->num_elements()) / (n * c);
    const int64_t lo = (size_ - 1) / 2, hi = size_ - 1 - lo;
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitialized(0, x->dtype(), x->shape()));
      const T* in = x->data<T>();
      T* out = y->data<T>();
      for (int64_t b = 0; b < n; ++b) {
        for (int64_t ch = 0; ch < c; ++ch) {
          const int64_t c0 = std::max<int64_t>(0, ch - lo), c1 = std::min<int64_t>(c - 1, ch + hi);
          for (int64_t i = 0; i < plane; ++i) {
            double sq = 0;
            for (int64_t k = c0; k <= c1; ++k) {
              const double v = in[(b * c + k) * plane + i];
              sq += v * v;
            }
            const int64_t at = (b * c + ch) * plane + i;
            out[at] = static_cast<T>(in[at] / std::pow(bias_ + alpha_ / size_ * sq, static_cast<double>(beta_)));
          }
        }
      }
      return Status::Ok();
    });
  }

 private:
  double alpha_, beta_, bias_;
  int64_t size_;
};

}  // namespace

void RegisterLRNOps(OpRegistry& r) {
  r.Register("", "LRN", 1, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const Attributes& a = init.node.attrs;
    if (!a.Has("size")) return Status::InvalidArgument("LRN needs a 'size' attribute");
    CITADEL_ASSIGN_OR_RETURN(int64_t size, a.GetInt("size", 0));
    if (size <= 0) return Status::InvalidArgument("LRN size must be positive");
    CITADEL_ASSIGN_OR_RETURN(float alpha, a.GetFloat("alpha", 1e-4f));
    CITADEL_ASSIGN_OR_RETURN(float beta, a.GetFloat("beta", 0.75f));
    CITADEL_ASSIGN_OR_RETURN(float bias, a.GetFloat("bias", 1.0f));
    return std::unique_ptr<Kernel>(std::make_unique<LRNKernel>(alpha, beta, bias, size));
  });
}

}  // namespace citadel::engine::ops
