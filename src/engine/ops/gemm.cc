// Gemm: Y = alpha * op(A) * op(B) + beta * C, C broadcast to [M, N].
// float32 runs on dnnl_sgemm (oneDNN's packed, threaded GEMM); other types
// and CITADEL_NO_DNNL use the reference loop.
#include "../dnnl_util.h"
#include "../kernel.h"
#include "common.h"
#include "gemm_impl.h"
#include "ops.h"

#include <type_traits>

namespace citadel::engine::ops {
namespace {

class GemmKernel : public Kernel {
 public:
  GemmKernel(bool ta, bool tb, float alpha, float beta)
      : ta_(ta), tb_(tb), alpha_(alpha), beta_(beta), fast_(!DnnlDisabled()) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* a, RequireInput(ctx, 0, "A"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* b, RequireInput(ctx, 1, "B"));
    const Tensor* c = ctx.input(2);
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*a, *b, "Gemm A and B"));
    if (c != nullptr) CITADEL_RETURN_IF_ERROR(ExpectSameDType(*a, *c, "Gemm A and C"));
    if (a->rank() != 2 || b->rank() != 2) {
      return Status::InvalidArgument("Gemm needs 2-D A and B, got " + ShapeToString(a->shape()) +
                                     " and " + ShapeToString(b->shape()));
    }
    const int64_t M = ta_ ? a->shape()[1] : a->shape()[0];
    const int64_t K = ta_ ? a->shape()[0] : a->shape()[1];
    const int64_t KB = tb_ ? b->shape()[1] : b->shape()[0];
    const int64_t N = tb_ ? b->shape()[0] : b->shape()[1];
    if (K != KB) {
      return Status::InvalidArgument("Gemm inner dimensions differ: A " + ShapeToString(a->shape()) +
                                     (ta_ ? " (transposed)" : "") + ", B " +
                                     ShapeToString(b->shape()) + (tb_ ? " (transposed)" : ""));
    }
    const Shape out_shape = {M, N};
    if (c != nullptr) {
      // C broadcasts one way only: to [M, N].
      auto bs = BroadcastShapes(c->shape(), out_shape);
      if (!bs.ok() || *bs != out_shape) {
        return Status::InvalidArgument("Gemm C " + ShapeToString(c->shape()) +
                                       " cannot be broadcast to " + ShapeToString(out_shape));
      }
    }
    return DispatchNumeric(a->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, a->dtype(), out_shape));
      T* Y = y->data<T>();
      if (c != nullptr && beta_ != 0) {
        const T* C = c->data<T>();
        const T beta = static_cast<T>(beta_);
        const std::array<const Shape*, 1> shapes = {&c->shape()};
        ForEachBroadcast<1>(out_shape, shapes, [&](size_t i, const std::array<int64_t, 1>& o) {
          Y[i] = beta * C[o[0]];
        });
      }
      if constexpr (std::is_same_v<T, float>) {
        if (fast_ && M > 0 && N > 0 && K > 0) {
          const bool has_c = c != nullptr && beta_ != 0;
          dnnl_status_t st = dnnl_sgemm(ta_ ? 'T' : 'N', tb_ ? 'T' : 'N', M, N, K, alpha_,
                                        a->data<float>(), a->shape()[1], b->data<float>(),
                                        b->shape()[1], has_c ? 1.f : 0.f, Y, N);
          if (st == dnnl_success) return Status::Ok();
          return Status::Internal("dnnl_sgemm failed");
        }
      }
      GemmAccumulate<T>(ta_, tb_, M, N, K, static_cast<T>(alpha_), a->data<T>(), a->shape()[1],
                        b->data<T>(), b->shape()[1], Y, N);
      return Status::Ok();
    });
  }

 private:
  bool ta_, tb_;
  float alpha_, beta_;
  bool fast_;
};

}  // namespace

void RegisterGemmOps(OpRegistry& r) {
  // Opset 7 introduced unidirectional broadcasting of C; older Gemm had a
  // `broadcast` attribute with different rules.
  r.Register("", "Gemm", 7, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const auto& attrs = init.node.attrs;
    CITADEL_ASSIGN_OR_RETURN(int64_t ta, attrs.GetInt("transA", 0));
    CITADEL_ASSIGN_OR_RETURN(int64_t tb, attrs.GetInt("transB", 0));
    CITADEL_ASSIGN_OR_RETURN(float alpha, attrs.GetFloat("alpha", 1.0f));
    CITADEL_ASSIGN_OR_RETURN(float beta, attrs.GetFloat("beta", 1.0f));
    return std::unique_ptr<Kernel>(std::make_unique<GemmKernel>(ta != 0, tb != 0, alpha, beta));
  });
}

}  // namespace citadel::engine::ops
