// MatMul with numpy semantics: 1-D operands are promoted (and the added dim
// removed again), leading batch dims broadcast. float32 runs on dnnl_sgemm:
// one call when B is a single matrix (the batch folds into M), else one per
// batch entry.
#include <array>
#include <type_traits>
#include <vector>

#include "../dnnl_util.h"
#include "../kernel.h"
#include "common.h"
#include "gemm_impl.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class MatMulKernel : public Kernel {
 public:
  MatMulKernel() : fast_(!DnnlDisabled()) {}
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
      if constexpr (std::is_same_v<T, float>) {
        if (fast_ && M > 0 && N > 0 && K > 0) {
          size_t nb = 1, na = 1, nbb = 1;
          for (int64_t d : batch) nb *= static_cast<size_t>(d);
          for (int64_t d : batch_a) na *= static_cast<size_t>(d);
          for (int64_t d : batch_b) nbb *= static_cast<size_t>(d);
          if (nbb == 1 && na == nb) {
            // A's batch folds into M: one [nb*M, K] x [K, N] product.
            if (nb > 0 && dnnl_sgemm('N', 'N', static_cast<int64_t>(nb) * M, N, K, 1.f, A, K, B, N,
                                     0.f, Y, N) != dnnl_success) {
              return Status::Internal("dnnl_sgemm failed");
            }
            return Status::Ok();
          }
          // Many small products (attention: batch x heads): one sgemm per
          // entry, the entries spread over the threads (each sgemm then
          // runs single-threaded inside the parallel region).
          const std::array<const Shape*, 2> shapes = {&batch_a, &batch_b};
          std::vector<std::array<int64_t, 2>> offs(nb);
          ForEachBroadcast<2>(batch, shapes,
                              [&](size_t i, const std::array<int64_t, 2>& o) { offs[i] = o; });
          int failed = 0;
          const int64_t entries = static_cast<int64_t>(nb);
#pragma omp parallel for schedule(static) reduction(+ : failed) if (entries > 1)
          for (int64_t i = 0; i < entries; ++i) {
            failed += dnnl_sgemm('N', 'N', M, N, K, 1.f, A + offs[i][0] * M * K, K,
                                 B + offs[i][1] * K * N, N, 0.f, Y + i * M * N, N) != dnnl_success;
          }
          return failed == 0 ? Status::Ok() : Status::Internal("dnnl_sgemm failed");
        }
      }
      const std::array<const Shape*, 2> shapes = {&batch_a, &batch_b};
      // Batch offsets come in units of whole matrices.
      ForEachBroadcast<2>(batch, shapes, [&](size_t i, const std::array<int64_t, 2>& o) {
        GemmAccumulate<T>(false, false, M, N, K, T(1), A + o[0] * M * K, K, B + o[1] * K * N, N,
                          Y + i * M * N, N);
      });
      return Status::Ok();
    });
  }

 private:
  bool fast_;
};

}  // namespace

void RegisterMatMulOps(OpRegistry& r) {
  r.Register("", "MatMul", 1, kMaxOnnxOpset, SimpleFactory<MatMulKernel>());  // fast_ set at Load
}

}  // namespace citadel::engine::ops
