// VerifyEvidence + collateral bundle + policy on the real vectors: every
// vector of VECTORS.md reaches its verdict through the public entry points
// (VerifyEvidence / AppraiseEvidence with built-in roots), and is reported
// expired outside its window. Vectors are read from ../shared (skipped with a
// message when absent).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "citadel/attest.h"
#include "citadel/attest/appraisal.h"
#include "citadel/attest/collateral.h"
#include "hw_test_util.h"

namespace citadel {
namespace {

using hwtest::At;
using hwtest::ReadVector;

std::string Check(const Appraisal& a) {
  if (a.failed_checks.empty()) return "ok";
  const std::string& m = a.failed_checks.front();
  return m.substr(0, m.find(':'));
}

CollateralBundle Bundle(std::initializer_list<const char*> files) {
  CollateralBundle b;
  for (const char* f : files) {
    Status st = b.ImportFile(hwtest::VectorDir() + "/" + f);
    EXPECT_TRUE(st.ok()) << f << ": " << st.message();
  }
  return b;
}

Evidence Detect(const char* file) {
  auto e = DetectEvidence(ReadVector(file));
  EXPECT_TRUE(e.ok()) << file << ": " << e.status().message();
  return e.ok() ? *e : Evidence{};
}

VerifyOptions Opts(const CollateralBundle* b, const char* now) {
  VerifyOptions o;
  o.collateral = b;
  o.now = At(now);
  return o;
}

Policy Permissive() {
  auto p = Policy::FromJson(R"({"version":1,"accept_any_measurement":true,
      "tcb_statuses":["UpToDate","SWHardeningNeeded","ConfigurationAndSWHardeningNeeded","OutOfDate"]})");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return *p;
}

TEST(DispatchVectors, DetectsEveryKind) {
  CITADEL_REQUIRE_VECTORS();
  EXPECT_EQ(Detect("sgx-dcap/phala-dcap-qvl/sgx_quote").kind, EvidenceKind::kSgxDcap);
  EXPECT_EQ(Detect("sgx-dcap/fortanix-rust-sgx/quote.bin").kind, EvidenceKind::kSgxDcap);
  EXPECT_EQ(Detect("tdx/phala-dcap-qvl/tdx_quote").kind, EvidenceKind::kTdx);
  EXPECT_EQ(Detect("tdx/phala-dcap-qvl/tdx-quote.hex").kind, EvidenceKind::kTdx);
  EXPECT_EQ(Detect("tdx/google-go-tdx-guest/quote_v5_sample.dat").kind, EvidenceKind::kTdx);
  EXPECT_EQ(Detect("sev-snp/google-go-sev-guest/attestation.bin").kind, EvidenceKind::kSevSnp);
  EXPECT_EQ(Detect("sev-snp/virtee-sev/report_milan.hex").kind, EvidenceKind::kSevSnp);
  EXPECT_EQ(Detect("nvidia-gpu/trustee/hopperAttestationReport.txt").kind, EvidenceKind::kNvidiaGpu);
  EXPECT_FALSE(DetectEvidence(AsBytes("hello world")).ok());
}

TEST(DispatchVectors, PhalaSgxThroughVerifyEvidence) {
  CITADEL_REQUIRE_VECTORS();
  auto b = Bundle({"sgx-dcap/phala-dcap-qvl/sgx_quote_collateral.json"});
  Evidence e = Detect("sgx-dcap/phala-dcap-qvl/sgx_quote");
  auto r = VerifyEvidence(e, Opts(&b, "2025-07-01T00:00:00Z"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->claims.at("intel.tcb_status"), "ConfigurationAndSWHardeningNeeded");
  EXPECT_EQ(r->claims.at("intel.advisory_ids"), "INTEL-SA-00289,INTEL-SA-00615");
  EXPECT_EQ(r->claims.at("intel.qe_tcb_status"), "UpToDate");
  // Default policy (UpToDate only) rejects it; a policy listing the status accepts it.
  Policy strict = *Policy::FromJson(R"({"version":1,"accept_any_measurement":true})");
  auto a = AppraiseEvidence(e, Opts(&b, "2025-07-01T00:00:00Z"), &strict);
  EXPECT_EQ(a.verdict, Verdict::kRejected);
  EXPECT_EQ(Check(a), "policy.tcb_status");
  Policy p = Permissive();
  a = AppraiseEvidence(e, Opts(&b, "2025-07-01T00:00:00Z"), &p);
  EXPECT_EQ(a.verdict, Verdict::kAccepted) << a.ToJson();
  auto j = nlohmann::json::parse(a.ToJson());
  EXPECT_EQ(j["verdict"], "accepted");
  EXPECT_EQ(j["ear.status"], "warning");
  EXPECT_EQ(j["advisory_ids"].size(), 2u);
  // Advisory allow-list and collateral age.
  auto adv = Policy::FromJson(R"({"version":1,"accept_any_measurement":true,
      "tcb_statuses":["ConfigurationAndSWHardeningNeeded"],"allowed_advisory_ids":["INTEL-SA-00289"]})");
  ASSERT_TRUE(adv.ok()) << adv.status().message();
  a = AppraiseEvidence(e, Opts(&b, "2025-07-01T00:00:00Z"), &*adv);
  EXPECT_EQ(Check(a), "policy.advisory_ids");
  auto age = Policy::FromJson(R"({"version":1,"accept_any_measurement":true,
      "tcb_statuses":["ConfigurationAndSWHardeningNeeded"],"max_collateral_age_days":3})");
  ASSERT_TRUE(age.ok());
  EXPECT_EQ(Check(AppraiseEvidence(e, Opts(&b, "2025-07-01T00:00:00Z"), &*age)), "policy.collateral_age");
  EXPECT_EQ(AppraiseEvidence(e, Opts(&b, "2025-06-20T00:00:00Z"), &*age).verdict, Verdict::kAccepted);
  // Outside the window: expired is its own verdict.
  a = AppraiseEvidence(e, Opts(&b, "2025-07-19T10:01:19Z"), &p);
  EXPECT_EQ(a.verdict, Verdict::kExpired) << a.ToJson();
  a = AppraiseEvidence(e, Opts(&b, "2025-06-19T10:56:10Z"), &p);
  EXPECT_EQ(a.verdict, Verdict::kExpired) << a.ToJson();
  // No collateral: authentic but not evaluated, which no policy accepts.
  a = AppraiseEvidence(e, Opts(nullptr, "2025-07-01T00:00:00Z"), &p);
  EXPECT_EQ(Check(a), "policy.tcb_status");
}

