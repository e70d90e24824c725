// AMD CRLs (KDS /vcek/v1/<product>/crl, issued by the ARK): a generated
// ARK -> ASK -> VCEK hierarchy and CRLs made by the test; a revoked ASK,
// a forged or stale CRL, each refused with its named check. Always runs.
#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <ctime>
#include <string>

#include "citadel/attest.h"
#include "citadel/attest/appraisal.h"
#include "citadel/attest/collateral.h"
#include "snp_pki.h"

namespace citadel {
namespace {

using snptest::Pki;

// A DER CRL with issuer `issuer_cn` ("Citadel Test" O, as MakeCert writes),
// signed by `key`, valid [now + from, now + to], revoking `serial` (< 0: none).
Bytes MakeCrl(X509* issuer, EVP_PKEY* key, long serial, long from = -3600, long to = 86400) {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
  time_t now = std::time(nullptr);
  ASN1_TIME* last = ASN1_TIME_adj(nullptr, now, 0, from);
  ASN1_TIME* next = ASN1_TIME_adj(nullptr, now, 0, to);
  X509_CRL_set1_lastUpdate(crl, last);
  X509_CRL_set1_nextUpdate(crl, next);
  ASN1_TIME_free(last);
  ASN1_TIME_free(next);
  if (serial >= 0) {
    X509_REVOKED* rev = X509_REVOKED_new();
    ASN1_INTEGER* s = ASN1_INTEGER_new();
    ASN1_INTEGER_set(s, serial);
    X509_REVOKED_set_serialNumber(rev, s);
    ASN1_INTEGER_free(s);
    ASN1_TIME* when = ASN1_TIME_adj(nullptr, now, 0, -60);
    X509_REVOKED_set_revocationDate(rev, when);
    ASN1_TIME_free(when);
    X509_CRL_add0_revoked(crl, rev);
  }
  X509_CRL_sort(crl);
  X509_CRL_sign(crl, key, EVP_sha384());
  unsigned char* der = nullptr;
  int n = i2d_X509_CRL(crl, &der);
  Bytes out(der, der + n);
  OPENSSL_free(der);
  X509_CRL_free(crl);
  return out;
}

long Serial(X509* c) { return ASN1_INTEGER_get(X509_get0_serialNumber(c)); }

class SnpCrlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new Pki(snptest::MakeMilanPki());
    other_ = new Pki(snptest::MakeMilanPki());
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete other_;
  }
  // VerifyEvidence with the VCEK, ASK and these CRLs as a bundle.
  static Appraisal Appraise(const std::vector<Bytes>& crls) {
    CollateralBundle bundle;
    EXPECT_TRUE(bundle.ImportBytes(pki_->VcekDer(), "vcek", "").ok());
    EXPECT_TRUE(bundle.ImportBytes(pki_->AskPem(), "ask", "").ok());
    for (const Bytes& c : crls) {
      Status st = bundle.ImportBytes(c, "crl", "");
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
    snptest::ReportSpec spec;
    spec.measurement.fill(0x21);
    VerifyOptions o;
    o.trust_anchors = {pki_->ArkPem()};
    o.collateral = &bundle;
    return AppraiseEvidence(Evidence(EvidenceKind::kSevSnp, snptest::MakeReport(*pki_, spec)), o, nullptr);
  }
  static std::string Check(const Appraisal& a) {
    if (a.failed_checks.empty()) return "ok";
    return a.failed_checks[0].substr(0, a.failed_checks[0].find(':'));
  }
  static Pki* pki_;
  static Pki* other_;
};
Pki* SnpCrlTest::pki_ = nullptr;
Pki* SnpCrlTest::other_ = nullptr;

TEST_F(SnpCrlTest, CurrentCrlWithoutTheAskIsChecked) {
  Appraisal none = Appraise({});
  ASSERT_TRUE(none.accepted()) << (none.failed_checks.empty() ? "" : none.failed_checks[0]);
  EXPECT_EQ(none.evidence->claims.at("snp.crl"), "absent");
  Appraisal a = Appraise({MakeCrl(pki_->ark.get(), pki_->ark_key.get(), Serial(pki_->ask.get()) + 100)});
  ASSERT_TRUE(a.accepted()) << (a.failed_checks.empty() ? "" : a.failed_checks[0]);
  EXPECT_EQ(a.evidence->claims.at("snp.crl"), "checked");
}

TEST_F(SnpCrlTest, RevokedAskIsRefused) {
  Appraisal a = Appraise({MakeCrl(pki_->ark.get(), pki_->ark_key.get(), Serial(pki_->ask.get()))});
  EXPECT_EQ(a.verdict, Verdict::kInvalid);
  EXPECT_EQ(Check(a), "snp.revoked");
  EXPECT_NE(a.failed_checks[0].find("ASK"), std::string::npos) << a.failed_checks[0];
}

TEST_F(SnpCrlTest, ForgedOrStaleCrlIsRefused) {
  // Same issuer name, another ARK's key.
  EXPECT_EQ(Check(Appraise({MakeCrl(pki_->ark.get(), other_->ark_key.get(), -1)})), "snp.crl");
  // Past nextUpdate: expired, its own verdict.
  Appraisal stale = Appraise({MakeCrl(pki_->ark.get(), pki_->ark_key.get(), -1, -7200, -3600)});
  EXPECT_EQ(stale.verdict, Verdict::kExpired);
  EXPECT_EQ(Check(stale), "snp.crl_validity");
  // Not yet valid.
  EXPECT_EQ(Check(Appraise({MakeCrl(pki_->ark.get(), pki_->ark_key.get(), -1, 3600, 7200)})), "snp.crl_validity");
}

TEST_F(SnpCrlTest, CrlOfAnotherArkIsIgnored) {
  hwtest::CertSpec s;
  s.rsa_pss_sha384 = true;
  s.ca = true;
  s.subject_cn = s.issuer_cn = "ARK-Genoa";
  X509Ptr genoa = hwtest::MakeCert(s, other_->ark_key.get(), other_->ark_key.get());
  Appraisal a = Appraise({MakeCrl(genoa.get(), other_->ark_key.get(), Serial(pki_->ask.get()))});
  ASSERT_TRUE(a.accepted()) << (a.failed_checks.empty() ? "" : a.failed_checks[0]);
  EXPECT_EQ(a.evidence->claims.at("snp.crl"), "absent");
}

TEST_F(SnpCrlTest, ArkCrlImportsAsSnpCrlAndRoundTrips) {
  CollateralBundle b;
  ASSERT_TRUE(b.ImportBytes(MakeCrl(pki_->ark.get(), pki_->ark_key.get(), 5), "file:milan.crl", "").ok());
  ASSERT_EQ(b.items.size(), 1u);
  EXPECT_EQ(b.items[0].type, CollateralType::kSnpCrl);
  EXPECT_EQ(CollateralTypeName(b.items[0].type), "snp.crl");
  auto back = CollateralBundle::FromJson(b.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->SnpCrls().size(), 1u);
  EXPECT_EQ(back->SnpCrls()[0], b.items[0].data);
}

}  // namespace
}  // namespace citadel
