// SEV-SNP certificate table (extended reports): the bounds-checked parser,
// its import as collateral, and VerifyEvidence using the VCEK carried with
// the evidence when the caller supplies none. Self-contained (a generated
// ARK -> ASK -> VCEK hierarchy); always runs.
#include <gtest/gtest.h>

#include <string>

#include "citadel/attest.h"
#include "citadel/attest/appraisal.h"
#include "citadel/attest/collateral.h"
#include "citadel/attest/snp.h"
#include "snp_pki.h"

namespace citadel {
namespace {

using snptest::CertTable;
using snptest::HostCertTable;
using snptest::Pki;

std::string CheckOf(const Status& st) {
  if (st.ok()) return "ok";
  return st.message().substr(0, st.message().find(':'));
}

class SnpCertTableTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new Pki(snptest::MakeMilanPki());
    other_ = new Pki(snptest::MakeMilanPki());
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete other_;
  }
  static Bytes Report(const Pki& p) {
    snptest::ReportSpec spec;
    spec.measurement.fill(0x5C);
    spec.report_data.fill(0x11);
    return snptest::MakeReport(p, spec);
  }
  static VerifyOptions Anchored(const Pki& p) {
    VerifyOptions o;
    o.trust_anchors = {p.ArkPem()};
    return o;
  }
  static Pki* pki_;
  static Pki* other_;
};
Pki* SnpCertTableTest::pki_ = nullptr;
Pki* SnpCertTableTest::other_ = nullptr;

TEST_F(SnpCertTableTest, ParsesHostTableWithPadding) {
  const Pki& p = *pki_;
  Bytes table = HostCertTable(p, /*padding=*/4096);
  auto t = snp::ParseSnpCertTable(table);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->vcek, p.VcekDer());
  EXPECT_EQ(t->ask, hwtest::CertDer(p.ask.get()));
  EXPECT_EQ(t->ark, hwtest::CertDer(p.ark.get()));
  EXPECT_TRUE(t->vlek.empty());
  EXPECT_EQ(t->unknown_entries, 0u);
  EXPECT_TRUE(snp::LooksLikeSnpCertTable(table));
}

TEST_F(SnpCertTableTest, UnknownGuidsAreCountedAndMixedEndianGuidsRead) {
  const Bytes vcek = pki_->VcekDer();
  // The VCEK GUID with its first three fields byte-swapped (Microsoft order).
  const std::string mixed = "8d75da6364e66445adc5f4b93be8accd";
  auto t = snp::ParseSnpCertTable(CertTable({{"00112233445566778899aabbccddeeff", Bytes{1, 2, 3}},
                                             {mixed, vcek}}));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->unknown_entries, 1u);
  EXPECT_EQ(t->vcek, vcek);
}

