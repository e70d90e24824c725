// Simulation evidence verification. See docs/protocol.md for the format.

#include "sim_evidence.h"

#include <openssl/evp.h>

#include <cstring>

#include "citadel/crypto.h"

namespace citadel::attest_internal {
namespace {

Status Fail(const std::string& why) { return Status::AttestationFailed("sim evidence: " + why); }

bool IsP384(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC") != 1) return false;
  char group[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1) return false;
  return std::strcmp(group, "secp384r1") == 0 || std::strcmp(group, "P-384") == 0;
}

}  // namespace

Result<VerifiedEvidence> VerifySimEvidence(ByteSpan bytes, const VerifyOptions& options) {
  auto parsed = ParseSimEvidence(bytes);
  if (!parsed.ok()) return Status::AttestationFailed(parsed.status().message());

  auto signer = ParsePublicKeySpkiDer(parsed->body.signer_spki_der);
  if (!signer.ok()) return Fail("signer key is not a valid SubjectPublicKeyInfo");
  if (!IsP384(signer->get())) return Fail("signer key is not an EC P-384 key");
  Status sig = VerifyDigestMessage(signer->get(), "SHA384", parsed->signed_part,
                                   parsed->signature);
  if (!sig.ok()) return Fail("signature does not verify");

  const SimEvidenceBody& body = parsed->body;
  VerifiedEvidence out;
  out.kind = EvidenceKind::kSim;
  out.simulation = true;
  out.measurement.assign(body.measurement.begin(), body.measurement.end());
  out.report_data = body.report_data;
  out.claims["platform"] = "sim";
  out.claims["simulation"] = "true";
  out.claims["measurement"] = HexEncode(body.measurement);
  out.claims["signer"] = HexEncode(Sha256(body.signer_spki_der));
  out.claims["timestamp"] = std::to_string(body.timestamp);
  return out;
}

}  // namespace citadel::attest_internal
