// libFuzzer target: PEM/DER certificate bundle parsing and the X.509
// extension / DER INTEGER helpers used for VCEK TCB extensions.
#include <cstddef>
#include <cstdint>

#include "attest_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  citadel::ByteSpan in(data, size);
  (void)citadel::attest_internal::ParseDerUnsigned(in);
  (void)citadel::attest_internal::DecodeBinaryOrHexText(in);
  auto certs = citadel::attest_internal::ParseCertificates(in);
  if (certs.ok()) {
    for (auto& c : *certs) {
      (void)citadel::attest_internal::SubjectCommonName(c.get());
      auto ext = citadel::attest_internal::ExtensionValue(c.get(), "1.3.6.1.4.1.3704.1.3.1");
      if (ext.ok() && ext->has_value()) (void)citadel::attest_internal::ParseDerUnsigned(**ext);
      (void)citadel::attest_internal::CheckValidity(c.get(), 0, "fuzz", "cert");
    }
  }
  return 0;
}