TEST_F(SnpCertTableTest, MalformedTablesAreRefusedWithTheReason) {
  const Bytes good = HostCertTable(*pki_);
  auto why = [](ByteSpan b) {
    auto r = snp::ParseSnpCertTable(b);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  // Every truncation inside the entry list: no terminator.
  for (size_t n = 0; n < 4 * 24; ++n) {
    EXPECT_NE(why(ByteSpan(good).first(n)).find("truncated entry list"), std::string::npos) << n;
  }
  // Every truncation of the certificate bytes: the last entry ends past the table.
  for (size_t n = 4 * 24; n < good.size(); n += 97) {
    EXPECT_NE(why(ByteSpan(good).first(n)).find("ends past the table"), std::string::npos) << n;
  }
  // Offset pointing into the entry list (entry 1 = ASK).
  Bytes t = good;
  snptest::PutLe(t, 24 + 16, 8, 4);
  EXPECT_NE(why(t).find("entry 1 points into the entry list"), std::string::npos) << why(t);
  // Offset + length overflowing 32 bits.
  t = good;
  snptest::PutLe(t, 16, 0xFFFFFFF0u, 4);
  snptest::PutLe(t, 20, 0x20, 4);
  EXPECT_NE(why(t).find("entry 0"), std::string::npos) << why(t);
  // Empty known entry, repeated GUID, no entries at all.
  EXPECT_NE(why(CertTable({{snptest::kVcekGuid, {}}})).find("(VCEK) is empty"), std::string::npos);
  EXPECT_NE(why(CertTable({{snptest::kAskGuid, Bytes{1}}, {snptest::kAskGuid, Bytes{2}}})).find("repeats the ASK"),
            std::string::npos);
  EXPECT_NE(why(Bytes(24, 0)).find("no entries"), std::string::npos);
  // Too many entries; too large.
  std::vector<std::pair<std::string, Bytes>> many(snp::kMaxCertTableEntries + 1,
                                                  {"00112233445566778899aabbccddeeff", Bytes{1}});
  EXPECT_NE(why(CertTable(many)).find("more than"), std::string::npos);
  EXPECT_NE(why(Bytes(snp::kMaxCertTableSize + 1, 0)).find("larger than"), std::string::npos);
}

TEST_F(SnpCertTableTest, EveryEntryByteFlippedNeverCrashes) {
  const Bytes good = HostCertTable(*pki_);
  for (size_t off = 0; off < 4 * 24; ++off) {
    for (uint8_t bit : {0x01, 0x80}) {
      Bytes t = good;
      t[off] ^= bit;
      auto r = snp::ParseSnpCertTable(t);
      if (r.ok()) {
        // Whatever parsed lies inside the table.
        for (const Bytes* c : {&r->vcek, &r->vlek, &r->ask, &r->ark}) EXPECT_LE(c->size(), t.size());
      }
    }
  }
}

TEST_F(SnpCertTableTest, VerifyEvidenceUsesTheCarriedVcekWhenNoneIsGiven) {
  Evidence e(EvidenceKind::kSevSnp, Report(*pki_), HostCertTable(*pki_, 512));
  auto v = VerifyEvidence(e, Anchored(*pki_));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->claims.at("snp.vek_source"), "evidence certificate table");
  EXPECT_EQ(v->measurement, Bytes(48, 0x5C));
  // Without the table, the same report has no collateral.
  auto bare = VerifyEvidence(Evidence(EvidenceKind::kSevSnp, Report(*pki_)), Anchored(*pki_));
  EXPECT_EQ(CheckOf(bare.status()), "snp.vek_missing");
  EXPECT_NE(bare.status().message().find("no collateral for SEV-SNP"), std::string::npos);
}

TEST_F(SnpCertTableTest, CarriedCertificatesAreStillChainedToTheTrustAnchor) {
  // A host that hands out its own hierarchy does not get trusted by it.
  Evidence forged(EvidenceKind::kSevSnp, Report(*other_), HostCertTable(*other_));
  EXPECT_EQ(CheckOf(VerifyEvidence(forged, Anchored(*pki_)).status()), "snp.untrusted_root");
  // Nor with the built-in AMD roots.
  EXPECT_EQ(CheckOf(VerifyEvidence(forged, VerifyOptions{}).status()), "snp.untrusted_root");
  // The right chain but another chip's VCEK: the report signature fails.
  Bytes swapped = CertTable({{snptest::kVcekGuid, other_->VcekDer()},
                             {snptest::kAskGuid, hwtest::CertDer(pki_->ask.get())},
                             {snptest::kArkGuid, hwtest::CertDer(pki_->ark.get())}});
  Evidence wrong_vcek(EvidenceKind::kSevSnp, Report(*pki_), swapped);
  EXPECT_NE(CheckOf(VerifyEvidence(wrong_vcek, Anchored(*pki_)).status()), "ok");
  // A table without a VEK, and a malformed table, each have their name.
  Bytes no_vek = CertTable({{snptest::kAskGuid, hwtest::CertDer(pki_->ask.get())}});
  EXPECT_EQ(CheckOf(VerifyEvidence(Evidence(EvidenceKind::kSevSnp, Report(*pki_), no_vek), Anchored(*pki_)).status()),
            "snp.vek_missing");
  EXPECT_EQ(CheckOf(VerifyEvidence(Evidence(EvidenceKind::kSevSnp, Report(*pki_), Bytes(30, 7)), Anchored(*pki_))
                        .status()),
            "snp.cert_table");
}

