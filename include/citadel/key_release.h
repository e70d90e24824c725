// Attested key release: how a TEE without a hardware sealing key (Intel TDX;
// SEV-SNP without /dev/sev-guest) gets the root of its sealing keys from a key
// broker run by the model owner, and only after the broker has checked its
// evidence against the owner's policy. docs/key-release.md has the protocol,
// the threat model and how to run a broker.
//
//   TEE (citadel serve)                        broker (citadel key-broker)
//   ephemeral HPKE key pair (P-256)
//   evidence over ReportDataForKeyRelease(pk)
//   POST /v1/key-release {evidence, pk}  --->  VerifyEvidence + CheckPolicy,
//                                              report_data binds pk,
//                                              HPKE-seal the 32-byte root to pk,
//                                              sign KeyReleaseStatement(...)
//   verify the signature with the pinned  <---  {enc, ciphertext, signature}
//   broker key, open, derive sealing keys
//
// Only the TEE holds the ephemeral private key, so only the TEE can open the
// answer; the broker's signature (its key is pinned in the server's measured
// configuration) stops a man in the middle from handing the TEE a root key
// of its own choosing, which would let it read everything sealed later. The
// transport therefore needs neither confidentiality nor authenticity.
#ifndef CITADEL_KEY_RELEASE_H_
#define CITADEL_KEY_RELEASE_H_

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "citadel/attest.h"
#include "citadel/bytes.h"
#include "citadel/crypto.h"
#include "citadel/evidence.h"
#include "citadel/hpke.h"
#include "citadel/status.h"
#include "citadel/tee.h"

namespace citadel {

// report_data for key release: SHA-256(pk) || SHA-256("citadel/key-release/v1").
ReportData ReportDataForKeyRelease(ByteSpan hpke_public_key);

// What the broker signs (P-256, SHA-256): binds its answer to the request's
// key and evidence, so an answer cannot be replayed to another request.
std::string KeyReleaseStatement(ByteSpan hpke_public_key, ByteSpan evidence_envelope, ByteSpan enc,
                                ByteSpan ciphertext);

// ---- TEE side ----------------------------------------------------------------

// One key-release attempt: the ephemeral key pair and the request body.
struct KeyReleaseRequest {
  HpkeKeyPair key;
  Bytes evidence_envelope;  // EncodeEvidenceEnvelope(evidence over the key)
  // {"version": 1, "public_key": b64, "evidence": b64}
  nlohmann::json ToJson() const;
};
Result<KeyReleaseRequest> BeginKeyRelease(Platform& platform);

// Checks the broker's signature against `broker_spki_der` (pinned in the
// server configuration) and opens the root key. Fails with AttestationFailed
// when the signature does not verify (wrong or impostor broker, altered
// answer), DataLoss when the ciphertext does not open, InvalidArgument when
// the answer is malformed, and passes on the broker's own error
// ({"error", "code"}) with its code.
Result<SecretBytes> FinishKeyRelease(const KeyReleaseRequest& request, const nlohmann::json& answer,
                                     ByteSpan broker_spki_der);

// A platform whose sealing keys derive from a released root key:
// SealingKey(purpose) = HKDF-SHA256(root, salt "citadel/released-sealing/v1",
// info purpose). Evidence, measurement and the rest come from `inner`.
std::unique_ptr<Platform> WithReleasedSealingRoot(std::unique_ptr<Platform> inner, SecretBytes root);

// ---- Broker side -----------------------------------------------------------

class KeyBroker {
 public:
  // Opens (or on first use creates, 0700/0600) the broker's state directory:
  // its P-256 signing key and the 32-byte root key it releases.
  static Result<std::unique_ptr<KeyBroker>> Open(const std::string& state_dir);

  // Base64-free SPKI DER of the signing key: what servers pin.
  const Bytes& public_key_spki() const { return public_spki_; }

  // Handles one request body. Accepts only evidence that verifies (with
  // `options`: roots, collateral, instant), whose report_data binds the
  // request's key, and that `policy` accepts. Errors are precise (which check
  // failed) and never contain the root key.
  Result<nlohmann::json> Release(const nlohmann::json& request, const Policy& policy,
                                 const VerifyOptions& options = {}) const;

 private:
  KeyBroker() = default;
  EvpPkeyPtr signing_key_;
  Bytes public_spki_;
  SecretBytes root_;
};

}  // namespace citadel

#endif  // CITADEL_KEY_RELEASE_H_
