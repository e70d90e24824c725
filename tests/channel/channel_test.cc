// Attested TLS: envelope codec, server identity, certificate verification,
// and real TLS 1.3 handshakes over loopback TCP.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "citadel/channel.h"

namespace citadel {
namespace {

// ---- fixtures -------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "citadel-chan-XXXXXX").string();
    path_ = ::mkdtemp(t.data()) ? t : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Sub(const std::string& n) const { return path_ + "/" + n; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct SslCtxDeleter { void operator()(SSL_CTX* p) const { SSL_CTX_free(p); } };
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

// A TCP listener on 127.0.0.1 that runs one TLS server handshake, sends
// "ping" on success, and records whether its side succeeded.
class OneShotTlsServer {
 public:
  OneShotTlsServer(X509* cert, EVP_PKEY* key) {
    ctx_.reset(SSL_CTX_new(TLS_server_method()));
    EXPECT_EQ(SSL_CTX_use_certificate(ctx_.get(), cert), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx_.get(), key), 1);
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listen_fd_, 1), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~OneShotTlsServer() {
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
  }
  uint16_t port() const { return port_; }
  bool Join() {
    thread_.join();
    return server_ok_;
  }

 private:
  void Serve() {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    SSL* ssl = SSL_new(ctx_.get());
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      server_ok_ = SSL_write(ssl, "ping", 4) == 4;
      SSL_shutdown(ssl);
    }
    ERR_clear_error();
    SSL_free(ssl);
    ::close(fd);
  }

  SslCtxPtr ctx_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  bool server_ok_ = false;
};

// Connects with `client_ctx`; true if the handshake completed and the
// server's first application bytes arrived.
bool ClientHandshake(SSL_CTX* client_ctx, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return false;
  }
  SSL* ssl = SSL_new(client_ctx);
  SSL_set_fd(ssl, fd);
  bool ok = SSL_connect(ssl) == 1;
  if (ok) {
    EXPECT_EQ(SSL_version(ssl), TLS1_3_VERSION);
    char buf[4];
    ok = SSL_read(ssl, buf, 4) == 4 && std::string(buf, 4) == "ping";
    SSL_shutdown(ssl);
  }
  ERR_clear_error();
  SSL_free(ssl);
  ::close(fd);
  return ok;
}

struct Attempt {
  bool client_ok;
  bool server_ok;
};

Attempt RunHandshake(X509* cert, EVP_PKEY* key, SSL_CTX* client_ctx) {
  OneShotTlsServer server(cert, key);
  bool client_ok = ClientHandshake(client_ctx, server.port());
  bool server_ok = server.Join();
  return {client_ok, server_ok};
}

Attempt RunHandshake(const ServerIdentity& id, SSL_CTX* client_ctx) {
  return RunHandshake(id.certificate.get(), id.key.get(), client_ctx);
}

class ChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    std::string binary = tmp_.Sub("bin");
    std::ofstream(binary) << "citadel build under test";
    SimPlatformOptions o;
    o.state_dir = tmp_.Sub("state");
    o.binary_path = binary;
    o.config_bytes = Bytes{'{', '}'};
    auto p = OpenSimPlatform(o);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    platform_ = std::move(p).value();
    auto id = CreateServerIdentity(*platform_, "localhost");
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    id_ = std::move(id).value();
  }

  Policy AllowingPolicy() const {
    Policy p;
    p.allow_simulation = true;
    p.measurements = {platform_->measurement()};
    return p;
  }

  SslCtxPtr ClientCtx(AttestedTlsVerifier& verifier) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    EXPECT_TRUE(verifier.Install(ctx.get()).ok());
    return ctx;
  }

  TempDir tmp_;
  std::unique_ptr<Platform> platform_;
  ServerIdentity id_;
};

// ---- envelope -----------------------------------------------------------------

TEST(EnvelopeTest, RoundTripAndLayout) {
  Evidence e{EvidenceKind::kTdx, Bytes{1, 2, 3, 4, 5}};
  Bytes env = EncodeEvidenceEnvelope(e);
  ASSERT_EQ(env.size(), 8 + 2 + 1 + 4 + 5u);
  EXPECT_EQ(AsStringView(ByteSpan(env.data(), 8)), "CTDLEVID");
  EXPECT_EQ(env[8], 1);
  EXPECT_EQ(env[9], 0);
  EXPECT_EQ(env[10], 3);
  EXPECT_EQ(env[11], 5);
  auto back = DecodeEvidenceEnvelope(env);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->kind, EvidenceKind::kTdx);
  EXPECT_EQ(back->bytes, e.bytes);
}

