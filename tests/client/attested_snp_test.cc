// End to end over real loopback TLS: the real server on the real SEV-SNP
// backend (src/tee/snp_platform.cc) whose "hardware" is a fake
// /dev/sev-guest or a fake configfs-tsm tree signing with a test ARK -> ASK
// -> VCEK hierarchy generated here, and the real client SDK judging it with
// collateral, trust anchors and an appraisal instant (ClientOptions), i.e.
// the same appraisal `citadel verify` runs. A refused server is refused in
// the TLS handshake, before any request is sent.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "../attest/snp_pki.h"
#include "../tee/fake_tee.h"
#include "citadel/attest/collateral.h"
#include "citadel/client.h"
#include "citadel/server.h"

namespace citadel {
namespace {

namespace fs = std::filesystem;
using snptest::Pki;

fs::path TempDir(const std::string& tag) {
  fs::path dir = fs::temp_directory_path() / ("citadel-" + tag + "-" + std::to_string(::getpid()) + "-" +
                                              std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  return dir;
}

constexpr uint8_t kMeasurementFill = 0x3C;

// /dev/sev-guest whose firmware signs with the test VCEK (SNP_GET_REPORT:
// no certificate table) and derives a fixed sealing key.
class SigningSevGuest final : public SevGuestDevice {
 public:
  explicit SigningSevGuest(const Pki* pki) : pki_(pki) {}
  std::atomic<int> report_calls{0};

  Result<Bytes> GetReport(const ReportData& user_data, uint32_t vmpl) override {
    ++report_calls;
    snptest::ReportSpec spec;
    spec.measurement.fill(kMeasurementFill);
    spec.report_data = user_data;
    spec.vmpl = vmpl;
    Bytes report = snptest::MakeReport(*pki_, spec);
    Bytes resp(32 + report.size(), 0);  // MSG_REPORT_RSP: status 0, report_size, 24 reserved, report
    snptest::PutLe(resp, 4, report.size(), 4);
    std::copy(report.begin(), report.end(), resp.begin() + 32);
    return resp;
  }
  Result<SecretBytes> GetDerivedKey(const SnpDerivedKeyRequest&) override {
    Bytes resp(64, 0);  // MSG_KEY_RSP: status 0, 28 reserved, key
    std::fill(resp.begin() + 32, resp.end(), 0x42);
    return SecretBytes(ByteSpan(resp));
  }

 private:
  const Pki* pki_;
};

class AttestedSnpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new Pki(snptest::MakeMilanPki());
    other_ = new Pki(snptest::MakeMilanPki());
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete other_;
  }

