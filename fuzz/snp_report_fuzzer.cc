// libFuzzer target: the SEV-SNP report parser and the verifier's early
// stages (hex/binary input detection, parsing, certificate parsing).
#include <cstddef>
#include <cstdint>

#include "attest_util.h"
#include "citadel/attest/snp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  citadel::ByteSpan in(data, size);
  auto decoded = citadel::snp::DecodeSnpReportInput(in);
  auto parsed = citadel::snp::ParseSnpReport(in);
  if (parsed.ok()) {
    (void)parsed->debug_allowed();
    (void)citadel::snp::DecodeTcb(parsed->reported_tcb, citadel::snp::Product::kTurin);
  }
  // The same bytes as a VCEK / chain: certificate parsing of hostile input.
  citadel::snp::SnpCollateral col;
  col.vek.assign(data, data + size);
  col.trusted_arks.push_back(col.vek);
  if (decoded.ok()) (void)citadel::snp::VerifySnpReport(*decoded, col, {});
  return 0;
}
