// OpenPlatform: picks and opens a backend by name, or detects one ("auto").
// "auto" never falls back to the simulation platform silently: without a TEE
// it fails unless allow_simulation_fallback is set.

#include "citadel/tee.h"
#include "tee_internal.h"

namespace citadel {

using tee_internal::JoinRoot;
using tee_internal::PathExists;

Result<std::string> DetectPlatform(const PlatformOptions& options) {
  if (PathExists(JoinRoot(options.root, "/dev/attestation/attestation_type"))) return std::string("sgx");
  if (PathExists(tee_internal::TsmReportDir(options))) {
    auto provider = tee_internal::TsmProvider(options);
    if (!provider.ok()) return provider.status().WithContext("platform detection");
    if (*provider == "tdx_guest") return std::string("tdx");
    if (*provider == "sev_guest") return std::string("snp");
    return Status::Unsupported("platform detection: configfs-tsm provider \"" + *provider +
                               "\" is not supported (expected tdx_guest or sev_guest)");
  }
  if (PathExists(JoinRoot(options.root, "/dev/sev-guest"))) return std::string("snp");
  if (PathExists(JoinRoot(options.root, "/dev/tdx_guest"))) {
    return Status::FailedPrecondition(
        "platform detection: /dev/tdx_guest exists but configfs-tsm does not; Citadel needs a kernel with "
        "CONFIG_TSM_REPORTS and configfs mounted at /sys/kernel/config (mount -t configfs none "
        "/sys/kernel/config)");
  }
  return std::string();
}

Result<std::unique_ptr<Platform>> OpenPlatform(const PlatformOptions& options) {
  std::string name = options.name;
  if (name == "auto") {
    CITADEL_ASSIGN_OR_RETURN(name, DetectPlatform(options));
    if (name.empty()) {
      if (!options.allow_simulation_fallback) {
        return Status::FailedPrecondition(
            "no TEE detected (looked for Gramine's /dev/attestation, configfs-tsm under "
            "/sys/kernel/config/tsm/report and /dev/sev-guest under root '" + options.root +
            "'); refusing to start unprotected. Use --platform sim to run the SIMULATION platform, which "
            "protects nothing");
      }
      name = "sim";
    }
  }
  if (name == "sim") {
    SimPlatformOptions sim;
    sim.state_dir = options.state_dir;
    sim.binary_path = options.binary_path;
    sim.config_bytes = options.config_bytes;
    return OpenSimPlatform(sim);
  }
  if (name == "sgx") return tee_internal::OpenSgxPlatform(options);
  if (name == "tdx") return tee_internal::OpenTdxPlatform(options);
  if (name == "snp") return tee_internal::OpenSnpPlatform(options);
  return Status::InvalidArgument("unknown platform '" + options.name + "' (expected auto, sim, sgx, tdx or snp)");
}

}  // namespace citadel
