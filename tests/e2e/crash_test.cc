// Crash tests (issue 9): the real `citadel serve` process is killed with
// SIGKILL in the middle of uploads and of normal serving, then restarted on
// the same state directory. Every model stored before the kill must load and
// infer identically; a model that was being written is either absent or
// complete (never partial), and no temporary file is ever loaded. A full
// disk (RLIMIT_FSIZE on the server process) gives a clear error and leaves
// the stored models intact.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "citadel/client.h"
#include "citadel/crypto.h"
#include "citadel/npy.h"

namespace citadel {
namespace {

namespace fs = std::filesystem;

const std::string kCli = CITADEL_CLI_PATH;
const std::string kModels = std::string(CITADEL_SOURCE_DIR) + "/models/";

std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Bytes MustRead(const std::string& path) {
  auto b = ReadFileBytes(path);
  EXPECT_TRUE(b.ok()) << path;
  return b.ok() ? *b : Bytes{};
}

// Model name -> (input name, input) used to compare outputs across restarts.
struct Probe {
  std::string input_name;
  Tensor input;
};

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The server is killed mid-request: writes to its socket must fail with
    // EPIPE, not kill the test (ctest runs each test in its own process).
    ::signal(SIGPIPE, SIG_IGN);
    dir_ = fs::temp_directory_path() /
           ("citadel-crash-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    xray_ = MustRead(kModels + "xray_cnn.onnx");
    mlp_ = MustRead(kModels + "mlp_dynamic.onnx");
    auto xs = ReadNpyFile(kModels + "xray_sample.npy");
    auto ms = ReadNpyFile(kModels + "mlp_sample.npy");
    ASSERT_TRUE(xs.ok() && ms.ok());
    x_sample_ = *xs;
    m_sample_ = *ms;
  }
  void TearDown() override {
    if (pid_ > 0) Kill(SIGKILL);
    fs::remove_all(dir_);
  }

