// ArgMax / ArgMin along one axis (keepdims, select_last_index); int64 output.
// Like numpy, the first NaN wins for both.
#include <cmath>
#include <type_traits>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class ArgKernel : public Kernel {
 public:
  ArgKernel(bool max, int64_t axis, bool keepdims, bool last)
      : max_(max), axis_(axis), keepdims_(keepdims), last_(last) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "data"));
    const int64_t rank = static_cast<int64_t>(x->rank());
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, std::max<int64_t>(rank, 1)));
    if (rank == 0) return Status::InvalidArgument("ArgMax/ArgMin input must have rank >= 1");
    const int64_t dim = x->shape()[axis];
    if (dim == 0) return Status::InvalidArgument("ArgMax/ArgMin over an empty axis");
    Shape out_shape = x->shape();
    if (keepdims_) out_shape[axis] = 1;
    else out_shape.erase(out_shape.begin() + axis);
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, DType::kInt64, out_shape));
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x->shape()[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= x->shape()[d];
    int64_t* out = y->data<int64_t>();
    return DispatchNumeric(x->dtype() == DType::kBool ? DType::kUInt8 : x->dtype(),
                           [&]<typename T>() -> Status {
      const T* in = x->data<T>();
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          const T* p = in + o * dim * inner + i;
          int64_t best = 0;
          T bv = p[0];
          for (int64_t k = 1; k < dim; ++k) {
            const T v = p[k * inner];
            if constexpr (std::is_floating_point_v<T>) {
              if (std::isnan(bv)) break;
              if (std::isnan(v)) {
                best = k;
                bv = v;
                break;
              }
            }
            const bool better = max_ ? (last_ ? v >= bv : v > bv) : (last_ ? v <= bv : v < bv);
            if (better) {
              best = k;
              bv = v;
            }
          }
          out[o * inner + i] = best;
        }
      }
      return Status::Ok();
    });
  }

 private:
  bool max_;
  int64_t axis_;
  bool keepdims_;
  bool last_;
};

KernelFactory ArgFactory(bool max) {
  return [max](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, init.node.attrs.GetInt("axis", 0));
    CITADEL_ASSIGN_OR_RETURN(int64_t keep, init.node.attrs.GetInt("keepdims", 1));
    CITADEL_ASSIGN_OR_RETURN(int64_t last, init.node.attrs.GetInt("select_last_index", 0));
    return std::unique_ptr<Kernel>(std::make_unique<ArgKernel>(max, axis, keep != 0, last != 0));
  };
}

}  // namespace

void RegisterArgMaxOps(OpRegistry& r) {
  r.Register("", "ArgMax", 1, kMaxOnnxOpset, ArgFactory(true));
  r.Register("", "ArgMin", 1, kMaxOnnxOpset, ArgFactory(false));
}

}  // namespace citadel::engine::ops
