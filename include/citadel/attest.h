// Attestation verification (offline) and client policy.
//
// VerifyEvidence checks that evidence is authentic (signatures, chains) and
// extracts its claims; CheckPolicy decides whether those claims are
// acceptable to this client. Clients must call both before trusting a server.
#ifndef CITADEL_ATTEST_H_
#define CITADEL_ATTEST_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
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
  // Attached devices (Evidence::devices), each verified on its own with the
  // nonce DeviceNonceForReportData(report_data) of this evidence.
  std::vector<VerifiedEvidence> devices;
};

// Collateral for hardware evidence (include/citadel/attest/collateral.h).
struct CollateralBundle;

struct VerifyOptions {
  // The instant at which collateral validity is judged.
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();

  // ---- hardware evidence (SGX, TDX, SEV-SNP, NVIDIA); ignored for sim ----
  // Collateral (TCB Info, QE Identity, CRLs, VCEK/VLEK and AMD chains, GPU
  // certificate chains). Not owned; may be null. The bundle is untrusted
  // data: everything in it is checked against the trust anchors below.
  const CollateralBundle* collateral = nullptr;
  // Trust anchors (PEM or DER root certificates). Empty: the built-in vendor
  // roots (Intel SGX Root CA, AMD ARK Milan/Genoa/Turin, NVIDIA Device
  // Identity CA; src/attest/builtin_roots.cc). Non-empty: ONLY these roots
  // are trusted (e.g. a test hierarchy).
  std::vector<Bytes> trust_anchors;
  // NVIDIA GPU evidence: the 32-byte nonce the verifier asked for. Empty:
  // not checked (claim nvidia.nonce_checked = false).
  Bytes expected_nonce;
};

// Parses and verifies evidence of any supported kind, then every attached
// device: a device must be NVIDIA GPU evidence whose report was taken over
// DeviceNonceForReportData(report_data) (checked: options.expected_nonce is
// replaced by it), with its certificate chain from the device's
// endorsements or the collateral. Any device failing fails the whole
// evidence, with the device's check name and "GPU <i>: " before the detail.
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
// Per-platform sections (docs/policy.md). Every list is "any of"; an empty
// list does not constrain. Debug is forbidden unless allow_debug is true.
struct SgxPolicy {
  std::vector<Bytes> mrenclave;        // 32 bytes each
  std::vector<Bytes> mrsigner;         // 32 bytes each
  std::optional<uint16_t> isv_prod_id;
  std::optional<uint16_t> min_isv_svn;
  bool allow_debug = false;
  // (flags & attributes_mask) == (attributes & attributes_mask), same for xfrm.
  uint64_t attributes_mask = 0, attributes = 0;
  uint64_t xfrm_mask = 0, xfrm = 0;
  std::optional<uint32_t> misc_select_mask, misc_select;
};
struct TdxPolicy {
  std::vector<Bytes> mrtd;             // 48 bytes each
  std::vector<Bytes> rtmr[4];
  std::vector<Bytes> mrconfigid;
  std::vector<Bytes> mrowner;
  bool allow_debug = false;
  uint64_t td_attributes_mask = 0, td_attributes = 0;
  uint64_t xfam_mask = 0, xfam = 0;
};
struct SnpTcbMinimum {
  uint8_t boot_loader = 0, tee = 0, snp = 0, microcode = 0, fmc = 0;
};
struct SnpPolicy {
  std::vector<Bytes> measurement;      // 48 bytes each
  std::vector<Bytes> host_data;        // 32 bytes each
  std::vector<Bytes> id_key_digest;    // 48 bytes each
  bool allow_debug = false;
  bool allow_migrate_ma = false;
  bool allow_smt = true;
  std::optional<SnpTcbMinimum> min_tcb;  // against REPORTED_TCB
  std::optional<uint32_t> max_vmpl;      // report VMPL must be <= this
  std::optional<uint32_t> min_guest_svn;
  bool allow_vlek = true;
};
struct NvidiaPolicy {
  // index -> accepted digests (48 bytes); every listed index must match.
  std::map<uint32_t, std::vector<Bytes>> measurements;
  // Signed CoRIM files (driver, VBIOS) with reference measurements
  // (docs/attestation.md "NVIDIA RIMs"): the paths as written in the policy
  // and their contents, read when the policy is loaded (relative paths:
  // against the policy file's folder). AppraiseEvidence verifies them.
  std::vector<std::string> rim_files;
  std::vector<Bytes> rims;
  // RIM signer certificates (PEM/DER, signer first) for RIMs that carry no
  // x5chain (NVIDIA's networking CoRIMs name their signer by URL instead):
  // policy key nvidia.rim_chain, read when the policy is loaded.
  Bytes rim_chain;
  bool require_nonce = true;
  // Every certificate of the device chain (but the root) must be covered by
  // a current, "good" OCSP response in the collateral (claim nvidia.ocsp =
  // "checked"). Off by default: offline boxes may have none; a response that
  // is present is always judged, and "revoked" always fails.
  bool require_ocsp = false;
};

struct Policy {
  bool allow_simulation = false;
  std::vector<Bytes> measurements;
  bool accept_any_measurement = false;
  std::vector<Bytes> sim_signer_keys;

  // ---- hardware evidence (all optional; defaults are the strict ones) ----
  std::optional<SgxPolicy> sgx;
  std::optional<TdxPolicy> tdx;
  std::optional<SnpPolicy> snp;
  std::optional<NvidiaPolicy> nvidia;
  // Intel platform TCB statuses accepted (default: UpToDate only). Status
  // "not_evaluated" (no collateral) is never accepted.
  std::vector<std::string> tcb_statuses = {"UpToDate"};
  // QE TCB statuses accepted (default: UpToDate only).
  std::vector<std::string> qe_tcb_statuses = {"UpToDate"};
  // If set, every advisory ID of the platform's TCB level must be listed.
  std::optional<std::vector<std::string>> allowed_advisory_ids;
  // Collateral (TCB Info issueDate) may be at most this old at `now`.
  std::optional<int64_t> max_collateral_age_seconds;

  static Result<Policy> FromJson(std::string_view json);
  static Result<Policy> LoadFile(const std::string& path);
};

// PolicyRejected with the precise reason, or OK.
Status CheckPolicy(const VerifiedEvidence& evidence, const Policy& policy);
// Same, judging collateral age at `now`.
Status CheckPolicy(const VerifiedEvidence& evidence, const Policy& policy,
                   std::chrono::system_clock::time_point now);

// Every policy check that fails, as "<check>: <detail>" with stable check
// names ("policy.measurement", "policy.sgx.debug", ...). Empty = accepted.
std::vector<std::string> EvaluatePolicy(const VerifiedEvidence& evidence, const Policy& policy,
                                        std::chrono::system_clock::time_point now);

}  // namespace citadel

#endif  // CITADEL_ATTEST_H_
