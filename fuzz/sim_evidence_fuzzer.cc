// libFuzzer target: the evidence envelope (TLS certificate extension and
// /v2/attestation body) and the simulation evidence parser and verifier.
// Both decoders are strict, so a successful decode must re-encode to the
// exact input bytes.
#include <cstddef>
#include <cstdint>

#include "citadel/attest.h"
#include "citadel/channel.h"
#include "citadel/evidence.h"
#include "fuzz_check.h"

namespace {

void CheckSim(citadel::ByteSpan in) {
  auto parsed = citadel::ParseSimEvidence(in);
  if (parsed.ok()) {
    auto signed_part = citadel::SimEvidenceSignedPart(parsed->body);
    FUZZ_CHECK(signed_part.ok());
    FUZZ_CHECK(*signed_part == parsed->signed_part);
    auto whole = citadel::FinishSimEvidence(*signed_part, parsed->signature);
    FUZZ_CHECK(whole.ok());
    FUZZ_CHECK(citadel::Bytes(in.begin(), in.end()) == *whole);
  }
  citadel::Evidence ev;
  ev.kind = citadel::EvidenceKind::kSim;
  ev.bytes.assign(in.begin(), in.end());
  auto verified = citadel::VerifyEvidence(ev);
  if (verified.ok()) {
    FUZZ_CHECK(verified->simulation);
    FUZZ_CHECK(parsed.ok());
    citadel::Policy strict;  // defaults: simulation refused
    FUZZ_CHECK(!citadel::CheckPolicy(*verified, strict).ok());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  citadel::ByteSpan in(data, size);
  auto env = citadel::DecodeEvidenceEnvelope(in);
  if (env.ok()) {
    FUZZ_CHECK(citadel::EncodeEvidenceEnvelope(*env) == citadel::Bytes(in.begin(), in.end()));
    if (env->kind == citadel::EvidenceKind::kSim) {
      CheckSim(env->bytes);
    } else {
      (void)citadel::VerifyEvidence(*env);
    }
  } else {
    CheckSim(in);
  }
  return 0;
}
