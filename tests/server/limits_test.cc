// Limits (issue 9): the real server on loopback with small configured limits,
// driven by the real client SDK and by raw HTTPS/TCP for what the SDK would
// never send. Every refusal is a JSON error {"error", "code"} with a stable
// code; the server keeps serving afterwards.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "citadel/client.h"
#include "citadel/crypto.h"
#include "citadel/npy.h"
#include "citadel/server.h"

namespace citadel {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string ModelFile(const std::string& file) { return std::string(CITADEL_SOURCE_DIR) + "/models/" + file; }

class LimitsTest : public ::testing::Test {
 protected:
  void Start(const json& limits) {
    state_ = fs::temp_directory_path() / ("citadel-limits-" + std::to_string(::getpid()) + "-" +
                                          std::to_string(std::random_device{}()));
    fs::create_directories(state_);
    const std::string config_path = (state_ / "config.json").string();
    std::ofstream(config_path) << json{{"version", 1}, {"limits", limits}}.dump();
    ServerOptions options;
    options.state_dir = (state_ / "state").string();
    options.config_path = config_path;
    auto server = Server::Create(options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    thread_ = std::thread([this] { (void)server_->Run(); });
    url_ = "https://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    fs::remove_all(state_);
  }

  std::unique_ptr<Client> Connect() {
    ClientOptions options;
    options.policy.allow_simulation = true;
    options.policy.measurements = {server_->platform().measurement()};
    auto client = Client::Connect(url_, options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  std::unique_ptr<httplib::SSLClient> Raw() {
    auto cli = std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port());
    cli->enable_server_certificate_verification(false);
    cli->set_read_timeout(30, 0);
    return cli;
  }

  // A refusal: the HTTP status and a body that is exactly {"error", "code"}.
  static void ExpectError(const httplib::Result& res, int http_status, const std::string& code) {
    ASSERT_TRUE(res) << "no response: " << httplib::to_string(res.error());
    EXPECT_EQ(res->status, http_status) << res->body;
    json body = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << res->body;
    EXPECT_EQ(body.size(), 2u) << res->body;
    EXPECT_EQ(body.value("code", ""), code) << res->body;
    EXPECT_TRUE(body.contains("error") && body["error"].is_string()) << res->body;
  }

  bool Serving() {
    auto res = Raw()->Get("/v2/health/ready");
    return res && res->status == 200;
  }

  fs::path state_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::string url_;
};

TEST(ServerConfigLimits, ParsesEveryLimitAndRefusesBadOnes) {
  auto c = ServerConfig::FromJson(R"({"version": 1, "limits": {"max_upload_bytes": 10, "max_request_bytes": 11,
      "max_models": 2, "max_tensor_elements": 3, "max_tensor_bytes": 4, "max_model_memory_bytes": 5,
      "max_concurrent_requests": 6, "max_connections": 7, "request_timeout_seconds": 8,
      "idle_timeout_seconds": 9}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->max_upload_bytes, 10u);
  EXPECT_EQ(c->max_request_bytes, 11u);
  EXPECT_EQ(c->max_models, 2u);
  EXPECT_EQ(c->max_tensor_elements, 3u);
  EXPECT_EQ(c->max_tensor_bytes, 4u);
  EXPECT_EQ(c->max_model_memory_bytes, 5u);
  EXPECT_EQ(c->max_concurrent_requests, 6u);
  EXPECT_EQ(c->max_connections, 7u);
  EXPECT_EQ(c->request_timeout_seconds, 8);
  EXPECT_EQ(c->idle_timeout_seconds, 9);
  EXPECT_FALSE(ServerConfig::FromJson(R"({"version": 1, "limits": {"max_concurrent_requests": 0}})").ok());
  EXPECT_FALSE(ServerConfig::FromJson(R"({"version": 1, "limits": {"idle_timeout_seconds": -1}})").ok());
  EXPECT_FALSE(ServerConfig::FromJson(R"({"version": 1, "limits": {"max_memory": 5}})").ok());
  // Safe defaults.
  ServerConfig d;
  EXPECT_GT(d.max_concurrent_requests, 0u);
  EXPECT_LE(d.max_concurrent_requests, d.max_connections);
  EXPECT_GT(d.max_model_memory_bytes, 0u);
}

TEST_F(LimitsTest, UploadAboveLimitRefusedOnDeclaredLengthBeforeTheBodyIsRead) {
  Start({{"max_upload_bytes", 4096}});
  // The server answers 413 from the headers alone and does not read the
  // body; a client that writes the whole body before reading (httplib) sees
  // the connection close instead. Either way nothing is read or stored.
  std::string body(64 * 1024, 'x');
  auto res = Raw()->Put("/v2/repository/models/big", body, "application/octet-stream");
  if (res) ExpectError(res, 413, "resource_exhausted");
  // Headers only (the body never comes): the refusal arrives at once.
  httplib::Headers headers = {{"Content-Length", "1000000"}};
  auto cli = Raw();
  auto refused = cli->Put("/v2/repository/models/big", headers, std::string(), "application/octet-stream");
  if (refused) ExpectError(refused, 413, "resource_exhausted");
  EXPECT_TRUE(Serving());
  EXPECT_FALSE(fs::exists(state_ / "state" / "models" / "big.cmodel"));
  // The SDK knows the published limit and refuses before sending anything,
  // with a message that names it.
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  Bytes big(64 * 1024, 0x42);
  auto sdk = client->UploadModel("big", big);
  ASSERT_FALSE(sdk.ok());
  EXPECT_EQ(sdk.status().code(), Code::kResourceExhausted) << sdk.status().ToString();
  EXPECT_NE(sdk.status().message().find("limits.max_upload_bytes (4096)"), std::string::npos)
      << sdk.status().ToString();
  EXPECT_TRUE(client->ListModels().ok());
}

TEST_F(LimitsTest, ChunkedUploadRefused) {
  Start({{"max_upload_bytes", 4096}});
  auto cli = Raw();
  int sent = 0;
  auto res = cli->Put(
      "/v2/repository/models/chunked",
      [&](size_t, httplib::DataSink& sink) {
        std::string chunk(1024, 'x');
        sink.write(chunk.data(), chunk.size());
        if (++sent == 8) sink.done();
        return true;
      },
      "application/octet-stream");
  // Either the refusal arrives, or the server closed the connection on the
  // chunked body; what must never happen is a stored or loaded model.
  if (res) ExpectError(res, 411, "invalid_argument");
  EXPECT_TRUE(Serving());
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  auto list = client->ListModels();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(LimitsTest, CompressedBodiesRefused) {
  Start({{"max_request_bytes", 4096}});
  httplib::Headers headers = {{"Content-Encoding", "gzip"}};
  ExpectError(Raw()->Post("/v2/models/m/infer", headers, "{}", "application/json"), 415, "invalid_argument");
  EXPECT_TRUE(Serving());
}

TEST_F(LimitsTest, InferRequestAboveMaxRequestBytes) {
  Start({{"max_request_bytes", 1024}});
  ExpectError(Raw()->Post("/v2/models/m/infer", std::string(4096, ' '), "application/json"), 413,
              "resource_exhausted");
  EXPECT_TRUE(Serving());
}

TEST_F(LimitsTest, TensorElementsAndBytesPerRequest) {
  Start({{"max_tensor_elements", 8}, {"max_tensor_bytes", 4096}});
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  auto model = ReadFileBytes(ModelFile("mlp_dynamic.onnx"));
  ASSERT_TRUE(model.ok());
  auto info = client->UploadModel("mlp", *model);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  auto sample = ReadNpyFile(ModelFile("mlp_sample.npy"));
  ASSERT_TRUE(sample.ok());
  ASSERT_GT(sample->num_elements(), 8u);
  auto out = client->Infer("mlp", {{info->inputs[0].name, *sample}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kResourceExhausted) << out.status().ToString();

  // Bytes: raw request, 8 elements of FP64 (64 bytes) against a 32-byte limit.
  server_->Stop();
  thread_.join();
  server_.reset();
  fs::remove_all(state_);
  Start({{"max_tensor_elements", 1 << 20}, {"max_tensor_bytes", 32}});
  client = Connect();
  ASSERT_NE(client, nullptr);
  info = client->UploadModel("mlp", *model);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  out = client->Infer("mlp", {{info->inputs[0].name, *sample}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kResourceExhausted) << out.status().ToString();
  EXPECT_NE(out.status().message().find("max_tensor_bytes"), std::string::npos) << out.status().ToString();
}

TEST_F(LimitsTest, ModelsPerServerAndModelMemoryBudget) {
  auto xray = ReadFileBytes(ModelFile("xray_cnn.onnx"));
  auto mlp = ReadFileBytes(ModelFile("mlp_dynamic.onnx"));
  ASSERT_TRUE(xray.ok() && mlp.ok());
  Start({{"max_models", 1}, {"max_model_memory_bytes", xray->size() + 100}});
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->UploadModel("a", *mlp).ok());
  auto second = client->UploadModel("b", *mlp);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kResourceExhausted);
  EXPECT_NE(second.status().message().find("max_models"), std::string::npos) << second.status().ToString();
  // Replacing the one model is not a new one; the budget counts it once.
  auto replaced = client->UploadModel("a", *xray);
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  ASSERT_TRUE(client->DeleteModel("a").ok());

  server_->Stop();
  thread_.join();
  server_.reset();
  fs::remove_all(state_);
  Start({{"max_models", 8}, {"max_model_memory_bytes", xray->size() + 100}});
  client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->UploadModel("xray", *xray).ok());
  auto over = client->UploadModel("mlp", *mlp);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), Code::kResourceExhausted);
  EXPECT_NE(over.status().message().find("max_model_memory_bytes"), std::string::npos) << over.status().ToString();
  auto list = client->ListModels();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "xray");
  EXPECT_FALSE(fs::exists(state_ / "state" / "models" / "mlp.cmodel"));
}

