// The Gramine SGX backend against a fake /dev/attestation tree.
#include <gtest/gtest.h>

#include "citadel/tee.h"
#include "fake_tee.h"

namespace citadel {
namespace {

using namespace testing_tee;

class SgxPlatformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    dir_ = tmp_.Sub("dev/attestation");
    WriteBytes(dir_ + "/attestation_type", AsBytes("dcap\n"));
    WriteBytes(dir_ + "/user_report_data", {});
    WriteBytes(dir_ + "/keys/_sgx_mrenclave", Bytes(16, 0x11));
    SetQuote(SgxQuote(mrenclave_, ProbeData()));
    options_.name = "sgx";
    options_.root = tmp_.path();
  }
  void SetQuote(const Bytes& q) { WriteBytes(dir_ + "/quote", q); }
  Result<std::unique_ptr<Platform>> Open() { return OpenPlatform(options_); }

  TempDir tmp_;
  std::string dir_;
  std::array<uint8_t, 32> mrenclave_ = M32(0xAB);
  PlatformOptions options_;
};

TEST_F(SgxPlatformTest, EvidenceMeasurementAndSealing) {
  auto p = Open();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->name(), "sgx");
  EXPECT_FALSE((*p)->is_simulation());
  EXPECT_EQ((*p)->measurement(), Bytes(mrenclave_.begin(), mrenclave_.end()));
  EXPECT_NE((*p)->Describe().find("mrenclave=" + HexEncode(mrenclave_)), std::string::npos);
  EXPECT_EQ((*p)->Describe().find("DEBUG"), std::string::npos);
  // The probe wrote its report_data to user_report_data.
  auto probe = ProbeData();
  EXPECT_EQ(ReadBytes(dir_ + "/user_report_data"), Bytes(probe.begin(), probe.end()));

  ReportData rd = Rd(0x33);
  Bytes quote = SgxQuote(mrenclave_, rd);
  SetQuote(quote);
  auto ev = (*p)->GetEvidence(rd);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->kind, EvidenceKind::kSgxDcap);
  EXPECT_EQ(ev->bytes, quote);
  EXPECT_EQ(ReadBytes(dir_ + "/user_report_data"), Bytes(rd.begin(), rd.end()));

  auto k1 = (*p)->SealingKey("model-store/v1");
  auto k2 = (*p)->SealingKey("model-store/v1");
  auto k3 = (*p)->SealingKey("receipt-counter/v1");
  ASSERT_TRUE(k1.ok() && k2.ok() && k3.ok());
  EXPECT_EQ(k1->size(), 32u);
  EXPECT_TRUE(ConstantTimeEquals(k1->span(), k2->span()));
  EXPECT_FALSE(ConstantTimeEquals(k1->span(), k3->span()));
  EXPECT_FALSE((*p)->SealingKey("").ok());

  // Another hardware key (another enclave identity) gives other keys.
  WriteBytes(dir_ + "/keys/_sgx_mrenclave", Bytes(16, 0x12));
  SetQuote(SgxQuote(mrenclave_, ProbeData()));
  auto p2 = Open();
  ASSERT_TRUE(p2.ok());
  auto k4 = (*p2)->SealingKey("model-store/v1");
  ASSERT_TRUE(k4.ok());
  EXPECT_FALSE(ConstantTimeEquals(k1->span(), k4->span()));
}

TEST_F(SgxPlatformTest, QuoteWithOtherReportDataIsRefused) {
  auto p = Open();
  ASSERT_TRUE(p.ok());
  SetQuote(SgxQuote(mrenclave_, Rd(0x01)));  // stale quote, or another writer's
  auto ev = (*p)->GetEvidence(Rd(0x02));
  ASSERT_FALSE(ev.ok());
  EXPECT_EQ(ev.status().code(), Code::kUnavailable);
  EXPECT_NE(ev.status().message().find("report_data"), std::string::npos);
}

TEST_F(SgxPlatformTest, NotInsideGramine) {
  std::filesystem::remove_all(dir_);
  auto p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("Gramine"), std::string::npos) << p.status().message();
}

TEST_F(SgxPlatformTest, AttestationTypes) {
  WriteBytes(dir_ + "/attestation_type", AsBytes("none\n"));
  auto p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("remote_attestation"), std::string::npos);
  WriteBytes(dir_ + "/attestation_type", AsBytes("epid"));
  p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kUnsupported);
}

TEST_F(SgxPlatformTest, MalformedQuotes) {
  Bytes good = SgxQuote(mrenclave_, ProbeData());
  // Short reads: every truncation of the header and body fails cleanly.
  for (size_t n : {size_t{0}, size_t{10}, size_t{47}, size_t{48}, size_t{48 + 383}, size_t{48 + 384},
                   size_t{48 + 386}, good.size() - 1}) {
    SetQuote(Bytes(good.begin(), good.begin() + static_cast<long>(n)));
    auto p = Open();
    ASSERT_FALSE(p.ok()) << n;
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument) << n << " " << p.status().ToString();
  }
  Bytes v4 = good;
  PutU16(v4, 0, 4);
  SetQuote(v4);
  EXPECT_FALSE(Open().ok());
  Bytes epid = good;
  PutU16(epid, 2, 0);
  SetQuote(epid);
  EXPECT_FALSE(Open().ok());
  Bytes huge_sig = good;
  PutU32(huge_sig, 48 + 384, 0xFFFFFFFF);
  SetQuote(huge_sig);
  EXPECT_FALSE(Open().ok());
  Bytes no_sig = good;
  PutU32(no_sig, 48 + 384, 0);
  SetQuote(no_sig);
  EXPECT_FALSE(Open().ok());
}

TEST_F(SgxPlatformTest, SealingKeyFile) {
  std::filesystem::remove(dir_ + "/keys/_sgx_mrenclave");
  auto p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kNotFound);
  WriteBytes(dir_ + "/keys/_sgx_mrenclave", Bytes(15, 1));  // short read
  p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kDataLoss);
  WriteBytes(dir_ + "/keys/_sgx_mrenclave", Bytes(65, 1));
  EXPECT_FALSE(Open().ok());
}

TEST_F(SgxPlatformTest, UserReportDataMissing) {
  std::filesystem::remove(dir_ + "/user_report_data");
  auto p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kNotFound);
}

TEST_F(SgxPlatformTest, DebugEnclaveIsLabelled) {
  SetQuote(SgxQuote(mrenclave_, ProbeData(), /*debug=*/true));
  auto p = Open();
  ASSERT_TRUE(p.ok());
  EXPECT_NE((*p)->Describe().find("DEBUG"), std::string::npos);
}

TEST_F(SgxPlatformTest, RealDcapQuote) {
  auto real = LoadVector("sgx-dcap/phala-dcap-qvl/sgx_quote");
  if (!real) GTEST_SKIP() << "real vector absent: " << VectorPath("sgx-dcap/phala-dcap-qvl/sgx_quote");
  // Unmodified, its REPORTDATA is not our probe's: refused.
  SetQuote(*real);
  EXPECT_FALSE(Open().ok());
  // With our report_data in place (offset 48 + 320) it parses; MRENCLAVE is
  // at 48 + 64 (FORMATS.md).
  Bytes q = *real;
  auto probe = ProbeData();
  Put(q, 48 + 320, probe);
  SetQuote(q);
  auto p = Open();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->measurement(), Bytes(real->begin() + 48 + 64, real->begin() + 48 + 96));
}

}  // namespace
}  // namespace citadel
