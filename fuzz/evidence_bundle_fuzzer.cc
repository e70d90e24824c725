// libFuzzer target: evidence kind detection, the Citadel collateral bundle
// parser and importers, and the policy parser (all read untrusted files).
#include <cstddef>
#include <cstdint>

#include "citadel/attest.h"
#include "citadel/attest/appraisal.h"
#include "citadel/attest/collateral.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  citadel::ByteSpan in(data, size);
  (void)citadel::DetectEvidence(in);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto bundle = citadel::CollateralBundle::FromJson(text);
  if (bundle.ok()) (void)citadel::CollateralBundle::FromJson(bundle->ToJson());
  citadel::CollateralBundle imported;
  (void)imported.ImportBytes(in, "fuzz", "");
  (void)citadel::Policy::FromJson(text);
  (void)citadel::ParseRfc3339(text);
  return 0;
}
