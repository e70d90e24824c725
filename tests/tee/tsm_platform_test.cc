// configfs-tsm and the TDX backend against a fake configfs tree whose
// "kernel" is played by FakeTsmKernel through the backend's test hook.
#include <gtest/gtest.h>

#include "citadel/tee.h"
#include "fake_tee.h"

namespace citadel {
namespace {

using namespace testing_tee;

class TdxPlatformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    kernel_.make_outblob = [this](const Bytes& in) -> std::optional<Bytes> {
      ReportData rd{};
      std::copy_n(in.begin(), std::min(in.size(), rd.size()), rd.begin());
      return TdxQuote(mrtd_, rd);
    };
    options_.name = "tdx";
    kernel_.Install(options_);
  }
  Result<std::unique_ptr<Platform>> Open() { return OpenPlatform(options_); }

  TempDir tmp_;
  FakeTsmKernel kernel_{tmp_.path()};
  std::array<uint8_t, 48> mrtd_ = M48(0xD7);
  PlatformOptions options_;
};

TEST_F(TdxPlatformTest, EvidenceAndMeasurement) {
  auto p = Open();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->name(), "tdx");
  EXPECT_FALSE((*p)->is_simulation());
  EXPECT_EQ((*p)->measurement(), Bytes(mrtd_.begin(), mrtd_.end()));
  ReportData rd = Rd(0x44);
  auto ev = (*p)->GetEvidence(rd);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->kind, EvidenceKind::kTdx);
  EXPECT_EQ(ev->bytes, TdxQuote(mrtd_, rd));
  // One entry per report, each removed afterwards.
  EXPECT_EQ(kernel_.created, 2);
  EXPECT_EQ(kernel_.removed, 2);
  EXPECT_EQ(kernel_.EntriesLeft(), 0u);
  EXPECT_TRUE(kernel_.last_privlevel.empty());  // TDX: no privlevel
}

TEST_F(TdxPlatformTest, NoSealingKeyWithoutKeyRelease) {
  auto p = Open();
  ASSERT_TRUE(p.ok());
  auto k = (*p)->SealingKey("model-store/v1");
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(k.status().message().find("attested key release"), std::string::npos);
  EXPECT_NE((*p)->Describe().find("attested key release"), std::string::npos);
}

TEST_F(TdxPlatformTest, GenerationChangeMidReadIsRetried) {
  kernel_.disturb_reads = 2;  // two attempts see a concurrent writer; the third is clean
  auto p = Open();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(kernel_.attempts, 3);
  EXPECT_EQ(kernel_.EntriesLeft(), 0u);
}

TEST_F(TdxPlatformTest, PersistentConcurrentWriterGivesUp) {
  kernel_.disturb_reads = 100;
  options_.tsm_max_attempts = 4;
  kernel_.Install(options_);
  auto p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kUnavailable);
  EXPECT_NE(p.status().message().find("generation"), std::string::npos);
  EXPECT_EQ(kernel_.attempts, 4);
  EXPECT_EQ(kernel_.EntriesLeft(), 0u);
}

TEST_F(TdxPlatformTest, WrongProvider) {
  kernel_.provider = "sev_guest";
  auto p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("sev_guest"), std::string::npos);
  EXPECT_EQ(kernel_.EntriesLeft(), 0u);
}

TEST_F(TdxPlatformTest, MissingFiles) {
  kernel_.provider_file = false;
  auto p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kNotFound);
  EXPECT_EQ(kernel_.EntriesLeft(), 0u);

  kernel_.provider_file = true;
  kernel_.make_outblob = [](const Bytes&) { return std::nullopt; };
  p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kNotFound);

  kernel_.make_outblob = [](const Bytes&) { return Bytes{}; };
  p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kUnavailable);
  EXPECT_EQ(kernel_.EntriesLeft(), 0u);
}

TEST_F(TdxPlatformTest, NoConfigfsTsm) {
  std::filesystem::remove_all(tmp_.Sub("sys"));
  auto p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("configfs"), std::string::npos);
}

TEST_F(TdxPlatformTest, BadGeneration) {
  kernel_.generation_text = "zero\n";
  auto p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
}

TEST_F(TdxPlatformTest, ShortAndWrongQuotes) {
  for (size_t cut : {size_t{20}, size_t{48 + 100}, size_t{48 + 584 + 2}}) {
    kernel_.make_outblob = [this, cut](const Bytes& in) -> std::optional<Bytes> {
      ReportData rd{};
      std::copy_n(in.begin(), std::min(in.size(), rd.size()), rd.begin());
      Bytes q = TdxQuote(mrtd_, rd);
      q.resize(cut);
      return q;
    };
    auto p = Open();
    ASSERT_FALSE(p.ok()) << cut;
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument) << p.status().ToString();
  }
  // An SGX quote where a TDX quote belongs.
  kernel_.make_outblob = [](const Bytes& in) -> std::optional<Bytes> {
    ReportData rd{};
    std::copy_n(in.begin(), std::min(in.size(), rd.size()), rd.begin());
    return SgxQuote(M32(1), rd);
  };
  EXPECT_FALSE(Open().ok());
  // A quote over someone else's report_data.
  kernel_.make_outblob = [this](const Bytes&) -> std::optional<Bytes> { return TdxQuote(mrtd_, Rd(9)); };
  auto p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kUnavailable);
}

TEST_F(TdxPlatformTest, DebugTdIsLabelled) {
  kernel_.make_outblob = [this](const Bytes& in) -> std::optional<Bytes> {
    ReportData rd{};
    std::copy_n(in.begin(), std::min(in.size(), rd.size()), rd.begin());
    return TdxQuote(mrtd_, rd, /*debug=*/true);
  };
  auto p = Open();
  ASSERT_TRUE(p.ok());
  EXPECT_NE((*p)->Describe().find("DEBUG"), std::string::npos);
}

// Real quotes with our report_data patched in (FORMATS.md: report_data at
// 568 in v4, at 574 in v5; MRTD at 184 / 190).
void RealQuoteCase(TdxPlatformTest* t, FakeTsmKernel& kernel, PlatformOptions& options, const std::string& rel,
                   size_t rd_off, size_t mrtd_off) {
  auto real = LoadVector(rel);
  if (!real) GTEST_SKIP() << "real vector absent: " << VectorPath(rel);
  kernel.make_outblob = [&](const Bytes& in) -> std::optional<Bytes> {
    Bytes q = *real;
    Put(q, rd_off, in);
    return q;
  };
  auto p = OpenPlatform(options);
  ASSERT_TRUE(p.ok()) << rel << ": " << p.status().ToString();
  EXPECT_EQ((*p)->measurement(), Bytes(real->begin() + mrtd_off, real->begin() + mrtd_off + 48));
  kernel.make_outblob = [&](const Bytes&) -> std::optional<Bytes> { return *real; };
  EXPECT_FALSE(OpenPlatform(options).ok()) << "unpatched real quote must not pass for ours";
}

TEST_F(TdxPlatformTest, RealQuoteV4) {
  RealQuoteCase(this, kernel_, options_, "tdx/phala-dcap-qvl/tdx_quote", 568, 184);
}
TEST_F(TdxPlatformTest, RealQuoteV5) {
  RealQuoteCase(this, kernel_, options_, "tdx/google-go-tdx-guest/quote_v5_sample.dat", 574, 190);
}
TEST_F(TdxPlatformTest, RealQuoteInPaddedBuffer) {
  RealQuoteCase(this, kernel_, options_, "tdx/google-go-tdx-guest/ccel_cos-113-tdx-quote.dat", 568, 184);
}

}  // namespace
}  // namespace citadel
