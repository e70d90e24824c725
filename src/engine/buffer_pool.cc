#include "buffer_pool.h"

#include <cstdlib>

#include "citadel/bytes.h"

namespace citadel::engine {

std::shared_ptr<BufferPool> BufferPool::Create(size_t max_idle_bytes) {
  return std::shared_ptr<BufferPool>(new BufferPool(max_idle_bytes));
}

BufferPool::~BufferPool() {
  for (auto& [size, block] : idle_) {
    SecureZero(block, size);
    std::free(block);
  }
}

std::shared_ptr<void> BufferPool::Get(size_t bytes, uint8_t** data) {
  // Sizes round up to 4 KiB so near-equal requests share blocks; a block at
  // most twice the request is reused (a smaller request must not pin a
  // much larger block).
  const size_t size = ((bytes == 0 ? 1 : bytes) + 4095) & ~size_t{4095};
  uint8_t* block = nullptr;
  size_t got = size;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = idle_.lower_bound(size);
    if (it != idle_.end() && it->first <= 2 * size) {
      got = it->first;
      block = it->second;
      idle_bytes_ -= got;
      idle_.erase(it);
    }
  }
  if (block == nullptr) {
    block = static_cast<uint8_t*>(std::aligned_alloc(64, size));
    if (block == nullptr) return nullptr;
  }
  *data = block;
  std::shared_ptr<BufferPool> self = shared_from_this();
  return std::shared_ptr<void>(block, [self, got](void* p) { self->Put(static_cast<uint8_t*>(p), got); });
}

void BufferPool::Put(uint8_t* block, size_t size) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_bytes_ + size <= max_idle_) {
      idle_.emplace(size, block);
      idle_bytes_ += size;
      return;
    }
  }
  SecureZero(block, size);
  std::free(block);
}

size_t BufferPool::idle_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_bytes_;
}

}  // namespace citadel::engine
