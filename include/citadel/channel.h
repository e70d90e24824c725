// Attested TLS (RA-TLS style).
//
// Server side: a TLS key generated inside the platform; a self-signed X.509
// certificate that carries the platform evidence in an extension (OID
// 2.23.133.5.4.9, TCG DICE tagged evidence, content: Citadel evidence
// envelope), where the evidence's report_data binds SHA-256 of the
// certificate's SubjectPublicKeyInfo (see evidence.h).
//
// Client side: during the TLS handshake, before any application byte is
// sent, the certificate's evidence is verified and checked against the
// policy and the key binding; the handshake fails otherwise. The accepted
// public key is then pinned for the life of the client.
#ifndef CITADEL_CHANNEL_H_
#define CITADEL_CHANNEL_H_

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "citadel/attest.h"
#include "citadel/attest/appraisal.h"
#include "citadel/crypto.h"
#include "citadel/tee.h"

namespace citadel {

// Evidence envelope carried in the certificate extension and in
// /v2/attestation responses: "CTDLEVID" magic, u16 version, u8 kind,
// u32-prefixed evidence bytes; version 2 adds u32-prefixed endorsements
// (Evidence::endorsements, e.g. the SEV-SNP certificate table). Evidence
// without endorsements is encoded as version 1. Decoder rejects unknown
// versions.
Bytes EncodeEvidenceEnvelope(const Evidence& evidence);
Result<Evidence> DecodeEvidenceEnvelope(ByteSpan bytes);

struct ServerIdentity {
  EvpPkeyPtr key;      // TLS private key; never leaves the server process
  X509Ptr certificate; // self-signed, carries the evidence
  Bytes spki_der;      // the certificate's public key
  Evidence evidence;   // evidence over ReportDataForCertificate(spki_der)
};

// Generates a P-256 key, asks the platform for evidence, builds the cert.
Result<ServerIdentity> CreateServerIdentity(Platform& platform, const std::string& common_name);

struct PeerVerification {
  VerifiedEvidence evidence;
  Bytes spki_der;
};

// Everything a client judges server evidence with, for its whole life: the
// inputs `citadel verify` takes (docs/attestation.md). Owning, unlike
// VerifyOptions (which points at its collateral), so that it can live in a
// client.
struct AttestationConfig {
  Policy policy;
  // Collateral (TCB Info, QE Identity, CRLs, VCEK/VLEK, AMD and NVIDIA
  // chains). Untrusted data; may be null. Hardware evidence without the
  // collateral it needs is refused (e.g. "snp.vek_missing").
  std::shared_ptr<const CollateralBundle> collateral;
  // Empty: the built-in vendor roots. Non-empty: ONLY these roots (PEM/DER).
  std::vector<Bytes> trust_anchors;
  // The instant validity windows are judged at; unset: the clock at the
  // moment of each verification.
  std::optional<std::chrono::system_clock::time_point> at;

  // VerifyOptions pointing into this object (valid while it lives).
  VerifyOptions Options() const;
};

// Turns an appraisal that is not `accepted` into the Status a client shows:
//   invalid  -> AttestationFailed "server evidence is invalid: <check>: <detail>"
//   expired  -> AttestationFailed "server evidence is expired: <check>: <detail>"
//   rejected -> PolicyRejected    "<check>: <detail> (and N more policy failures)"
// with a hint naming the collateral option when collateral was missing.
// OK for an accepted appraisal.
Status AppraisalStatus(const Appraisal& appraisal);

// Full check of a server certificate: extension present, evidence verifies
// (AppraiseEvidence, the code `citadel verify` runs, at options.now),
// report_data binds this certificate's key, policy accepts.
Result<PeerVerification> VerifyServerCertificate(X509* cert, const Policy& policy,
                                                 const VerifyOptions& options = {});

// Installs the verifier on a client SSL_CTX (TLS 1.3 only, SSL_VERIFY_PEER,
// custom certificate verification). The first accepted key is pinned: later
// handshakes must present the same key. Thread-safe.
class AttestedTlsVerifier {
 public:
  explicit AttestedTlsVerifier(Policy policy) { config_.policy = std::move(policy); }
  explicit AttestedTlsVerifier(AttestationConfig config) : config_(std::move(config)) {}
  Status Install(SSL_CTX* ctx);
  // The result of the first successful verification, if any.
  std::optional<PeerVerification> verified() const;
  // Why the last handshake was refused (for error messages).
  Status last_error() const;

 private:
  static int VerifyCallback(X509_STORE_CTX* store, void* arg);
  AttestationConfig config_;
  mutable std::mutex mu_;
  std::optional<PeerVerification> verified_;
  Status last_error_;
};

// Checks fresh evidence from /v2/attestation: verifies it, applies the
// policy, and requires report_data == ReportDataForNonce(pinned_spki, nonce).
Result<VerifiedEvidence> VerifyFreshEvidence(const Evidence& evidence, const Policy& policy,
                                             ByteSpan pinned_spki_der, ByteSpan nonce,
                                             const VerifyOptions& options = {});

}  // namespace citadel

#endif  // CITADEL_CHANNEL_H_