TEST_F(SnpCertTableTest, RememberedSignaturesAreBoundToTheIssuerKey) {
  // Verifying once remembers "this VCEK verifies under pki_'s ASK key"
  // (attest_util.cc). The same VCEK under another ASK (same subject name,
  // other key, itself validly signed by its trusted ARK) must still fail.
  Evidence good(EvidenceKind::kSevSnp, Report(*pki_), HostCertTable(*pki_));
  ASSERT_TRUE(VerifyEvidence(good, Anchored(*pki_)).ok());
  Bytes mixed = CertTable({{snptest::kVcekGuid, pki_->VcekDer()},
                           {snptest::kAskGuid, hwtest::CertDer(other_->ask.get())},
                           {snptest::kArkGuid, hwtest::CertDer(other_->ark.get())}});
  for (int i = 0; i < 2; ++i) {
    auto r = VerifyEvidence(Evidence(EvidenceKind::kSevSnp, Report(*pki_), mixed), Anchored(*other_));
    EXPECT_EQ(CheckOf(r.status()), "snp.vek_signature") << i;
  }
  // And the good chain still verifies afterwards.
  EXPECT_TRUE(VerifyEvidence(good, Anchored(*pki_)).ok());
}

TEST_F(SnpCertTableTest, CallerCollateralWinsOverTheCarriedTable) {
  // The caller's VCEK (another chip's) is used, not the correct carried one.
  CollateralBundle bundle;
  ASSERT_TRUE(bundle.ImportBytes(HostCertTable(*other_), "test", "").ok());
  VerifyOptions o = Anchored(*pki_);
  o.collateral = &bundle;
  auto r = VerifyEvidence(Evidence(EvidenceKind::kSevSnp, Report(*pki_), HostCertTable(*pki_)), o);
  EXPECT_FALSE(r.ok());
}

TEST_F(SnpCertTableTest, TableImportsAsCollateral) {
  CollateralBundle bundle;
  Status st = bundle.ImportBytes(HostCertTable(*pki_, 100), "file:auxblob", "");
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(bundle.SnpVeks().size(), 1u);
  EXPECT_EQ(bundle.SnpVeks()[0], pki_->VcekDer());
  EXPECT_NE(bundle.items[0].origin.find("SEV-SNP certificate table"), std::string::npos);
  VerifyOptions o = Anchored(*pki_);
  o.collateral = &bundle;
  auto v = VerifyEvidence(Evidence(EvidenceKind::kSevSnp, Report(*pki_)), o);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->claims.at("snp.vek_source"), "collateral");
  // A broken table is an import error, not a silent skip.
  Bytes broken = HostCertTable(*pki_);
  broken.resize(broken.size() - 10);
  EXPECT_FALSE(CollateralBundle().ImportBytes(broken, "file:auxblob", "").ok());
}

TEST_F(SnpCertTableTest, ExpiredCarriedVcekIsExpiredNotInvalid) {
  Evidence e(EvidenceKind::kSevSnp, Report(*pki_), HostCertTable(*pki_));
  VerifyOptions o = Anchored(*pki_);
  o.now = std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 20);
  Appraisal a = AppraiseEvidence(e, o, nullptr);
  EXPECT_EQ(a.verdict, Verdict::kExpired);
  ASSERT_FALSE(a.failed_checks.empty());
  EXPECT_EQ(a.failed_checks[0].rfind("snp.", 0), 0u) << a.failed_checks[0];
  EXPECT_NE(a.failed_checks[0].find("_validity"), std::string::npos) << a.failed_checks[0];
}

}  // namespace
}  // namespace citadel