TEST_F(LimitsTest, ConcurrentRequestsBeyondTheLimitGet503AndSlotsComeBack) {
  Start({{"max_concurrent_requests", 2}, {"max_connections", 8}, {"request_timeout_seconds", 30}});
  // Two uploads whose headers are sent and whose bodies stall: each holds a slot.
  std::promise<void> release_promise;
  std::shared_future<void> release = release_promise.get_future().share();
  std::atomic<int> stalled{0};
  std::vector<std::thread> uploads;
  for (int i = 0; i < 2; ++i) {
    uploads.emplace_back([&, i] {
      auto cli = Raw();
      (void)cli->Put(
          "/v2/repository/models/slow" + std::to_string(i), 16,
          [&](size_t offset, size_t length, httplib::DataSink& sink) {
            if (offset == 0) {
              ++stalled;
              release.wait();
            }
            std::string chunk(length, 'x');
            sink.write(chunk.data(), chunk.size());
            return true;
          },
          "application/octet-stream");
    });
  }
  while (stalled < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // headers reach the server

  auto busy = Raw()->Get("/v2/models");
  ExpectError(busy, 503, "unavailable");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
  // Health checks stay answerable while busy.
  EXPECT_TRUE(Serving());

  release_promise.set_value();
  for (auto& t : uploads) t.join();
  // Every slot came back: many more sequential requests than the limit pass.
  for (int i = 0; i < 10; ++i) {
    auto res = Raw()->Get("/v2/models");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
  }
}

TEST_F(LimitsTest, SilentConnectionsAreClosedByTheTimeouts) {
  Start({{"request_timeout_seconds", 1}, {"idle_timeout_seconds", 1}});
  // A client that connects and never speaks (slowloris) loses its connection.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const auto start = std::chrono::steady_clock::now();
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 15000), 1) << "the server kept a silent connection open for 15 s";
  char buf[16];
  EXPECT_LE(::recv(fd, buf, sizeof(buf), 0), 0);
  ::close(fd);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_TRUE(Serving());
}

