// Attestation verification (offline) and client policy.
//
// VerifyEvidence checks that evidence is authentic (signatures, chains) and
// extracts its claims; CheckPolicy decides whether those claims are
// acceptable to this client. Clients must call both before trusting a server.
#ifndef CITADEL_ATTEST_H_
#define CITADEL_ATTEST_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "citadel/bytes.h"
#include "citadel/evidence.h"
#include "citadel/status.h"

namespace citadel {

struct VerifiedEvidence {
  EvidenceKind kind = EvidenceKind::kSim;
  bool simulation = false;
  Bytes measurement;        // MRENCLAVE / MRTD / SNP MEASUREMENT / sim SHA-384
  ReportData report_data{};
  // Named claims for display and policy ("measurement", "platform", ...).
  std::map<std::string, std::string> claims;
};

struct VerifyOptions {
  // The instant at which collateral validity is judged.
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

// Parses and verifies evidence of any supported kind.
//   AttestationFailed: malformed, bad signature, unknown version.
Result<VerifiedEvidence> VerifyEvidence(const Evidence& evidence, const VerifyOptions& options = {});

// Client policy (docs/policy.md). JSON:
// {
//   "version": 1,
//   "allow_simulation": false,
//   "measurements": ["<hex>", ...],      // accepted measurements (any kind)
//   "accept_any_measurement": false,     // explicit opt-out, for development
//   "sim_signer_keys": ["<hex sha256 of SPKI>", ...]   // optional pinning
// }
// Unknown keys are rejected (a typo must not silently weaken a policy).
struct Policy {
  bool allow_simulation = false;
  std::vector<Bytes> measurements;
  bool accept_any_measurement = false;
  std::vector<Bytes> sim_signer_keys;

  static Result<Policy> FromJson(std::string_view json);
  static Result<Policy> LoadFile(const std::string& path);
};

// PolicyRejected with the precise reason, or OK.
Status CheckPolicy(const VerifiedEvidence& evidence, const Policy& policy);

}  // namespace citadel

#endif  // CITADEL_ATTEST_H_
