// oneDNN plumbing shared by the fast kernels (conv, gemm, matmul, pool).
//
// Threads: Debian's libdnnl uses the OpenMP runtime (libgomp), whose thread
// count is a per-calling-thread setting. Model::Run calls SetRunThreads with
// LoadOptions::threads before executing, so each caller's runs are bounded
// and concurrent callers do not disturb each other.
//
// Concurrency: primitives are immutable and created with a user-managed
// scratchpad; each execution takes its scratchpad (and reorder buffers) from
// thread-local grow-only buffers, so concurrent Runs share nothing mutable.
#ifndef CITADEL_ENGINE_DNNL_UTIL_H_
#define CITADEL_ENGINE_DNNL_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "citadel/tensor.h"

namespace citadel::engine {

dnnl::engine& CpuEngine();

// Bounds the intra-op threads of the calling thread (0 = all cores).
void SetRunThreads(int threads);

// A thread-local, 64-byte aligned, grow-only buffer; `slot` picks one of a
// few independent buffers (0: scratchpad, 1..3: reorder targets).
void* ThreadBuffer(int slot, size_t bytes);

// Plain row-major memory descriptor for a float tensor shape.
dnnl::memory::desc PlainDesc(const Shape& shape);
dnnl::memory::dims ToDims(const Shape& shape);

// Executes `prim` with `args` plus a user scratchpad from ThreadBuffer(0).
void ExecuteWithScratchpad(const dnnl::primitive& prim, const dnnl::memory::desc& scratch_md,
                           std::unordered_map<int, dnnl::memory> args);

// Escape hatch for tests and A/B measurement: CITADEL_NO_DNNL=1 in the
// environment (or SetDnnlDisabled(true)) makes kernels created afterwards
// use the reference implementations.
bool DnnlDisabled();
void SetDnnlDisabled(bool disabled);

}  // namespace citadel::engine

#endif  // CITADEL_ENGINE_DNNL_UTIL_H_
