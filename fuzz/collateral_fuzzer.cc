// libFuzzer target: the Intel collateral importers (dcap-qvl JSON, PCS
// responses with exact-bytes extraction, Fortanix wrappers).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "citadel/attest/intel_quote.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)citadel::intel::ImportDcapQvlCollateral(text);
  auto pcs = citadel::intel::ImportPcsSignedJson(text);
  if (pcs.ok() && pcs->body.size() > text.size()) __builtin_trap();  // body is a substring
  (void)citadel::intel::ImportFortanixSignedJson(text);
  return 0;
}
