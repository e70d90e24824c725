// Intel SGX under Gramine: evidence and sealing through Gramine's
// /dev/attestation pseudo-filesystem (LibOS attestation interface).
//
//   /dev/attestation/attestation_type   "none" | "epid" | "dcap" (read)
//   /dev/attestation/user_report_data   64 bytes (write): REPORTDATA of the
//                                       next quote
//   /dev/attestation/quote              the quote over the last
//                                       user_report_data (read)
//   /dev/attestation/keys/_sgx_mrenclave  16-byte SGX sealing key bound to
//                                       MRENCLAVE (read)
//
// Only DCAP is accepted: EPID quotes (v2) are not verifiable by Citadel's
// attest module and Intel has retired the EPID attestation service; "none"
// means the manifest did not enable remote attestation.
//
// The write-then-read pair is not atomic across threads of this process, so
// GetEvidence holds a mutex; every quote's REPORTDATA is compared with what
// was written, which catches a concurrent writer elsewhere in the enclave.
//
// Sealing keys: HKDF-SHA256(ikm = _sgx_mrenclave key, salt = MRENCLAVE,
// info = "citadel/seal/v1/" || purpose). A new enclave build (new MRENCLAVE)
// gets different keys, exactly like the sim platform; data sealed by one
// build is unreadable by the next (re-upload or a migration path is needed).

#include <mutex>

#include "citadel/tee.h"
#include "tee_internal.h"

namespace citadel {
namespace {

using namespace tee_internal;

constexpr size_t kMaxQuote = 64 * 1024;
constexpr size_t kSgxKeyLen = 16;

class SgxPlatform final : public Platform {
 public:
  SgxPlatform(std::string dir, Bytes measurement, bool debug, SecretBytes seal_root)
      : dir_(std::move(dir)), measurement_(std::move(measurement)), debug_(debug), seal_root_(std::move(seal_root)) {}

  std::string_view name() const override { return "sgx"; }
  bool is_simulation() const override { return false; }
  Bytes measurement() const override { return measurement_; }
  std::string Describe() const override {
    return std::string("Intel SGX enclave (Gramine, DCAP)") +
           (debug_ ? " DEBUG ENCLAVE: memory is readable by the host, NOT confidential" : "") +
           " mrenclave=" + HexEncode(measurement_);
  }

  Result<Evidence> GetEvidence(const ReportData& report_data) override {
    std::lock_guard<std::mutex> lock(mu_);
    CITADEL_ASSIGN_OR_RETURN(Bytes quote, Quote(dir_, report_data));
    return Evidence{EvidenceKind::kSgxDcap, std::move(quote)};
  }

  Result<SecretBytes> SealingKey(std::string_view purpose) override {
    return DeriveSealingKey(seal_root_.span(), measurement_, purpose);
  }

  // Writes report_data, reads the quote, checks it carries that report_data.
  static Result<Bytes> Quote(const std::string& dir, const ReportData& report_data) {
    CITADEL_RETURN_IF_ERROR(WritePseudoFile(dir + "/user_report_data", report_data));
    CITADEL_ASSIGN_OR_RETURN(Bytes quote, ReadPseudoFile(dir + "/quote", kMaxQuote));
    auto fields = ParseIntelQuoteFields(quote, /*want_tdx=*/false);
    if (!fields.ok()) return fields.status().WithContext("sgx: " + dir + "/quote");
    if (fields->report_data != report_data) {
      return Status::Unavailable("sgx: the quote does not carry the report_data just written (a concurrent "
                                 "writer to " + dir + "/user_report_data?)");
    }
    return quote;
  }

 private:
  std::string dir_;
  Bytes measurement_;
  bool debug_;
  SecretBytes seal_root_;
  std::mutex mu_;
};

}  // namespace

namespace tee_internal {

Result<std::unique_ptr<Platform>> OpenSgxPlatform(const PlatformOptions& options) {
  const std::string dir = JoinRoot(options.root, "/dev/attestation");
  auto type = ReadPseudoText(dir + "/attestation_type");
  if (!type.ok()) {
    return Status::FailedPrecondition("sgx: " + type.status().message() +
                                      " (not running inside a Gramine SGX enclave?)");
  }
  if (*type == "none") {
    return Status::FailedPrecondition(
        "sgx: Gramine remote attestation is disabled (attestation_type is \"none\"); set "
        "sgx.remote_attestation = \"dcap\" in the manifest (deploy/sgx-gramine)");
  }
  if (*type != "dcap") {
    return Status::Unsupported("sgx: attestation type \"" + *type + "\" is not supported; only DCAP quotes are");
  }
  CITADEL_ASSIGN_OR_RETURN(Bytes probe, SgxPlatform::Quote(dir, ProbeReportData()));
  CITADEL_ASSIGN_OR_RETURN(QuoteFields fields, ParseIntelQuoteFields(probe, false));
  const std::string key_path = dir + "/keys/_sgx_mrenclave";
  auto key = ReadSecretPseudoFile(key_path, 64);
  if (!key.ok()) return key.status().WithContext("sgx: sealing key");
  if (key->size() != kSgxKeyLen) {
    return Status::DataLoss("sgx: " + key_path + " holds " + std::to_string(key->size()) +
                            " bytes, expected a 16-byte key");
  }
  return std::unique_ptr<Platform>(
      new SgxPlatform(dir, std::move(fields.measurement), fields.debug, std::move(key).value()));
}

}  // namespace tee_internal
}  // namespace citadel
