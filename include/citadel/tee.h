// The platform the server runs on: it produces evidence over report_data and
// derives sealing keys bound to the TEE identity.
//
// Backends: "sim" (this module, for machines without TEE hardware; it
// protects nothing and says SIMULATION everywhere), and later sgx/tdx/snp.
#ifndef CITADEL_TEE_H_
#define CITADEL_TEE_H_

#include <memory>
#include <string>

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

}  // namespace citadel

#endif  // CITADEL_TEE_H_