TEST(DispatchVectors, FortanixSgxFromWrapperFiles) {
  CITADEL_REQUIRE_VECTORS();
  auto b = Bundle({"sgx-dcap/fortanix-rust-sgx/00906ea10000.tcb", "sgx-dcap/fortanix-rust-sgx/qe3_identity.id",
                   "sgx-dcap/fortanix-rust-sgx/processor.crl"});
  Evidence e = Detect("sgx-dcap/fortanix-rust-sgx/quote.bin");
  auto r = VerifyEvidence(e, Opts(&b, "2020-06-01T00:00:00Z"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->claims.at("intel.tcb_status"), "SWHardeningNeeded");
  EXPECT_EQ(r->claims.at("intel.qe_tcb_status"), "UpToDate");
  EXPECT_EQ(AppraiseEvidence(e, Opts(&b, "2020-06-17T17:49:22Z"), nullptr).verdict, Verdict::kExpired);
}

TEST(DispatchVectors, SyntheticQvlOnlyWithItsTestRoot) {
  CITADEL_REQUIRE_VECTORS();
  auto b = Bundle({"sgx-dcap/intel-qvl-synthetic/pckCert.pem", "sgx-dcap/intel-qvl-synthetic/pckSignChain.pem"});
  Evidence e = Detect("sgx-dcap/intel-qvl-synthetic/quote.dat");
  VerifyOptions o = Opts(&b, "2025-01-01T00:00:00Z");
  auto builtin = VerifyEvidence(e, o);
  ASSERT_FALSE(builtin.ok());
  EXPECT_EQ(builtin.status().message().substr(0, 20), "intel.untrusted_root");
  o.trust_anchors = {ReadVector("sgx-dcap/intel-qvl-synthetic/trustedRootCaCert.pem")};
  auto test_root = VerifyEvidence(e, o);
  EXPECT_TRUE(test_root.ok()) << test_root.status().message();
}

TEST(DispatchVectors, TdxVerdicts) {
  CITADEL_REQUIRE_VECTORS();
  Policy p = Permissive();
  auto phala = Bundle({"tdx/phala-dcap-qvl/tdx_quote_collateral.json"});
  auto a = AppraiseEvidence(Detect("tdx/phala-dcap-qvl/tdx_quote"), Opts(&phala, "2025-07-01T00:00:00Z"), nullptr);
  EXPECT_EQ(a.verdict, Verdict::kAccepted) << a.ToJson();
  ASSERT_TRUE(a.evidence.has_value());
  EXPECT_EQ(a.evidence->claims.at("intel.tcb_status"), "UpToDate");
  EXPECT_EQ(a.evidence->claims.at("intel.qe_tcb_status"), "UpToDate");
  for (const char* hex : {"tdx/phala-dcap-qvl/tdx-quote.hex", "tdx/phala-dcap-qvl/quote-from-tappd.hex"}) {
    a = AppraiseEvidence(Detect(hex), Opts(&phala, "2025-07-01T00:00:00Z"), &p);
    EXPECT_EQ(a.verdict, Verdict::kInvalid) << hex;
    EXPECT_EQ(Check(a), "intel.tcb_no_match") << hex;
  }
  auto outdated = Bundle({"tdx/phala-dcap-qvl/tdx_quote_outdated_collateral.json"});
  a = AppraiseEvidence(Detect("tdx/phala-dcap-qvl/tdx_quote_outdated"), Opts(&outdated, "2026-03-01T00:00:00Z"), &p);
  EXPECT_NE(a.verdict, Verdict::kAccepted) << a.ToJson();
  a = AppraiseEvidence(Detect("tdx/google-go-tdx-guest/quote_v5_sample.dat"), Opts(&outdated, "2026-03-01T00:00:00Z"),
                       nullptr);
  EXPECT_EQ(a.verdict, Verdict::kAccepted) << a.ToJson();
  auto go = Bundle({"tdx/google-go-tdx-guest/sample_tcbInfo_response", "tdx/google-go-tdx-guest/sample_qeIdentity_response",
                    "tdx/google-go-tdx-guest/pckcrl", "tdx/google-go-tdx-guest/rootcrl.der",
                    "tdx/google-go-tdx-guest/pckCrlIssuerChain.pem",
                    "tdx/google-go-tdx-guest/tcbInfoIssuerChain_and_qeIdentityIssuerChain.pem"});
  a = AppraiseEvidence(Detect("tdx/google-go-tdx-guest/tdx_prod_quote_SPR_E4.dat"), Opts(&go, "2023-07-01T00:00:00Z"), &p);
  EXPECT_EQ(Check(a), "intel.tcb_no_match") << a.ToJson();
  a = AppraiseEvidence(Detect("tdx/google-go-tdx-guest/tdx_prod_quote_SPR_E4.dat"), Opts(&go, "2023-07-09T00:00:00Z"), &p);
  EXPECT_EQ(a.verdict, Verdict::kExpired) << a.ToJson();
  // Wrong label.
  Evidence e = Detect("tdx/phala-dcap-qvl/tdx_quote");
  e.kind = EvidenceKind::kSgxDcap;
  auto r = VerifyEvidence(e, Opts(&phala, "2025-07-01T00:00:00Z"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().substr(0, 13), "evidence.kind");
}

TEST(DispatchVectors, TdxPolicyFields) {
  CITADEL_REQUIRE_VECTORS();
  auto phala = Bundle({"tdx/phala-dcap-qvl/tdx_quote_collateral.json"});
  Evidence e = Detect("tdx/phala-dcap-qvl/tdx_quote");
  auto v = VerifyEvidence(e, Opts(&phala, "2025-07-01T00:00:00Z"));
  ASSERT_TRUE(v.ok()) << v.status().message();
  const auto& c = v->claims;
  std::string good = R"({"version":1,"tdx":{"mrtd":[")" + c.at("tdx.mr_td") + R"("],"rtmr0":[")" + c.at("tdx.rtmr0") +
                     R"("],"mrconfigid":[")" + c.at("tdx.mr_config_id") + R"("]}})";
  auto p = Policy::FromJson(good);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_TRUE(EvaluatePolicy(*v, *p, At("2025-07-01T00:00:00Z")).empty());
  std::string bad = R"({"version":1,"tdx":{"mrtd":[")" + c.at("tdx.mr_td") + R"("],"rtmr3":[")" + std::string(96, 'f') + R"("]}})";
  auto q = Policy::FromJson(bad);
  ASSERT_TRUE(q.ok());
  auto f = EvaluatePolicy(*v, *q, At("2025-07-01T00:00:00Z"));
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f[0].substr(0, 16), "policy.tdx.rtmr3");
}