TEST(EnvelopeTest, Rejects) {
  Bytes env = EncodeEvidenceEnvelope(Evidence{EvidenceKind::kSim, Bytes(10, 9)});
  for (size_t n = 0; n < env.size(); ++n) {
    EXPECT_FALSE(DecodeEvidenceEnvelope(ByteSpan(env.data(), n)).ok()) << n;
  }
  Bytes t = env;
  t.push_back(0);
  EXPECT_NE(DecodeEvidenceEnvelope(t).status().message().find("trailing"), std::string::npos);
  t = env;
  t[0] = 'X';
  EXPECT_FALSE(DecodeEvidenceEnvelope(t).ok());
  t = env;
  t[8] = 4;
  EXPECT_NE(DecodeEvidenceEnvelope(t).status().message().find("version 4"), std::string::npos);
  // A version 1 body relabelled version 2 lacks its endorsements field.
  t = env;
  t[8] = 2;
  EXPECT_NE(DecodeEvidenceEnvelope(t).status().message().find("truncated endorsements"), std::string::npos);
  for (uint8_t kind : {0, 6, 255}) {
    t = env;
    t[10] = kind;
    EXPECT_NE(DecodeEvidenceEnvelope(t).status().message().find("unknown evidence kind"),
              std::string::npos);
  }
  Bytes empty = EncodeEvidenceEnvelope(Evidence{EvidenceKind::kSim, {}});
  EXPECT_FALSE(DecodeEvidenceEnvelope(empty).ok());
  EXPECT_EQ(DecodeEvidenceEnvelope(empty).status().code(), Code::kAttestationFailed);
}

TEST(EnvelopeTest, DevicesTravelInVersion3) {
  Evidence e(EvidenceKind::kSevSnp, Bytes(1184, 7));
  e.devices.push_back(Evidence(EvidenceKind::kNvidiaGpu, Bytes(300, 1), Bytes{'p', 'e', 'm'}));
  e.devices.push_back(Evidence(EvidenceKind::kNvidiaGpu, Bytes(200, 2)));
  Bytes env = EncodeEvidenceEnvelope(e);
  EXPECT_EQ(env[8], 3);
  auto back = DecodeEvidenceEnvelope(env);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->bytes, e.bytes);
  EXPECT_TRUE(back->endorsements.empty());
  ASSERT_EQ(back->devices.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back->devices[i].kind, EvidenceKind::kNvidiaGpu);
    EXPECT_EQ(back->devices[i].bytes, e.devices[i].bytes);
    EXPECT_EQ(back->devices[i].endorsements, e.devices[i].endorsements);
    EXPECT_TRUE(back->devices[i].devices.empty());
  }
  // The same evidence without devices is written as version 1 or 2.
  e.devices.clear();
  EXPECT_EQ(EncodeEvidenceEnvelope(e)[8], 1);
  e.endorsements = {1};
  EXPECT_EQ(EncodeEvidenceEnvelope(e)[8], 2);

  for (size_t n = 0; n < env.size(); ++n) {
    EXPECT_FALSE(DecodeEvidenceEnvelope(ByteSpan(env.data(), n)).ok()) << n;
  }
  Bytes t = env;
  t.push_back(0);
  EXPECT_NE(DecodeEvidenceEnvelope(t).status().message().find("trailing"), std::string::npos);
  // Device count: the byte after the (empty) endorsements.
  const size_t count_at = 8 + 2 + 1 + 4 + 1184 + 4;
  ASSERT_EQ(env[count_at], 2);
  t = env;
  t[count_at] = 0;
  EXPECT_NE(DecodeEvidenceEnvelope(t).status().message().find("no devices"), std::string::npos);
  t = env;
  t[count_at] = 9;
  EXPECT_NE(DecodeEvidenceEnvelope(t).status().message().find("more than 8 devices"), std::string::npos);
  // A device must be GPU evidence without devices of its own.
  const size_t device_kind_at = count_at + 1 + 4 + 8 + 2;
  ASSERT_EQ(env[device_kind_at], static_cast<uint8_t>(EvidenceKind::kNvidiaGpu));
  t = env;
  t[device_kind_at] = static_cast<uint8_t>(EvidenceKind::kSim);
  auto st = DecodeEvidenceEnvelope(t).status();
  EXPECT_NE(st.message().find("device 0: evidence envelope: device evidence must be NVIDIA GPU evidence"),
            std::string::npos)
      << st.ToString();
  t = env;
  t[device_kind_at - 2] = 3;  // the device envelope's version
  EXPECT_NE(DecodeEvidenceEnvelope(t).status().message().find("a device envelope cannot hold devices"),
            std::string::npos);
}

