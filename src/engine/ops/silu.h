// SiLU (x * sigmoid(x)) in place over float32 buffers: EfficientNet's
// activation, applied after a convolution instead of as oneDNN's swish
// post-op.
//
// Why: oneDNN 2.6's swish post-op evaluates exp with a long polynomial and
// divides once per vector; on EfficientNet-B0's large maps it made a
// convolution 2-2.5x slower than the convolution alone, more than a separate
// pass over the (cache-warm) output costs. This pass uses AVX-512: Cephes'
// expf polynomial with scalef, and a reciprocal estimate refined by one
// Newton step (relative error ~1e-7, like expf). Without AVX-512 it is not
// used (FastSiluAvailable() is false) and oneDNN keeps the post-op;
// CITADEL_NO_FAST_SILU=1 does the same for A/B measurement.
#ifndef CITADEL_ENGINE_OPS_SILU_H_
#define CITADEL_ENGINE_OPS_SILU_H_

#include <cstddef>

namespace citadel::engine::ops {

// True when this CPU runs the vectorised pass (AVX-512F).
bool FastSiluAvailable();

// x[i] = x[i] / (1 + exp(-x[i])) for i < n; the threads of the calling
// thread's OpenMP team share large buffers. Uses the vectorised pass when
// available, else the scalar formula.
void SiluInPlace(float* x, size_t n);

}  // namespace citadel::engine::ops

#endif  // CITADEL_ENGINE_OPS_SILU_H_
