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
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "citadel/status.h"
#include "citadel/tensor.h"

namespace citadel::engine {

dnnl::engine& CpuEngine();

// LoadOptions::threads resolved: 0 = all cores.
int ResolveThreads(int threads);
// Bounds the intra-op threads of the calling thread (0 = all cores).
void SetRunThreads(int threads);

// The calling thread's intra-op thread count. oneDNN sizes a primitive's
// work split when it is created and always runs it with that many threads,
// so caches of primitives include this in their key (a Run may use fewer
// threads than Load did: src/engine/spin_governor.h).
int ThreadsKey();

// A thread-local, 64-byte aligned, grow-only buffer; `slot` picks one of a
// few independent buffers (0: scratchpad, 1..3: reorder targets).
void* ThreadBuffer(int slot, size_t bytes);

// Plain row-major memory descriptor for a float tensor shape.
dnnl::memory::desc PlainDesc(const Shape& shape);
dnnl::memory::dims ToDims(const Shape& shape);

// Executes `prim` with `args` plus a user scratchpad from ThreadBuffer(0).
void ExecuteWithScratchpad(const dnnl::primitive& prim, const dnnl::memory::desc& scratch_md,
                           std::unordered_map<int, dnnl::memory> args);

// Channel-blocked activations (see KernelContext::blocked_channels).
// The channel block B of nChw{B}c activations: 16 with AVX-512, else 8.
int64_t ActivationBlock();
// Logical [N, C, H, W] -> physical [N, ceil(C/B), H, W, B].
Shape BlockedPhysicalShape(const Shape& logical);
// Physical blocked tensor + logical C -> logical [N, C, H, W]; empty when
// the physical shape is not a blocked one for C.
Shape BlockedLogicalShape(const Shape& physical, int64_t channels);
// oneDNN descriptor of the blocked layout for a logical 4-D shape.
dnnl::memory::desc BlockedDesc(const Shape& logical);
// Copies between plain NCHW and blocked tensors (oneDNN reorders), for
// boundaries and fallbacks. `max_bytes` caps the new tensor.
Result<Tensor> BlockedToPlain(const Tensor& physical, int64_t channels, size_t max_bytes);
Result<Tensor> PlainToBlocked(const Tensor& plain, size_t max_bytes);

// Primitives (or anything) created per input shape (and thread count:
// ThreadsKey), shared by concurrent
// Runs: Get returns the cached entry for `key` or builds it with `make()`
// (which may return nullptr: "no fast path for this shape", also cached, as
// are dnnl::error throws). Bounded so that shape churn cannot grow it.
template <typename P>
class ShapeCache {
 public:
  template <typename Make>
  std::shared_ptr<const P> Get(Shape key, Make make) const {
    key.push_back(ThreadsKey());
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it != map_.end()) return it->second;
    if (map_.size() >= 16) map_.erase(map_.begin());
    std::shared_ptr<const P> p;
    try {
      p = make();
    } catch (const dnnl::error&) {
      p = nullptr;
    }
    map_[key] = p;
    return p;
  }

 private:
  mutable std::mutex mu_;
  mutable std::map<Shape, std::shared_ptr<const P>> map_;
};

// Escape hatch for tests and A/B measurement: CITADEL_NO_DNNL=1 in the
// environment (or SetDnnlDisabled(true)) makes kernels created afterwards
// use the reference implementations.
bool DnnlDisabled();
void SetDnnlDisabled(bool disabled);

}  // namespace citadel::engine

#endif  // CITADEL_ENGINE_DNNL_UTIL_H_
