// NVIDIA GPU evidence through NVML (include/citadel/gpu.h).
//
// NVML is loaded with dlopen rather than linked: the driver library exists
// only on machines with an NVIDIA driver, and Citadel must start on every
// other machine. Only the handful of entry points below are used; their C
// declarations follow NVIDIA's nvml.h (the structures' layout is ABI).

#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string_view>
#include <vector>

#include "citadel/gpu.h"
#include "citadel/log.h"
#include "nvml_abi.h"

namespace citadel {
namespace {

using nvml_abi::kSuccess;
using nvml_abi::Return;
using NvmlConfComputeSystemState = nvml_abi::ConfComputeSystemState;
using NvmlConfComputeGpuCertificate = nvml_abi::ConfComputeGpuCertificate;
using NvmlConfComputeGpuAttestationReport = nvml_abi::ConfComputeGpuAttestationReport;
using nvml_abi::kAttestationCertChainSize;
using nvml_abi::kReportSize;
using nvmlReturn_t = nvml_abi::Return;
using nvmlDevice_t = nvml_abi::Device;
constexpr nvmlReturn_t kNvmlSuccess = kSuccess;

struct NvmlApi {
  nvml_abi::InitFn* init;
  nvml_abi::ShutdownFn* shutdown;
  nvml_abi::ErrorStringFn* error_string;
  nvml_abi::DeviceCountFn* device_count;
  nvml_abi::DeviceByIndexFn* device_by_index;
  nvml_abi::CcStateFn* cc_state;
  nvml_abi::GpuCertificateFn* gpu_certificate;
  nvml_abi::AttestationReportFn* attestation_report;
};

template <typename F>
bool Bind(void* lib, const char* name, F* out) {
  void* sym = ::dlsym(lib, name);
  if (sym == nullptr) return false;
  *out = reinterpret_cast<F>(sym);
  return true;
}

class NvmlAttester : public GpuAttester {
 public:
  NvmlAttester(void* lib, NvmlApi api, std::vector<nvmlDevice_t> devices, std::string library)
      : lib_(lib), api_(api), devices_(std::move(devices)), library_(std::move(library)) {}
  ~NvmlAttester() override {
    api_.shutdown();
    ::dlclose(lib_);
  }

  std::string Describe() const override {
    return std::to_string(devices_.size()) + " NVIDIA GPU" + (devices_.size() == 1 ? "" : "s") +
           " in confidential-computing mode (NVML " + library_ + ")";
  }
  size_t device_count() const override { return devices_.size(); }

  Result<Evidence> Attest(size_t index, const std::array<uint8_t, 32>& nonce) override {
    if (index >= devices_.size()) return Status::InvalidArgument("no GPU " + std::to_string(index));
    const std::string which = "GPU " + std::to_string(index);
    std::lock_guard<std::mutex> lock(mu_);
    // The structures are large (13 KiB, 9 KiB): heap, not stack.
    auto report = std::make_unique<NvmlConfComputeGpuAttestationReport>();
    std::memset(report.get(), 0, sizeof(*report));
    std::copy(nonce.begin(), nonce.end(), report->nonce);
    if (nvmlReturn_t rc = api_.attestation_report(devices_[index], report.get()); rc != kNvmlSuccess) {
      return Failed(which + ": nvmlDeviceGetConfComputeGpuAttestationReport", rc);
    }
    if (report->attestation_report_size == 0 || report->attestation_report_size > kReportSize) {
      return Status::Internal(which + ": NVML returned an attestation report of " +
                              std::to_string(report->attestation_report_size) + " bytes (expected 1.." +
                              std::to_string(kReportSize) + ")");
    }
    auto cert = std::make_unique<NvmlConfComputeGpuCertificate>();
    std::memset(cert.get(), 0, sizeof(*cert));
    if (nvmlReturn_t rc = api_.gpu_certificate(devices_[index], cert.get()); rc != kNvmlSuccess) {
      return Failed(which + ": nvmlDeviceGetConfComputeGpuCertificate", rc);
    }
    if (cert->attestation_cert_chain_size == 0 || cert->attestation_cert_chain_size > kAttestationCertChainSize) {
      return Status::Internal(which + ": NVML returned an attestation certificate chain of " +
                              std::to_string(cert->attestation_cert_chain_size) + " bytes");
    }
    Bytes bytes(report->attestation_report, report->attestation_report + report->attestation_report_size);
    Bytes chain(cert->attestation_cert_chain, cert->attestation_cert_chain + cert->attestation_cert_chain_size);
    return Evidence(EvidenceKind::kNvidiaGpu, std::move(bytes), std::move(chain));
  }

 private:
  Status Failed(const std::string& call, nvmlReturn_t rc) const {
    const char* text = api_.error_string != nullptr ? api_.error_string(rc) : nullptr;
    return Status::Internal(call + " failed: " + (text != nullptr ? text : "error") + " (" + std::to_string(rc) + ")");
  }