TEST(EnvelopeTest, EndorsementsTravelInVersion2) {
  Evidence e(EvidenceKind::kSevSnp, Bytes(1184, 7), Bytes{9, 8, 7, 6});
  Bytes env = EncodeEvidenceEnvelope(e);
  ASSERT_EQ(env.size(), 8 + 2 + 1 + 4 + 1184 + 4 + 4u);
  EXPECT_EQ(env[8], 2);
  auto back = DecodeEvidenceEnvelope(env);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->kind, EvidenceKind::kSevSnp);
  EXPECT_EQ(back->bytes, e.bytes);
  EXPECT_EQ(back->endorsements, e.endorsements);
  // Without endorsements the envelope stays version 1 (older clients read it).
  EXPECT_EQ(EncodeEvidenceEnvelope(Evidence(EvidenceKind::kSevSnp, Bytes(1184, 7)))[8], 1);
  // Every truncation fails; so do trailing bytes, empty endorsements and an
  // oversized endorsements length.
  for (size_t n = 0; n < env.size(); ++n) {
    EXPECT_FALSE(DecodeEvidenceEnvelope(ByteSpan(env.data(), n)).ok()) << n;
  }
  Bytes t = env;
  t.push_back(0);
  EXPECT_NE(DecodeEvidenceEnvelope(t).status().message().find("trailing"), std::string::npos);
  Bytes empty = env;
  empty.resize(empty.size() - 8);
  empty.insert(empty.end(), {0, 0, 0, 0});
  EXPECT_NE(DecodeEvidenceEnvelope(empty).status().message().find("empty endorsements"), std::string::npos);
  Bytes huge = env;
  huge.resize(huge.size() - 8);
  const uint32_t big = 256 * 1024 + 1;
  for (int i = 0; i < 4; ++i) huge.push_back(static_cast<uint8_t>(big >> (8 * i)));
  huge.resize(huge.size() + big, 0);
  EXPECT_NE(DecodeEvidenceEnvelope(huge).status().message().find("endorsements too large"), std::string::npos);
}

TEST(AppraisalStatusTest, VerdictsMapToCodesAndNamedReasons) {
  Appraisal a;
  a.kind = EvidenceKind::kSevSnp;
  a.verdict = Verdict::kAccepted;
  EXPECT_TRUE(AppraisalStatus(a).ok());
  a.verdict = Verdict::kExpired;
  a.failed_checks = {"snp.vek_validity: VCEK has expired"};
  Status st = AppraisalStatus(a);
  EXPECT_EQ(st.code(), Code::kAttestationFailed);
  EXPECT_EQ(st.message(), "server evidence is expired (snp): snp.vek_validity: VCEK has expired");
  a.verdict = Verdict::kInvalid;
  st = AppraisalStatus(a);
  EXPECT_EQ(st.message().rfind("server evidence is invalid (snp): ", 0), 0u) << st.message();
  a.verdict = Verdict::kRejected;
  a.failed_checks = {"policy.measurement: x", "policy.snp.debug: y"};
  st = AppraisalStatus(a);
  EXPECT_EQ(st.code(), Code::kPolicyRejected);
  EXPECT_EQ(st.message(), "policy.measurement: x (and 1 more policy failures)");
  // A non-accepted appraisal without a reason still fails closed.
  a.failed_checks.clear();
  EXPECT_FALSE(AppraisalStatus(a).ok());
}

// ---- identity and certificate verification --------------------------------------

TEST_F(ChannelTest, CertificateCarriesEvidenceBindingItsKey) {
  auto v = VerifyServerCertificate(id_.certificate.get(), AllowingPolicy());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->spki_der, id_.spki_der);
  EXPECT_TRUE(v->evidence.simulation);
  EXPECT_EQ(v->evidence.measurement, platform_->measurement());
  EXPECT_EQ(v->evidence.report_data, ReportDataForCertificate(id_.spki_der));

  X509* cert = id_.certificate.get();
  EXPECT_EQ(X509_get_version(cert), X509_VERSION_3);
  EXPECT_EQ(X509_check_host(cert, "localhost", 0, 0, nullptr), 1);
  // The extension is present, non-critical, under the TCG DICE OID.
  ASN1_OBJECT* oid = OBJ_txt2obj("2.23.133.5.4.9", 1);
  int idx = X509_get_ext_by_OBJ(cert, oid, -1);
  ASN1_OBJECT_free(oid);
  ASSERT_GE(idx, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(cert, idx)), 0);
  // The subject says SIMULATION.
  char subject[512];
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
  EXPECT_NE(std::string(subject).find("SIMULATION"), std::string::npos) << subject;
  // Valid now.
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(cert)), 0);
  EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(cert)), 0);
}

