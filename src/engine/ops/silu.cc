#include "silu.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>

namespace citadel::engine::ops {

namespace {

void SiluScalar(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-x[i]));
}

// exp(v) for v in [-88, 88] (Cephes expf: v = n ln2 + r, |r| <= ln2 / 2,
// e^r by a degree-6 polynomial, times 2^n with scalef).
__attribute__((target("avx512f"))) inline __m512 Exp512(__m512 v) {
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(v, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), v);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 r2 = _mm512_mul_ps(r, r);
  p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

__attribute__((target("avx512f"))) inline __m512 Silu512(__m512 x) {
  // -x clamped to [-88, 88]: exp stays finite, so 1 + e is finite and the
  // Newton step below never sees inf * 0. (min/max return their second
  // operand for NaN; the final product with x keeps a NaN a NaN.)
  __m512 v = _mm512_sub_ps(_mm512_setzero_ps(), x);
  v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-88.0f)), _mm512_set1_ps(88.0f));
  const __m512 d = _mm512_add_ps(Exp512(v), _mm512_set1_ps(1.0f));
  __m512 inv = _mm512_rcp14_ps(d);  // 2^-14, then one Newton step: ~2^-28
  inv = _mm512_mul_ps(inv, _mm512_fnmadd_ps(d, inv, _mm512_set1_ps(2.0f)));
  // Below -88 SiLU is below 5e-37 in magnitude; x clamped there keeps -inf
  // from giving -inf (the limit is 0). max(-88, NaN) is the NaN.
  return _mm512_mul_ps(_mm512_max_ps(_mm512_set1_ps(-88.0f), x), inv);
}

__attribute__((target("avx512f"))) void Silu512Range(float* x, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, Silu512(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(x + i, m, Silu512(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

}  // namespace

bool FastSiluAvailable() {
  // CITADEL_NO_FAST_SILU=1 keeps oneDNN's swish post-op (A/B measurement).
  static const bool on = [] {
    const char* off = std::getenv("CITADEL_NO_FAST_SILU");
    return __builtin_cpu_supports("avx512f") && !(off != nullptr && off[0] == '1');
  }();
  return on;
}

void SiluInPlace(float* x, size_t n) {
  if (!FastSiluAvailable()) {
    SiluScalar(x, n);
    return;
  }
  // 16 KiB pieces: large maps are shared by the team; small ones (the
  // squeeze-excitation's 1x1 maps) stay on the calling thread.
  constexpr size_t kPiece = 4096;
  const int64_t pieces = static_cast<int64_t>((n + kPiece - 1) / kPiece);
#pragma omp parallel for schedule(static) if (pieces > 4)
  for (int64_t p = 0; p < pieces; ++p) {
    const size_t begin = static_cast<size_t>(p) * kPiece;
    Silu512Range(x + begin, std::min(kPiece, n - begin));
  }
}

}  // namespace citadel::engine::ops