  // `with_cert_table`: reports come from configfs-tsm with the host's
  // certificate table in auxblob (an extended report); else from
  // /dev/sev-guest SNP_GET_REPORT, which carries none.
  void StartServer(bool with_cert_table) {
    dir_ = TempDir("attested-snp");
    device_ = std::make_shared<SigningSevGuest>(pki_);
    PlatformOptions hw;
    hw.root = (dir_ / "hw").string();
    fs::create_directories(hw.root);
    hw.sev_guest = device_;  // sealing keys in both modes
    if (with_cert_table) {
      kernel_ = std::make_unique<testing_tee::FakeTsmKernel>(hw.root);
      kernel_->provider = "sev_guest";
      kernel_->make_outblob = [](const Bytes& inblob) -> std::optional<Bytes> {
        snptest::ReportSpec spec;
        spec.measurement.fill(kMeasurementFill);
        if (inblob.size() != spec.report_data.size()) return std::nullopt;
        std::copy(inblob.begin(), inblob.end(), spec.report_data.begin());
        return snptest::MakeReport(*pki_, spec);
      };
      kernel_->auxblob = snptest::HostCertTable(*pki_, 1000);
      kernel_->Install(hw);
    }
    ServerOptions options;
    options.state_dir = (dir_ / "state").string();
    options.port = 0;
    options.platform = "snp";
    options.platform_for_tests = hw;
    auto server = Server::Create(options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    thread_ = std::thread([this] { (void)server_->Run(); });
    url_ = "https://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  static Policy PolicyFor(uint8_t measurement_fill) {
    Policy p;
    p.measurements = {Bytes(48, measurement_fill)};
    return p;
  }
  // The client side of a real deployment: the VCEK and the ASK+ARK chain
  // (AMD KDS cert_chain) as collateral, as `citadel verify --collateral`
  // imports them, and the ARK as the only trust anchor.
  static ClientOptions GoodOptions() {
    ClientOptions o;
    o.policy = PolicyFor(kMeasurementFill);
    auto bundle = std::make_shared<CollateralBundle>();
    EXPECT_TRUE(bundle->ImportBytes(pki_->VcekDer(), "test:vcek", "").ok());
    Bytes chain = pki_->AskPem();
    Bytes ark = pki_->ArkPem();
    chain.insert(chain.end(), ark.begin(), ark.end());
    EXPECT_TRUE(bundle->ImportBytes(chain, "test:cert_chain", "").ok());
    o.collateral = bundle;
    o.trust_anchors = {pki_->ArkPem()};
    o.timeout = std::chrono::seconds(30);
    return o;
  }
  // Connects and expects a refusal in the handshake: no request reached the
  // server, so it was never asked for fresh evidence either.
  Status ExpectRefused(const ClientOptions& o) {
    const int before = device_->report_calls.load();
    auto client = Client::Connect(url_, o);
    EXPECT_FALSE(client.ok());
    EXPECT_EQ(device_->report_calls.load(), before) << "the refused client asked for fresh evidence";
    return client.ok() ? Status::Ok() : client.status();
  }

  static Pki* pki_;
  static Pki* other_;
  fs::path dir_;
  std::shared_ptr<SigningSevGuest> device_;
  std::unique_ptr<testing_tee::FakeTsmKernel> kernel_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::string url_;
};
Pki* AttestedSnpTest::pki_ = nullptr;
Pki* AttestedSnpTest::other_ = nullptr;

TEST_F(AttestedSnpTest, AcceptedWithTestRootAndCollateral) {
  ASSERT_NO_FATAL_FAILURE(StartServer(false));
  const int before = device_->report_calls.load();
  auto client = Client::Connect(url_, GoodOptions());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const VerifiedEvidence& v = (*client)->attestation();
  EXPECT_EQ(v.kind, EvidenceKind::kSevSnp);
  EXPECT_FALSE(v.simulation);
  EXPECT_EQ(v.measurement, Bytes(48, kMeasurementFill));
  EXPECT_EQ(v.claims.at("snp.vek_source"), "collateral");
  EXPECT_EQ(v.claims.at("snp.product"), "Milan");
  // Connect asked for fresh evidence over its nonce (one more report).
  EXPECT_EQ(device_->report_calls.load(), before + 1);
  // The channel works: a request, and fresh evidence on demand.
  auto models = (*client)->ListModels();
  ASSERT_TRUE(models.ok()) << models.status().ToString();
  Bytes nonce(32, 0x77);
  auto fresh = (*client)->Attest(nonce);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(fresh->measurement, v.measurement);
}

TEST_F(AttestedSnpTest, RefusedWithoutCollateral) {
  ASSERT_NO_FATAL_FAILURE(StartServer(false));
  ClientOptions o = GoodOptions();
  o.collateral = nullptr;
  Status st = ExpectRefused(o);
  EXPECT_EQ(st.code(), Code::kAttestationFailed) << st.ToString();
  EXPECT_NE(st.message().find("server evidence is invalid (snp): snp.vek_missing: no collateral for SEV-SNP"),
            std::string::npos)
      << st.ToString();
  EXPECT_NE(st.message().find("--collateral"), std::string::npos) << st.ToString();
}

TEST_F(AttestedSnpTest, RefusedWithWrongRoot) {
  ASSERT_NO_FATAL_FAILURE(StartServer(false));
  ClientOptions o = GoodOptions();
  o.trust_anchors = {other_->ArkPem()};
  Status st = ExpectRefused(o);
  EXPECT_EQ(st.code(), Code::kAttestationFailed);
  EXPECT_NE(st.message().find("snp.untrusted_root:"), std::string::npos) << st.ToString();
  // The built-in AMD roots do not know the test ARK either.
  o.trust_anchors.clear();
  st = ExpectRefused(o);
  EXPECT_NE(st.message().find("snp.untrusted_root:"), std::string::npos) << st.ToString();
  // Without the ARK in the collateral, the trusted ARK of the same name is
  // used as the ASK's issuer, and its key does not verify the ASK.
  auto no_ark = std::make_shared<CollateralBundle>();
  ASSERT_TRUE(no_ark->ImportBytes(pki_->VcekDer(), "test:vcek", "").ok());
  ASSERT_TRUE(no_ark->ImportBytes(pki_->AskPem(), "test:ask", "").ok());
  o.collateral = no_ark;
  o.trust_anchors = {other_->ArkPem()};
  st = ExpectRefused(o);
  EXPECT_NE(st.message().find("snp.ask_signature:"), std::string::npos) << st.ToString();
}

TEST_F(AttestedSnpTest, RefusedWithAnotherChipsVcek) {
  ASSERT_NO_FATAL_FAILURE(StartServer(false));
  ClientOptions o = GoodOptions();
  auto bundle = std::make_shared<CollateralBundle>();
  ASSERT_TRUE(bundle->ImportBytes(other_->VcekDer(), "test:vcek", "").ok());
  ASSERT_TRUE(bundle->ImportBytes(pki_->AskPem(), "test:ask", "").ok());
  ASSERT_TRUE(bundle->ImportBytes(pki_->ArkPem(), "test:ark", "").ok());
  o.collateral = bundle;
  Status st = ExpectRefused(o);
  EXPECT_EQ(st.code(), Code::kAttestationFailed);
  // other_'s VCEK is not signed by pki_'s ASK.
  EXPECT_NE(st.message().find("snp.vek_signature:"), std::string::npos) << st.ToString();
}

TEST_F(AttestedSnpTest, RefusedByPolicyMismatch) {
  ASSERT_NO_FATAL_FAILURE(StartServer(false));
  ClientOptions o = GoodOptions();
  o.policy = PolicyFor(kMeasurementFill ^ 0xFF);
  Status st = ExpectRefused(o);
  EXPECT_EQ(st.code(), Code::kPolicyRejected) << st.ToString();
  EXPECT_EQ(st.message().rfind("policy.measurement:", 0), 0u) << st.ToString();
  // A platform-section constraint is reported by its own name.
  o.policy = PolicyFor(kMeasurementFill);
  o.policy.snp = SnpPolicy{};
  o.policy.snp->min_tcb = SnpTcbMinimum{};
  o.policy.snp->min_tcb->snp = snptest::kSnp + 1;
  st = ExpectRefused(o);
  EXPECT_EQ(st.code(), Code::kPolicyRejected) << st.ToString();
  EXPECT_NE(st.message().find("policy.snp.min_tcb"), std::string::npos) << st.ToString();
}

TEST_F(AttestedSnpTest, AppraisalInstantDecidesExpiry) {
  ASSERT_NO_FATAL_FAILURE(StartServer(false));
  ClientOptions o = GoodOptions();
  // The test VCEK lives ten years from now; twenty years on it has expired.
  o.verify_at = std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 20);
  Status st = ExpectRefused(o);
  EXPECT_EQ(st.code(), Code::kAttestationFailed);
  EXPECT_NE(st.message().find("server evidence is expired (snp): snp."), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("_validity:"), std::string::npos) << st.ToString();
  // And before the hierarchy existed it is not yet valid.
  o.verify_at = std::chrono::system_clock::now() - std::chrono::hours(24 * 30);
  st = ExpectRefused(o);
  EXPECT_NE(st.message().find("not yet valid"), std::string::npos) << st.ToString();
}

TEST_F(AttestedSnpTest, ExtendedReportCarriesItsVcek) {
  ASSERT_NO_FATAL_FAILURE(StartServer(true));
  ClientOptions o = GoodOptions();
  o.collateral = nullptr;  // the server's certificate table is enough
  auto client = Client::Connect(url_, o);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ((*client)->attestation().claims.at("snp.vek_source"), "evidence certificate table");
  EXPECT_EQ((*client)->attestation().measurement, Bytes(48, kMeasurementFill));
  // The carried certificates do not make the host's hierarchy trusted.
  o.trust_anchors = {other_->ArkPem()};
  auto refused = Client::Connect(url_, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("snp.untrusted_root:"), std::string::npos)
      << refused.status().ToString();
}

}  // namespace
}  // namespace citadel