TEST(DispatchVectors, SnpVerdicts) {
  CITADEL_REQUIRE_VECTORS();
  auto go = Bundle({"sev-snp/google-go-sev-guest/vcek.testcer", "sev-snp/google-go-sev-guest/ask_ark_milan.pem"});
  Evidence e = Detect("sev-snp/google-go-sev-guest/attestation.bin");
  // This test report's guest policy allows DEBUG: authentic, but the default
  // policy refuses it; a policy that allows debug accepts it.
  auto a = AppraiseEvidence(e, Opts(&go, "2025-01-01T00:00:00Z"), nullptr);
  EXPECT_EQ(a.verdict, Verdict::kRejected) << a.ToJson();
  EXPECT_EQ(Check(a), "policy.snp.debug");
  auto dbg = Policy::FromJson(R"({"version":1,"accept_any_measurement":true,"snp":{"allow_debug":true}})");
  ASSERT_TRUE(dbg.ok());
  const Policy* pd = &*dbg;
  a = AppraiseEvidence(e, Opts(&go, "2025-01-01T00:00:00Z"), pd);
  EXPECT_EQ(a.verdict, Verdict::kAccepted) << a.ToJson();
  ASSERT_TRUE(a.evidence.has_value());
  EXPECT_EQ(a.evidence->claims.at("snp.tcb.microcode"), "68");
  // Built-in ASK is enough: only the VCEK is needed.
  auto vcek_only = Bundle({"sev-snp/google-go-sev-guest/vcek.testcer"});
  EXPECT_EQ(AppraiseEvidence(e, Opts(&vcek_only, "2025-01-01T00:00:00Z"), pd).verdict, Verdict::kAccepted);
  // VCEK expired (2029-09-24).
  EXPECT_EQ(AppraiseEvidence(e, Opts(&go, "2030-01-01T00:00:00Z"), pd).verdict, Verdict::kExpired);
  // No VEK at all.
  EXPECT_EQ(Check(AppraiseEvidence(e, Opts(nullptr, "2025-01-01T00:00:00Z"), pd)), "snp.vek_missing");

  auto virtee = Bundle({"sev-snp/virtee-sev/vcek_milan.der"});
  a = AppraiseEvidence(Detect("sev-snp/virtee-sev/report_milan.hex"), Opts(&virtee, "2025-01-01T00:00:00Z"), pd);
  EXPECT_EQ(a.verdict, Verdict::kAccepted) << a.ToJson();
  ASSERT_TRUE(a.evidence.has_value());
  EXPECT_EQ(a.evidence->claims.at("snp.tcb.microcode"), "115");
  // Min TCB policy.
  auto p = Policy::FromJson(R"({"version":1,"accept_any_measurement":true,"snp":{"allow_debug":true,"min_tcb":{"microcode":116}}})");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(Check(AppraiseEvidence(Detect("sev-snp/virtee-sev/report_milan.hex"), Opts(&virtee, "2025-01-01T00:00:00Z"),
                                   &*p)),
            "policy.snp.min_tcb");

  auto trustee = Bundle({"sev-snp/trustee/test-vcek.der", "sev-snp/trustee/milan_ask_ark_asvk.pem"});
  EXPECT_EQ(AppraiseEvidence(Detect("sev-snp/trustee/test-report.bin"), Opts(&trustee, "2025-01-01T00:00:00Z"), pd)
                .verdict,
            Verdict::kAccepted);
  auto vlek = Bundle({"sev-snp/trustee/test-vlek.der"});
  Evidence ve = Detect("sev-snp/trustee/test-vlek-report.bin");
  a = AppraiseEvidence(ve, Opts(&vlek, "2025-06-01T00:00:00Z"), pd);
  EXPECT_EQ(a.verdict, Verdict::kAccepted) << a.ToJson();
  auto vmpl = Policy::FromJson(R"({"version":1,"accept_any_measurement":true,"snp":{"allow_debug":true,"max_vmpl":0}})");
  ASSERT_TRUE(vmpl.ok());
  EXPECT_EQ(Check(AppraiseEvidence(ve, Opts(&vlek, "2025-06-01T00:00:00Z"), &*vmpl)), "policy.snp.vmpl");
  EXPECT_EQ(AppraiseEvidence(ve, Opts(&vlek, "2025-12-11T00:00:00Z"), pd).verdict, Verdict::kExpired);
  for (const char* bad : {"sev-snp/trustee/test-vcek-invalid-legacy.der", "sev-snp/trustee/test-vcek-invalid-new.der"}) {
    auto bb = Bundle({bad});
    a = AppraiseEvidence(Detect("sev-snp/trustee/test-report.bin"), Opts(&bb, "2025-01-01T00:00:00Z"), pd);
    EXPECT_EQ(a.verdict, Verdict::kInvalid) << bad;
    EXPECT_EQ(Check(a), "snp.vek_signature") << bad;
  }
}

