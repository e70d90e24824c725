// VerifyEvidence: dispatch by evidence kind.

#include "citadel/attest.h"
#include "sim_evidence.h"

namespace citadel {

Result<VerifiedEvidence> VerifyEvidence(const Evidence& evidence, const VerifyOptions& options) {
  switch (evidence.kind) {
    case EvidenceKind::kSim:
      return attest_internal::VerifySimEvidence(evidence.bytes, options);
    case EvidenceKind::kSgxDcap:
    case EvidenceKind::kTdx:
    case EvidenceKind::kSevSnp:
    case EvidenceKind::kNvidiaGpu:
      return Status::AttestationFailed(std::string(EvidenceKindName(evidence.kind)) +
                                       " evidence: verification is not yet supported");
  }
  return Status::AttestationFailed("unknown evidence kind " +
                                   std::to_string(static_cast<int>(evidence.kind)));
}

}  // namespace citadel
