// Offline OCSP revocation of the NVIDIA device chain (src/attest/ocsp.cc):
// responses made here with OpenSSL's OCSP responder API over a test GPU
// hierarchy travel in the collateral and are judged at the verification
// instant.
#include <gtest/gtest.h>
#include <openssl/ocsp.h>

#include <array>
#include <ctime>
#include <string>
#include <vector>

#include "citadel/attest.h"
#include "citadel/attest/collateral.h"
#include "citadel/attest/nvidia.h"
#include "hw_test_util.h"
#include "nvidia_pki.h"

namespace citadel {
namespace {

using gputest::GpuPki;

struct ResponseSpec {
  X509* cert = nullptr;    // the certificate the response is about
  X509* issuer = nullptr;  // its issuer (for the CertID)
  X509* signer = nullptr;  // the responder certificate
  EVP_PKEY* signer_key = nullptr;
  int status = V_OCSP_CERTSTATUS_GOOD;
  long this_update_offset = -3600;  // seconds from now
  long next_update_offset = 7 * 86400;
  bool has_next_update = true;
  const EVP_MD* id_md = nullptr;  // nullptr: SHA-1, as most responders use
  bool include_signer = false;    // put the responder certificate in the response
  int response_status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
};

Bytes MakeOcspResponse(const ResponseSpec& s) {
  if (s.response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    OCSP_RESPONSE* r = OCSP_response_create(s.response_status, nullptr);
    unsigned char* der = nullptr;
    int n = i2d_OCSP_RESPONSE(r, &der);
    Bytes out(der, der + n);
    OPENSSL_free(der);
    OCSP_RESPONSE_free(r);
    return out;
  }
  OCSP_BASICRESP* bs = OCSP_BASICRESP_new();
  OCSP_CERTID* id = OCSP_cert_to_id(s.id_md != nullptr ? s.id_md : EVP_sha1(), s.cert, s.issuer);
  time_t now = std::time(nullptr);
  ASN1_TIME* this_update = X509_time_adj_ex(nullptr, 0, s.this_update_offset, &now);
  ASN1_TIME* next_update = s.has_next_update ? X509_time_adj_ex(nullptr, 0, s.next_update_offset, &now) : nullptr;
  ASN1_TIME* revoked_at = X509_time_adj_ex(nullptr, 0, -86400, &now);
  OCSP_basic_add1_status(bs, id, s.status, OCSP_REVOKED_STATUS_KEYCOMPROMISE,
                         s.status == V_OCSP_CERTSTATUS_REVOKED ? revoked_at : nullptr, this_update, next_update);
  const unsigned long flags = s.include_signer ? 0 : OCSP_NOCERTS;
  if (OCSP_basic_sign(bs, s.signer, s.signer_key, EVP_sha384(), nullptr, flags) != 1) std::abort();
  OCSP_RESPONSE* r = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
  unsigned char* der = nullptr;
  int n = i2d_OCSP_RESPONSE(r, &der);
  Bytes out(der, der + n);
  OPENSSL_free(der);
  OCSP_RESPONSE_free(r);
  OCSP_BASICRESP_free(bs);
  OCSP_CERTID_free(id);
  ASN1_TIME_free(this_update);
  ASN1_TIME_free(next_update);
  ASN1_TIME_free(revoked_at);
  return out;
}

class NvidiaOcspTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = gputest::MakeGpuPki();
    nonce_.fill(0x42);
    report_ = gputest::MakeGpuReport(pki_, nonce_, gputest::Measurements(0x10));
  }

  // Good responses from each certificate's own issuer.
  Bytes LeafGood() { return MakeOcspResponse(Spec(pki_.leaf.get(), pki_.ca.get(), pki_.ca_key.get())); }
  Bytes CaGood() { return MakeOcspResponse(Spec(pki_.ca.get(), pki_.root.get(), pki_.root_key.get())); }
  ResponseSpec Spec(X509* cert, X509* issuer, EVP_PKEY* issuer_key) {
    ResponseSpec s;
    s.cert = cert;
    s.issuer = issuer;
    s.signer = issuer;
    s.signer_key = issuer_key;
    return s;
  }

  Result<VerifiedEvidence> Verify(const std::vector<Bytes>& responses) {
    CollateralBundle bundle;
    for (size_t i = 0; i < responses.size(); ++i) {
      Status st = bundle.ImportBytes(responses[i], "test:" + std::to_string(i), "");
      if (!st.ok()) return st;
    }
    VerifyOptions options;
    options.collateral = &bundle;
    options.expected_nonce.assign(nonce_.begin(), nonce_.end());
    return nvidia::VerifyGpuReport(report_, pki_.ChainPem(), {pki_.RootPem()}, options);
  }

  static std::string Ocsp(const VerifiedEvidence& v) { return v.claims.at("nvidia.ocsp"); }

  GpuPki pki_;
  std::array<uint8_t, 32> nonce_{};
  Bytes report_;
};

TEST_F(NvidiaOcspTest, NoResponsesIsAbsent) {
  auto v = Verify({});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(Ocsp(*v), "absent");
}