TEST_F(ChannelTest, CertificateWithoutExtensionRefused) {
  auto key = GenerateEcKey(Curve::kP256);
  ASSERT_TRUE(key.ok());
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  X509_set_pubkey(cert.get(), key->get());
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  ASSERT_GT(X509_sign(cert.get(), key->get(), EVP_sha256()), 0);
  auto v = VerifyServerCertificate(cert.get(), AllowingPolicy());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kAttestationFailed);
  EXPECT_NE(v.status().message().find("2.23.133.5.4.9"), std::string::npos);
  EXPECT_FALSE(VerifyServerCertificate(nullptr, AllowingPolicy()).ok());
}

TEST_F(ChannelTest, CreateServerIdentityRejectsOddNames) {
  EXPECT_FALSE(CreateServerIdentity(*platform_, "").ok());
  EXPECT_FALSE(CreateServerIdentity(*platform_, "a,DNS:evil.example").ok());
  EXPECT_TRUE(CreateServerIdentity(*platform_, "127.0.0.1").ok());
}

// Builds a certificate for a different key that carries a copy of id_'s
// evidence extension (an attacker replaying genuine evidence).
X509Ptr CertWithStolenEvidence(const ServerIdentity& id, EVP_PKEY* attacker_key) {
  X509Ptr cert(X509_dup(id.certificate.get()));
  EXPECT_EQ(X509_set_pubkey(cert.get(), attacker_key), 1);
  EXPECT_GT(X509_sign(cert.get(), attacker_key, EVP_sha256()), 0);
  return cert;
}

TEST_F(ChannelTest, StolenEvidenceOnAnotherKeyRefused) {
  auto attacker = GenerateEcKey(Curve::kP256);
  ASSERT_TRUE(attacker.ok());
  X509Ptr forged = CertWithStolenEvidence(id_, attacker->get());
  auto v = VerifyServerCertificate(forged.get(), AllowingPolicy());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kAttestationFailed);
  EXPECT_NE(v.status().message().find("not the key bound"), std::string::npos);
}

// ---- real TLS 1.3 handshakes -----------------------------------------------------

TEST_F(ChannelTest, HandshakeAcceptedWhenPolicyAllows) {
  AttestedTlsVerifier verifier(AllowingPolicy());
  auto ctx = ClientCtx(verifier);
  Attempt a = RunHandshake(id_, ctx.get());
  EXPECT_TRUE(a.client_ok);
  EXPECT_TRUE(a.server_ok);
  EXPECT_TRUE(verifier.last_error().ok());
  auto v = verifier.verified();
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->spki_der, id_.spki_der);
  EXPECT_TRUE(v->evidence.simulation);

  // The same server again: the pin matches.
  Attempt b = RunHandshake(id_, ctx.get());
  EXPECT_TRUE(b.client_ok);
}

TEST_F(ChannelTest, HandshakeRefusedWhenSimulationNotAllowed) {
  Policy p = AllowingPolicy();
  p.allow_simulation = false;
  AttestedTlsVerifier verifier(p);
  auto ctx = ClientCtx(verifier);
  Attempt a = RunHandshake(id_, ctx.get());
  EXPECT_FALSE(a.client_ok);
  EXPECT_FALSE(a.server_ok);  // the handshake itself failed: no app byte
  EXPECT_EQ(verifier.last_error().code(), Code::kPolicyRejected);
  EXPECT_NE(verifier.last_error().message().find("SIMULATION"), std::string::npos);
  EXPECT_FALSE(verifier.verified().has_value());
}

TEST_F(ChannelTest, HandshakeRefusedWhenMeasurementNotInPolicy) {
  Policy p = AllowingPolicy();
  p.measurements[0][0] ^= 1;
  AttestedTlsVerifier verifier(p);
  auto ctx = ClientCtx(verifier);
  Attempt a = RunHandshake(id_, ctx.get());
  EXPECT_FALSE(a.client_ok);
  EXPECT_FALSE(a.server_ok);
  EXPECT_EQ(verifier.last_error().code(), Code::kPolicyRejected);
  EXPECT_NE(verifier.last_error().message().find("measurement"), std::string::npos);
}

