// Attested key release end to end (docs/key-release.md): real `citadel
// key-broker` and `citadel serve` processes on loopback. The sim platform
// stands in for TDX here (its evidence is verified by the broker exactly like
// hardware evidence, against the broker's policy); what is tested is the
// protocol, the pinning and the server's behaviour, not hardware protection.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "citadel/bytes.h"
#include "citadel/client.h"

namespace citadel {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kCli = CITADEL_CLI_PATH;
const std::string kModels = std::string(CITADEL_SOURCE_DIR) + "/models/";

std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string Shell(const std::string& command, int* exit_code) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = ::pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// A port that was free a moment ago (the server config must name the
// broker's port before the broker starts: the config is measured).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class KeyReleaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);
    dir_ = fs::temp_directory_path() /
           ("citadel-keyrel-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    int rc = -1;
    broker_key_ = Shell(kCli + " key-broker --state-dir " + (dir_ / "broker").string() + " --print-public-key", &rc);
    ASSERT_EQ(rc, 0) << broker_key_;
    broker_key_ = broker_key_.substr(0, broker_key_.find('\n'));
    broker_port_ = FreePort();
    WriteServerConfig("server.json", broker_key_);
    std::string m = Shell(kCli + " measure --config " + (dir_ / "server.json").string(), &rc);
    ASSERT_EQ(rc, 0) << m;
    measurement_ = m.substr(0, m.find('\n'));
  }

  void TearDown() override {
    StopServer();
    StopBroker();
    fs::remove_all(dir_);
  }

  void WriteServerConfig(const std::string& name, const std::string& broker_key) {
    std::ofstream(dir_ / name) << json{{"version", 1},
                                       {"key_release",
                                        {{"broker", "http://127.0.0.1:" + std::to_string(broker_port_)},
                                         {"broker_public_key", broker_key}}}}
                                      .dump();
  }
  void WritePolicy(const std::string& name, const std::string& measurement) {
    std::ofstream(dir_ / name) << json{{"version", 1}, {"allow_simulation", true}, {"measurements", {measurement}}}.dump();
  }

