// The slice of NVIDIA's NVML C ABI (nvml.h) that GPU attestation uses:
// the confidential-computing structures, whose layout is ABI. Shared by
// src/tee/nvml_gpu.cc and the tests' fake NVML library, so that both name
// the very same types (UBSan's -fsanitize=function checks the type of every
// call through a function pointer).
#ifndef CITADEL_SRC_TEE_NVML_ABI_H_
#define CITADEL_SRC_TEE_NVML_ABI_H_

#include <cstddef>

namespace citadel::nvml_abi {

using Return = int;       // nvmlReturn_t
using Device = void*;     // nvmlDevice_t
inline constexpr Return kSuccess = 0;

inline constexpr size_t kCertChainSize = 0x1000;             // NVML_GPU_CERT_CHAIN_SIZE
inline constexpr size_t kAttestationCertChainSize = 0x1400;  // NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE
inline constexpr size_t kNonceSize = 0x20;                   // NVML_CC_GPU_CEC_NONCE_SIZE
inline constexpr size_t kReportSize = 0x2000;                // NVML_CC_GPU_ATTESTATION_REPORT_SIZE
inline constexpr size_t kCecReportSize = 0x1000;             // NVML_CC_GPU_CEC_ATTESTATION_REPORT_SIZE

// nvmlConfComputeSystemState_t
struct ConfComputeSystemState {
  unsigned int environment;   // 0 unavailable, 1 simulation, 2 production
  unsigned int cc_feature;    // 0 disabled, 1 enabled
  unsigned int dev_tools_mode;
};
// nvmlConfComputeGpuCertificate_t
struct ConfComputeGpuCertificate {
  unsigned int cert_chain_size;
  unsigned int attestation_cert_chain_size;
  unsigned char cert_chain[kCertChainSize];
  unsigned char attestation_cert_chain[kAttestationCertChainSize];
};
// nvmlConfComputeGpuAttestationReport_t
struct ConfComputeGpuAttestationReport {
  unsigned int is_cec_attestation_report_present;
  unsigned int attestation_report_size;
  unsigned int cec_attestation_report_size;
  unsigned char nonce[kNonceSize];
  unsigned char attestation_report[kReportSize];
  unsigned char cec_attestation_report[kCecReportSize];
};

// The entry points, as the loader binds them.
using InitFn = Return();
using ShutdownFn = Return();
using ErrorStringFn = const char*(Return);
using DeviceCountFn = Return(unsigned int*);
using DeviceByIndexFn = Return(unsigned int, Device*);
using CcStateFn = Return(ConfComputeSystemState*);
using GpuCertificateFn = Return(Device, ConfComputeGpuCertificate*);
using AttestationReportFn = Return(Device, ConfComputeGpuAttestationReport*);

}  // namespace citadel::nvml_abi

#endif  // CITADEL_SRC_TEE_NVML_ABI_H_
