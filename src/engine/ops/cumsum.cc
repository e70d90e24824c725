// CumSum along one axis (exclusive, reverse). Integer sums wrap.
#include <type_traits>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class CumSumKernel : public Kernel {
 public:
  CumSumKernel(bool exclusive, bool reverse) : exclusive_(exclusive), reverse_(reverse) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "x"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* a, RequireInput(ctx, 1, "axis"));
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> av, ReadInt64s(*a, "CumSum axis"));
    if (av.size() != 1) return Status::InvalidArgument("CumSum axis must be a scalar");
    const int64_t rank = static_cast<int64_t>(x->rank());
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(av[0], rank));
    int64_t outer = 1, inner = 1;
    const int64_t dim = x->shape()[axis];
    for (int64_t d = 0; d < axis; ++d) outer *= x->shape()[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= x->shape()[d];
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), x->shape()));
    return DispatchNumeric(x->dtype(), [&]<typename T>() -> Status {
      using Acc = std::conditional_t<std::is_floating_point_v<T>, T,
                                     std::conditional_t<std::is_signed_v<T>, uint64_t, uint64_t>>;
      const T* in = x->data<T>();
      T* out = y->data<T>();
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          Acc acc = 0;
          for (int64_t s = 0; s < dim; ++s) {
            const int64_t k = reverse_ ? dim - 1 - s : s;
            const int64_t off = (o * dim + k) * inner + i;
            if (exclusive_) {
              out[off] = static_cast<T>(acc);
              acc = static_cast<Acc>(acc + static_cast<Acc>(in[off]));
            } else {
              acc = static_cast<Acc>(acc + static_cast<Acc>(in[off]));
              out[off] = static_cast<T>(acc);
            }
          }
        }
      }
      return Status::Ok();
    });
  }

 private:
  bool exclusive_, reverse_;
};

}  // namespace

void RegisterCumSumOps(OpRegistry& r) {
  r.Register("", "CumSum", 11, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t ex, init.node.attrs.GetInt("exclusive", 0));
    CITADEL_ASSIGN_OR_RETURN(int64_t rev, init.node.attrs.GetInt("reverse", 0));
    return std::unique_ptr<Kernel>(std::make_unique<CumSumKernel>(ex != 0, rev != 0));
  });
}

}  // namespace citadel::engine::ops
