// libFuzzer target: the Intel DCAP quote parser (SGX v3, TDX v4/v5) and the
// certificate-chain parser fed with the quote's certification data.
#include <cstddef>
#include <cstdint>

#include "attest_util.h"
#include "citadel/attest/intel_quote.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  citadel::ByteSpan in(data, size);
  citadel::Bytes bytes = citadel::intel::DecodeQuoteInput(in);
  auto q = citadel::intel::ParseQuote(bytes);
  if (q.ok()) {
    (void)q->measurement();
    (void)q->report_data();
    auto certs = citadel::attest_internal::ParseCertificates(q->cert_data);
    (void)certs;
    citadel::intel::IntelCollateral col;
    col.trusted_roots.push_back(q->cert_data);
    (void)citadel::intel::VerifyIntelQuote(bytes, col, {});
  }
  return 0;
}
