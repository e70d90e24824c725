// The Conv kernel's (conv.cc) execution paths besides Winograd
// (conv_winograd.h): their A/B switches and the counters that let tests
// check a path was taken.
#ifndef CITADEL_ENGINE_OPS_CONV_H_
#define CITADEL_ENGINE_OPS_CONV_H_

#include <cstdint>

namespace citadel::engine::ops {

// Number of Conv executions in this process whose fused residual was
// written over in place (conv.cc, KernelContext::TakeInputAsOutput) instead
// of being copied into a new output; lets tests check that path too.
uint64_t InPlaceResidualConvs();

// Direct convolutions with a kernel larger than 1x1 and a blocked-width
// input (not Winograd's) run on NHWC activations with oneDNN's brgemm
// kernel where oneDNN offers it (AVX-512), reordered from and to the
// plan's layout around the call (conv.cc, UseNhwcDirect).
// CITADEL_NO_NHWC_CONV=1 in the environment (read once), or
// SetNhwcDirectDisabled(true), keeps them on the blocked kernel, for A/B
// measurement; applies to models loaded afterwards. NhwcDirectExecutions
// counts the executions (one per batch) that took the NHWC kernel.
bool NhwcDirectDisabled();
void SetNhwcDirectDisabled(bool disabled);
uint64_t NhwcDirectExecutions();

// 1x1 Convs on a 1x1 map (squeeze-excitation) run as dot products on the
// calling thread instead of a oneDNN primitive (conv.cc PointwiseVector);
// the number of such executions (one per Run of the node).
uint64_t PointwiseVectorConvs();

}  // namespace citadel::engine::ops

#endif  // CITADEL_ENGINE_OPS_CONV_H_
