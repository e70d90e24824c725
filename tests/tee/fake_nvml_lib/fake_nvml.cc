// A fake NVIDIA driver library (libnvidia-ml) for tests: the entry points
// src/tee/nvml_gpu.cc loads, with the real C ABI, backed by "GPUs" that a
// test describes in $CITADEL_FAKE_NVML_DIR (see WriteFakeNvml in
// tests/attest/nvidia_pki.h). Reports are real SPDM transcripts signed by
// the test device key, so the real verifier judges them.
//
// Built as a shared object and loaded by path (gpu.nvml_library), exactly as
// the driver's library would be. It reads its state afresh at every call so
// that a test can change it between calls.

#include <openssl/pem.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "../../attest/spdm_builder.h"
#include "../../../src/tee/nvml_abi.h"

namespace {

using citadel::spdmtest::Buf;

std::string Dir() {
  const char* d = std::getenv("CITADEL_FAKE_NVML_DIR");
  return d != nullptr ? d : "";
}

bool Read(const std::string& path, Buf* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

unsigned ReadInt(const std::string& name, unsigned fallback) {
  Buf b;
  if (!Read(Dir() + "/" + name, &b)) return fallback;
  return static_cast<unsigned>(std::strtoul(std::string(b.begin(), b.end()).c_str(), nullptr, 10));
}

bool Exists(const std::string& path) {
  std::ifstream f(path);
  return static_cast<bool>(f);
}

constexpr int kSuccess = 0;
constexpr int kInvalidArgument = 2;
constexpr int kUninitialized = 1;
constexpr int kUnknown = 999;

bool g_initialised = false;

}  // namespace

extern "C" {

using FakeCcState = citadel::nvml_abi::ConfComputeSystemState;
using FakeCert = citadel::nvml_abi::ConfComputeGpuCertificate;
using FakeReport = citadel::nvml_abi::ConfComputeGpuAttestationReport;

__attribute__((visibility("default"))) int nvmlInit_v2() {
  if (Dir().empty()) return kUnknown;
  g_initialised = true;
  return kSuccess;
}
__attribute__((visibility("default"))) int nvmlShutdown() {
  g_initialised = false;
  return kSuccess;
}
__attribute__((visibility("default"))) const char* nvmlErrorString(int rc) {
  switch (rc) {
    case kSuccess: return "Success";
    case kUninitialized: return "Uninitialized";
    case kInvalidArgument: return "Invalid Argument";
    default: return "Unknown Error";
  }
}
__attribute__((visibility("default"))) int nvmlDeviceGetCount_v2(unsigned int* count) {
  if (!g_initialised) return kUninitialized;
  *count = ReadInt("count", 1);
  return kSuccess;
}
__attribute__((visibility("default"))) int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void** device) {
  if (!g_initialised) return kUninitialized;
  if (index >= ReadInt("count", 1)) return kInvalidArgument;
  // A handle is the index + 1 (never null).
  *device = reinterpret_cast<void*>(static_cast<uintptr_t>(index) + 1);
  return kSuccess;
}
__attribute__((visibility("default"))) int nvmlSystemGetConfComputeState(FakeCcState* state) {
  if (!g_initialised) return kUninitialized;
  state->environment = 2;
  state->cc_feature = ReadInt("cc", 1);
  state->dev_tools_mode = ReadInt("devtools", 0);
  return kSuccess;
}
__attribute__((visibility("default"))) int nvmlDeviceGetConfComputeGpuCertificate(void* device, FakeCert* cert) {
  if (!g_initialised) return kUninitialized;
  const std::string gpu = Dir() + "/gpu" + std::to_string(reinterpret_cast<uintptr_t>(device) - 1);
  Buf chain;
  if (!Read(gpu + "/chain.pem", &chain) || chain.size() > sizeof cert->attestation_cert_chain) return kUnknown;
  std::memcpy(cert->attestation_cert_chain, chain.data(), chain.size());
  cert->attestation_cert_chain_size = static_cast<unsigned int>(chain.size());
  cert->cert_chain_size = 0;
  return kSuccess;
}
__attribute__((visibility("default"))) int nvmlDeviceGetConfComputeGpuAttestationReport(void* device,
                                                                                        FakeReport* report) {
  if (!g_initialised) return kUninitialized;
  const std::string gpu = Dir() + "/gpu" + std::to_string(reinterpret_cast<uintptr_t>(device) - 1);
  if (Exists(gpu + "/fail")) return kUnknown;
  Buf key_pem, fwid, digests;
  if (!Read(gpu + "/key.pem", &key_pem) || !Read(gpu + "/fwid.bin", &fwid) ||
      !Read(gpu + "/measurements.bin", &digests)) {
    return kUnknown;
  }
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) return kUnknown;
  citadel::spdmtest::ReportSpec spec;
  std::memcpy(spec.nonce.data(), report->nonce, spec.nonce.size());
  for (size_t i = 0; i + 48 <= digests.size(); i += 48) {
    spec.blocks.push_back({static_cast<uint8_t>(i / 48 + 1), Buf(digests.begin() + i, digests.begin() + i + 48)});
  }
  spec.fwid = fwid;
  Buf out = citadel::spdmtest::MakeSignedReport(key, spec);
  EVP_PKEY_free(key);
  if (out.size() > sizeof report->attestation_report) return kUnknown;
  std::memcpy(report->attestation_report, out.data(), out.size());
  report->attestation_report_size = static_cast<unsigned int>(out.size());
  report->is_cec_attestation_report_present = 0;
  report->cec_attestation_report_size = 0;
  return kSuccess;
}

}  // extern "C"