TEST(DispatchVectors, NvidiaVerdicts) {
  CITADEL_REQUIRE_VECTORS();
  Evidence e = Detect("nvidia-gpu/trustee/hopperAttestationReport.txt");
  auto good = Bundle({"nvidia-gpu/trustee/hopper_cert_chain_case1.txt"});
  auto a = AppraiseEvidence(e, Opts(&good, "2025-01-01T00:00:00Z"), nullptr);
  // No verifier nonce given: the default policy requires one.
  EXPECT_EQ(Check(a), "policy.nvidia.nonce") << a.ToJson();
  auto p = Policy::FromJson(R"({"version":1,"accept_any_measurement":true,"nvidia":{"require_nonce":false}})");
  ASSERT_TRUE(p.ok()) << p.status().message();
  a = AppraiseEvidence(e, Opts(&good, "2025-01-01T00:00:00Z"), &*p);
  EXPECT_EQ(a.verdict, Verdict::kAccepted) << a.ToJson();
  for (const char* bad : {"nvidia-gpu/trustee/hopper_cert_chain_case2.txt", "nvidia-gpu/trustee/hopper_cert_chain_case3.txt",
                          "nvidia-gpu/trustee/hopper_cert_chain_case4.txt"}) {
    auto bb = Bundle({bad});
    a = AppraiseEvidence(e, Opts(&bb, "2025-01-01T00:00:00Z"), &*p);
    EXPECT_EQ(a.verdict, Verdict::kInvalid) << bad << a.ToJson();
  }
  auto coco = Bundle({"nvidia-gpu/trustee/hopper_coco_certs1.txt"});
  a = AppraiseEvidence(Detect("nvidia-gpu/trustee/hopper_coco_report1.txt"), Opts(&coco, "2025-01-01T00:00:00Z"), &*p);
  EXPECT_EQ(a.verdict, Verdict::kAccepted) << a.ToJson();
}