TEST_F(ChannelTest, HandshakeRefusedWhenCertKeyNotBoundByEvidence) {
  auto attacker = GenerateEcKey(Curve::kP256);
  ASSERT_TRUE(attacker.ok());
  X509Ptr forged = CertWithStolenEvidence(id_, attacker->get());
  AttestedTlsVerifier verifier(AllowingPolicy());
  auto ctx = ClientCtx(verifier);
  Attempt a = RunHandshake(forged.get(), attacker->get(), ctx.get());
  EXPECT_FALSE(a.client_ok);
  EXPECT_FALSE(a.server_ok);
  EXPECT_EQ(verifier.last_error().code(), Code::kAttestationFailed);
}

TEST_F(ChannelTest, PinnedKeyChangeRefusedOnSecondHandshake) {
  AttestedTlsVerifier verifier(AllowingPolicy());
  auto ctx = ClientCtx(verifier);
  ASSERT_TRUE(RunHandshake(id_, ctx.get()).client_ok);

  // A second, equally genuine identity of the same platform: new key.
  auto second = CreateServerIdentity(*platform_, "localhost");
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(VerifyServerCertificate(second->certificate.get(), AllowingPolicy()).ok());
  Attempt a = RunHandshake(*second, ctx.get());
  EXPECT_FALSE(a.client_ok);
  EXPECT_FALSE(a.server_ok);
  EXPECT_EQ(verifier.last_error().code(), Code::kAttestationFailed);
  EXPECT_NE(verifier.last_error().message().find("changed"), std::string::npos);
  // The pin still names the first key.
  EXPECT_EQ(verifier.verified()->spki_der, id_.spki_der);
}

TEST_F(ChannelTest, InstallRequiresTls13) {
  AttestedTlsVerifier verifier(AllowingPolicy());
  auto ctx = ClientCtx(verifier);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx.get()), SSL_VERIFY_PEER);
  EXPECT_FALSE(verifier.Install(nullptr).ok());
}

// ---- fresh evidence --------------------------------------------------------------

TEST_F(ChannelTest, FreshEvidence) {
  Bytes nonce(32);
  ASSERT_TRUE(RandomBytes(nonce).ok());
  auto ev = platform_->GetEvidence(ReportDataForNonce(id_.spki_der, nonce));
  ASSERT_TRUE(ev.ok());
  // Travels as an envelope.
  auto decoded = DecodeEvidenceEnvelope(EncodeEvidenceEnvelope(*ev));
  ASSERT_TRUE(decoded.ok());
  auto v = VerifyFreshEvidence(*decoded, AllowingPolicy(), id_.spki_der, nonce);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->simulation);

  // A different nonce (stale or replayed evidence).
  Bytes other_nonce = nonce;
  other_nonce[0] ^= 1;
  auto stale = VerifyFreshEvidence(*ev, AllowingPolicy(), id_.spki_der, other_nonce);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), Code::kAttestationFailed);

  // Certificate evidence never passes for fresh evidence.
  auto cert_ev = VerifyFreshEvidence(id_.evidence, AllowingPolicy(), id_.spki_der, nonce);
  EXPECT_FALSE(cert_ev.ok());

  // Evidence bound to another TLS key.
  auto second = CreateServerIdentity(*platform_, "localhost");
  ASSERT_TRUE(second.ok());
  auto wrong_key = VerifyFreshEvidence(*ev, AllowingPolicy(), second->spki_der, nonce);
  ASSERT_FALSE(wrong_key.ok());
  EXPECT_EQ(wrong_key.status().code(), Code::kAttestationFailed);

  // The policy still applies.
  Policy strict = AllowingPolicy();
  strict.allow_simulation = false;
  EXPECT_EQ(VerifyFreshEvidence(*ev, strict, id_.spki_der, nonce).status().code(),
            Code::kPolicyRejected);

  // Weak nonces and a missing pin are caller errors.
  EXPECT_FALSE(VerifyFreshEvidence(*ev, AllowingPolicy(), id_.spki_der, Bytes(8)).ok());
  EXPECT_FALSE(VerifyFreshEvidence(*ev, AllowingPolicy(), {}, nonce).ok());
}

}  // namespace
}  // namespace citadel
