// The real server on loopback, driven by the real client SDK (and, for
// malformed requests the SDK would never send, by a raw HTTPS client).
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/x509v3.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <thread>

#include "citadel/channel.h"
#include "citadel/client.h"
#include "citadel/crypto.h"
#include "citadel/npy.h"
#include "citadel/server.h"

namespace citadel {
namespace {

namespace fs = std::filesystem;

std::string ModelPath(const std::string& file) { return std::string(CITADEL_SOURCE_DIR) + "/models/" + file; }

fs::path TempDir(const std::string& tag) {
  fs::path dir = fs::temp_directory_path() / ("citadel-" + tag + "-" + std::to_string(::getpid()) + "-" +
                                              std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  return dir;
}

// A server running on its own thread for the life of the fixture.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = TempDir("server");
    ServerOptions options;
    options.state_dir = (state_ / "state").string();
    options.port = 0;
    auto server = Server::Create(options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    thread_ = std::thread([this] { (void)server_->Run(); });
    url_ = "https://127.0.0.1:" + std::to_string(server_->port());
    measurement_ = server_->platform().measurement();
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    fs::remove_all(state_);
  }

  Policy SimPolicy() const {
    Policy p;
    p.allow_simulation = true;
    p.measurements = {measurement_};
    return p;
  }

  std::unique_ptr<Client> ConnectOrDie() {
    ClientOptions options;
    options.policy = SimPolicy();
    auto client = Client::Connect(url_, options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  // Raw HTTPS for requests the SDK would refuse to build. Not attested: the
  // test only needs to reach the handlers.
  httplib::Result Raw(const std::string& method, const std::string& path, const std::string& body = "") {
    httplib::SSLClient cli("127.0.0.1", server_->port());
    cli.enable_server_certificate_verification(false);
    if (method == "POST") return cli.Post(path, body, "application/json");
    if (method == "PUT") return cli.Put(path, body, "application/octet-stream");
    return cli.Get(path);
  }

  fs::path state_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::string url_;
  Bytes measurement_;
};

void ExpectClose(const Tensor& got, const Tensor& want, float tol) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.shape(), want.shape());
  for (size_t i = 0; i < got.num_elements(); ++i) {
    EXPECT_NEAR(got.data<float>()[i], want.data<float>()[i], tol) << "element " << i;
  }
}

TEST_F(ServerTest, AttestUploadInferListDeleteThenInferRefused) {
  auto client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->attestation().simulation);
  EXPECT_EQ(client->attestation().measurement, measurement_);

  auto model_bytes = ReadFileBytes(ModelPath("xray_cnn.onnx"));
  ASSERT_TRUE(model_bytes.ok()) << model_bytes.status().ToString();
  auto info = client->UploadModel("xray", *model_bytes);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->id, HexEncode(Sha256(*model_bytes)));
  EXPECT_EQ(info->version, 1);
  ASSERT_EQ(info->inputs.size(), 1u);

  auto image = ReadNpyFile(ModelPath("xray_sample.npy"));
  auto expected = ReadNpyFile(ModelPath("xray_expected.npy"));
  ASSERT_TRUE(image.ok() && expected.ok());
  auto outputs = client->Infer("xray", {{info->inputs[0].name, *image}});
  ASSERT_TRUE(outputs.ok()) << outputs.status().ToString();
  ASSERT_EQ(outputs->size(), 1u);
  ExpectClose((*outputs)[0].tensor, *expected, 1e-4f);

  auto list = client->ListModels();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "xray");

  ASSERT_TRUE(client->DeleteModel("xray").ok());
  auto refused = client->Infer("xray", {{info->inputs[0].name, *image}});
  EXPECT_EQ(refused.status().code(), Code::kNotFound);
  EXPECT_EQ(client->DeleteModel("xray").code(), Code::kNotFound);
}

TEST_F(ServerTest, RefusesSimulationUnlessPolicyAllowsIt) {
  ClientOptions options;
  options.policy = SimPolicy();
  options.policy.allow_simulation = false;
  auto client = Client::Connect(url_, options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), Code::kPolicyRejected) << client.status().ToString();
  EXPECT_NE(client.status().message().find("simulation"), std::string::npos) << client.status().message();
}

TEST_F(ServerTest, RefusesMeasurementNotInPolicy) {
  ClientOptions options;
  options.policy = SimPolicy();
  Bytes other = measurement_;
  other[0] ^= 1;
  options.policy.measurements = {other};
  auto client = Client::Connect(url_, options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), Code::kPolicyRejected) << client.status().ToString();
}