TEST(DispatchVectors, BundleRoundTripKeepsVerdicts) {
  CITADEL_REQUIRE_VECTORS();
  auto b = Bundle({"sgx-dcap/phala-dcap-qvl/sgx_quote_collateral.json", "tdx/phala-dcap-qvl/tdx_quote_collateral.json",
                   "sev-snp/google-go-sev-guest/vcek.testcer", "nvidia-gpu/trustee/hopper_cert_chain_case1.txt"});
  std::string text = b.ToJson();
  auto back = CollateralBundle::FromJson(text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->items.size(), b.items.size());
  EXPECT_EQ(back->ToJson(), text);
  for (const auto& it : back->items) {
    EXPECT_FALSE(it.origin.empty());
    EXPECT_FALSE(it.fetched_at.empty());
  }
  // One bundle serves SGX and TDX quotes (the TCB Info / QE Identity are picked per quote).
  auto sgx = VerifyEvidence(Detect("sgx-dcap/phala-dcap-qvl/sgx_quote"), Opts(&*back, "2025-07-01T00:00:00Z"));
  ASSERT_TRUE(sgx.ok()) << sgx.status().message();
  EXPECT_EQ(sgx->claims.at("intel.tcb_status"), "ConfigurationAndSWHardeningNeeded");
  auto tdx = VerifyEvidence(Detect("tdx/phala-dcap-qvl/tdx_quote"), Opts(&*back, "2025-07-01T00:00:00Z"));
  ASSERT_TRUE(tdx.ok()) << tdx.status().message();
  EXPECT_EQ(tdx->claims.at("intel.tcb_status"), "UpToDate");
  auto snp = VerifyEvidence(Detect("sev-snp/google-go-sev-guest/attestation.bin"), Opts(&*back, "2025-01-01T00:00:00Z"));
  EXPECT_TRUE(snp.ok()) << snp.status().message();
}

