// End to end through the `citadel` binary exactly as a user runs it: a real
// `citadel serve` process on loopback, and the CLI's client commands.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "citadel/npy.h"

namespace citadel {
namespace {

namespace fs = std::filesystem;

const std::string kCli = CITADEL_CLI_PATH;
const std::string kModels = std::string(CITADEL_SOURCE_DIR) + "/models/";

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class CliEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("citadel-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      std::string log = (dir_ / "server.log").string();
      std::freopen(log.c_str(), "w", stderr);
      std::freopen("/dev/null", "w", stdout);
      std::string state = (dir_ / "state").string(), port = (dir_ / "port").string();
      ::execl(kCli.c_str(), kCli.c_str(), "serve", "--listen", "127.0.0.1:0", "--state-dir", state.c_str(),
              "--platform", "sim", "--port-file", port.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 300 && !fs::exists(dir_ / "port"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(fs::exists(dir_ / "port")) << ReadText(dir_ / "server.log");
    url_ = "https://127.0.0.1:" + std::to_string(std::stoi(ReadText(dir_ / "port")));

    auto measure = RunCommand(kCli + " measure");
    ASSERT_EQ(measure.exit_code, 0) << measure.output;
    measurement_ = measure.output.substr(0, measure.output.find('\n'));
    WritePolicy("policy.json", true, measurement_);
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "server did not stop cleanly";
    }
    fs::remove_all(dir_);
  }

  void WritePolicy(const std::string& name, bool allow_simulation, const std::string& measurement) {
    std::ofstream(dir_ / name) << "{\"version\": 1, \"allow_simulation\": " << (allow_simulation ? "true" : "false")
                               << ", \"measurements\": [\"" << measurement << "\"]}";
  }

  std::string Connect(const std::string& policy = "policy.json") const {
    return " --server " + url_ + " --policy " + (dir_ / policy).string();
  }

  fs::path dir_;
  pid_t pid_ = -1;
  std::string url_;
  std::string measurement_;
};

TEST_F(CliEndToEndTest, AttestUploadInferListDelete) {
  auto attest = RunCommand(kCli + " attest" + Connect());
  ASSERT_EQ(attest.exit_code, 0) << attest.output;
  EXPECT_NE(attest.output.find("verdict: ACCEPTED"), std::string::npos) << attest.output;
  EXPECT_NE(attest.output.find("SIMULATION"), std::string::npos) << attest.output;
  EXPECT_NE(attest.output.find(measurement_), std::string::npos) << attest.output;

  auto upload = RunCommand(kCli + " upload" + Connect() + " --name xray " + kModels + "xray_cnn.onnx");
  ASSERT_EQ(upload.exit_code, 0) << upload.output;

  fs::path out = dir_ / "out";
  auto infer = RunCommand(kCli + " infer" + Connect() + " --model xray --input image=" + kModels +
                          "xray_sample.npy --output-dir " + out.string());
  ASSERT_EQ(infer.exit_code, 0) << infer.output;
  auto got = ReadNpyFile((out / "probabilities.npy").string());
  auto want = ReadNpyFile(kModels + "xray_expected.npy");
  ASSERT_TRUE(got.ok()) << got.status().ToString() << "\n" << infer.output;
  ASSERT_TRUE(want.ok());
  ASSERT_EQ(got->shape(), want->shape());
  for (size_t i = 0; i < got->num_elements(); ++i) {
    EXPECT_NEAR(got->data<float>()[i], want->data<float>()[i], 1e-4);
  }

  auto models = RunCommand(kCli + " models" + Connect());
  ASSERT_EQ(models.exit_code, 0) << models.output;
  EXPECT_NE(models.output.find("xray"), std::string::npos);

  auto del = RunCommand(kCli + " delete" + Connect() + " --name xray");
  ASSERT_EQ(del.exit_code, 0) << del.output;
  auto refused = RunCommand(kCli + " infer" + Connect() + " --model xray --input image=" + kModels +
                            "xray_sample.npy --output-dir " + (dir_ / "out2").string());
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("not_found"), std::string::npos) << refused.output;
}

TEST_F(CliEndToEndTest, AttestExitsNonZeroWhenPolicyRefuses) {
  WritePolicy("strict.json", false, measurement_);
  auto strict = RunCommand(kCli + " attest" + Connect("strict.json"));
  EXPECT_EQ(strict.exit_code, 1) << strict.output;
  EXPECT_NE(strict.output.find("REFUSED"), std::string::npos) << strict.output;
  EXPECT_NE(strict.output.find("policy_rejected"), std::string::npos) << strict.output;

  WritePolicy("other.json", true, std::string(96, 'a'));
  auto other = RunCommand(kCli + " attest" + Connect("other.json"));
  EXPECT_EQ(other.exit_code, 1) << other.output;
  EXPECT_NE(other.output.find("policy_rejected"), std::string::npos) << other.output;
  // The refused handshakes never reached a handler.
  std::string log = ReadText(dir_ / "server.log");
  EXPECT_EQ(log.find("GET /v2/health/live"), std::string::npos) << log;
}

TEST_F(CliEndToEndTest, LocalRunMatchesServerAndReference) {
  fs::path out = dir_ / "local";
  auto run = RunCommand(kCli + " run " + kModels + "xray_cnn.onnx --input image=" + kModels +
                        "xray_sample.npy --output-dir " + out.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto got = ReadNpyFile((out / "probabilities.npy").string());
  auto want = ReadNpyFile(kModels + "xray_expected.npy");
  ASSERT_TRUE(got.ok() && want.ok());
  for (size_t i = 0; i < got->num_elements(); ++i) {
    EXPECT_NEAR(got->data<float>()[i], want->data<float>()[i], 1e-4);
  }
  auto bad = RunCommand(kCli + " run " + kModels + "xray_sample.npy --output-dir " + out.string());
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("invalid_argument"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace citadel
