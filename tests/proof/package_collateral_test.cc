// `citadel package --for-evidence` for a hardware box: BuildPackage judges
// the box identity with the caller's collateral, roots and instant (the
// inputs of `citadel verify`). A generated SEV-SNP hierarchy (test ARK ->
// ASK -> VCEK) signs the box's report over its package key.
#include <gtest/gtest.h>

#include "../attest/snp_pki.h"
#include "citadel/attest/collateral.h"
#include "citadel/channel.h"
#include "citadel/package.h"

namespace citadel {
namespace {

TEST(PackageCollateral, HardwareBoxIsJudgedWithTheGivenCollateral) {
  snptest::Pki pki = snptest::MakeMilanPki(/*vcek_not_after_days=*/365);
  auto key = HpkeGenerateKeyPair(kHpkeDefaultSuite);
  ASSERT_TRUE(key.ok());
  snptest::ReportSpec spec;
  spec.report_data = ReportDataForPackageKey(key->public_key);
  spec.measurement.fill(0x11);
  BoxIdentity box;
  box.public_key = key->public_key;
  box.evidence_envelope = EncodeEvidenceEnvelope(Evidence{EvidenceKind::kSevSnp, snptest::MakeReport(pki, spec)});
  auto owner = OwnerKey::Generate();
  ASSERT_TRUE(owner.ok());
  auto policy = Policy::FromJson(R"({"version":1,"snp":{"measurement":[")" + std::string(96, '1') + R"("]}})");
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  const Bytes model = {'o', 'n', 'n', 'x'};

  // Without collateral the box's VCEK is unknown: refused, by name.
  auto refused = BuildPackage(box, *policy, *owner, "m", 1, model);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("snp.vek_missing"), std::string::npos) << refused.status().message();

  CollateralBundle bundle;
  ASSERT_TRUE(bundle.ImportBytes(pki.VcekDer(), "test vcek", "2026-01-01T00:00:00Z").ok());
  ASSERT_TRUE(bundle.ImportBytes(pki.AskPem(), "test ask", "2026-01-01T00:00:00Z").ok());
  VerifyOptions options;
  options.collateral = &bundle;
  options.trust_anchors = {pki.ArkPem()};
  auto built = BuildPackage(box, *policy, *owner, "m", 1, model, options);
  ASSERT_TRUE(built.ok()) << built.status().message();
  auto opened = OpenPackage(*built, *key);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(opened->header.name, "m");

  // With the built-in AMD roots the test ASK has no trusted issuer.
  VerifyOptions builtin = options;
  builtin.trust_anchors.clear();
  auto untrusted = BuildPackage(box, *policy, *owner, "m", 1, model, builtin);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.status().message().find("snp.chain_incomplete"), std::string::npos) << untrusted.status().message();

  // Judged at an instant after the VCEK expired.
  VerifyOptions later = options;
  later.now = std::chrono::system_clock::now() + std::chrono::hours(24 * 400);
  auto expired = BuildPackage(box, *policy, *owner, "m", 1, model, later);
  ASSERT_FALSE(expired.ok());
  EXPECT_NE(expired.status().message().find("snp.vek_validity"), std::string::npos) << expired.status().message();
}

}  // namespace
}  // namespace citadel
