// A small reference matrix multiply shared by Gemm and MatMul.
#ifndef CITADEL_ENGINE_OPS_GEMM_IMPL_H_
#define CITADEL_ENGINE_OPS_GEMM_IMPL_H_

#include <cstdint>

namespace citadel::engine::ops {

// C[M,N] += alpha * op(A) * op(B), with op = transpose when trans_*.
// lda/ldb are the row strides of A and B as stored. The i-k-j order keeps
// the innermost loop contiguous in B and C for the common untransposed case.
template <typename T>
void GemmAccumulate(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha,
                    const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    for (int64_t k = 0; k < K; ++k) {
      const T a = alpha * (trans_a ? A[k * lda + i] : A[i * lda + k]);
      if (a == T(0)) continue;
      if (!trans_b) {
        const T* b = B + k * ldb;
        for (int64_t j = 0; j < N; ++j) c[j] += a * b[j];
      } else {
        for (int64_t j = 0; j < N; ++j) c[j] += a * B[j * ldb + k];
      }
    }
  }
}

}  // namespace citadel::engine::ops

#endif  // CITADEL_ENGINE_OPS_GEMM_IMPL_H_
