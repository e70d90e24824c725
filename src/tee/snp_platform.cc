// AMD SEV-SNP guest platform.
//
// Evidence: the 1184-byte attestation report (EvidenceKind::kSevSnp), from
// configfs-tsm (provider "sev_guest") when the kernel offers it, which also
// returns the host-supplied certificate table (VCEK/VLEK, ASK, ARK) in
// auxblob; otherwise from /dev/sev-guest SNP_GET_REPORT. The certificates
// are exposed through Endorsements() as PEM for verifiers (they are untrusted
// collateral: the verifier chains them to a configured AMD ARK).
//
// Sealing: SNP_GET_DERIVED_KEY with the VCEK as root key and
// GUEST_FIELD_SELECT = guest policy | measurement: the firmware mixes the
// launch MEASUREMENT and guest policy into a chip-unique key, so another
// image, another policy or another machine gets a different key. That key
// is the sealing root: SealingKey(purpose) = HKDF-SHA256(ikm = derived key,
// salt = MEASUREMENT, info = "citadel/seal/v1/" || purpose). Consequences
// (docs/platforms.md): a sealed model store does not move to another host,
// and a new image needs the models uploaded again.
// Without /dev/sev-guest (configfs-tsm only) there is no derived key and
// SealingKey fails with FailedPrecondition.

#include <mutex>

#include "citadel/byte_reader.h"
#include "citadel/tee.h"
#include "tee_internal.h"

namespace citadel {
namespace tee_internal {
namespace {

constexpr uint64_t kFieldPolicy = uint64_t{1} << 0;
constexpr uint64_t kFieldMeasurement = uint64_t{1} << 3;
constexpr size_t kSnpReportSize = 1184;

std::string StatusHex(uint32_t v) {
  static const char* kHex = "0123456789abcdef";
  std::string s = "0x";
  bool started = false;
  for (int shift = 28; shift >= 0; shift -= 4) {
    unsigned d = (v >> shift) & 0xF;
    if (d || started || shift == 0) {
      s.push_back(kHex[d]);
      started = true;
    }
  }
  return s;
}

// MSG_REPORT_RSP: u32 status, u32 report_size, 24 reserved, report.
Result<Bytes> ParseReportResponse(ByteSpan resp) {
  ByteReader r(resp);
  uint32_t status = 0, size = 0;
  ByteSpan report;
  if (!r.ReadU32Le(&status) || !r.ReadU32Le(&size) || !r.Skip(24)) {
    return Status::Unavailable("sev-guest: SNP_GET_REPORT response is truncated (" + std::to_string(resp.size()) +
                               " bytes)");
  }
  if (status != 0) return Status::Unavailable("sev-guest: SNP_GET_REPORT firmware status " + StatusHex(status));
  if (size != kSnpReportSize) {
    return Status::Unavailable("sev-guest: SNP_GET_REPORT returned a " + std::to_string(size) +
                               "-byte report, expected " + std::to_string(kSnpReportSize));
  }
  if (!r.ReadBytes(size, &report)) return Status::Unavailable("sev-guest: SNP_GET_REPORT response is truncated");
  return Bytes(report.begin(), report.end());
}

// MSG_KEY_RSP: u32 status, 28 reserved, 32-byte key.
Result<SecretBytes> ParseKeyResponse(const SecretBytes& resp) {
  ByteReader r(resp.span());
  uint32_t status = 0;
  SecretBytes key(32);
  if (!r.ReadU32Le(&status) || !r.Skip(28) || !r.CopyBytes(std::span<uint8_t>(key.data(), key.size()))) {
    return Status::Unavailable("sev-guest: SNP_GET_DERIVED_KEY response is truncated (" +
                               std::to_string(resp.size()) + " bytes)");
  }
  if (status != 0) return Status::Unavailable("sev-guest: SNP_GET_DERIVED_KEY firmware status " + StatusHex(status));
  bool all_zero = true;
  for (size_t i = 0; i < key.size(); ++i) all_zero = all_zero && key.data()[i] == 0;
  if (all_zero) return Status::Unavailable("sev-guest: SNP_GET_DERIVED_KEY returned an all-zero key");
  return key;
}

struct SnpSource {
  PlatformOptions options;
  bool use_tsm = false;
  std::shared_ptr<SevGuestDevice> device;  // may be null when use_tsm

