// OpenPlatform / DetectPlatform: names, detection, and "auto" refusing to
// fall back to simulation unless told to.
#include <gtest/gtest.h>

#include "citadel/tee.h"
#include "fake_tee.h"

namespace citadel {
namespace {

using namespace testing_tee;

TEST(PlatformFactory, AutoWithoutTeeRefuses) {
  TempDir tmp;
  PlatformOptions o;
  o.root = tmp.path();
  auto d = DetectPlatform(o);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "");
  auto p = OpenPlatform(o);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("no TEE detected"), std::string::npos);
  EXPECT_NE(p.status().message().find("--platform sim"), std::string::npos);
}

TEST(PlatformFactory, AutoFallsBackToSimOnlyWhenAllowed) {
  TempDir tmp;
  WriteFile(tmp.Sub("binary"), "binary");
  PlatformOptions o;
  o.root = tmp.path();
  o.state_dir = tmp.Sub("state");
  o.binary_path = tmp.Sub("binary");
  o.allow_simulation_fallback = true;
  auto p = OpenPlatform(o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE((*p)->is_simulation());
  EXPECT_NE((*p)->Describe().find("SIMULATION"), std::string::npos);
}

TEST(PlatformFactory, ThisMachine) {
  PlatformOptions o;  // root "/"
  auto d = DetectPlatform(o);
  if (!d.ok() || !d->empty()) GTEST_SKIP() << "this machine looks like a TEE guest";
  auto p = OpenPlatform(o);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kFailedPrecondition);
}

TEST(PlatformFactory, DetectsEachPlatform) {
  {
    TempDir tmp;
    WriteFile(tmp.Sub("x"), "");
    WriteBytes(tmp.Sub("dev/attestation/attestation_type"), AsBytes("dcap"));
    PlatformOptions o;
    o.root = tmp.path();
    EXPECT_EQ(*DetectPlatform(o), "sgx");
  }
  for (const char* provider : {"tdx_guest", "sev_guest"}) {
    TempDir tmp;
    FakeTsmKernel kernel(tmp.path());
    kernel.provider = provider;
    PlatformOptions o;
    kernel.Install(o);
    auto d = DetectPlatform(o);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(*d, std::string(provider) == "tdx_guest" ? "tdx" : "snp");
    EXPECT_EQ(kernel.EntriesLeft(), 0u);
  }
  {
    TempDir tmp;
    FakeTsmKernel kernel(tmp.path());
    kernel.provider = "arm_cca_guest";
    PlatformOptions o;
    kernel.Install(o);
    auto d = DetectPlatform(o);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), Code::kUnsupported);
  }
  {
    TempDir tmp;
    WriteBytes(tmp.Sub("dev/sev-guest"), {});
    PlatformOptions o;
    o.root = tmp.path();
    EXPECT_EQ(*DetectPlatform(o), "snp");
  }
  {
    TempDir tmp;
    WriteBytes(tmp.Sub("dev/tdx_guest"), {});
    PlatformOptions o;
    o.root = tmp.path();
    auto d = DetectPlatform(o);
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.status().message().find("configfs"), std::string::npos);
  }
}

TEST(PlatformFactory, AutoOpensDetectedSnp) {
  TempDir tmp;
  WriteBytes(tmp.Sub("dev/sev-guest"), {});
  PlatformOptions o;
  o.root = tmp.path();
  o.sev_guest = std::make_shared<FakeSevGuest>();
  auto p = OpenPlatform(o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->name(), "snp");
}

TEST(PlatformFactory, UnknownName) {
  PlatformOptions o;
  o.name = "trustzone";
  auto p = OpenPlatform(o);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
}

TEST(PlatformFactory, RealSevGuestDeviceAbsent) {
  TempDir tmp;
  auto d = OpenSevGuestDevice(tmp.Sub("dev/sev-guest"));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace citadel
