// A fixed simulation-platform signer for the proof fuzzers. A verifier that
// is given no policy (or one that allows simulation) accepts statements from
// any sim key, so an attacker can sign whatever payload they like: the
// fuzzers sign their input the same way to reach the code behind the
// signature check.
#ifndef CITADEL_FUZZ_SIGNER_H_
#define CITADEL_FUZZ_SIGNER_H_

#include <cstdlib>
#include <memory>
#include <string>

#include "citadel/channel.h"
#include "citadel/crypto.h"
#include "citadel/proof.h"
#include "citadel/tee.h"

namespace citadel_fuzz {

struct FixedSigner {
  std::unique_ptr<citadel::Platform> platform;
  citadel::ServerIdentity identity;
  citadel::StatementSigner signer;
  std::string evidence_sha256;
};

inline FixedSigner& Signer() {
  static FixedSigner* s = [] {
    auto* out = new FixedSigner;
    char dir[] = "/tmp/citadel-fuzz-signer-XXXXXX";
    if (!mkdtemp(dir)) std::abort();
    citadel::SimPlatformOptions o;
    o.state_dir = dir;
    o.config_bytes = citadel::Bytes{'{', '}'};
    auto p = citadel::OpenSimPlatform(o);
    if (!p.ok()) std::abort();
    out->platform = std::move(p).value();
    auto id = citadel::CreateServerIdentity(*out->platform, "fuzz");
    if (!id.ok()) std::abort();
    out->identity = std::move(id).value();
    out->signer.key = out->identity.key.get();
    out->signer.spki_der = out->identity.spki_der;
    out->signer.evidence_envelope = citadel::EncodeEvidenceEnvelope(out->identity.evidence);
    out->evidence_sha256 = citadel::HexEncode(citadel::Sha256(out->signer.evidence_envelope));
    std::string cleanup = std::string("rm -rf '") + dir + "'";
    (void)std::system(cleanup.c_str());
    return out;
  }();
  return *s;
}

// Signs `payload` (adding the right evidence_sha256 when `bind` is set and
// the payload is an object) as a statement of `kind`.
inline nlohmann::json SignFuzzPayload(nlohmann::json payload, std::string_view kind, bool bind) {
  FixedSigner& s = Signer();
  if (bind && payload.is_object()) payload["evidence_sha256"] = s.evidence_sha256;
  auto st = citadel::SignStatement(s.signer, kind, payload);
  if (!st.ok()) std::abort();
  return std::move(st).value();
}

}  // namespace citadel_fuzz

#endif  // CITADEL_FUZZ_SIGNER_H_
