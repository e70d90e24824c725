// Intel DCAP collateral (TCB Info, QE Identity, CRLs, TCB level selection)
// on the real vectors: each reaches the verdict VECTORS.md states at the
// stated instant, and is reported expired outside its window.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "citadel/attest/intel_quote.h"
#include "hw_test_util.h"

namespace citadel {
namespace {

using hwtest::At;
using hwtest::ReadVector;

VerifyOptions Now(const char* t) {
  VerifyOptions o;
  o.now = At(t);
  return o;
}

std::string Check(const Result<VerifiedEvidence>& r) {
  if (r.ok()) return "ok";
  const std::string& m = r.status().message();
  return m.substr(0, m.find(':'));
}

intel::IntelCollateral DcapQvl(const char* file) {
  auto c = intel::ImportDcapQvlCollateral(AsStringView(ReadVector(file)));
  EXPECT_TRUE(c.ok()) << c.status().message();
  intel::IntelCollateral col = c.ok() ? *c : intel::IntelCollateral{};
  col.trusted_roots = {ReadVector("roots/intel_sgx_root_ca.pem")};
  return col;
}

TEST(IntelCollateralVectors, PhalaSgxConfigurationAndSwHardeningNeeded) {
  CITADEL_REQUIRE_VECTORS();
  auto col = DcapQvl("sgx-dcap/phala-dcap-qvl/sgx_quote_collateral.json");
  Bytes q = ReadVector("sgx-dcap/phala-dcap-qvl/sgx_quote");
  auto r = intel::VerifyIntelQuote(q, col, Now("2025-07-01T00:00:00Z"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->claims.at("intel.tcb_status"), "ConfigurationAndSWHardeningNeeded");
  EXPECT_EQ(r->claims.at("intel.advisory_ids"), "INTEL-SA-00289,INTEL-SA-00615");
  EXPECT_EQ(r->claims.at("intel.qe_tcb_status"), "UpToDate");
  EXPECT_EQ(r->claims.at("intel.root_crl"), "checked");
  EXPECT_EQ(r->claims.at("intel.fmspc"), "00a067110000");
  // Window edges (PROVENANCE: 2025-06-19T10:56:11Z .. 2025-07-19T10:01:18Z).
  EXPECT_TRUE(intel::VerifyIntelQuote(q, col, Now("2025-06-19T10:56:11Z")).ok());
  EXPECT_TRUE(intel::VerifyIntelQuote(q, col, Now("2025-07-19T10:01:18Z")).ok());
  auto late = intel::VerifyIntelQuote(q, col, Now("2025-07-19T10:01:19Z"));
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.status().message().find("expired"), std::string::npos) << late.status().message();
  auto early = intel::VerifyIntelQuote(q, col, Now("2025-06-19T10:56:10Z"));
  ASSERT_FALSE(early.ok());
  EXPECT_NE(early.status().message().find("not yet valid"), std::string::npos) << early.status().message();
}

TEST(IntelCollateralVectors, TamperedCollateralRejected) {
  CITADEL_REQUIRE_VECTORS();
  Bytes q = ReadVector("sgx-dcap/phala-dcap-qvl/sgx_quote");
  auto base = DcapQvl("sgx-dcap/phala-dcap-qvl/sgx_quote_collateral.json");
  const auto now = Now("2025-07-01T00:00:00Z");
  {  // TCB Info body changed (status upgraded by an attacker).
    auto col = base;
    auto pos = col.tcb_info->body.find("ConfigurationAndSWHardeningNeeded");
    ASSERT_NE(pos, std::string::npos);
    col.tcb_info->body.replace(pos, 34, "UpToDate");
    EXPECT_EQ(Check(intel::VerifyIntelQuote(q, col, now)), "intel.tcb_info");
  }
  {  // Re-serialised (pretty-printed) body: the signature covers exact bytes.
    auto col = base;
    col.tcb_info->body = nlohmann::json::parse(col.tcb_info->body).dump(2);
    EXPECT_EQ(Check(intel::VerifyIntelQuote(q, col, now)), "intel.tcb_info");
  }
  {  // QE Identity signature flipped.
    auto col = base;
    col.qe_identity->signature[5] ^= 1;
    EXPECT_EQ(Check(intel::VerifyIntelQuote(q, col, now)), "intel.qe_identity");
  }
  {  // No PCK CRL.
    auto col = base;
    col.crls.erase(col.crls.begin());
    EXPECT_EQ(Check(intel::VerifyIntelQuote(q, col, now)), "intel.pck_crl");
  }
  {  // No QE identity.
    auto col = base;
    col.qe_identity.reset();
    EXPECT_EQ(Check(intel::VerifyIntelQuote(q, col, now)), "intel.qe_identity");
  }
  {  // Swapped collateral: the TDX platform's TCB Info / TD_QE identity for an SGX quote.
    auto tdx = DcapQvl("tdx/phala-dcap-qvl/tdx_quote_collateral.json");
    auto col = base;
    col.tcb_info = tdx.tcb_info;
    EXPECT_EQ(Check(intel::VerifyIntelQuote(q, col, now)), "intel.tcb_info_mismatch");
    col = base;
    col.qe_identity = tdx.qe_identity;
    EXPECT_EQ(Check(intel::VerifyIntelQuote(q, col, now)), "intel.qe_identity");
    // Another platform's CRL (Platform CA instead of Processor CA).
    col = base;
    col.crls = tdx.crls;
    EXPECT_EQ(Check(intel::VerifyIntelQuote(q, col, now)), "intel.pck_crl");
  }
}

TEST(IntelCollateralVectors, FortanixSgxSwHardeningNeeded) {
  CITADEL_REQUIRE_VECTORS();
  intel::IntelCollateral col;
  col.trusted_roots = {ReadVector("roots/intel_sgx_root_ca.pem")};
  auto tcb = intel::ImportFortanixSignedJson(AsStringView(ReadVector("sgx-dcap/fortanix-rust-sgx/00906ea10000.tcb")));
  ASSERT_TRUE(tcb.ok()) << tcb.status().message();
  auto qe = intel::ImportFortanixSignedJson(AsStringView(ReadVector("sgx-dcap/fortanix-rust-sgx/qe3_identity.id")));
  ASSERT_TRUE(qe.ok()) << qe.status().message();
  col.tcb_info = *tcb;
  col.qe_identity = *qe;
  auto crl = nlohmann::json::parse(AsStringView(ReadVector("sgx-dcap/fortanix-rust-sgx/processor.crl")));
  std::string pem = crl.at("crl").get<std::string>();
  col.crls = {Bytes(pem.begin(), pem.end())};
  Bytes q = ReadVector("sgx-dcap/fortanix-rust-sgx/quote.bin");
  auto r = intel::VerifyIntelQuote(q, col, Now("2020-06-01T00:00:00Z"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->claims.at("intel.tcb_status"), "SWHardeningNeeded");
  EXPECT_EQ(r->claims.at("intel.qe_tcb_status"), "UpToDate");
  EXPECT_EQ(r->claims.at("intel.root_crl"), "absent");  // no 2020 Root CA CRL exists here
  auto late = intel::VerifyIntelQuote(q, col, Now("2020-06-18T00:00:00Z"));
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.status().message().find("expired"), std::string::npos) << late.status().message();
}

TEST(IntelCollateralVectors, PhalaTdxV4UpToDate) {
  CITADEL_REQUIRE_VECTORS();
  auto col = DcapQvl("tdx/phala-dcap-qvl/tdx_quote_collateral.json");
  auto r = intel::VerifyIntelQuote(ReadVector("tdx/phala-dcap-qvl/tdx_quote"), col, Now("2025-07-01T00:00:00Z"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->claims.at("intel.tcb_status"), "UpToDate");
  EXPECT_EQ(r->claims.at("intel.qe_tcb_status"), "UpToDate");
  EXPECT_EQ(r->claims.at("tdx.module_tcb_status"), "UpToDate");
  auto late = intel::VerifyIntelQuote(ReadVector("tdx/phala-dcap-qvl/tdx_quote"), col, Now("2025-07-20T00:00:00Z"));
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.status().message().find("expired"), std::string::npos) << late.status().message();
}

TEST(IntelCollateralVectors, PhalaTdxOutdatedHasNoMatchingLevel) {
  CITADEL_REQUIRE_VECTORS();
  auto col = DcapQvl("tdx/phala-dcap-qvl/tdx_quote_outdated_collateral.json");
  auto r = intel::VerifyIntelQuote(ReadVector("tdx/phala-dcap-qvl/tdx_quote_outdated"), col,
                                   Now("2026-03-01T00:00:00Z"));
  EXPECT_EQ(Check(r), "intel.tcb_no_match") << r.status().message();
}

TEST(IntelCollateralVectors, PhalaHexQuotesHaveNoMatchingLevel) {
  CITADEL_REQUIRE_VECTORS();
  auto col = DcapQvl("tdx/phala-dcap-qvl/tdx_quote_collateral.json");
  for (const char* f : {"tdx/phala-dcap-qvl/tdx-quote.hex", "tdx/phala-dcap-qvl/quote-from-tappd.hex"}) {
    Bytes q = intel::DecodeQuoteInput(ReadVector(f));
    auto r = intel::VerifyIntelQuote(q, col, Now("2025-07-01T00:00:00Z"));
    EXPECT_EQ(Check(r), "intel.tcb_no_match") << f << ": " << r.status().message();
  }
}

TEST(IntelCollateralVectors, GoTdxGuestSprHasNoMatchingLevel) {
  CITADEL_REQUIRE_VECTORS();
  const std::string dir = "tdx/google-go-tdx-guest/";
  intel::IntelCollateral col;
  col.trusted_roots = {ReadVector(dir + "trusted_root.pem")};
  auto tcb = intel::ImportPcsSignedJson(AsStringView(ReadVector(dir + "sample_tcbInfo_response")));
  ASSERT_TRUE(tcb.ok()) << tcb.status().message();
  auto qe = intel::ImportPcsSignedJson(AsStringView(ReadVector(dir + "sample_qeIdentity_response")));
  ASSERT_TRUE(qe.ok()) << qe.status().message();
  Bytes chain = ReadVector(dir + "tcbInfoIssuerChain_and_qeIdentityIssuerChain.pem");
  tcb->issuer_chain = chain;
  qe->issuer_chain = chain;
  col.tcb_info = *tcb;
  col.qe_identity = *qe;
  col.crls = {ReadVector(dir + "pckcrl"), ReadVector(dir + "rootcrl.der")};
  Bytes q = ReadVector(dir + "tdx_prod_quote_SPR_E4.dat");
  auto r = intel::VerifyIntelQuote(q, col, Now("2023-07-01T00:00:00Z"));
  EXPECT_EQ(Check(r), "intel.tcb_no_match") << r.status().message();
  auto late = intel::VerifyIntelQuote(q, col, Now("2023-07-09T00:00:00Z"));
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.status().message().find("expired"), std::string::npos) << late.status().message();
}

TEST(IntelCollateralVectors, GoTdxGuestV5UpToDate) {
  CITADEL_REQUIRE_VECTORS();
  auto col = DcapQvl("tdx/phala-dcap-qvl/tdx_quote_outdated_collateral.json");
  auto r = intel::VerifyIntelQuote(ReadVector("tdx/google-go-tdx-guest/quote_v5_sample.dat"), col,
                                   Now("2026-03-01T00:00:00Z"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->claims.at("intel.tcb_status"), "UpToDate");
  EXPECT_EQ(r->claims.at("intel.qe_tcb_status"), "UpToDate");
  auto late = intel::VerifyIntelQuote(ReadVector("tdx/google-go-tdx-guest/quote_v5_sample.dat"), col,
                                      Now("2026-03-21T00:00:00Z"));
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.status().message().find("expired"), std::string::npos) << late.status().message();
}

TEST(IntelCollateralImport, MalformedInputsRejected) {
  EXPECT_FALSE(intel::ImportDcapQvlCollateral("").ok());
  EXPECT_FALSE(intel::ImportDcapQvlCollateral("{\"tcb_info\": 5}").ok());
  EXPECT_FALSE(intel::ImportPcsSignedJson("{\"tcbInfo\":{\"a\":1}}").ok());
  EXPECT_FALSE(intel::ImportPcsSignedJson("[1,2]").ok());
  auto ok = intel::ImportPcsSignedJson(
      "{\"tcbInfo\":{\"a\":\"}{\\\"\",\"b\":[1,{}]},\"signature\":\"" + std::string(128, 'a') + "\"}");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->body, "{\"a\":\"}{\\\"\",\"b\":[1,{}]}");
  EXPECT_FALSE(intel::ImportFortanixSignedJson("{\"raw_tcb_info\":\"x\",\"signature\":[1,300]}").ok());
}

}  // namespace
}  // namespace citadel