TEST_F(LimitsTest, ErrorsAreJsonWithoutInternals) {
  Start({{"max_request_bytes", 1024}});
  ExpectError(Raw()->Get("/no/such/path"), 404, "not_found");
  ExpectError(Raw()->Post("/v2/models/none/infer", "{", "application/json"), 404, "not_found");
  auto res = Raw()->Post("/v2/models/none/infer", std::string(2048, '['), "application/json");
  ExpectError(res, 413, "resource_exhausted");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body.find(state_.string()), std::string::npos);
}

// Two servers on one state directory would interleave the audit log, the
// receipt counter and the model files: the second refuses to start.
TEST_F(LimitsTest, SecondServerOnTheSameStateDirectoryRefusesToStart) {
  Start(json::object());
  ServerOptions options;
  options.state_dir = (state_ / "state").string();
  options.config_path = (state_ / "config.json").string();
  auto second = Server::Create(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kFailedPrecondition) << second.status().ToString();
  EXPECT_NE(second.status().message().find("in use by another citadel server"), std::string::npos)
      << second.status().ToString();
  // The first one keeps serving.
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->ListModels().ok());
}

// A client that trickles its body (a little data before every read
// timeout) must not hold a worker as long as it likes: the whole body has
// limits.body_timeout_seconds. Control: the same trickle within the limit
// stores the model.
TEST_F(LimitsTest, TricklingBodyIsCutOffByTheBodyTimeout) {
  ::signal(SIGPIPE, SIG_IGN);
  auto model = ReadFileBytes(ModelFile("mlp_dynamic.onnx"));
  ASSERT_TRUE(model.ok());
  const std::string body(model->begin(), model->end());
  auto trickle = [&](httplib::SSLClient& cli, const std::string& name) {
    const size_t step = body.size() / 12 + 1;
    return cli.Put(("/v2/repository/models/" + name).c_str(), body.size(),
                   [&](size_t offset, size_t, httplib::DataSink& sink) {
                     std::this_thread::sleep_for(std::chrono::milliseconds(250));
                     const size_t n = std::min(step, body.size() - offset);
                     return sink.write(body.data() + offset, n);
                   },
                   "application/octet-stream");
  };
  Start({{"body_timeout_seconds", 1}});
  auto cut = trickle(*Raw(), "slow");
  // Either the 408 arrives, or the server closed the connection while the
  // client was still writing (httplib writes the whole body first).
  if (cut) ExpectError(cut, 408, "unavailable");
  EXPECT_TRUE(Serving());
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->GetModel("slow").status().code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists(state_ / "state" / "models" / "slow.cmodel"));
  TearDown();
  server_.reset();

  Start({{"body_timeout_seconds", 60}});
  auto ok = trickle(*Raw(), "slow");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 200) << ok->body;
}

}  // namespace
}  // namespace citadel