  // The report and, over configfs-tsm, the certificate table.
  Result<std::pair<Bytes, Bytes>> Report(const ReportData& report_data) const {
    Bytes report, aux;
    if (use_tsm) {
      CITADEL_ASSIGN_OR_RETURN(TsmReport r, TsmGetReport(options, "sev_guest", report_data, true));
      report = std::move(r.outblob);
      aux = std::move(r.auxblob);
    } else {
      CITADEL_ASSIGN_OR_RETURN(Bytes resp, device->GetReport(report_data, options.snp_vmpl));
      CITADEL_ASSIGN_OR_RETURN(report, ParseReportResponse(resp));
    }
    auto fields = ParseSnpReportFields(report);
    if (!fields.ok()) return fields.status().WithContext("snp");
    if (fields->report_data != report_data) {
      return Status::Unavailable("snp: the report does not carry the report_data that was requested");
    }
    if (fields->snp_vmpl != options.snp_vmpl) {
      return Status::Unavailable("snp: the report is for VMPL " + std::to_string(fields->snp_vmpl) +
                                 ", requested " + std::to_string(options.snp_vmpl));
    }
    return std::make_pair(std::move(report), std::move(aux));
  }
};

class SnpPlatform final : public Platform {
 public:
  SnpPlatform(SnpSource source, Bytes measurement, bool debug, SecretBytes seal_root, Bytes endorsements)
      : source_(std::move(source)),
        measurement_(std::move(measurement)),
        debug_(debug),
        seal_root_(std::move(seal_root)),
        endorsements_(std::move(endorsements)) {}

  std::string_view name() const override { return "snp"; }
  bool is_simulation() const override { return false; }
  Bytes measurement() const override { return measurement_; }
  std::string Describe() const override {
    return std::string("AMD SEV-SNP guest (") + (source_.use_tsm ? "configfs-tsm" : "/dev/sev-guest") + ")" +
           (debug_ ? " DEBUG POLICY: memory is readable by the host, NOT confidential" : "") +
           " measurement=" + HexEncode(measurement_) +
           (seal_root_.empty() ? " (no /dev/sev-guest: no sealing key)" : "");
  }

  Result<Evidence> GetEvidence(const ReportData& report_data) override {
    std::lock_guard<std::mutex> lock(mu_);
    CITADEL_ASSIGN_OR_RETURN(auto r, source_.Report(report_data));
    if (!r.second.empty()) {
      auto pem = SnpCertTableToPem(r.second);
      if (!pem.ok()) return pem.status().WithContext("snp: configfs-tsm auxblob");
      endorsements_ = std::move(pem).value();
    }
    // The raw certificate table travels with the report (an extended
    // report), so that verifiers need no VCEK of their own.
    return Evidence{EvidenceKind::kSevSnp, std::move(r.first), std::move(r.second)};
  }

  Result<SecretBytes> SealingKey(std::string_view purpose) override {
    if (seal_root_.empty()) {
      return Status::FailedPrecondition(
          "snp: no sealing key: /dev/sev-guest is not available (load the sev-guest driver, or give the "
          "service access to the device), so SNP_GET_DERIVED_KEY cannot be called");
    }
    return DeriveSealingKey(seal_root_.span(), measurement_, purpose);
  }

  Bytes Endorsements() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return endorsements_;
  }

 private:
  SnpSource source_;
  Bytes measurement_;
  bool debug_;
  SecretBytes seal_root_;
  mutable std::mutex mu_;
  Bytes endorsements_;
};

}  // namespace

Result<std::unique_ptr<Platform>> OpenSnpPlatform(const PlatformOptions& options) {
  SnpSource source;
  source.options = options;
  source.device = options.sev_guest;
  if (!source.device) {
    auto dev = OpenSevGuestDevice(JoinRoot(options.root, "/dev/sev-guest"));
    if (dev.ok()) {
      source.device = std::move(dev).value();
    } else if (dev.status().code() != Code::kNotFound) {
      return dev.status();
    }
  }
  source.use_tsm = PathExists(TsmReportDir(options));
  if (!source.use_tsm && !source.device) {
    return Status::FailedPrecondition("snp: neither configfs-tsm (" + TsmReportDir(options) + ") nor " +
                                      JoinRoot(options.root, "/dev/sev-guest") +
                                      " exists (not an SEV-SNP guest, or the sev-guest driver is not loaded)");
  }
  CITADEL_ASSIGN_OR_RETURN(auto probe, source.Report(ProbeReportData()));
  CITADEL_ASSIGN_OR_RETURN(QuoteFields fields, ParseSnpReportFields(probe.first));
  Bytes endorsements;
  if (!probe.second.empty()) {
    auto pem = SnpCertTableToPem(probe.second);
    if (!pem.ok()) return pem.status().WithContext("snp: configfs-tsm auxblob");
    endorsements = std::move(pem).value();
  }
  SecretBytes seal_root;
  if (source.device) {
    SnpDerivedKeyRequest req;
    req.root_key_select = 0;  // VCEK: chip-unique
    req.guest_field_select = kFieldPolicy | kFieldMeasurement;
    req.vmpl = options.snp_vmpl;
    CITADEL_ASSIGN_OR_RETURN(SecretBytes resp, source.device->GetDerivedKey(req));
    CITADEL_ASSIGN_OR_RETURN(seal_root, ParseKeyResponse(resp));
  }
  return std::unique_ptr<Platform>(new SnpPlatform(std::move(source), std::move(fields.measurement), fields.debug,
                                                   std::move(seal_root), std::move(endorsements)));
}

}  // namespace tee_internal
}  // namespace citadel
