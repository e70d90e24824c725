// Proofs a TEE hands out that anyone can check offline, later: inference
// receipts and audit-log checkpoints.
//
// Both are *signed statements*: a JSON payload signed inside the TEE by the
// server's TLS key, shipped with the evidence that binds that key
// (report_data = ReportDataForCertificate(key)). Wire form (docs/proofs.md):
//   {"version": 1, "kind": "receipt" | "audit-checkpoint",
//    "payload": b64(JSON), "signature": b64(ECDSA-SHA256 over
//    "citadel/<kind>/v1" || 0x00 || payload), "public_key": b64(SPKI DER),
//    "evidence": b64(evidence envelope)}
#ifndef CITADEL_PROOF_H_
#define CITADEL_PROOF_H_

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <string>
#include <vector>

#include "citadel/attest.h"
#include "citadel/bytes.h"
#include "citadel/status.h"
#include "citadel/tensor.h"

namespace citadel {

// The key and evidence a server signs statements with.
struct StatementSigner {
  EVP_PKEY* key = nullptr;  // not owned
  Bytes spki_der;
  Bytes evidence_envelope;  // EncodeEvidenceEnvelope(evidence over the key)
};

Result<nlohmann::json> SignStatement(const StatementSigner& signer, std::string_view kind,
                                     const nlohmann::json& payload);

struct VerifiedStatement {
  nlohmann::json payload;
  VerifiedEvidence evidence;
  Bytes spki_der;
};

// Verifies signature, evidence and the evidence's binding of the key. When
// `policy` is given it must also accept the evidence. Fails with
// AttestationFailed / PolicyRejected / InvalidArgument naming the problem.
Result<VerifiedStatement> VerifyStatement(const nlohmann::json& statement, std::string_view kind,
                                          const Policy* policy, const VerifyOptions& options = {});

// SHA-256 over "citadel/tensor/v1" 0x00 name 0x00 dtype 0x00 u32 rank,
// i64 dims (LE), then the data bytes (strings: u32 length + bytes each).
std::string TensorDigestHex(const NamedTensor& t);

// ---- Receipts ----
struct ReceiptCheck {
  const Policy* policy = nullptr;  // nullptr: evidence verified, policy not applied
  TensorList inputs;               // when given, each must match its digest
  TensorList outputs;
};
Result<VerifiedStatement> VerifyReceipt(const nlohmann::json& receipt, const ReceiptCheck& check,
                                        const VerifyOptions& options = {});

// ---- Audit log ----
// One entry per line (JSON): {"seq", "time", "event", "data", "prev", "hash"},
// hash = SHA-256 hex of the entry's JSON without "hash" (sorted keys),
// prev = previous entry's hash (64 zeros for the first).
std::string AuditEntryHash(const nlohmann::json& entry_without_hash);
struct AuditVerification {
  size_t entries = 0;
  std::string head_hash;
  bool checkpoint_verified = false;
};
// Checks the chain; if `checkpoint` is non-null, also that it is a valid
// signed statement covering exactly the last entry.
Result<AuditVerification> VerifyAuditLog(const std::vector<nlohmann::json>& entries,
                                         const nlohmann::json* checkpoint, const Policy* policy,
                                         const VerifyOptions& options = {});

}  // namespace citadel

#endif  // CITADEL_PROOF_H_