// ---- always-run tests: bundle format and policy parsing -------------------------

TEST(CollateralBundle, StrictParsing) {
  EXPECT_TRUE(CollateralBundle::FromJson(R"({"format":"citadel-collateral","version":1,"items":[]})").ok());
  EXPECT_FALSE(CollateralBundle::FromJson(R"({"format":"citadel-collateral","version":2,"items":[]})").ok());
  EXPECT_FALSE(CollateralBundle::FromJson(R"({"format":"x","version":1,"items":[]})").ok());
  EXPECT_FALSE(CollateralBundle::FromJson(R"({"format":"citadel-collateral","version":1,"items":[],"extra":1})").ok());
  EXPECT_FALSE(CollateralBundle::FromJson(
                   R"({"format":"citadel-collateral","version":1,"items":[{"type":"bogus","pem":"x"}]})")
                   .ok());
  EXPECT_FALSE(CollateralBundle::FromJson(
                   R"({"format":"citadel-collateral","version":1,"items":[{"type":"intel.crl","der":"AA==","pem":"x"}]})")
                   .ok());
  EXPECT_FALSE(CollateralBundle::FromJson(
                   R"({"format":"citadel-collateral","version":1,"items":[{"type":"intel.crl","der":"AA==","fetched_at":"yesterday"}]})")
                   .ok());
  EXPECT_FALSE(CollateralBundle::FromJson("[1]").ok());
  CollateralBundle b;
  EXPECT_FALSE(b.ImportBytes(AsBytes("{\"what\":1}"), "x", "").ok());
  EXPECT_FALSE(b.ImportBytes(AsBytes("garbage"), "x", "").ok());
}

