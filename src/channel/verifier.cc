// Client side of attested TLS: certificate verification inside the
// handshake, key pinning, and fresh-evidence checks.

#include <openssl/x509_vfy.h>

#include "cert_ext.h"
#include "citadel/channel.h"

namespace citadel {
namespace {

constexpr size_t kMinNonceBytes = 16;
constexpr size_t kMaxNonceBytes = 1024;

bool SameReportData(const ReportData& a, const ReportData& b) {
  return ConstantTimeEquals(ByteSpan(a.data(), a.size()), ByteSpan(b.data(), b.size()));
}

}  // namespace

VerifyOptions AttestationConfig::Options() const {
  VerifyOptions o;
  o.now = at.value_or(std::chrono::system_clock::now());
  o.collateral = collateral.get();
  o.trust_anchors = trust_anchors;
  return o;
}

Status AppraisalStatus(const Appraisal& appraisal) {
  if (appraisal.accepted()) return Status::Ok();
  if (appraisal.failed_checks.empty()) {
    // Cannot happen (every non-accepted appraisal names a check); fail closed.
    return Status::AttestationFailed("server evidence was not accepted (no reason recorded)");
  }
  const std::string& first = appraisal.failed_checks.front();
  if (appraisal.verdict == Verdict::kRejected) {
    std::string msg = first;
    if (appraisal.failed_checks.size() > 1) {
      msg += " (and " + std::to_string(appraisal.failed_checks.size() - 1) + " more policy failures)";
    }
    return Status::PolicyRejected(msg);
  }
  // invalid / expired: the verdict is part of the message so that expired
  // collateral reads differently from a forged or broken quote.
  return Status::AttestationFailed("server evidence is " + std::string(VerdictName(appraisal.verdict)) + " (" +
                                   std::string(EvidenceKindName(appraisal.kind)) + "): " + first);
}

Result<PeerVerification> VerifyServerCertificate(X509* cert, const Policy& policy,
                                                 const VerifyOptions& options) {
  if (cert == nullptr) return Status::AttestationFailed("the server presented no certificate");
  CITADEL_ASSIGN_OR_RETURN(Bytes envelope, channel_internal::GetEvidenceExtension(cert));
  CITADEL_ASSIGN_OR_RETURN(Evidence evidence, DecodeEvidenceEnvelope(envelope));
  // The same appraisal `citadel verify` prints: verification, then the
  // policy at options.now.
  Appraisal appraisal = AppraiseEvidence(evidence, options, &policy);
  if (!appraisal.evidence) return AppraisalStatus(appraisal);

  // The key the TLS handshake proves possession of. Checked before the
  // policy verdict: a certificate whose key is not the attested one is not
  // this server's, whatever the policy says about the evidence.
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) {
    TakeOpenSslError();
    return Status::AttestationFailed("server certificate has an unusable public key");
  }
  CITADEL_ASSIGN_OR_RETURN(Bytes spki, PublicKeySpkiDer(key));
  if (!SameReportData(appraisal.evidence->report_data, ReportDataForCertificate(spki))) {
    return Status::AttestationFailed(
        "the certificate's key is not the key bound by its evidence (report_data mismatch)");
  }
  CITADEL_RETURN_IF_ERROR(AppraisalStatus(appraisal));
  return PeerVerification{std::move(appraisal.evidence).value(), std::move(spki)};
}

Status AttestedTlsVerifier::Install(SSL_CTX* ctx) {
  if (ctx == nullptr) return Status::InvalidArgument("no SSL_CTX");
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return Status::Internal("cannot require TLS 1.3: " + TakeOpenSslError());
  }
  // No session resumption: every connection presents and re-verifies the
  // certificate, so the callback below sees every handshake.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, &AttestedTlsVerifier::VerifyCallback, this);
  return Status::Ok();
}

std::optional<PeerVerification> AttestedTlsVerifier::verified() const {
  std::lock_guard<std::mutex> lock(mu_);
  return verified_;
}

Status AttestedTlsVerifier::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

int AttestedTlsVerifier::VerifyCallback(X509_STORE_CTX* store, void* arg) {
  auto* self = static_cast<AttestedTlsVerifier*>(arg);
  if (self == nullptr || store == nullptr) return 0;
  // Verification is slow-ish and needs no lock; only the pin does.
  // Options() reads the clock now (unless the config fixes the instant).
  auto result = VerifyServerCertificate(X509_STORE_CTX_get0_cert(store), self->config_.policy,
                                        self->config_.Options());

  std::lock_guard<std::mutex> lock(self->mu_);
  if (!result.ok()) {
    self->last_error_ = result.status();
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  if (self->verified_.has_value() &&
      !ConstantTimeEquals(self->verified_->spki_der, result->spki_der)) {
    self->last_error_ = Status::AttestationFailed(
        "the server's TLS key changed since this client first verified it (pinned key "
        "sha256 " + HexEncode(Sha256(self->verified_->spki_der)) + ", now " +
        HexEncode(Sha256(result->spki_der)) + "); reconnect with a new client to re-attest");
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  if (!self->verified_.has_value()) self->verified_ = std::move(result).value();
  self->last_error_ = Status::Ok();
  return 1;
}

Result<VerifiedEvidence> VerifyFreshEvidence(const Evidence& evidence, const Policy& policy,
                                             ByteSpan pinned_spki_der, ByteSpan nonce,
                                             const VerifyOptions& options) {
  if (pinned_spki_der.empty()) {
    return Status::FailedPrecondition("fresh evidence: no pinned server key (connect first)");
  }
  if (nonce.size() < kMinNonceBytes || nonce.size() > kMaxNonceBytes) {
    return Status::InvalidArgument("fresh evidence: nonce must be 16..1024 bytes");
  }
  Appraisal appraisal = AppraiseEvidence(evidence, options, &policy);
  if (!appraisal.evidence) return AppraisalStatus(appraisal).WithContext("fresh evidence");
  if (!SameReportData(appraisal.evidence->report_data, ReportDataForNonce(pinned_spki_der, nonce))) {
    return Status::AttestationFailed(
        "fresh evidence does not bind this nonce and the pinned TLS key "
        "(stale, replayed, or from another server)");
  }
  CITADEL_RETURN_IF_ERROR(AppraisalStatus(appraisal).WithContext("fresh evidence"));
  return std::move(appraisal.evidence).value();
}

}  // namespace citadel
