// Float32 dot product for the engine's small matrix-vector kernels (a 1x1
// Conv on a 1x1 map: the squeeze-excitation layers of EfficientNet-style
// models). AVX-512 when the CPU has it, else a portable loop; either way a
// fixed summation order per (n, CPU kind), so results are reproducible.
#ifndef CITADEL_ENGINE_OPS_VEC_DOT_H_
#define CITADEL_ENGINE_OPS_VEC_DOT_H_

#include <cstddef>

namespace citadel::engine::ops {

// sum_{i < n} a[i] * b[i], accumulated in float.
float DotF32(const float* a, const float* b, size_t n);

}  // namespace citadel::engine::ops

#endif  // CITADEL_ENGINE_OPS_VEC_DOT_H_