TEST_F(NvidiaOcspTest, EveryCertificateGoodIsChecked) {
  auto v = Verify({LeafGood(), CaGood()});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(Ocsp(*v), "checked");
}

TEST_F(NvidiaOcspTest, LeafOnlyIsPartialAndFailsAPolicyThatRequiresOcsp) {
  auto v = Verify({LeafGood()});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(Ocsp(*v), "partial");

  auto lax = Policy::FromJson(R"({"version": 1, "accept_any_measurement": true, "nvidia": {}})");
  auto strict = Policy::FromJson(
      R"({"version": 1, "accept_any_measurement": true, "nvidia": {"require_ocsp": true}})");
  ASSERT_TRUE(lax.ok() && strict.ok());
  const auto now = std::chrono::system_clock::now();
  EXPECT_TRUE(EvaluatePolicy(*v, *lax, now).empty());
  auto failures = EvaluatePolicy(*v, *strict, now);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].rfind("policy.nvidia.ocsp:", 0), 0u) << failures[0];

  auto full = Verify({LeafGood(), CaGood()});
  ASSERT_TRUE(full.ok());
  EXPECT_TRUE(EvaluatePolicy(*full, *strict, now).empty());
}

TEST_F(NvidiaOcspTest, RevokedLeafIsRejected) {
  ResponseSpec s = Spec(pki_.leaf.get(), pki_.ca.get(), pki_.ca_key.get());
  s.status = V_OCSP_CERTSTATUS_REVOKED;
  auto v = Verify({MakeOcspResponse(s), CaGood()});
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("nvidia.revoked:"), std::string::npos) << v.status().ToString();
  EXPECT_NE(v.status().message().find("keyCompromise"), std::string::npos) << v.status().ToString();
}

TEST_F(NvidiaOcspTest, RevokedIntermediateIsRejectedEvenWhenTheResponseIsOld) {
  ResponseSpec s = Spec(pki_.ca.get(), pki_.root.get(), pki_.root_key.get());
  s.status = V_OCSP_CERTSTATUS_REVOKED;
  s.this_update_offset = -30 * 86400;
  s.next_update_offset = -20 * 86400;
  auto v = Verify({LeafGood(), MakeOcspResponse(s)});
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("nvidia.revoked:"), std::string::npos) << v.status().ToString();
}

TEST_F(NvidiaOcspTest, UnknownStatusIsRejected) {
  ResponseSpec s = Spec(pki_.leaf.get(), pki_.ca.get(), pki_.ca_key.get());
  s.status = V_OCSP_CERTSTATUS_UNKNOWN;
  auto v = Verify({MakeOcspResponse(s)});
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("nvidia.revoked:"), std::string::npos) << v.status().ToString();
}

TEST_F(NvidiaOcspTest, ExpiredResponseIsItsOwnVerdictUnlessACurrentOneCovers) {
  ResponseSpec s = Spec(pki_.leaf.get(), pki_.ca.get(), pki_.ca_key.get());
  s.this_update_offset = -10 * 86400;
  s.next_update_offset = -3 * 86400;
  const Bytes expired = MakeOcspResponse(s);
  auto v = Verify({expired, CaGood()});
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("nvidia.ocsp_validity:"), std::string::npos) << v.status().ToString();
  EXPECT_NE(v.status().message().find("expired"), std::string::npos);

  auto renewed = Verify({expired, LeafGood(), CaGood()});
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  EXPECT_EQ(Ocsp(*renewed), "checked");
}

TEST_F(NvidiaOcspTest, ValidityIsJudgedAtTheVerificationInstant) {
  // Current now; at an instant past nextUpdate (but inside the certificates'
  // validity) the same response is expired.
  CollateralBundle bundle;
  ASSERT_TRUE(bundle.ImportBytes(LeafGood(), "test", "").ok());
  ASSERT_TRUE(bundle.ImportBytes(CaGood(), "test", "").ok());
  VerifyOptions options;
  options.collateral = &bundle;
  options.now = std::chrono::system_clock::now() + std::chrono::hours(24 * 30);
  auto later = nvidia::VerifyGpuReport(report_, pki_.ChainPem(), {pki_.RootPem()}, options);
  ASSERT_FALSE(later.ok());
  EXPECT_NE(later.status().message().find("nvidia.ocsp_validity:"), std::string::npos) << later.status().ToString();

  options.now = std::chrono::system_clock::now() - std::chrono::hours(2);  // before thisUpdate
  auto earlier = nvidia::VerifyGpuReport(report_, pki_.ChainPem(), {pki_.RootPem()}, options);
  ASSERT_FALSE(earlier.ok());
  EXPECT_NE(earlier.status().message().find("not yet valid"), std::string::npos) << earlier.status().ToString();
}

