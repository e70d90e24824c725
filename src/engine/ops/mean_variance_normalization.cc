// MeanVarianceNormalization: (X - mean) / (std + 1e-9), mean and the
// (population) variance taken over `axes` (default [0, 2, 3]); the same
// epsilon as the ONNX function body.
#include <cmath>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class MVNKernel : public Kernel {
 public:
  explicit MVNKernel(std::vector<int64_t> axes) : axes_(std::move(axes)) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    const int64_t rank = static_cast<int64_t>(x->rank());
    std::vector<bool> reduced(rank, false);
    for (int64_t a : axes_) {
      CITADEL_ASSIGN_OR_RETURN(int64_t ax, NormalizeAxis(a, rank, "MeanVarianceNormalization axis"));
      reduced[ax] = true;
    }
    // Group id of each element: its index over the kept dims.
    const std::vector<int64_t> strides = Strides(x->shape());
    const size_t total = x->num_elements();
    std::vector<int64_t> group(total);
    int64_t groups = 1;
    for (int64_t d = 0; d < rank; ++d) {
      if (!reduced[d]) groups *= x->shape()[d];
    }
    for (size_t i = 0; i < total; ++i) {
      int64_t g = 0;
      for (int64_t d = 0; d < rank; ++d) {
        if (reduced[d]) continue;
        g = g * x->shape()[d] + (static_cast<int64_t>(i) / strides[d]) % x->shape()[d];
      }
      group[i] = g;
    }
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      const T* in = x->data<T>();
      std::vector<double> sum(groups, 0), sq(groups, 0), cnt(groups, 0);
      for (size_t i = 0; i < total; ++i) {
        sum[group[i]] += in[i];
        sq[group[i]] += static_cast<double>(in[i]) * in[i];
        cnt[group[i]] += 1;
      }
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitialized(0, x->dtype(), x->shape()));
      for (size_t i = 0; i < total; ++i) {
        const int64_t g = group[i];
        const double mean = sum[g] / cnt[g];
        const double var = std::max(0.0, sq[g] / cnt[g] - mean * mean);
        y->data<T>()[i] = static_cast<T>((in[i] - mean) / (std::sqrt(var) + 1e-9));
      }
      return Status::Ok();
    });
  }

 private:
  std::vector<int64_t> axes_;
};

}  // namespace

void RegisterMeanVarianceNormalizationOps(OpRegistry& r) {
  r.Register("", "MeanVarianceNormalization", 9, kMaxOnnxOpset,
             [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
               CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> axes, init.node.attrs.GetInts("axes", {0, 2, 3}));
               return std::unique_ptr<Kernel>(std::make_unique<MVNKernel>(std::move(axes)));
             });
}

}  // namespace citadel::engine::ops
