// The C++ client SDK. Connect() attests the server before any request is
// sent: the TLS handshake verifies the evidence in the server's certificate
// against the policy and pins its key, then fresh evidence over a random
// nonce proves liveness. Every later call travels over the pinned channel.
#ifndef CITADEL_CLIENT_H_
#define CITADEL_CLIENT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "citadel/attest.h"
#include "citadel/engine.h"
#include "citadel/owner_key.h"
#include "citadel/package.h"
#include "citadel/proof.h"
#include "citadel/status.h"
#include "citadel/tensor.h"

namespace citadel {

struct ClientOptions {
  Policy policy;
  std::chrono::seconds timeout{120};
  std::string token;  // bearer token for users/auditors ("" = none)

  // ---- hardware evidence (SGX, TDX, SEV-SNP, NVIDIA); what `citadel verify`
  // takes, used by the same appraisal code (docs/attestation.md) ----
  // Collateral: TCB Info, QE Identity, CRLs, VCEK/VLEK, AMD chains
  // (CollateralBundle::LoadFile / ImportFile). Untrusted; may be null. A
  // server whose evidence needs collateral that is missing is refused
  // before any request, e.g. "snp.vek_missing: no collateral for SEV-SNP".
  // SEV-SNP servers that send their certificate table need none.
  std::shared_ptr<const CollateralBundle> collateral;
  // Trust anchors (PEM/DER). Empty: the built-in vendor roots; non-empty:
  // ONLY these (a private test hierarchy, Intel's synthetic root).
  std::vector<Bytes> trust_anchors;
  // Judge validity windows at this instant instead of the clock (offline
  // replays, tests). Unset: the clock at each verification.
  std::optional<std::chrono::system_clock::time_point> verify_at;
};

struct UploadOptions {
  std::optional<int64_t> version;       // default: the server's next version (unsigned) or required (signed)
  const OwnerKey* owner = nullptr;      // signs the upload statement
  bool allow_downgrade = false;         // owner-signed permission to go back in version
  // Called as bytes go out (sent, total); may be called from the I/O thread.
  std::function<void(size_t, size_t)> progress;
};

struct InferResult {
  TensorList outputs;
  nlohmann::json receipt;  // verified signed statement (see proof.h)
};

struct AuditExport {
  std::vector<nlohmann::json> entries;
  nlohmann::json checkpoint;
  AuditVerification verification;
};

struct ModelInfo {
  std::string name;
  std::string id;        // SHA-256 of the ONNX bytes, hex
  std::string signer;    // owner key id, "" if the server accepts unsigned uploads
  int64_t version = 0;
  size_t size_bytes = 0;
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
};

class Client {
 public:
  virtual ~Client() = default;

  // url: "https://host:port". Fails with AttestationFailed / PolicyRejected
  // (with the reason) if the server cannot prove what it is, Unavailable if
  // it cannot be reached.
  static Result<std::unique_ptr<Client>> Connect(const std::string& url, const ClientOptions& options);

  // What the server proved at connect time.
  virtual const VerifiedEvidence& attestation() const = 0;
  // SPKI (DER) of the pinned TLS key.
  virtual const Bytes& pinned_key() const = 0;

  // Asks for fresh evidence over `nonce` (16..64 bytes) and verifies it.
  virtual Result<VerifiedEvidence> Attest(ByteSpan nonce) = 0;
  // Raw fresh evidence, unverified (for tools and tests).
  virtual Result<Evidence> FetchEvidence(ByteSpan nonce) = 0;

  virtual Result<ModelInfo> UploadModel(const std::string& name, ByteSpan onnx_bytes,
                                        const UploadOptions& options = {}) = 0;
  virtual Result<ModelInfo> GetModel(const std::string& name) = 0;
  virtual Result<std::vector<ModelInfo>> ListModels() = 0;
  // Owner-signed when `owner` is given (required by servers with owners).
  virtual Status DeleteModel(const std::string& name, const OwnerKey* owner = nullptr) = 0;
  virtual Result<TensorList> Infer(const std::string& model, const TensorList& inputs) = 0;
  // Also asks for a receipt, and verifies it before returning: signed by the
  // pinned key, evidence accepted by the policy, digests of these inputs
  // and of the returned outputs.
  virtual Result<InferResult> InferWithReceipt(const std::string& model, const TensorList& inputs) = 0;
  // The audit log with a signed checkpoint, verified (chain + signature).
  virtual Result<AuditExport> GetAudit() = 0;
  // The server's box identity (package key + evidence), verified against the
  // policy; what `citadel package --for-evidence` needs.
  virtual Result<BoxIdentity> GetBoxIdentity() = 0;
  // Installs a box-bound package made by BuildPackage (include/citadel/package.h).
  virtual Result<ModelInfo> InstallPackage(ByteSpan package) = 0;
};

}  // namespace citadel

#endif  // CITADEL_CLIENT_H_
