// libFuzzer target: the SEV-SNP report parser, the certificate table parser
// (extended reports: configfs-tsm auxblob / SNP_GET_EXT_REPORT, untrusted
// host data) and the verifier's early stages (hex/binary input detection,
// parsing, certificate parsing).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "attest_util.h"
#include "citadel/attest.h"
#include "citadel/attest/snp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  citadel::ByteSpan in(data, size);
  auto decoded = citadel::snp::DecodeSnpReportInput(in);
  auto parsed = citadel::snp::ParseSnpReport(in);
  if (parsed.ok()) {
    (void)parsed->debug_allowed();
    (void)citadel::snp::DecodeTcb(parsed->reported_tcb, citadel::snp::Product::kTurin);
  }
  // The same bytes as a certificate table: whatever parses lies inside it.
  (void)citadel::snp::LooksLikeSnpCertTable(in);
  auto table = citadel::snp::ParseSnpCertTable(in);
  if (table.ok()) {
    for (const auto* c : {&table->vcek, &table->vlek, &table->ask, &table->ark}) {
      if (c->size() > size) std::abort();
    }
  }
  // The same bytes as a VCEK / chain: certificate parsing of hostile input.
  citadel::snp::SnpCollateral col;
  col.vek.assign(data, data + size);
  col.trusted_arks.push_back(col.vek);
  if (decoded.ok()) (void)citadel::snp::VerifySnpReport(*decoded, col, {});
  // A zero report carrying these bytes as its certificate table: the
  // dispatcher's extended-report path (table parse, chain assembly).
  citadel::Evidence extended(citadel::EvidenceKind::kSevSnp, citadel::Bytes(citadel::snp::kReportSize, 0),
                             citadel::Bytes(data, data + size));
  extended.bytes[0] = 2;
  extended.bytes[0x34] = 1;
  (void)citadel::VerifyEvidence(extended);
  return 0;
}
