// Appraisal: verification + policy, summarised as one result with named
// claims (an EAR-like JSON object, docs/attestation.md "Attestation result").
// This is what `citadel verify` prints.
#ifndef CITADEL_ATTEST_APPRAISAL_H_
#define CITADEL_ATTEST_APPRAISAL_H_

#include <optional>
#include <string>
#include <vector>

#include "citadel/attest.h"
#include "citadel/evidence.h"

namespace citadel {

enum class Verdict {
  kAccepted,  // authentic, collateral current, and the policy accepts it
  kRejected,  // authentic, but the policy refuses it (TCB status, debug, measurement...)
  kExpired,   // a certificate, CRL or collateral item is outside its validity window at `now`
  kInvalid,   // malformed, bad signature, broken chain, revoked, no matching TCB level...
};
std::string_view VerdictName(Verdict v);  // "accepted", "rejected", "expired", "invalid"

// Recognises the evidence kind of binary, hex-text or base64-text input:
// CTDLSIM1 sim evidence, Intel quote v3 (SGX) / v4-v5 (TDX by tee_type), a
// 1184-byte SEV-SNP report, an SPDM 1.1 GET_MEASUREMENTS transcript or
// nvtrust JSON. The returned Evidence holds binary and hex input as given
// (the verifiers decode hex themselves) and base64 input decoded.
// InvalidArgument when nothing matches.
Result<Evidence> DetectEvidence(ByteSpan input);

struct Appraisal {
  Verdict verdict = Verdict::kInvalid;
  EvidenceKind kind = EvidenceKind::kSim;
  std::chrono::system_clock::time_point verified_at{};
  bool policy_applied = false;
  // Present once the evidence verified (also when the policy rejects it).
  std::optional<VerifiedEvidence> evidence;
  // Every failed check, "<check>: <detail>" (verification: the first
  // failure; policy: all of them).
  std::vector<std::string> failed_checks;

  bool accepted() const { return verdict == Verdict::kAccepted; }
  // The attestation result as JSON (stable keys, see docs/attestation.md).
  std::string ToJson() const;
  // Human-readable multi-line summary.
  std::string ToText() const;
};

// VerifyEvidence, then (when `policy` is not null) EvaluatePolicy at
// options.now. Without a policy only authenticity and the platform defaults
// of an empty policy are judged: accept_any_measurement, TCB UpToDate, debug
// off (Policy defaults), simulation refused.
Appraisal AppraiseEvidence(const Evidence& evidence, const VerifyOptions& options, const Policy* policy);

// The policy step of AppraiseEvidence for evidence that VerifyEvidence has
// already accepted: the policy's RIM files (verified at options.now with
// options' trust anchors, applied to the GPU evidence or to each attached
// GPU), then CheckPolicy at options.now. For callers that must check a
// binding between verification and policy (key release, box identities,
// receipts). AttestationFailed for a RIM that does not verify,
// PolicyRejected otherwise, OK when accepted.
Status ApplyPolicy(VerifiedEvidence* evidence, const Policy& policy, const VerifyOptions& options);

}  // namespace citadel

#endif  // CITADEL_ATTEST_APPRAISAL_H_
