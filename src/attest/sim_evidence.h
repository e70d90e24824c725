// Verification of simulation evidence (private to the attest module).
#ifndef CITADEL_SRC_ATTEST_SIM_EVIDENCE_H_
#define CITADEL_SRC_ATTEST_SIM_EVIDENCE_H_

#include "citadel/attest.h"

namespace citadel::attest_internal {

// Parses CTDLSIM1 evidence (evidence.h), checks the signer is a P-384 key and
// the ECDSA-SHA384 signature is valid. AttestationFailed otherwise. Note the
// signer is self-declared: a valid signature only shows the evidence is
// intact, not that any hardware produced it. Pin signers with
// Policy::sim_signer_keys.
Result<VerifiedEvidence> VerifySimEvidence(ByteSpan bytes, const VerifyOptions& options);

}  // namespace citadel::attest_internal

#endif  // CITADEL_SRC_ATTEST_SIM_EVIDENCE_H_
