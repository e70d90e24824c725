// The SEV-SNP backend: configfs-tsm (fake kernel) and /dev/sev-guest (fake
// device), derived-key sealing, the auxblob certificate table.
#include <gtest/gtest.h>

#include "citadel/tee.h"
#include "fake_tee.h"

namespace citadel {
namespace {

using namespace testing_tee;

class SnpPlatformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    device_ = std::make_shared<FakeSevGuest>();
    device_->measurement = measurement_;
    options_.name = "snp";
    options_.root = tmp_.path();
    options_.sev_guest = device_;
  }
  // configfs-tsm present, played by a fake kernel.
  FakeTsmKernel& UseTsm() {
    kernel_ = std::make_unique<FakeTsmKernel>(tmp_.path());
    kernel_->provider = "sev_guest";
    kernel_->make_outblob = [this](const Bytes& in) -> std::optional<Bytes> {
      ReportData rd{};
      std::copy_n(in.begin(), std::min(in.size(), rd.size()), rd.begin());
      return SnpReport(measurement_, rd, tsm_vmpl_);
    };
    kernel_->Install(options_);
    return *kernel_;
  }
  Result<std::unique_ptr<Platform>> Open() { return OpenPlatform(options_); }

  TempDir tmp_;
  std::array<uint8_t, 48> measurement_ = M48(0x5A);
  std::shared_ptr<FakeSevGuest> device_;
  std::unique_ptr<FakeTsmKernel> kernel_;
  uint32_t tsm_vmpl_ = 0;
  PlatformOptions options_;
};

TEST_F(SnpPlatformTest, DeviceOnly) {
  auto p = Open();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->name(), "snp");
  EXPECT_EQ((*p)->measurement(), Bytes(measurement_.begin(), measurement_.end()));
  EXPECT_NE((*p)->Describe().find("/dev/sev-guest"), std::string::npos);
  ReportData rd = Rd(0x61);
  auto ev = (*p)->GetEvidence(rd);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->kind, EvidenceKind::kSevSnp);
  EXPECT_EQ(ev->bytes, SnpReport(measurement_, rd));
  EXPECT_TRUE((*p)->Endorsements().empty());
  // Derived key request: VCEK root, bound to policy and measurement.
  EXPECT_EQ(device_->key_calls, 1);
  EXPECT_EQ(device_->last_key_request.root_key_select, 0u);
  EXPECT_EQ(device_->last_key_request.guest_field_select, (1u << 0) | (1u << 3));
  auto k1 = (*p)->SealingKey("model-store/v1");
  auto k2 = (*p)->SealingKey("receipt-counter/v1");
  ASSERT_TRUE(k1.ok() && k2.ok());
  EXPECT_EQ(k1->size(), 32u);
  EXPECT_FALSE(ConstantTimeEquals(k1->span(), k2->span()));
  // Same firmware key -> same sealing key after a restart; another -> another.
  auto again = Open();
  ASSERT_TRUE(again.ok());
  auto k3 = (*again)->SealingKey("model-store/v1");
  ASSERT_TRUE(k3.ok());
  EXPECT_TRUE(ConstantTimeEquals(k1->span(), k3->span()));
  device_->key_fill = 0x43;
  auto other = Open();
  ASSERT_TRUE(other.ok());
  auto k4 = (*other)->SealingKey("model-store/v1");
  ASSERT_TRUE(k4.ok());
  EXPECT_FALSE(ConstantTimeEquals(k1->span(), k4->span()));
}

TEST_F(SnpPlatformTest, DeviceErrors) {
  device_->report_error = Status::Unavailable("sev-guest: SNP_GET_REPORT failed: Input/output error");
  auto p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kUnavailable);
  device_->report_error = Status();

  device_->report_status = 0x16;  // INVALID_PARAM
  p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("0x16"), std::string::npos) << p.status().message();
  device_->report_status = 0;

  device_->report_size = 1000;  // wrong-size report
  EXPECT_FALSE(Open().ok());
  device_->report_size = 5000;  // beyond the response buffer
  EXPECT_FALSE(Open().ok());
  device_->report_size.reset();

  device_->report_vmpl_override = 2;
  EXPECT_FALSE(Open().ok());
  device_->report_vmpl_override.reset();

  device_->key_error = Status::Unavailable("sev-guest: SNP_GET_DERIVED_KEY failed");
  EXPECT_FALSE(Open().ok());
  device_->key_error = Status();
  device_->key_status = 0x27;  // INVALID_KEY
  EXPECT_FALSE(Open().ok());
  device_->key_status = 0;
  device_->key_response_len = 40;  // short response
  EXPECT_FALSE(Open().ok());
  device_->key_response_len = 64;
  device_->key_fill = 0;  // an all-zero key is never a key
  EXPECT_FALSE(Open().ok());
  device_->key_fill = 0x42;
  EXPECT_TRUE(Open().ok());
}

