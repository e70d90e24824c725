// GPU evidence through NVML (src/tee/nvml_gpu.cc), against a fake NVIDIA
// driver library built by the tests (tests/tee/fake_nvml_lib/) and loaded by
// path as the real libnvidia-ml.so.1 would be. Whether the reports verify is
// the attest tests' and the client end-to-end tests' business; here: loading,
// the CC state checks, what the reports bind, and attaching them to CPU
// evidence.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "../attest/nvidia_pki.h"
#include "citadel/gpu.h"
#include "citadel/tee.h"
#include "test_util.h"

namespace citadel {
namespace {

using testing_tee::TempDir;

class NvmlGpuTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    a_ = new gputest::GpuPki(gputest::MakeGpuPki(0x51));
    b_ = new gputest::GpuPki(gputest::MakeGpuPki(0x52));
  }
  static void TearDownTestSuite() {
    delete a_;
    delete b_;
  }
  void SetUp() override {
    gputest::WriteFakeNvml(dir_.path(), {a_, b_}, 0x20);
    ::setenv("CITADEL_FAKE_NVML_DIR", dir_.path().c_str(), 1);
  }
  void TearDown() override { ::unsetenv("CITADEL_FAKE_NVML_DIR"); }

  static NvmlOptions Fake() {
    NvmlOptions o;
    o.library = CITADEL_FAKE_NVML_PATH;
    return o;
  }
  void Set(const std::string& name, const std::string& value) { testing_tee::WriteFile(dir_.Sub(name), value); }

  static gputest::GpuPki* a_;
  static gputest::GpuPki* b_;
  TempDir dir_;
};
gputest::GpuPki* NvmlGpuTest::a_ = nullptr;
gputest::GpuPki* NvmlGpuTest::b_ = nullptr;

TEST_F(NvmlGpuTest, MissingLibraryIsNotFound) {
  NvmlOptions o;
  o.library = dir_.Sub("no-such-libnvidia-ml.so.1");
  auto gpus = OpenNvmlAttester(o);
  ASSERT_FALSE(gpus.ok());
  EXPECT_EQ(gpus.status().code(), Code::kNotFound);
  EXPECT_NE(gpus.status().message().find("cannot load NVML"), std::string::npos) << gpus.status().ToString();
}

TEST_F(NvmlGpuTest, LibraryWithoutTheEntryPointsIsRefused) {
  NvmlOptions o;
  o.library = "libm.so.6";  // loads, but is not NVML
  auto gpus = OpenNvmlAttester(o);
  ASSERT_FALSE(gpus.ok());
  EXPECT_EQ(gpus.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(gpus.status().message().find("has no nvmlInit_v2"), std::string::npos) << gpus.status().ToString();
}

TEST_F(NvmlGpuTest, InitFailureIsNotFound) {
  ::unsetenv("CITADEL_FAKE_NVML_DIR");  // the fake's nvmlInit_v2 fails, as without a driver
  auto gpus = OpenNvmlAttester(Fake());
  ASSERT_FALSE(gpus.ok());
  EXPECT_EQ(gpus.status().code(), Code::kNotFound);
  EXPECT_NE(gpus.status().message().find("nvmlInit_v2 failed: Unknown Error"), std::string::npos)
      << gpus.status().ToString();
}

TEST_F(NvmlGpuTest, NoGpuIsNotFound) {
  Set("count", "0");
  auto gpus = OpenNvmlAttester(Fake());
  ASSERT_FALSE(gpus.ok());
  EXPECT_EQ(gpus.status().code(), Code::kNotFound);
}

TEST_F(NvmlGpuTest, ConfidentialComputingOffIsRefused) {
  Set("cc", "0");
  auto gpus = OpenNvmlAttester(Fake());
  ASSERT_FALSE(gpus.ok());
  EXPECT_EQ(gpus.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(gpus.status().message().find("confidential computing is off"), std::string::npos);
}

TEST_F(NvmlGpuTest, DevToolsModeIsRefused) {
  Set("devtools", "1");
  auto gpus = OpenNvmlAttester(Fake());
  ASSERT_FALSE(gpus.ok());
  EXPECT_EQ(gpus.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(gpus.status().message().find("DevTools"), std::string::npos);
}

TEST_F(NvmlGpuTest, ReportsBindTheNonceAndCarryTheChain) {
  auto gpus = OpenNvmlAttester(Fake());
  ASSERT_TRUE(gpus.ok()) << gpus.status().ToString();
  ASSERT_EQ((*gpus)->device_count(), 2u);
  EXPECT_NE((*gpus)->Describe().find("2 NVIDIA GPUs"), std::string::npos);
  std::array<uint8_t, 32> nonce{};
  for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(0xC0 + i);
  for (size_t i = 0; i < 2; ++i) {
    auto e = (*gpus)->Attest(i, nonce);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    EXPECT_EQ(e->kind, EvidenceKind::kNvidiaGpu);
    // SPDM GET_MEASUREMENTS request: version, code, param1, param2, nonce.
    ASSERT_GT(e->bytes.size(), 37u);
    EXPECT_EQ(Bytes(e->bytes.begin() + 4, e->bytes.begin() + 36), Bytes(nonce.begin(), nonce.end()));
    EXPECT_EQ(e->endorsements, (i == 0 ? a_ : b_)->ChainPem());
  }
  auto bad = (*gpus)->Attest(2, nonce);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

TEST_F(NvmlGpuTest, FailingReportNamesTheCall) {
  auto gpus = OpenNvmlAttester(Fake());
  ASSERT_TRUE(gpus.ok()) << gpus.status().ToString();
  Set("gpu1/fail", "");
  auto e = (*gpus)->Attest(1, {});
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("GPU 1: nvmlDeviceGetConfComputeGpuAttestationReport failed"),
            std::string::npos)
      << e.status().ToString();
}

TEST_F(NvmlGpuTest, PlatformAttachesEveryGpuOverTheDerivedNonce) {
  SimPlatformOptions sim;
  sim.state_dir = dir_.Sub("sim");
  auto cpu = OpenSimPlatform(sim);
  ASSERT_TRUE(cpu.ok()) << cpu.status().ToString();
  const Bytes measurement = (*cpu)->measurement();
  auto gpus = OpenNvmlAttester(Fake());
  ASSERT_TRUE(gpus.ok()) << gpus.status().ToString();
  std::unique_ptr<Platform> platform = WithGpuEvidence(std::move(cpu).value(), std::move(gpus).value());
  EXPECT_EQ(platform->measurement(), measurement);
  EXPECT_NE(platform->Describe().find("SIMULATION"), std::string::npos);
  EXPECT_NE(platform->Describe().find("attached: 2 NVIDIA GPUs"), std::string::npos);
  ReportData rd{};
  rd.fill(0x42);
  auto e = platform->GetEvidence(rd);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->kind, EvidenceKind::kSim);
  ASSERT_EQ(e->devices.size(), 2u);
  const auto nonce = DeviceNonceForReportData(rd);
  for (const Evidence& d : e->devices) {
    EXPECT_EQ(Bytes(d.bytes.begin() + 4, d.bytes.begin() + 36), Bytes(nonce.begin(), nonce.end()));
  }
  // A GPU that stops attesting fails the evidence: never CPU-only evidence
  // from a server that has GPUs.
  Set("gpu0/fail", "");
  auto failed = platform->GetEvidence(rd);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("GPU evidence: GPU 0"), std::string::npos) << failed.status().ToString();
}

}  // namespace
}  // namespace citadel