TEST(CollateralBundle, Rfc3339) {
  auto t = ParseRfc3339("2025-07-01T00:00:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatRfc3339(*t), "2025-07-01T00:00:00Z");
  EXPECT_TRUE(ParseRfc3339("2025-07-01T00:00:00.123Z").ok());
  EXPECT_FALSE(ParseRfc3339("2025-07-01 00:00:00").ok());
  EXPECT_FALSE(ParseRfc3339("2025-13-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("2025-07-01T00:00:00+02:00").ok());
}

TEST(PolicyHardware, ParsesSectionsStrictly) {
  // Existing policy files keep working.
  EXPECT_TRUE(Policy::FromJson(R"({"version":1,"allow_simulation":true,"measurements":[")" + std::string(96, 'a') +
                               R"("]})")
                  .ok());
  auto p = Policy::FromJson(R"({"version":1,
    "sgx":{"mrsigner":[")" + std::string(64, 'b') + R"("],"isv_prod_id":1,"min_isv_svn":2,
           "attributes":"0x0","attributes_mask":"0x2","xfrm":"3","xfrm_mask":"3"},
    "tdx":{"mrtd":[")" + std::string(96, 'c') + R"("],"td_attributes_mask":"1"},
    "snp":{"measurement":[")" + std::string(96, 'd') + R"("],"min_tcb":{"snp":8},"max_vmpl":0,"allow_smt":false},
    "nvidia":{"measurements":{"1":[")" + std::string(96, 'e') + R"("]}},
    "tcb_statuses":["UpToDate","SWHardeningNeeded"],"qe_tcb_statuses":["UpToDate"],
    "allowed_advisory_ids":["INTEL-SA-00615"],"max_collateral_age_days":30})");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->sgx->isv_prod_id, 1);
  EXPECT_EQ(p->sgx->attributes_mask, 2u);
  EXPECT_EQ(p->tdx->td_attributes_mask, 1u);
  EXPECT_EQ(p->snp->min_tcb->snp, 8);
  EXPECT_EQ(*p->max_collateral_age_seconds, 30 * 86400);
  EXPECT_TRUE(p->measurements.empty());

  const char* bad[] = {
      R"({"version":1,"accept_any_measurement":true,"sgx":{"mrenclav":[]}})",
      R"({"version":1,"accept_any_measurement":true,"sgx":{"mrenclave":["00"]}})",
      R"({"version":1,"accept_any_measurement":true,"sgx":{"isv_prod_id":70000}})",
      R"({"version":1,"accept_any_measurement":true,"snp":{"min_tcb":{"ucode":1}}})",
      R"({"version":1,"accept_any_measurement":true,"snp":{"max_vmpl":4}})",
      R"({"version":1,"accept_any_measurement":true,"tcb_statuses":["Fine"]})",
      R"({"version":1,"accept_any_measurement":true,"nvidia":{"measurements":{"x":[]}}})",
      R"({"version":1,"accept_any_measurement":true,"nvidia":{"rim_file":"a.xml"}})",
      R"({"version":1,"accept_any_measurement":true,"max_collateral_age_days":1,"max_collateral_age_seconds":1})",
      R"({"version":1,"sgx":{"mrsigner":[")" "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" R"("]}})",
      R"({"version":1,"sgx":{}})",
  };
  for (const char* b : bad) EXPECT_FALSE(Policy::FromJson(b).ok()) << b;
}

TEST(PolicyHardware, StrictDefaultsWithoutSections) {
  VerifiedEvidence e;
  e.kind = EvidenceKind::kSgxDcap;
  e.measurement = Bytes(32, 1);
  e.claims = {{"sgx.debug", "true"}, {"intel.tcb_status", "UpToDate"}, {"intel.qe_tcb_status", "UpToDate"}};
  Policy p = *Policy::FromJson(R"({"version":1,"measurements":[")" + std::string(64, '0') + R"("]})");
  auto f = EvaluatePolicy(e, p, std::chrono::system_clock::now());
  // Debug forbidden and the measurement not listed: both reported, by name.
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].substr(0, 16), "policy.sgx.debug");
  EXPECT_EQ(f[1].substr(0, 18), "policy.measurement");
  EXPECT_EQ(CheckPolicy(e, p).code(), Code::kPolicyRejected);

  VerifiedEvidence s;
  s.kind = EvidenceKind::kSevSnp;
  s.measurement = Bytes(48, 2);
  s.claims = {{"snp.debug", "false"}, {"snp.migrate_ma", "true"}, {"measurement", std::string(96, '0')}};
  Policy any = *Policy::FromJson(R"({"version":1,"accept_any_measurement":true})");
  f = EvaluatePolicy(s, any, std::chrono::system_clock::now());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].substr(0, 21), "policy.snp.migrate_ma");
}

}  // namespace
}  // namespace citadel
