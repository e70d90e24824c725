// Range: start, limit, delta scalars -> 1-D sequence, element count
// max(ceil((limit - start) / delta), 0), computed in double and capped before
// anything is allocated.
#include <cmath>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class RangeKernel : public Kernel {
 public:
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* s, RequireInput(ctx, 0, "start"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* l, RequireInput(ctx, 1, "limit"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* d, RequireInput(ctx, 2, "delta"));
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*s, *l, "Range start and limit"));
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*s, *d, "Range start and delta"));
    for (const Tensor* t : {s, l, d}) {
      if (t->num_elements() != 1) return Status::InvalidArgument("Range inputs must be scalars");
    }
    return DispatchNumeric(s->dtype(), [&]<typename T>() -> Status {
      const T start = *s->data<T>(), limit = *l->data<T>(), delta = *d->data<T>();
      if (delta == T{0}) return Status::InvalidArgument("Range delta must not be 0");
      const double n = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) /
                                 static_cast<double>(delta));
      if (!(n < 1e12)) {
        if (std::isnan(n) || n > 0) return Status::ResourceExhausted("Range output is too large");
      }
      const int64_t count = n > 0 ? static_cast<int64_t>(n) : 0;
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, s->dtype(), {count}));
      T* out = y->data<T>();
      for (int64_t i = 0; i < count; ++i) {
        out[i] = static_cast<T>(start + static_cast<T>(i) * delta);
      }
      return Status::Ok();
    });
  }
};

}  // namespace

void RegisterRangeOps(OpRegistry& r) {
  r.Register("", "Range", 11, kMaxOnnxOpset, SimpleFactory<RangeKernel>());
}

}  // namespace citadel::engine::ops