TEST_F(SnpPlatformTest, ConfigfsTsmWithCertificateTable) {
  FakeTsmKernel& k = UseTsm();
  Bytes vcek = Bytes{0x30, 0x82, 0x01, 0x02, 0xAA};
  if (auto real = LoadVector("sev-snp/trustee/test-vcek.der")) vcek = *real;
  k.auxblob = CertTable({{kVcekGuid, vcek}, {kAskGuid, Bytes{0x30, 0x01, 0x00}}, {"00112233445566778899aabbccddeeff", Bytes{1, 2}}});
  auto p = Open();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_NE((*p)->Describe().find("configfs-tsm"), std::string::npos);
  EXPECT_EQ(device_->report_calls, 0);  // reports come from configfs-tsm
  EXPECT_EQ(device_->key_calls, 1);     // the key from the device
  std::string pem(AsStringView((*p)->Endorsements()));
  EXPECT_NE(pem.find("-----BEGIN CERTIFICATE-----\n" + Base64Encode(vcek).substr(0, 64) + "\n"), std::string::npos);
  // Two known certificates; the unknown GUID is skipped.
  size_t count = 0;
  for (size_t pos = 0; (pos = pem.find("BEGIN CERTIFICATE", pos)) != std::string::npos; ++pos) ++count;
  EXPECT_EQ(count, 2u);
  ReportData rd = Rd(0x62);
  auto ev = (*p)->GetEvidence(rd);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->bytes, SnpReport(measurement_, rd));
  EXPECT_EQ(k.EntriesLeft(), 0u);
  EXPECT_TRUE((*p)->SealingKey("model-store/v1").ok());
}

TEST_F(SnpPlatformTest, BadCertificateTable) {
  FakeTsmKernel& k = UseTsm();
  Bytes t = CertTable({{kVcekGuid, Bytes(10, 1)}});
  PutU32(t, 20, 5000);  // length beyond the table
  k.auxblob = t;
  EXPECT_FALSE(Open().ok());
  k.auxblob = Bytes(30, 0x77);  // no terminator
  EXPECT_FALSE(Open().ok());
  k.auxblob = Bytes{};  // empty: no certificates, fine
  EXPECT_TRUE(Open().ok());
}

TEST_F(SnpPlatformTest, ConfigfsTsmOnlyHasNoSealingKey) {
  UseTsm();
  options_.sev_guest = nullptr;  // and no <root>/dev/sev-guest
  auto p = Open();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto key = (*p)->SealingKey("model-store/v1");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(key.status().message().find("/dev/sev-guest"), std::string::npos);
}

TEST_F(SnpPlatformTest, PrivlevelWhenVmplIsSet) {
  FakeTsmKernel& k = UseTsm();
  options_.snp_vmpl = 2;
  tsm_vmpl_ = 2;
  k.Install(options_);
  auto p = Open();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(k.last_privlevel, "2");
  EXPECT_EQ(device_->last_key_request.vmpl, 2u);
  tsm_vmpl_ = 0;  // the report says another VMPL than requested
  EXPECT_FALSE(Open().ok());
}

TEST_F(SnpPlatformTest, WrongSizeAndProvider) {
  FakeTsmKernel& k = UseTsm();
  k.make_outblob = [this](const Bytes& in) -> std::optional<Bytes> {
    ReportData rd{};
    std::copy_n(in.begin(), std::min(in.size(), rd.size()), rd.begin());
    Bytes r = SnpReport(measurement_, rd);
    r.pop_back();
    return r;
  };
  auto p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
  EXPECT_NE(p.status().message().find("1183"), std::string::npos);
  k.provider = "tdx_guest";
  p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(k.EntriesLeft(), 0u);
}

TEST_F(SnpPlatformTest, NothingPresent) {
  options_.sev_guest = nullptr;
  auto p = Open();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kFailedPrecondition);
}

TEST_F(SnpPlatformTest, RealReport) {
  auto real = LoadVector("sev-snp/google-go-sev-guest/attestation.bin");
  if (!real) GTEST_SKIP() << "real vector absent";
  FakeTsmKernel& k = UseTsm();
  k.make_outblob = [&](const Bytes& in) -> std::optional<Bytes> {
    Bytes r = *real;
    PutU32(r, 0x30, 0);  // VMPL 0 as requested
    Put(r, 0x50, in);
    return r;
  };
  auto p = Open();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->measurement(), Bytes(real->begin() + 0x90, real->begin() + 0x90 + 48));
  k.make_outblob = [&](const Bytes&) -> std::optional<Bytes> { return *real; };
  EXPECT_FALSE(Open().ok());
}

}  // namespace
}  // namespace citadel