TEST_F(NvidiaOcspTest, NoNextUpdateIsAcceptedForSevenDays) {
  ResponseSpec fresh = Spec(pki_.leaf.get(), pki_.ca.get(), pki_.ca_key.get());
  fresh.has_next_update = false;
  fresh.this_update_offset = -86400;
  auto v = Verify({MakeOcspResponse(fresh)});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(Ocsp(*v), "partial");

  ResponseSpec old = fresh;
  old.this_update_offset = -8 * 86400;
  auto stale = Verify({MakeOcspResponse(old)});
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(stale.status().message().find("nvidia.ocsp_validity:"), std::string::npos) << stale.status().ToString();
}

TEST_F(NvidiaOcspTest, ResponseSignedByAnImpostorIsRejected) {
  // A key that is not the issuer's, in a certificate with the issuer's name.
  auto impostor_key = hwtest::NewEcKey("P-384");
  hwtest::CertSpec cs;
  cs.ca = true;
  cs.subject_cn = "Test NVIDIA GH100 Provisioner ICA";
  cs.issuer_cn = "Test NVIDIA Device Identity CA";
  cs.serial = 2;
  X509Ptr impostor = hwtest::MakeCert(cs, impostor_key.get(), impostor_key.get());
  ResponseSpec s = Spec(pki_.leaf.get(), pki_.ca.get(), impostor_key.get());
  s.signer = impostor.get();
  s.include_signer = true;
  auto v = Verify({MakeOcspResponse(s)});
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("nvidia.ocsp:"), std::string::npos) << v.status().ToString();
}

TEST_F(NvidiaOcspTest, FlippedSignatureByteIsRejected) {
  Bytes r = LeafGood();  // no certificates: the signature is the last field
  r.back() ^= 0x01;
  auto v = Verify({r, CaGood()});
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("nvidia.ocsp:"), std::string::npos) << v.status().ToString();
}

TEST_F(NvidiaOcspTest, DelegatedResponderNeedsTheOcspSigningUsage) {
  auto responder_key = hwtest::NewEcKey("P-384");
  hwtest::CertSpec cs;
  cs.subject_cn = "Test NVIDIA OCSP Responder";
  cs.issuer_cn = "Test NVIDIA GH100 Provisioner ICA";
  cs.serial = 9;
  X509Ptr plain = hwtest::MakeCert(cs, responder_key.get(), pki_.ca_key.get());
  // ExtKeyUsageSyntax ::= SEQUENCE OF KeyPurposeId { id-kp-OCSPSigning }
  cs.exts.push_back({"2.5.29.37", {0x30, 0x0A, 0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09}});
  X509Ptr delegated = hwtest::MakeCert(cs, responder_key.get(), pki_.ca_key.get());

  ResponseSpec s = Spec(pki_.leaf.get(), pki_.ca.get(), responder_key.get());
  s.include_signer = true;
  s.signer = delegated.get();
  auto ok = Verify({MakeOcspResponse(s), CaGood()});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(Ocsp(*ok), "checked");

  s.signer = plain.get();
  auto v = Verify({MakeOcspResponse(s), CaGood()});
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("id-kp-OCSPSigning"), std::string::npos) << v.status().ToString();
}

TEST_F(NvidiaOcspTest, Sha384CertIdMatches) {
  ResponseSpec s = Spec(pki_.leaf.get(), pki_.ca.get(), pki_.ca_key.get());
  s.id_md = EVP_sha384();
  auto v = Verify({MakeOcspResponse(s), CaGood()});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(Ocsp(*v), "checked");
}

TEST_F(NvidiaOcspTest, ResponsesAboutOtherCertificatesAreIgnored) {
  GpuPki other = gputest::MakeGpuPki(0x33, " other");
  ResponseSpec s = Spec(other.leaf.get(), other.ca.get(), other.ca_key.get());
  s.status = V_OCSP_CERTSTATUS_REVOKED;
  auto v = Verify({MakeOcspResponse(s)});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(Ocsp(*v), "absent");
}

TEST_F(NvidiaOcspTest, UnsuccessfulResponseIsRejected) {
  ResponseSpec s;
  s.response_status = OCSP_RESPONSE_STATUS_UNAUTHORIZED;
  auto v = Verify({MakeOcspResponse(s)});
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("nvidia.ocsp:"), std::string::npos) << v.status().ToString();
  EXPECT_NE(v.status().message().find("unauthorized"), std::string::npos) << v.status().ToString();
}

TEST_F(NvidiaOcspTest, CollateralBundleKeepsResponses) {
  CollateralBundle bundle;
  ASSERT_TRUE(bundle.ImportBytes(LeafGood(), "https://ocsp.example/leaf", "2026-01-01T00:00:00Z").ok());
  ASSERT_EQ(bundle.items.size(), 1u);
  EXPECT_EQ(CollateralTypeName(bundle.items[0].type), "nvidia.ocsp");
  auto back = CollateralBundle::FromJson(bundle.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->NvidiaOcspResponses(), bundle.NvidiaOcspResponses());
  // Truncated DER is no collateral at all.
  Bytes cut = LeafGood();
  cut.resize(cut.size() / 2);
  CollateralBundle b2;
  EXPECT_FALSE(b2.ImportBytes(cut, "test", "").ok());
}

}  // namespace
}  // namespace citadel