  static pid_t Spawn(const std::vector<std::string>& args, const fs::path& log) {
    pid_t pid = ::fork();
    if (pid == 0) {
      std::freopen(log.c_str(), "w", stderr);
      std::freopen("/dev/null", "w", stdout);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(kCli.c_str(), argv.data());
      ::_exit(127);
    }
    return pid;
  }
  // True once `p` exists; false when the process exits first (its exit
  // status, if asked for, in *exit_code).
  static bool WaitForFile(const fs::path& p, pid_t pid, int* exit_code = nullptr) {
    for (int i = 0; i < 600; ++i) {
      if (fs::exists(p)) return true;
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  void StartBroker(const std::string& policy) {
    fs::remove(dir_ / "broker.port");
    broker_pid_ = Spawn({kCli, "key-broker", "--state-dir", (dir_ / "broker").string(), "--listen",
                         "127.0.0.1:" + std::to_string(broker_port_), "--policy", (dir_ / policy).string(),
                         "--port-file", (dir_ / "broker.port").string()},
                        dir_ / "broker.log");
    ASSERT_TRUE(WaitForFile(dir_ / "broker.port", broker_pid_)) << ReadText(dir_ / "broker.log");
  }
  void StopBroker() {
    if (broker_pid_ <= 0) return;
    ::kill(broker_pid_, SIGTERM);
    ::waitpid(broker_pid_, nullptr, 0);
    broker_pid_ = -1;
  }

  // Starts `citadel serve`; returns false (and keeps the log) when it exits
  // instead of listening.
  bool StartServer(const std::string& config) {
    fs::remove(dir_ / "server.port");
    server_pid_ = Spawn({kCli, "serve", "--listen", "127.0.0.1:0", "--state-dir", (dir_ / "state").string(),
                         "--platform", "sim", "--config", (dir_ / config).string(), "--port-file",
                         (dir_ / "server.port").string()},
                        dir_ / "server.log");
    if (!WaitForFile(dir_ / "server.port", server_pid_, &server_exit_)) {
      server_pid_ = -1;
      return false;
    }
    server_url_ = "https://127.0.0.1:" + std::to_string(std::stoi(ReadText(dir_ / "server.port")));
    return true;
  }
  void StopServer() {
    if (server_pid_ <= 0) return;
    ::kill(server_pid_, SIGTERM);
    ::waitpid(server_pid_, nullptr, 0);
    server_pid_ = -1;
  }

  std::unique_ptr<Client> Connect() {
    ClientOptions options;
    options.policy.allow_simulation = true;
    auto m = HexDecode(measurement_);
    EXPECT_TRUE(m.ok());
    if (m.ok()) options.policy.measurements = {*m};
    auto client = Client::Connect(server_url_, options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  fs::path dir_;
  std::string broker_key_, measurement_, server_url_;
  int broker_port_ = 0;
  pid_t broker_pid_ = -1, server_pid_ = -1;
  int server_exit_ = 0;  // exit code of a server that did not start
};

TEST_F(KeyReleaseTest, ReleasedKeySealsModelsAcrossRestarts) {
  WritePolicy("broker-policy.json", measurement_);
  StartBroker("broker-policy.json");
  ASSERT_TRUE(StartServer("server.json")) << ReadText(dir_ / "server.log");
  EXPECT_NE(ReadText(dir_ / "server.log").find("sealing keys released by the key broker"), std::string::npos);
  auto model = ReadFileBytes(kModels + "mlp_dynamic.onnx");
  ASSERT_TRUE(model.ok());
  {
    auto client = Connect();
    ASSERT_NE(client, nullptr);
    ASSERT_TRUE(client->UploadModel("mlp", *model).ok());
  }
  StopServer();
  // The broker releases the same root again: the sealed model opens.
  ASSERT_TRUE(StartServer("server.json")) << ReadText(dir_ / "server.log");
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  auto info = client->GetModel("mlp");
  EXPECT_TRUE(info.ok()) << info.status().ToString() << "\n" << ReadText(dir_ / "server.log");
  const std::string broker_log = ReadText(dir_ / "broker.log");
  EXPECT_NE(broker_log.find("key released"), std::string::npos) << broker_log;
  EXPECT_NE(broker_log.find(measurement_), std::string::npos) << broker_log;
}

TEST_F(KeyReleaseTest, BrokerRefusesAMeasurementOutsideItsPolicyAndTheServerDoesNotStart) {
  WritePolicy("broker-policy.json", std::string(96, 'a'));
  StartBroker("broker-policy.json");
  ASSERT_FALSE(StartServer("server.json"));
  EXPECT_NE(server_exit_, 0);
  const std::string log = ReadText(dir_ / "server.log");
  EXPECT_NE(log.find("the key broker refused to release the key"), std::string::npos) << log;
  EXPECT_NE(log.find("measurement"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(dir_ / "state" / "models"));  // nothing was stored or opened
}

TEST_F(KeyReleaseTest, ServerRefusesAnAnswerFromABrokerItDoesNotPin) {
  // The server pins another broker's key (and is measured with it).
  int rc = -1;
  std::string other = Shell(kCli + " key-broker --state-dir " + (dir_ / "other").string() + " --print-public-key", &rc);
  ASSERT_EQ(rc, 0) << other;
  WriteServerConfig("pinned-other.json", other.substr(0, other.find('\n')));
  std::string m = Shell(kCli + " measure --config " + (dir_ / "pinned-other.json").string(), &rc);
  ASSERT_EQ(rc, 0);
  WritePolicy("broker-policy.json", m.substr(0, m.find('\n')));
  StartBroker("broker-policy.json");  // releases, but signs with its own key
  ASSERT_FALSE(StartServer("pinned-other.json"));
  const std::string log = ReadText(dir_ / "server.log");
  EXPECT_NE(log.find("not signed by the pinned broker key"), std::string::npos) << log;
}

TEST_F(KeyReleaseTest, ServerWithoutItsBrokerDoesNotStart) {
  ASSERT_FALSE(StartServer("server.json"));
  const std::string log = ReadText(dir_ / "server.log");
  EXPECT_NE(log.find("cannot reach the key broker"), std::string::npos) << log;
}

}  // namespace
}  // namespace citadel
