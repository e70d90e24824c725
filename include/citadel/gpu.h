// NVIDIA GPU evidence for composite attestation (docs/platforms.md).
//
// A confidential VM with an H100 in confidential-computing (CC) mode proves
// two things: the CPU TEE (TDX, SEV-SNP, ...) and the GPU. Citadel attaches
// each GPU's SPDM measurement report to the CPU evidence
// (Evidence::devices), taken over DeviceNonceForReportData(report_data) of
// that CPU evidence, so that one client nonce binds both and neither can be
// replayed alone. The verifier (attest) checks every GPU with that nonce.
//
// The GPU side comes from NVIDIA's driver library (NVML, libnvidia-ml.so.1),
// loaded at run time: nvmlDeviceGetConfComputeGpuAttestationReport (the
// SPDM GET_MEASUREMENTS request and response, signed by the GPU) and
// nvmlDeviceGetConfComputeGpuCertificate (the device certificate chain, PEM,
// leaf first). The library path is configurable so that tests load a fake
// NVML built by the test suite.
#ifndef CITADEL_GPU_H_
#define CITADEL_GPU_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "citadel/evidence.h"
#include "citadel/status.h"
#include "citadel/tee.h"

namespace citadel {

// The GPUs of this machine that can attest.
class GpuAttester {
 public:
  virtual ~GpuAttester() = default;
  // One line for logs and health ("2 NVIDIA GPUs, confidential computing on").
  virtual std::string Describe() const = 0;
  virtual size_t device_count() const = 0;
  // Evidence of GPU `index` (0-based) over `nonce`: kind kNvidiaGpu, bytes =
  // the SPDM request || response, endorsements = the device certificate
  // chain (PEM, leaf first). Thread-safe.
  virtual Result<Evidence> Attest(size_t index, const std::array<uint8_t, 32>& nonce) = 0;
};

struct NvmlOptions {
  // dlopen(3) name or path of NVML.
  std::string library = "libnvidia-ml.so.1";
};

// Loads NVML, initialises it and checks the system's CC state.
//   NotFound:           the library cannot be loaded, or it sees no GPU.
//   FailedPrecondition: GPUs are present but CC is off or in DevTools mode
//                       (then the GPU protects nothing: no evidence is made).
//   Internal:           an NVML call failed (the message names it).
Result<std::unique_ptr<GpuAttester>> OpenNvmlAttester(const NvmlOptions& options);

// Wraps `cpu`: GetEvidence returns the CPU evidence with one report per GPU
// attached (Evidence::devices), each over DeviceNonceForReportData of the
// CPU report_data. A GPU that fails to attest fails the whole evidence
// (never CPU-only evidence from a server that has GPUs). Everything else
// (measurement, sealing keys) is the CPU platform's.
std::unique_ptr<Platform> WithGpuEvidence(std::unique_ptr<Platform> cpu, std::shared_ptr<GpuAttester> gpus);

}  // namespace citadel

#endif  // CITADEL_GPU_H_