  void* lib_;
  NvmlApi api_;
  std::vector<nvmlDevice_t> devices_;
  std::string library_;
  std::mutex mu_;
};

class GpuEvidencePlatform : public Platform {
 public:
  GpuEvidencePlatform(std::unique_ptr<Platform> cpu, std::shared_ptr<GpuAttester> gpus)
      : cpu_(std::move(cpu)), gpus_(std::move(gpus)) {}
  std::string_view name() const override { return cpu_->name(); }
  bool is_simulation() const override { return cpu_->is_simulation(); }
  Bytes measurement() const override { return cpu_->measurement(); }
  std::string Describe() const override { return cpu_->Describe() + "; attached: " + gpus_->Describe(); }
  Result<Evidence> GetEvidence(const ReportData& report_data) override {
    CITADEL_ASSIGN_OR_RETURN(Evidence evidence, cpu_->GetEvidence(report_data));
    const auto nonce = DeviceNonceForReportData(report_data);
    for (size_t i = 0; i < gpus_->device_count(); ++i) {
      auto gpu = gpus_->Attest(i, nonce);
      if (!gpu.ok()) return gpu.status().WithContext("GPU evidence");
      evidence.devices.push_back(std::move(gpu).value());
    }
    return evidence;
  }
  Result<SecretBytes> SealingKey(std::string_view purpose) override { return cpu_->SealingKey(purpose); }
  Bytes Endorsements() const override { return cpu_->Endorsements(); }

 private:
  std::unique_ptr<Platform> cpu_;
  std::shared_ptr<GpuAttester> gpus_;
};

}  // namespace

Result<std::unique_ptr<GpuAttester>> OpenNvmlAttester(const NvmlOptions& options) {
  void* lib = ::dlopen(options.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = ::dlerror();
    return Status::NotFound("cannot load NVML (" + options.library + "): " + (why != nullptr ? why : "unknown error") +
                            "; no NVIDIA driver on this machine");
  }
  NvmlApi api{};
  struct Entry {
    const char* name;
    bool ok;
  };
  const Entry entries[] = {
      {"nvmlInit_v2", Bind(lib, "nvmlInit_v2", &api.init)},
      {"nvmlShutdown", Bind(lib, "nvmlShutdown", &api.shutdown)},
      {"nvmlErrorString", Bind(lib, "nvmlErrorString", &api.error_string)},
      {"nvmlDeviceGetCount_v2", Bind(lib, "nvmlDeviceGetCount_v2", &api.device_count)},
      {"nvmlDeviceGetHandleByIndex_v2", Bind(lib, "nvmlDeviceGetHandleByIndex_v2", &api.device_by_index)},
      {"nvmlSystemGetConfComputeState", Bind(lib, "nvmlSystemGetConfComputeState", &api.cc_state)},
      {"nvmlDeviceGetConfComputeGpuCertificate",
       Bind(lib, "nvmlDeviceGetConfComputeGpuCertificate", &api.gpu_certificate)},
      {"nvmlDeviceGetConfComputeGpuAttestationReport",
       Bind(lib, "nvmlDeviceGetConfComputeGpuAttestationReport", &api.attestation_report)},
  };
  for (const Entry& e : entries) {
    if (!e.ok) {
      ::dlclose(lib);
      return Status::FailedPrecondition(options.library + " has no " + e.name +
                                        " (an NVIDIA driver without confidential-computing support; R535 or later "
                                        "is needed)");
    }
  }
  auto fail = [&](Status st) {
    ::dlclose(lib);
    return st;
  };
  auto text = [&](nvmlReturn_t rc) {
    const char* t = api.error_string(rc);
    return std::string(t != nullptr ? t : "error") + " (" + std::to_string(rc) + ")";
  };
  if (nvmlReturn_t rc = api.init(); rc != kNvmlSuccess) return fail(Status::NotFound("nvmlInit_v2 failed: " + text(rc)));
  auto fail_shutdown = [&](Status st) {
    api.shutdown();
    return fail(std::move(st));
  };
  unsigned int count = 0;
  if (nvmlReturn_t rc = api.device_count(&count); rc != kNvmlSuccess) {
    return fail_shutdown(Status::Internal("nvmlDeviceGetCount_v2 failed: " + text(rc)));
  }
  if (count == 0) return fail_shutdown(Status::NotFound("NVML sees no GPU"));
  NvmlConfComputeSystemState state{};
  if (nvmlReturn_t rc = api.cc_state(&state); rc != kNvmlSuccess) {
    return fail_shutdown(Status::Internal("nvmlSystemGetConfComputeState failed: " + text(rc)));
  }
  if (state.cc_feature != 1) {
    return fail_shutdown(Status::FailedPrecondition(
        std::to_string(count) + " GPU(s) present but confidential computing is off: a GPU outside CC mode "
                                "protects nothing and cannot attest"));
  }
  if (state.dev_tools_mode != 0) {
    return fail_shutdown(Status::FailedPrecondition(
        "GPU confidential computing is in DevTools mode (debugging allowed): it protects nothing"));
  }
  std::vector<nvmlDevice_t> devices(count, nullptr);
  for (unsigned int i = 0; i < count; ++i) {
    if (nvmlReturn_t rc = api.device_by_index(i, &devices[i]); rc != kNvmlSuccess) {
      return fail_shutdown(Status::Internal("nvmlDeviceGetHandleByIndex_v2(" + std::to_string(i) + ") failed: " + text(rc)));
    }
  }
  return std::unique_ptr<GpuAttester>(std::make_unique<NvmlAttester>(lib, api, std::move(devices), options.library));
}

std::unique_ptr<Platform> WithGpuEvidence(std::unique_ptr<Platform> cpu, std::shared_ptr<GpuAttester> gpus) {
  return std::make_unique<GpuEvidencePlatform>(std::move(cpu), std::move(gpus));
}

}  // namespace citadel
