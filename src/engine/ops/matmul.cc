// MatMul with numpy semantics: 1-D operands are promoted (and the added dim
// removed again), leading batch dims broadcast.
#include "../kernel.h"
#include "common.h"
#include "gemm_impl.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class MatMulKernel : public Kernel {
 public:
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* a, RequireInput(ctx, 0, "A"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* b, RequireInput(ctx, 1, "B"));
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*a, *b, "MatMul inputs"));
    if (a->rank() == 0 || b->rank() == 0) {
      return Status::InvalidArgument("MatMul inputs must have rank >= 1");
    }
    Shape sa = a->shape(), sb = b->shape();
    const bool a_vec = sa.size() == 1, b_vec = sb.size() == 1;
    if (a_vec) sa.insert(sa.begin(), 1);
    if (b_vec) sb.push_back(1);
    const int64_t M = sa[sa.size() - 2], K = sa.back();
    const int64_t KB = sb[sb.size() - 2], N = sb.back();
    if (K != KB) {
      return Status::InvalidArgument("MatMul inner dimensions differ: " +
                                     ShapeToString(a->shape()) + " x " + ShapeToString(b->shape()));
    }
    const Shape batch_a(sa.begin(), sa.end() - 2), batch_b(sb.begin(), sb.end() - 2);
    CITADEL_ASSIGN_OR_RETURN(Shape batch, BroadcastShapes(batch_a, batch_b));
    Shape out_shape = batch;
    if (!a_vec) out_shape.push_back(M);
    if (!b_vec) out_shape.push_back(N);

    return DispatchNumeric(a->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, a->dtype(), out_shape));
      const T* A = a->data<T>();
      const T* B = b->data<T>();
      T* Y = y->data<T>();
      const std::array<const Shape*, 2> shapes = {&batch_a, &batch_b};
      // Batch offsets come in units of whole matrices.
      ForEachBroadcast<2>(batch, shapes, [&](size_t i, const std::array<int64_t, 2>& o) {
        GemmAccumulate<T>(false, false, M, N, K, T(1), A + o[0] * M * K, K, B + o[1] * K * N, N,
                          Y + i * M * N, N);
      });
      return Status::Ok();
    });
  }
};

}  // namespace

void RegisterMatMulOps(OpRegistry& r) {
  r.Register("", "MatMul", 1, kMaxOnnxOpset, SimpleFactory<MatMulKernel>());
}

}  // namespace citadel::engine::ops
