// Composite evidence (CPU + attached GPUs) where Citadel checks evidence
// outside the TLS handshake: the model owner judging a box identity before
// packaging a model for it, and the key broker before releasing a sealing
// root. Both apply the same policy step as the handshake (ApplyPolicy): the
// policy's signed RIMs judge every attached GPU. The CPU is the sim
// platform; the GPU is a test device hierarchy generated here.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "../attest/corim_builder.h"
#include "../attest/nvidia_pki.h"
#include "citadel/channel.h"
#include "citadel/gpu.h"
#include "citadel/key_release.h"
#include "citadel/package.h"

namespace citadel {
namespace {

namespace fs = std::filesystem;

constexpr uint8_t kGpuFill = 0x44;

// One GPU that signs with the test hierarchy (the NVML path has its own
// tests; here only what the evidence carries matters).
class TestGpu final : public GpuAttester {
 public:
  explicit TestGpu(const gputest::GpuPki* pki) : pki_(pki) {}
  std::string Describe() const override { return "1 test GPU"; }
  size_t device_count() const override { return 1; }
  Result<Evidence> Attest(size_t, const std::array<uint8_t, 32>& nonce) override {
    return Evidence(EvidenceKind::kNvidiaGpu, gputest::MakeGpuReport(*pki_, nonce, gputest::Measurements(kGpuFill)),
                    pki_->ChainPem());
  }

 private:
  const gputest::GpuPki* pki_;
};

class CompositeBoxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("citadel-composite-box-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    SimPlatformOptions o;
    o.state_dir = (dir_ / "sim").string();
    auto sim = OpenSimPlatform(o);
    ASSERT_TRUE(sim.ok()) << sim.status().ToString();
    platform_ = WithGpuEvidence(std::move(sim).value(), std::make_shared<TestGpu>(&gpu_));
    options_.trust_anchors = {gpu_.RootPem(), rim_pki_.RootPem()};
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Sim allowed, any CPU measurement; the GPU judged by a signed RIM whose
  // reference values are the measurements filled with `rim_fill`.
  Policy RimPolicy(uint8_t rim_fill) const {
    rimtest::RimSpec spec;
    for (const auto& b : gputest::Measurements(rim_fill)) spec.refs[b.index] = {Bytes(b.value.begin(), b.value.end())};
    Policy p;
    p.allow_simulation = true;
    p.accept_any_measurement = true;
    NvidiaPolicy n;
    n.rim_files = {"gpu.corim"};
    n.rims = {rimtest::SignedCorim(rim_pki_, spec)};
    p.nvidia = n;
    return p;
  }

  gputest::GpuPki gpu_ = gputest::MakeGpuPki();
  rimtest::RimPki rim_pki_ = rimtest::MakeRimPki();
  fs::path dir_;
  std::unique_ptr<Platform> platform_;
  VerifyOptions options_;
};

TEST_F(CompositeBoxTest, PackagingJudgesTheBoxGpuWithThePolicyRim) {
  auto key = HpkeGenerateKeyPair(kHpkeDefaultSuite);
  ASSERT_TRUE(key.ok());
  auto box = MakeBoxIdentity(*platform_, *key);
  ASSERT_TRUE(box.ok()) << box.status().ToString();
  auto owner = OwnerKey::Generate();
  ASSERT_TRUE(owner.ok());
  const Bytes model = {'o', 'n', 'n', 'x'};

  auto built = BuildPackage(*box, RimPolicy(kGpuFill), *owner, "m", 1, model, options_);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  EXPECT_TRUE(OpenPackage(*built, *key).ok());

  auto refused = BuildPackage(*box, RimPolicy(kGpuFill + 1), *owner, "m", 1, model, options_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kPolicyRejected);
  EXPECT_NE(refused.status().message().find("policy.nvidia.rim_measurement: GPU 0: "), std::string::npos)
      << refused.status().ToString();
}

TEST_F(CompositeBoxTest, KeyBrokerJudgesTheServerGpuWithThePolicyRim) {
  auto broker = KeyBroker::Open((dir_ / "broker").string());
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  auto request = BeginKeyRelease(*platform_);
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  auto answer = (*broker)->Release(request->ToJson(), RimPolicy(kGpuFill), options_);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  auto root = FinishKeyRelease(*request, *answer, (*broker)->public_key_spki());
  EXPECT_TRUE(root.ok()) << root.status().ToString();

  auto refused = (*broker)->Release(request->ToJson(), RimPolicy(kGpuFill + 1), options_);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("policy.nvidia.rim_measurement: GPU 0: "), std::string::npos)
      << refused.status().ToString();
}

}  // namespace
}  // namespace citadel
