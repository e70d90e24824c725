// NonZero: [rank, count] int64 coordinates of the non-zero elements in
// row-major order (the output size depends on the data).
#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class NonZeroKernel : public Kernel {
 public:
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    std::vector<size_t> hits;
    CITADEL_RETURN_IF_ERROR(DispatchNumeric(x->dtype() == DType::kBool ? DType::kUInt8 : x->dtype(),
                                            [&]<typename T>() -> Status {
      const T* p = x->data<T>();
      for (size_t i = 0; i < x->num_elements(); ++i) {
        if (p[i] != T{0}) hits.push_back(i);
      }
      return Status::Ok();
    }));
    const int64_t rank = static_cast<int64_t>(x->rank());
    const int64_t n = static_cast<int64_t>(hits.size());
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, DType::kInt64, {rank, n}));
    int64_t* out = y->data<int64_t>();
    for (int64_t h = 0; h < n; ++h) {
      size_t rem = hits[h];
      for (int64_t d = rank - 1; d >= 0; --d) {
        const size_t dim = static_cast<size_t>(x->shape()[d]);
        out[d * n + h] = static_cast<int64_t>(rem % dim);
        rem /= dim;
      }
    }
    return Status::Ok();
  }
};

}  // namespace

void RegisterNonZeroOps(OpRegistry& r) {
  r.Register("", "NonZero", 9, kMaxOnnxOpset, SimpleFactory<NonZeroKernel>());
}

}  // namespace citadel::engine::ops
