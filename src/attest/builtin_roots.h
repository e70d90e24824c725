// Built-in vendor certificates (src/attest/builtin_roots.cc). Not a public
// header.
#ifndef CITADEL_SRC_ATTEST_BUILTIN_ROOTS_H_
#define CITADEL_SRC_ATTEST_BUILTIN_ROOTS_H_

#include <string_view>
#include <vector>

namespace citadel::attest_internal {

struct BuiltinCert {
  std::string_view name;      // e.g. "amd_milan_ark"
  std::string_view vendor;    // "intel", "amd", "amd-intermediate", "nvidia", "nvidia-rim"
  bool trust_anchor;          // false: a public intermediate, checked against its root
  const char* pem;
};

const std::vector<BuiltinCert>& BuiltinCerts();

}  // namespace citadel::attest_internal

#endif  // CITADEL_SRC_ATTEST_BUILTIN_ROOTS_H_
