// End to end over real loopback TLS, composite attestation: the real server
// (sim CPU platform) attaching the evidence of two "GPUs" from a fake NVIDIA
// driver library (tests/tee/fake_nvml_lib/, loaded through the server
// config's gpu.nvml_library exactly as libnvidia-ml.so.1 would be), and the
// real client judging CPU and GPUs with a policy that has an "nvidia"
// section, in the TLS handshake and on fresh evidence.
//
// SIMULATION: the CPU part is the sim platform and the GPUs are signed by a
// test hierarchy generated here; nothing here ran on an H100.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "../attest/nvidia_pki.h"
#include "citadel/client.h"
#include "citadel/server.h"

namespace citadel {
namespace {

namespace fs = std::filesystem;

constexpr uint8_t kGpuFill = 0x60;

fs::path TempDir(const std::string& tag) {
  fs::path dir = fs::temp_directory_path() / ("citadel-" + tag + "-" + std::to_string(::getpid()) + "-" +
                                              std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  return dir;
}

class CompositeGpuTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    gpu0_ = new gputest::GpuPki(gputest::MakeGpuPki(0x71));
    gpu1_ = new gputest::GpuPki(gputest::MakeGpuPki(0x72, " 1"));
  }
  static void TearDownTestSuite() {
    delete gpu0_;
    delete gpu1_;
  }
  void SetUp() override {
    dir_ = TempDir("composite-gpu");
    gputest::WriteFakeNvml(dir_ / "nvml", {gpu0_, gpu1_}, kGpuFill);
    ::setenv("CITADEL_FAKE_NVML_DIR", (dir_ / "nvml").c_str(), 1);
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    ::unsetenv("CITADEL_FAKE_NVML_DIR");
    fs::remove_all(dir_);
  }

  Result<std::unique_ptr<Server>> Create(const std::string& attestation, const std::string& library) {
    const fs::path config = dir_ / "config.json";
    std::ofstream(config) << R"({"version": 1, "gpu": {"attestation": ")" << attestation
                          << R"(", "nvml_library": ")" << library << R"("}})";
    ServerOptions options;
    options.state_dir = (dir_ / "state").string();
    options.port = 0;
    options.platform = "sim";
    options.config_path = config.string();
    return Server::Create(options);
  }
  void Start(const std::string& attestation = "required", const std::string& library = CITADEL_FAKE_NVML_PATH) {
    auto server = Create(attestation, library);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    thread_ = std::thread([this] { (void)server_->Run(); });
    url_ = "https://127.0.0.1:" + std::to_string(server_->port());
  }

  // The GPU root is the only trust anchor (it stands in for NVIDIA's Device
  // Identity CA); the sim CPU evidence needs none.
  static ClientOptions Options(uint8_t gpu_fill = kGpuFill) {
    ClientOptions o;
    o.policy.allow_simulation = true;
    o.policy.accept_any_measurement = true;
    NvidiaPolicy n;
    for (const auto& b : gputest::Measurements(gpu_fill)) n.measurements[b.index] = {Bytes(b.value.begin(), b.value.end())};
    o.policy.nvidia = n;
    o.trust_anchors = {gpu0_->RootPem()};
    o.timeout = std::chrono::seconds(30);
    return o;
  }

  static gputest::GpuPki* gpu0_;
  static gputest::GpuPki* gpu1_;
  fs::path dir_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::string url_;
};
gputest::GpuPki* CompositeGpuTest::gpu0_ = nullptr;
gputest::GpuPki* CompositeGpuTest::gpu1_ = nullptr;

TEST_F(CompositeGpuTest, ClientVerifiesCpuAndEveryGpu) {
  // Both test GPUs chain to their own roots; trust both.
  ASSERT_NO_FATAL_FAILURE(Start());
  ClientOptions o = Options();
  o.trust_anchors.push_back(gpu1_->RootPem());
  auto client = Client::Connect(url_, o);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const VerifiedEvidence& v = (*client)->attestation();
  EXPECT_EQ(v.kind, EvidenceKind::kSim);
  ASSERT_EQ(v.devices.size(), 2u);
  EXPECT_EQ(v.devices[0].claims.at("nvidia.fwid"), HexEncode(gpu0_->fwid));
  EXPECT_EQ(v.devices[1].claims.at("nvidia.fwid"), HexEncode(gpu1_->fwid));
  // Fresh evidence over the client's nonce carries fresh GPU reports too.
  Bytes nonce(32, 0x5C);
  auto fresh = (*client)->Attest(nonce);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  ASSERT_EQ(fresh->devices.size(), 2u);
  EXPECT_NE(fresh->devices[0].claims.at("nvidia.nonce"), v.devices[0].claims.at("nvidia.nonce"));
  auto models = (*client)->ListModels();
  EXPECT_TRUE(models.ok()) << models.status().ToString();
}

TEST_F(CompositeGpuTest, UntrustedGpuRefusesTheServer) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto client = Client::Connect(url_, Options());  // gpu1's root is not trusted
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), Code::kAttestationFailed);
  EXPECT_NE(client.status().message().find("nvidia.untrusted_root: GPU 1: "), std::string::npos)
      << client.status().ToString();
}

TEST_F(CompositeGpuTest, WrongGpuFirmwareIsRejectedByPolicy) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ClientOptions o = Options(kGpuFill + 1);
  o.trust_anchors.push_back(gpu1_->RootPem());
  auto client = Client::Connect(url_, o);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), Code::kPolicyRejected);
  EXPECT_NE(client.status().message().find("policy.nvidia.measurements: GPU 0: "), std::string::npos)
      << client.status().ToString();
}

TEST_F(CompositeGpuTest, RequiredWithoutDriverRefusesToStart) {
  auto server = Create("required", (dir_ / "no-libnvidia-ml.so.1").string());
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("GPU attestation (gpu.attestation = \"required\")"), std::string::npos)
      << server.status().ToString();
}

TEST_F(CompositeGpuTest, GpuThatCannotAttestRefusesToStartEvenInAutoMode) {
  std::ofstream(dir_ / "nvml" / "gpu1" / "fail") << "";
  auto server = Create("auto", CITADEL_FAKE_NVML_PATH);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("GPU attestation probe"), std::string::npos) << server.status().ToString();
}

TEST_F(CompositeGpuTest, AutoWithoutGpuServesCpuOnlyAndGpuPolicyRefusesIt) {
  ASSERT_NO_FATAL_FAILURE(Start("auto", (dir_ / "no-libnvidia-ml.so.1").string()));
  auto client = Client::Connect(url_, Options());
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), Code::kPolicyRejected);
  EXPECT_NE(client.status().message().find("policy.nvidia.missing"), std::string::npos) << client.status().ToString();
  ClientOptions cpu_only = Options();
  cpu_only.policy.nvidia.reset();
  auto ok = Client::Connect(url_, cpu_only);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE((*ok)->attestation().devices.empty());
}

}  // namespace
}  // namespace citadel
