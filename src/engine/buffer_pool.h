// Reusable activation buffers for Model::Run.
//
// Why: each Run allocates every intermediate afresh; with plain heap tensors
// that is a memset on allocation, a wipe on free and, for large sizes,
// page faults: a fifth of an EfficientNet-B0 run under perf. The pool keeps
// freed blocks and hands them out again, so a steady-state Run touches warm
// memory and kernels that overwrite their whole output skip the zero fill
// (KernelContext::AllocateUninitialized).
//
// Confidentiality: an idle block still holds the activations of the Run
// that used it last (like the thread-local reorder/scratchpad buffers),
// inside the process; it is wiped (OPENSSL_cleanse) before it goes back to
// the heap: when the pool is over its idle cap and on pool destruction.
#ifndef CITADEL_ENGINE_BUFFER_POOL_H_
#define CITADEL_ENGINE_BUFFER_POOL_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

namespace citadel::engine {

class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  // max_idle_bytes: idle blocks beyond this are wiped and freed at once.
  static std::shared_ptr<BufferPool> Create(size_t max_idle_bytes);
  ~BufferPool();

  // A 64-byte aligned block of at least `bytes` (contents unspecified),
  // returned to the pool when the last copy of the result is released.
  // The result keeps the pool alive. nullptr when out of memory.
  std::shared_ptr<void> Get(size_t bytes, uint8_t** data);

  size_t idle_bytes() const;

 private:
  explicit BufferPool(size_t max_idle_bytes) : max_idle_(max_idle_bytes) {}
  void Put(uint8_t* block, size_t size);

  const size_t max_idle_;
  mutable std::mutex mu_;
  std::multimap<size_t, uint8_t*> idle_;  // block size -> block
  size_t idle_bytes_ = 0;
};

}  // namespace citadel::engine

#endif  // CITADEL_ENGINE_BUFFER_POOL_H_
