// The platform the server runs on: it produces evidence over report_data and
// derives sealing keys bound to the TEE identity.
//
// Backends: "sim" (this module, for machines without TEE hardware; it
// protects nothing and says SIMULATION everywhere), and later sgx/tdx/snp.
#ifndef CITADEL_TEE_H_
#define CITADEL_TEE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "citadel/bytes.h"
#include "citadel/crypto.h"
#include "citadel/evidence.h"
#include "citadel/status.h"

namespace citadel {

class Platform {
 public:
  virtual ~Platform() = default;
  virtual std::string_view name() const = 0;  // "sim", "sgx", ...
  virtual bool is_simulation() const = 0;
  // The measurement this platform reports for the running code.
  virtual Bytes measurement() const = 0;
  // One line for logs and health: includes "SIMULATION" for sim.
  virtual std::string Describe() const = 0;
  virtual Result<Evidence> GetEvidence(const ReportData& report_data) = 0;
  // A 32-byte key bound to the platform identity and `purpose`
  // (e.g. "model-store/v1"). Same purpose -> same key across restarts.
  virtual Result<SecretBytes> SealingKey(std::string_view purpose) = 0;
  // Certificates the platform handed out with its most recent evidence, as
  // concatenated PEM (SEV-SNP: the VCEK/VLEK, ASK and ARK from the
  // certificate table of configfs-tsm's auxblob). Untrusted collateral for a
  // verifier, never a trust anchor. Empty when the platform supplies none.
  virtual Bytes Endorsements() const { return {}; }
};

struct SimPlatformOptions {
  std::string state_dir;     // holds sim-hardware key + root secret (0600)
  std::string binary_path;   // "" = /proc/self/exe
  Bytes config_bytes;        // the server configuration, exactly as loaded
};

// Creates the state directory (0700) and, on first start, the simulated
// hardware signing key (P-384) and the sealing root secret (both 0600).
Result<std::unique_ptr<Platform>> OpenSimPlatform(const SimPlatformOptions& options);

// The sim measurement: SHA-384("citadel/sim-measurement/v1" || SHA-384(binary)
// || SHA-384(config_bytes)). `citadel measure` prints it for client policies.
Result<Sha384Digest> ComputeSimMeasurement(const std::string& binary_path, ByteSpan config_bytes);

// ---- Real TEE platforms (docs/platforms.md) --------------------------------
//
//   sgx  Gramine's /dev/attestation files (DCAP quote v3, sealing keys from
//        /dev/attestation/keys/_sgx_mrenclave).
//   tdx  Linux configfs-tsm (/sys/kernel/config/tsm/report), quote v4/v5.
//        TDX has NO hardware sealing key: SealingKey fails with
//        FailedPrecondition; the model key must come from attested key release.
//   snp  configfs-tsm for reports (plus the certificate table in auxblob)
//        when present, else /dev/sev-guest SNP_GET_REPORT; sealing keys from
//        SNP_GET_DERIVED_KEY (VCEK root, bound to MEASUREMENT and policy).
// Every backend takes a root path ("/" in production) so that tests run it
// against a fake tree. Opening a real backend takes one probe attestation to
// learn the measurement and to fail at start, not at the first client.

// The /dev/sev-guest ioctl interface (include/uapi/linux/sev-guest.h), small
// enough to fake in tests.
struct SnpDerivedKeyRequest {
  uint32_t root_key_select = 0;      // 0 = VCEK, 1 = VMRK
  uint64_t guest_field_select = 0;   // bit 0 policy, 1 image ID, 2 family ID,
                                     // 3 measurement, 4 guest SVN, 5 TCB version
  uint32_t vmpl = 0;
  uint32_t guest_svn = 0;
  uint64_t tcb_version = 0;
};
class SevGuestDevice {
 public:
  virtual ~SevGuestDevice() = default;
  // SNP_GET_REPORT: the firmware's raw MSG_REPORT_RSP (status, report_size,
  // reserved, report), as returned in snp_report_resp.
  virtual Result<Bytes> GetReport(const ReportData& user_data, uint32_t vmpl) = 0;
  // SNP_GET_DERIVED_KEY: the raw 64-byte MSG_KEY_RSP (status, reserved, key).
  virtual Result<SecretBytes> GetDerivedKey(const SnpDerivedKeyRequest& request) = 0;
};
// The real device (open(2) + ioctl(2)). NotFound when the node is absent.
Result<std::unique_ptr<SevGuestDevice>> OpenSevGuestDevice(const std::string& path);

struct PlatformOptions {
  std::string name = "auto";  // "auto" | "sim" | "sgx" | "tdx" | "snp"
  std::string root = "/";     // prefix for /dev, /sys (tests: a fake tree)
  // sim only (SimPlatformOptions):
  std::string state_dir;
  std::string binary_path;
  Bytes config_bytes;
  // "auto" finding no TEE fails unless this is set; then it opens "sim"
  // (SIMULATION: protects nothing).
  bool allow_simulation_fallback = false;
  // SEV-SNP: VMPL requested for reports and derived keys (privlevel in
  // configfs-tsm). 0 unless the guest runs under an SVSM.
  uint32_t snp_vmpl = 0;
  // SEV-SNP: the /dev/sev-guest device to use; null = open
  // <root>/dev/sev-guest when it exists. Tests pass a fake.
  std::shared_ptr<SevGuestDevice> sev_guest;
  // configfs-tsm retries when `generation` shows a concurrent writer.
  int tsm_max_attempts = 3;
  // Tests only: called at each configfs-tsm step ("created", "written",
  // "read", "removing") with the entry directory, so that a test can play
  // the kernel's part in a fake tree. Never set in production.
  std::function<void(std::string_view step, const std::string& entry_dir)> tsm_test_hook;
};

// Opens the named platform. "auto" detects, in order: Gramine
// (<root>/dev/attestation/attestation_type), configfs-tsm with provider
// tdx_guest or sev_guest, /dev/sev-guest; with none found it fails with
// FailedPrecondition (or opens sim when allow_simulation_fallback is set).
Result<std::unique_ptr<Platform>> OpenPlatform(const PlatformOptions& options);

// The SGX enclave identity a client policy pins, read from the SIGSTRUCT
// that `gramine-sgx-sign` writes next to the signed manifest (<app>.sig,
// 1808 bytes, Intel SDM "SIGSTRUCT"): MRENCLAVE is its ENCLAVEHASH, MRSIGNER
// the SHA-256 of the signer's RSA modulus. `citadel measure --platform
// gramine` prints these.
struct SgxSigstructInfo {
  std::array<uint8_t, 32> mrenclave{};
  std::array<uint8_t, 32> mrsigner{};
  uint16_t isv_prod_id = 0;
  uint16_t isv_svn = 0;
  uint64_t attributes_flags = 0;
  bool debug() const { return (attributes_flags & 0x2) != 0; }
};
Result<SgxSigstructInfo> ParseSgxSigstruct(ByteSpan sigstruct);

// What "auto" would pick under `root`: "sgx", "tdx", "snp", or "" for none.
// Never falls back to simulation.
Result<std::string> DetectPlatform(const PlatformOptions& options);

}  // namespace citadel

#endif  // CITADEL_TEE_H_
