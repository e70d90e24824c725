// Winograd fast path for 3x3 stride-1 convolutions (used by conv.cc).
//
// The kernel is oneDNN 2.6's own Winograd convolution
// (algorithm::convolution_winograd): jit_fp32_wino_2x3 (F(2x2,3x3)) or
// jit_wino_4x3 (F(4x4,3x3)), both AVX-512 only (avx512_core). On hosts
// without AVX-512 oneDNN declines the descriptor and conv.cc keeps the
// direct convolution. Measured on this project's 2-vCPU AMD EPYC (AVX-512,
// avx512_vp2intersect as on Zen 5) against oneDNN's direct JIT kernel, nChw16c, fused
// ReLU, one thread (docs/performance.md has the table): 0.45-0.61x the
// direct time for ResNet-50's 3x3 stride-1 layers at batch 1, 0.35-0.73x
// at batch 8; SqueezeNet's expand 3x3 layers 0.58-0.95x.
//
// The primitive is always created for batch 1 and run once per image:
// for larger batches oneDNN picks F(4x4) with 36 transformed weight
// matrices (4x the weights, up to 48 MB of scratchpad per layer). A single
// layer costs a little less CPU batched, but the whole ResNet-50 at batch 8
// was cheaper per image (348-360 vs 379-410 ms CPU per run, 1 thread) and
// batched it peaked at 512 MB RSS vs 340 MB; per image, every batch size
// shares one set of transformed weights.
#ifndef CITADEL_ENGINE_OPS_CONV_WINOGRAD_H_
#define CITADEL_ENGINE_OPS_CONV_WINOGRAD_H_

#include <cstdint>
#include <vector>

namespace citadel::engine::ops {

// The static dispatch rule (no load-time calibration): a 2-D float32
// convolution with a 3x3 kernel, stride 1, dilation 1, group 1, at least 16
// input and 32 output channels and an output of at least 7x7. Below that
// (16 -> 16 channels, 5x5 maps) the direct kernel was as fast or faster.
bool WinogradEligible(int64_t in_channels, int64_t out_channels, int64_t group,
                      const std::vector<int64_t>& kernel, const std::vector<int64_t>& strides,
                      const std::vector<int64_t>& dilations, const std::vector<int64_t>& out_spatial);

// Which of oneDNN's two kernels to take when both are offered (batch 1):
// F(4x4,3x3) for outputs of at least 32x32, F(2x2,3x3) below. Measured at
// batch 1, one thread: 56x56 64->64 0.53 ms F4 vs 0.64 ms F2, 55x55 16->64
// 0.19 vs 0.21; 27x27 32->128 0.16 vs 0.14, 14x14 256->256 0.90 vs 0.63,
// 7x7 512->512 2.39 vs 1.14. (At 28x28 oneDNN only offers F4.) F4 keeps 36
// transformed 3x3 weight matrices (4x the weights), F2 16 (1.8x).
bool PreferWinogradF4(int64_t out_h, int64_t out_w);

// CITADEL_NO_WINOGRAD=1 in the environment (read once), or
// SetWinogradDisabled(true), keeps every convolution on oneDNN's direct
// algorithm: for A/B measurement. Applies to Conv kernels created (models
// loaded) afterwards.
bool WinogradDisabled();
void SetWinogradDisabled(bool disabled);

// Number of convolution executions (one per image) that ran the Winograd
// primitive in this process; lets tests check that the path was taken.
uint64_t WinogradExecutions();
void CountWinogradExecutions(uint64_t n);

}  // namespace citadel::engine::ops

#endif  // CITADEL_ENGINE_OPS_CONV_WINOGRAD_H_
