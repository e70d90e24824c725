// libFuzzer target: the NVIDIA SPDM GET_MEASUREMENTS transcript parser, the
// input decoder (hex / nvtrust JSON) and the verifier up to the chain checks.
#include <cstddef>
#include <cstdint>

#include "citadel/attest/nvidia.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  citadel::ByteSpan in(data, size);
  (void)citadel::nvidia::ParseGpuReport(in);
  citadel::Bytes chain;
  auto decoded = citadel::nvidia::DecodeGpuReportInput(in, &chain);
  if (decoded.ok()) {
    auto parsed = citadel::nvidia::ParseGpuReport(*decoded);
    // The same bytes as chain and root: certificate parsing of hostile input.
    std::vector<citadel::Bytes> roots = {citadel::Bytes(data, data + size)};
    if (parsed.ok()) (void)citadel::nvidia::VerifyGpuReport(*decoded, roots[0], roots, {});
  }
  return 0;
}