  // Starts `citadel serve` on the state dir; file_size_limit > 0 sets
  // RLIMIT_FSIZE on the server process (a disk that fills up).
  void Start(rlim_t file_size_limit = 0) {
    fs::remove(dir_ / "port");
    const int restart = restarts_++;
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      std::string log = (dir_ / ("server-" + std::to_string(restart) + ".log")).string();
      std::freopen(log.c_str(), "w", stderr);
      std::freopen("/dev/null", "w", stdout);
      if (file_size_limit > 0) {
        ::signal(SIGXFSZ, SIG_IGN);  // writes past the limit fail with EFBIG
        rlimit lim{file_size_limit, file_size_limit};
        ::setrlimit(RLIMIT_FSIZE, &lim);
      }
      std::string state = (dir_ / "state").string(), port = (dir_ / "port").string();
      ::execl(kCli.c_str(), kCli.c_str(), "serve", "--listen", "127.0.0.1:0", "--state-dir", state.c_str(),
              "--platform", "sim", "--port-file", port.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 600 && !fs::exists(dir_ / "port"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(fs::exists(dir_ / "port")) << "server did not start";
    port_ = std::stoi(ReadText(dir_ / "port"));
    url_ = "https://127.0.0.1:" + std::to_string(port_);
  }

  void Kill(int sig) {
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::unique_ptr<Client> Connect() {
    ClientOptions options;
    options.policy.allow_simulation = true;
    options.policy.accept_any_measurement = true;
    options.timeout = std::chrono::seconds(30);
    auto client = Client::Connect(url_, options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  Probe ProbeFor(const Bytes& model) {
    if (model == xray_) return {"image", x_sample_};
    return {"", m_sample_};
  }

  // Runs the probe through `name` and returns the outputs' bytes.
  std::map<std::string, Bytes> Outputs(Client& client, const std::string& name, const Bytes& model) {
    auto info = client.GetModel(name);
    EXPECT_TRUE(info.ok()) << name << ": " << info.status().ToString();
    if (!info.ok()) return {};
    Probe p = ProbeFor(model);
    auto out = client.Infer(name, {{info->inputs[0].name, p.input}});
    EXPECT_TRUE(out.ok()) << name << ": " << out.status().ToString();
    std::map<std::string, Bytes> m;
    if (out.ok()) {
      for (const auto& t : *out) m[t.name] = Bytes(t.tensor.bytes().begin(), t.tensor.bytes().end());
    }
    return m;
  }

  // The state after a restart: exactly `expected` models (plus, when
  // `maybe` is set, possibly that one), each complete and answering as before.
  void ExpectModelsIntact(const std::map<std::string, std::map<std::string, Bytes>>& expected,
                          const std::string& maybe = "") {
    auto client = Connect();
    ASSERT_NE(client, nullptr);
    auto list = client->ListModels();
    ASSERT_TRUE(list.ok()) << list.status().ToString();
    std::set<std::string> names;
    for (const auto& m : *list) {
      names.insert(m.name);
      if (m.name == maybe) {
        // Whichever version survived is one that was uploaded, complete.
        EXPECT_TRUE(m.id == HexEncode(Sha256(xray_)) || m.id == HexEncode(Sha256(mlp_))) << m.id;
        const Bytes& bytes = m.id == HexEncode(Sha256(xray_)) ? xray_ : mlp_;
        EXPECT_EQ(Outputs(*client, m.name, bytes), reference_.at(m.id));
      }
    }
    for (const auto& [name, outputs] : expected) {
      EXPECT_TRUE(names.count(name)) << "model '" << name << "' was lost";
      if (names.count(name)) {
        const Bytes& bytes = name == "xray" ? xray_ : mlp_;
        EXPECT_EQ(Outputs(*client, name, bytes), outputs) << "model '" << name << "' answers differently";
      }
    }
    for (const auto& n : names) {
      EXPECT_TRUE(expected.count(n) || n == maybe) << "unexpected model '" << n << "'";
    }
    // The server's log names no temporary file as loaded or refused.
    EXPECT_EQ(ServerLogs().find(".tmp"), std::string::npos);
  }

  std::string ServerLogs() {
    std::string all;
    for (int i = 0; i < restarts_; ++i) all += ReadText(dir_ / ("server-" + std::to_string(i) + ".log"));
    return all;
  }

  std::vector<std::string> TempFiles() {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir_ / "state", ec); it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->path().filename().string().find(".tmp") != std::string::npos) out.push_back(it->path().string());
    }
    return out;
  }

  // Uploads xray and mlp and records their answers.
  std::map<std::string, std::map<std::string, Bytes>> Populate() {
    auto client = Connect();
    EXPECT_NE(client, nullptr);
    if (!client) return {};
    EXPECT_TRUE(client->UploadModel("xray", xray_).ok());
    EXPECT_TRUE(client->UploadModel("mlp", mlp_).ok());
    std::map<std::string, std::map<std::string, Bytes>> expected;
    expected["xray"] = Outputs(*client, "xray", xray_);
    expected["mlp"] = Outputs(*client, "mlp", mlp_);
    reference_[HexEncode(Sha256(xray_))] = expected["xray"];
    reference_[HexEncode(Sha256(mlp_))] = expected["mlp"];
    EXPECT_FALSE(expected["xray"].empty());
    EXPECT_FALSE(expected["mlp"].empty());
    return expected;
  }

  fs::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  int restarts_ = 0;
  std::string url_;
  Bytes xray_, mlp_;
  Tensor x_sample_, m_sample_;
  std::map<std::string, std::map<std::string, Bytes>> reference_;  // model id -> outputs
};

// A TLS connection that sends a PUT whose body trickles in (no attestation:
// the test only needs the server to be mid-read when it dies).
class SlowUpload {
 public:
  SlowUpload(int port, const std::string& path, size_t length) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) return;
    std::string head = "PUT " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n" +
                       "Content-Length: " + std::to_string(length) + "\r\n\r\n";
    ok_ = SSL_write(ssl_, head.data(), static_cast<int>(head.size())) > 0;
  }
  ~SlowUpload() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  bool Send(const std::string& chunk) {
    return ok_ && SSL_write(ssl_, chunk.data(), static_cast<int>(chunk.size())) > 0;
  }
  bool ok() const { return ok_; }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool ok_ = false;
};

TEST_F(CrashTest, KillDuringASlowBigUploadThenRestart) {
  ::signal(SIGPIPE, SIG_IGN);
  Start();
  auto expected = Populate();
  // 8 MiB declared, sent 64 KiB at a time: the server is mid-body when killed.
  SlowUpload upload(port_, "/v2/repository/models/big", size_t{8} << 20);
  ASSERT_TRUE(upload.ok());
  std::string chunk(64 << 10, 'x');
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(upload.Send(chunk)) << "chunk " << i;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill(SIGKILL);
  Start();
  ExpectModelsIntact(expected);
  EXPECT_TRUE(TempFiles().empty());
}

TEST_F(CrashTest, KillDuringRepeatedUploadsThenRestart) {
  Start();
  auto expected = Populate();
  std::mt19937 rng(1234);
  std::vector<std::string> leftovers;
  for (int cycle = 0; cycle < 4; ++cycle) {
    std::atomic<bool> stop{false};
    std::atomic<int> stored{0};
    std::thread uploader([&] {
      auto client = Connect();
      if (!client) return;
      for (int i = 0; !stop; ++i) {
        if (client->UploadModel("churn", i % 2 ? mlp_ : xray_).ok()) ++stored;
      }
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (stored < 2 + cycle && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_GE(stored, 2 + cycle) << "uploads did not go through";
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 60)(rng)));
    Kill(SIGKILL);
    stop = true;
    uploader.join();
    for (const auto& f : TempFiles()) leftovers.push_back(f);
    Start();
    ExpectModelsIntact(expected, "churn");
    // The restarted server removed whatever the kill left half-written.
    EXPECT_TRUE(TempFiles().empty());
    if (HasFatalFailure() || HasNonfatalFailure()) {
      ADD_FAILURE() << "cycle " << cycle << "; server logs:\n" << ServerLogs();
      return;
    }
  }
  // A kill between a temporary file's creation and its rename leaves it on
  // disk; it must never be loaded (checked above through the logs and the
  // model list) and the next start removes it.
  if (!leftovers.empty()) std::printf("note: %zu temporary file(s) left by kills, removed at restart\n", leftovers.size());
}

TEST_F(CrashTest, KillDuringServingThenRestartAndReceiptsStillIssue) {
  Start();
  auto expected = Populate();
  std::atomic<bool> stop{false};
  std::atomic<int> done{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      auto client = Connect();
      if (!client) return;
      const bool use_xray = t % 2 == 0;
      const Bytes& bytes = use_xray ? xray_ : mlp_;
      Probe p = ProbeFor(bytes);
      auto info = client->GetModel(use_xray ? "xray" : "mlp");
      if (!info.ok()) return;
      while (!stop) {
        auto r = client->InferWithReceipt(use_xray ? "xray" : "mlp", {{info->inputs[0].name, p.input}});
        if (!r.ok()) break;
        ++done;
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (done < 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(done, 20) << "inferences did not go through";
  Kill(SIGKILL);
  stop = true;
  for (auto& c : clients) c.join();
  Start();
  ExpectModelsIntact(expected);
  // The sealed receipt counter survived the kill: receipts are still issued.
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  auto info = client->GetModel("mlp");
  ASSERT_TRUE(info.ok());
  auto r = client->InferWithReceipt("mlp", {{info->inputs[0].name, m_sample_}});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(CrashTest, FullDiskDuringUploadGivesAClearErrorAndKeepsModels) {
  Start();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->UploadModel("mlp", mlp_).ok());
  std::map<std::string, std::map<std::string, Bytes>> expected;
  expected["mlp"] = Outputs(*client, "mlp", mlp_);
  client.reset();
  Kill(SIGTERM);

  // Files may grow to 12 KiB: the mlp model (4 KiB) was stored; xray (20 KiB) cannot be.
  ASSERT_GT(xray_.size(), size_t{12} << 10);
  Start(12 << 10);
  client = Connect();
  ASSERT_NE(client, nullptr);
  auto refused = client->UploadModel("xray", xray_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kResourceExhausted) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("storage"), std::string::npos) << refused.status().ToString();
  EXPECT_EQ(refused.status().message().find(dir_.string()), std::string::npos)
      << "the error leaks a server path: " << refused.status().ToString();
  auto list = client->ListModels();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(Outputs(*client, "mlp", mlp_), expected["mlp"]);
  EXPECT_TRUE(TempFiles().empty());
  client.reset();
  Kill(SIGKILL);

  Start();
  ExpectModelsIntact(expected);
}

}  // namespace
}  // namespace citadel