TEST_F(ServerTest, RefusesStaleNonce) {
  auto client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  Bytes old_nonce(32, 0x11), new_nonce(32, 0x22);
  auto old_evidence = client->FetchEvidence(old_nonce);
  ASSERT_TRUE(old_evidence.ok()) << old_evidence.status().ToString();
  // A server (or a man in the middle) replaying yesterday's answer.
  auto replayed = VerifyFreshEvidence(*old_evidence, SimPolicy(), client->pinned_key(), new_nonce);
  EXPECT_EQ(replayed.status().code(), Code::kAttestationFailed) << replayed.status().ToString();
  auto fresh = VerifyFreshEvidence(*old_evidence, SimPolicy(), client->pinned_key(), old_nonce);
  EXPECT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_TRUE(client->Attest(new_nonce).ok());
}

// An impostor copies a genuine certificate's evidence extension into a
// certificate for its own key. The evidence is authentic but binds the
// genuine key, so the client must refuse before sending anything.
TEST_F(ServerTest, RefusesCertificateWhoseKeyIsNotBoundInEvidence) {
  // Fetch the genuine certificate from the running server.
  X509Ptr genuine;
  {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    BIO* bio = BIO_new_ssl_connect(ctx);
    std::string target = "127.0.0.1:" + std::to_string(server_->port());
    BIO_set_conn_hostname(bio, target.c_str());
    ASSERT_EQ(BIO_do_handshake(bio), 1);
    SSL* ssl = nullptr;
    BIO_get_ssl(bio, &ssl);
    genuine.reset(SSL_get1_peer_certificate(ssl));
    BIO_free_all(bio);
    SSL_CTX_free(ctx);
  }
  ASSERT_TRUE(genuine);
  std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)> oid(OBJ_txt2obj("2.23.133.5.4.9", 1), ASN1_OBJECT_free);
  int idx = X509_get_ext_by_OBJ(genuine.get(), oid.get(), -1);
  ASSERT_GE(idx, 0);

  auto rogue_key = GenerateEcKey(Curve::kP256);
  ASSERT_TRUE(rogue_key.ok());
  X509Ptr rogue(X509_new());
  X509_set_version(rogue.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(rogue.get()), 7);
  X509_gmtime_adj(X509_getm_notBefore(rogue.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(rogue.get()), 3600);
  X509_set_subject_name(rogue.get(), X509_get_subject_name(genuine.get()));
  X509_set_issuer_name(rogue.get(), X509_get_subject_name(genuine.get()));
  X509_set_pubkey(rogue.get(), rogue_key->get());
  X509_add_ext(rogue.get(), X509_get_ext(genuine.get(), idx), -1);
  ASSERT_GT(X509_sign(rogue.get(), rogue_key->get(), EVP_sha256()), 0);

  httplib::SSLServer impostor(rogue.get(), rogue_key->get());
  std::atomic<bool> reached{false};
  impostor.Get("/v2/health/live", [&](const httplib::Request&, httplib::Response& res) {
    reached = true;
    res.set_content("{\"live\":true}", "application/json");
  });
  int port = impostor.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread t([&] { impostor.listen_after_bind(); });
  ClientOptions options;
  options.policy = SimPolicy();
  auto client = Client::Connect("https://127.0.0.1:" + std::to_string(port), options);
  impostor.stop();
  t.join();
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), Code::kAttestationFailed) << client.status().ToString();
  EXPECT_FALSE(reached) << "the client sent a request to an unverified server";
}

TEST_F(ServerTest, MalformedUploadsAreRejectedAndServerKeepsServing) {
  auto client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  auto model_bytes = ReadFileBytes(ModelPath("xray_cnn.onnx"));
  ASSERT_TRUE(model_bytes.ok());
  ASSERT_TRUE(client->UploadModel("good", *model_bytes).ok());

  Bytes garbage(4096);
  std::mt19937 rng(42);
  for (auto& b : garbage) b = static_cast<uint8_t>(rng());
  auto r1 = client->UploadModel("bad", garbage);
  EXPECT_EQ(r1.status().code(), Code::kInvalidArgument) << r1.status().ToString();
  Bytes truncated(model_bytes->begin(), model_bytes->begin() + model_bytes->size() / 2);
  auto r2 = client->UploadModel("bad", truncated);
  EXPECT_FALSE(r2.ok());
  auto r3 = client->UploadModel("bad", Bytes{});
  EXPECT_EQ(r3.status().code(), Code::kInvalidArgument);
  auto r4 = client->UploadModel("../etc", *model_bytes);
  EXPECT_EQ(r4.status().code(), Code::kInvalidArgument);
  // A replacement must not go backwards in version.
  UploadOptions v1;
  v1.version = 1;
  auto r5 = client->UploadModel("good", *model_bytes, v1);
  EXPECT_EQ(r5.status().code(), Code::kFailedPrecondition) << r5.status().ToString();

  // Nothing was lost: the good model is still there and still answers.
  auto list = client->ListModels();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "good");
  auto image = ReadNpyFile(ModelPath("xray_sample.npy"));
  ASSERT_TRUE(image.ok());
  auto out = client->Infer("good", {{(*list)[0].inputs[0].name, *image}});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
}

