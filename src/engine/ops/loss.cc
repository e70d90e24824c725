// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (inference forms).
// Input [N, C, d1..dk] (scores or log-probabilities), target [N, d1..dk]
// integer classes, optional weight [C]. Each element's loss is
// -w[t] * logp[n, t, d] (0 where t == ignore_index); reduction "none" keeps
// them, "sum" adds them, "mean" divides the sum by the sum of the weights
// used. SoftmaxCrossEntropyLoss first takes log_softmax over dim 1 and can
// also output it.
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

enum class Reduction { kNone, kSum, kMean };

class LossKernel : public Kernel {
 public:
  LossKernel(bool softmax, Reduction red, std::optional<int64_t> ignore)
      : softmax_(softmax), red_(red), ignore_(ignore) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* tgt, RequireInput(ctx, 1, "target"));
    const Tensor* w = ctx.input(2);
    if (x->rank() < 2) return Status::InvalidArgument("loss input must have rank >= 2");
    if (tgt->dtype() != DType::kInt32 && tgt->dtype() != DType::kInt64) {
      return Status::InvalidArgument("loss target must be int32 or int64");
    }
    const int64_t N = x->shape()[0], C = x->shape()[1];
    Shape tshape = x->shape();
    tshape.erase(tshape.begin() + 1);
    if (tgt->shape() != tshape) return Status::InvalidArgument("loss target shape must be input shape without dim 1");
    if (w != nullptr) {
      CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *w, "loss weight"));
      if (w->rank() != 1 || w->shape()[0] != C) return Status::InvalidArgument("loss weight must have shape [C]");
    }
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      const size_t D = N * C == 0 ? 0 : x->num_elements() / static_cast<size_t>(N * C);
      const T* in = x->data<T>();
      // Log-probabilities: the input itself, or log_softmax over dim 1.
      Tensor logp_t;
      const T* lp = in;
      if (softmax_) {
        Tensor* out1 = nullptr;
        if (ctx.num_outputs() > 1) {
          CITADEL_ASSIGN_OR_RETURN(out1, ctx.Allocate(1, x->dtype(), x->shape()));
        } else {
          CITADEL_ASSIGN_OR_RETURN(logp_t, ctx.NewTensor(x->dtype(), x->shape()));
          out1 = &logp_t;
        }
        T* o = out1->data<T>();
        for (int64_t n = 0; n < N; ++n) {
          for (size_t d = 0; d < D; ++d) {
            const T* base = in + n * C * D + d;
            double mx = -INFINITY;
            for (int64_t c = 0; c < C; ++c) mx = std::max(mx, static_cast<double>(base[c * D]));
            double sum = 0;
            for (int64_t c = 0; c < C; ++c) sum += std::exp(static_cast<double>(base[c * D]) - mx);
            const double lse = mx + std::log(sum);
            for (int64_t c = 0; c < C; ++c) {
              o[n * C * D + c * D + d] = static_cast<T>(static_cast<double>(base[c * D]) - lse);
            }
          }
        }
        lp = out1->data<T>();
      }
      Tensor* y;
      if (red_ == Reduction::kNone) {
        CITADEL_ASSIGN_OR_RETURN(y, ctx.Allocate(0, x->dtype(), tshape));
      } else {
        CITADEL_ASSIGN_OR_RETURN(y, ctx.Allocate(0, x->dtype(), Shape{}));
      }
      T* yo = y->data<T>();
      const T* wt = w != nullptr ? w->data<T>() : nullptr;
      double total = 0, wsum = 0;
      for (int64_t n = 0; n < N; ++n) {
        for (size_t d = 0; d < D; ++d) {
          const size_t ti = n * D + d;
          const int64_t t = tgt->dtype() == DType::kInt64 ? tgt->data<int64_t>()[ti]
                                                         : tgt->data<int32_t>()[ti];
          double l = 0, we = 0;
          if (!(ignore_ && t == *ignore_)) {
            if (t < 0 || t >= C) return Status::InvalidArgument("loss target " + std::to_string(t) + " out of range");
            we = wt != nullptr ? static_cast<double>(wt[t]) : 1.0;
            l = -static_cast<double>(lp[n * C * D + t * D + d]) * we;
          }
          if (red_ == Reduction::kNone) yo[ti] = static_cast<T>(l);
          total += l;
          wsum += we;
        }
      }
      if (red_ == Reduction::kSum) yo[0] = static_cast<T>(total);
      if (red_ == Reduction::kMean) yo[0] = static_cast<T>(total / wsum);
      return Status::Ok();
    });
  }

 private:
  bool softmax_;
  Reduction red_;
  std::optional<int64_t> ignore_;
};

KernelFactory LossFactory(bool softmax) {
  return [softmax](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(std::string r, init.node.attrs.GetString("reduction", "mean"));
    Reduction red;
    if (r == "none") red = Reduction::kNone;
    else if (r == "sum") red = Reduction::kSum;
    else if (r == "mean") red = Reduction::kMean;
    else return Status::InvalidArgument("unknown reduction '" + r + "'");
    std::optional<int64_t> ignore;
    if (init.node.attrs.Has("ignore_index")) {
      CITADEL_ASSIGN_OR_RETURN(int64_t ii, init.node.attrs.GetInt("ignore_index", 0));
      ignore = ii;
    }
    return std::unique_ptr<Kernel>(std::make_unique<LossKernel>(softmax, red, ignore));
  };
}

}  // namespace

void RegisterLossOps(OpRegistry& r) {
  r.Register("", "NegativeLogLikelihoodLoss", 12, kMaxOnnxOpset, LossFactory(false));
  r.Register("", "SoftmaxCrossEntropyLoss", 12, kMaxOnnxOpset, LossFactory(true));
}

}  // namespace citadel::engine::ops
