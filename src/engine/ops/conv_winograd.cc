// Dispatch rule and switches of the Winograd convolution fast path; see
// conv_winograd.h for the kernel and the measurements behind the rule.
#include "conv_winograd.h"

#include <atomic>
#include <cstdlib>

namespace citadel::engine::ops {
namespace {

std::atomic<int>& DisabledFlag() {
  static std::atomic<int> flag{[] {
    const char* v = std::getenv("CITADEL_NO_WINOGRAD");
    return v != nullptr && v[0] == '1' ? 1 : 0;
  }()};
  return flag;
}

std::atomic<uint64_t> executions{0};

}  // namespace

bool WinogradEligible(int64_t in_channels, int64_t out_channels, int64_t group,
                      const std::vector<int64_t>& kernel, const std::vector<int64_t>& strides,
                      const std::vector<int64_t>& dilations, const std::vector<int64_t>& out_spatial) {
  if (kernel.size() != 2 || strides.size() != 2 || dilations.size() != 2 || out_spatial.size() != 2) {
    return false;
  }
  for (size_t i = 0; i < 2; ++i) {
    if (kernel[i] != 3 || strides[i] != 1 || dilations[i] != 1 || out_spatial[i] < 7) return false;
  }
  return group == 1 && in_channels >= 16 && out_channels >= 32;
}

bool PreferWinogradF4(int64_t out_h, int64_t out_w) { return out_h >= 32 && out_w >= 32; }

bool WinogradDisabled() { return DisabledFlag().load(std::memory_order_relaxed) != 0; }
void SetWinogradDisabled(bool disabled) { DisabledFlag().store(disabled ? 1 : 0); }

uint64_t WinogradExecutions() { return executions.load(std::memory_order_relaxed); }
void CountWinogradExecutions(uint64_t n) { executions.fetch_add(n, std::memory_order_relaxed); }

}  // namespace citadel::engine::ops