TEST_F(ServerTest, MalformedInferRequestsGetClearErrorsAndServerKeepsServing) {
  auto client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  auto model_bytes = ReadFileBytes(ModelPath("xray_cnn.onnx"));
  ASSERT_TRUE(model_bytes.ok());
  auto info = client->UploadModel("xray", *model_bytes);
  ASSERT_TRUE(info.ok());
  const std::string input = info->inputs[0].name;
  const std::string path = "/v2/models/xray/infer";

  struct Case {
    std::string body;
    std::string must_mention;
    int status = 400;
  };
  const std::vector<Case> cases = {
      {"not json at all", "JSON"},
      {"[1,2,3]", "object"},
      {"{}", "inputs"},
      {R"({"inputs": 5})", "array"},
      {R"({"inputs": [{"name": ")" + input + R"(", "shape": [1,1,64,64], "datatype": "FP32", "data": [1,2,3]}]})",
       "elements"},
      {R"({"inputs": [{"name": ")" + input + R"(", "shape": [1,1,64,64], "datatype": "NOPE", "data": []}]})",
       "datatype"},
      {R"({"inputs": [{"name": ")" + input + R"(", "shape": [-1], "datatype": "FP32", "data": []}]})", "shape"},
      {R"({"inputs": [{"name": ")" + input + R"(", "shape": [100000000000, 100000000000], "datatype": "FP32", "data": []}]})",
       "elements", 413},
      {R"({"inputs": [{"name": ")" + input + R"(", "shape": [1], "datatype": "FP32", "data": ["x"]}]})", "number"},
      {R"({"inputs": [{"name": "wrong_name", "shape": [1], "datatype": "FP32", "data": [1]}]})", "wrong_name"},
      {R"({"inputs": [{"name": ")" + input + R"(", "shape": [1,1,2,2], "datatype": "FP32", "data": [1,2,3,4]}]})",
       ""},
      {R"({"inputs": [], "bogus": 1})", "bogus"},
  };
  for (const auto& c : cases) {
    auto res = Raw("POST", path, c.body);
    ASSERT_TRUE(res) << c.body;
    EXPECT_EQ(res->status, c.status) << c.body << " -> " << res->body;
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error") && j.contains("code")) << res->body;
    if (!c.must_mention.empty()) {
      EXPECT_NE(j["error"].get<std::string>().find(c.must_mention), std::string::npos)
          << c.body << " -> " << res->body;
    }
  }
  auto unknown = Raw("GET", "/v2/nowhere");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);

  // Still serving, still correct.
  auto image = ReadNpyFile(ModelPath("xray_sample.npy"));
  auto expected = ReadNpyFile(ModelPath("xray_expected.npy"));
  ASSERT_TRUE(image.ok() && expected.ok());
  auto out = client->Infer("xray", {{input, *image}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectClose((*out)[0].tensor, *expected, 1e-4f);
}

TEST_F(ServerTest, AttestationEndpointValidatesNonce) {
  auto missing = Raw("GET", "/v2/attestation");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 400);
  auto short_nonce = Raw("GET", "/v2/attestation?nonce=abcd");
  ASSERT_TRUE(short_nonce);
  EXPECT_EQ(short_nonce->status, 400);
  auto not_hex = Raw("GET", "/v2/attestation?nonce=" + std::string(64, 'z'));
  ASSERT_TRUE(not_hex);
  EXPECT_EQ(not_hex->status, 400);
  auto meta = Raw("GET", "/v2");
  ASSERT_TRUE(meta);
  auto j = nlohmann::json::parse(meta->body);
  EXPECT_EQ(j["simulation"], true);
  EXPECT_NE(j["warning"].get<std::string>().find("SIMULATION"), std::string::npos);
}

}  // namespace
}  // namespace citadel
