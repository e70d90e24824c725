// Attested key release, the transport-free pieces (docs/key-release.md):
// a real sim platform makes the evidence, a real broker checks it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <random>

#include "citadel/channel.h"
#include "citadel/key_release.h"

namespace citadel {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class KeyReleaseProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("citadel-keyrel-unit-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    platform_ = OpenSim("box", Bytes{'{', '}'});
    auto broker = KeyBroker::Open((dir_ / "broker").string());
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    policy_.allow_simulation = true;
    policy_.measurements = {platform_->measurement()};
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Platform> OpenSim(const std::string& name, const Bytes& config) {
    SimPlatformOptions o;
    o.state_dir = (dir_ / name).string();
    o.config_bytes = config;
    auto p = OpenSimPlatform(o);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(p).value() : nullptr;
  }

  // One full exchange; the released root or the first error.
  Result<SecretBytes> Exchange(Platform& platform, const KeyBroker& broker, ByteSpan pinned) {
    CITADEL_ASSIGN_OR_RETURN(KeyReleaseRequest request, BeginKeyRelease(platform));
    auto answer = broker.Release(request.ToJson(), policy_);
    if (!answer.ok()) return answer.status();
    return FinishKeyRelease(request, *answer, pinned);
  }

  fs::path dir_;
  std::unique_ptr<Platform> platform_;
  std::unique_ptr<KeyBroker> broker_;
  Policy policy_;
};

TEST_F(KeyReleaseProtocolTest, ReleasesTheSameRootToAnAcceptedTeeEveryTime) {
  auto first = Exchange(*platform_, *broker_, broker_->public_key_spki());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->size(), 32u);
  auto second = Exchange(*platform_, *broker_, broker_->public_key_spki());
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(ConstantTimeEquals(first->span(), second->span()));
  // A reopened broker (its state on disk) releases the same root with the
  // same signing key.
  auto reopened = KeyBroker::Open((dir_ / "broker").string());
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->public_key_spki(), broker_->public_key_spki());
  auto third = Exchange(*platform_, **reopened, broker_->public_key_spki());
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_TRUE(ConstantTimeEquals(first->span(), third->span()));
  // The broker's state is private.
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "broker").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((dir_ / "broker" / "released-root.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(KeyReleaseProtocolTest, RefusesAMeasurementOutsideThePolicy) {
  auto other = OpenSim("other-image", Bytes{'{', '"', 'x', '"', ':', '1', '}'});
  ASSERT_NE(other, nullptr);
  ASSERT_NE(other->measurement(), platform_->measurement());
  auto refused = Exchange(*other, *broker_, broker_->public_key_spki());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kPolicyRejected) << refused.status().ToString();
  // Simulation evidence needs the policy's explicit consent.
  policy_.allow_simulation = false;
  auto no_sim = Exchange(*platform_, *broker_, broker_->public_key_spki());
  ASSERT_FALSE(no_sim.ok());
  EXPECT_EQ(no_sim.status().code(), Code::kPolicyRejected) << no_sim.status().ToString();
}

TEST_F(KeyReleaseProtocolTest, RefusesEvidenceThatDoesNotBindTheRequestKey) {
  auto genuine = BeginKeyRelease(*platform_);
  ASSERT_TRUE(genuine.ok());
  // An attacker reuses the genuine evidence with a key of its own.
  auto attacker = HpkeGenerateKeyPair(kHpkeDefaultSuite);
  ASSERT_TRUE(attacker.ok());
  json request = genuine->ToJson();
  request["public_key"] = Base64Encode(attacker->public_key);
  auto refused = broker_->Release(request, policy_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kAttestationFailed);
  EXPECT_NE(refused.status().message().find("does not bind"), std::string::npos) << refused.status().ToString();
}

TEST_F(KeyReleaseProtocolTest, RefusesMalformedRequestsPrecisely) {
  auto request = BeginKeyRelease(*platform_);
  ASSERT_TRUE(request.ok());
  const json good = request->ToJson();
  struct Case {
    const char* what;
    json body;
    const char* message;
  };
  json no_key = good;
  no_key.erase("public_key");
  json bad_b64 = good;
  bad_b64["evidence"] = "***";
  json bad_version = good;
  bad_version["version"] = 2;
  json bad_point = good;
  bad_point["public_key"] = Base64Encode(Bytes(65, 0x04));
  json bad_evidence = good;
  bad_evidence["evidence"] = Base64Encode(Bytes{1, 2, 3});
  for (const Case& c : {Case{"not an object", json::array(), "not a JSON object"},
                        Case{"no key", no_key, "missing string field 'public_key'"},
                        Case{"bad base64", bad_b64, "'evidence' is not base64"},
                        Case{"version", bad_version, "unsupported request version"},
                        Case{"not a point", bad_point, "not a P-256 HPKE public key"}}) {
    auto r = broker_->Release(c.body, policy_);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c.what << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.message), std::string::npos) << c.what << ": " << r.status().ToString();
  }
  auto garbage = broker_->Release(bad_evidence, policy_);
  EXPECT_FALSE(garbage.ok());
}

TEST_F(KeyReleaseProtocolTest, TheTeeAcceptsOnlyAnUnalteredAnswerFromThePinnedBroker) {
  auto request = BeginKeyRelease(*platform_);
  ASSERT_TRUE(request.ok());
  auto answer = broker_->Release(request->ToJson(), policy_);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  ASSERT_TRUE(FinishKeyRelease(*request, *answer, broker_->public_key_spki()).ok());

  // Another broker (a man in the middle with its own key and root) answers
  // validly for itself, but the TEE pins the real broker.
  auto impostor = KeyBroker::Open((dir_ / "impostor").string());
  ASSERT_TRUE(impostor.ok());
  auto forged = (*impostor)->Release(request->ToJson(), policy_);
  ASSERT_TRUE(forged.ok());
  auto refused = FinishKeyRelease(*request, *forged, broker_->public_key_spki());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kAttestationFailed);
  EXPECT_NE(refused.status().message().find("not signed by the pinned broker key"), std::string::npos);

  // Any altered field breaks the signature.
  for (const char* field : {"enc", "ciphertext", "signature"}) {
    json altered = *answer;
    auto bytes = Base64Decode(altered[field].get<std::string>());
    ASSERT_TRUE(bytes.ok());
    (*bytes)[bytes->size() / 2] ^= 0x01;
    altered[field] = Base64Encode(*bytes);
    auto r = FinishKeyRelease(*request, altered, broker_->public_key_spki());
    EXPECT_FALSE(r.ok()) << field;
  }
  // An answer made for another request does not open for this one.
  auto other_request = BeginKeyRelease(*platform_);
  ASSERT_TRUE(other_request.ok());
  EXPECT_FALSE(FinishKeyRelease(*other_request, *answer, broker_->public_key_spki()).ok());
  // The broker's refusal reaches the TEE with its code.
  auto err = FinishKeyRelease(*request, json{{"error", "measurement not allowed"}, {"code", "policy_rejected"}},
                              broker_->public_key_spki());
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().code(), Code::kPolicyRejected);
  EXPECT_NE(err.status().message().find("refused to release"), std::string::npos);
}

TEST_F(KeyReleaseProtocolTest, SealingKeysDeriveFromTheReleasedRootPerPurpose) {
  auto root = Exchange(*platform_, *broker_, broker_->public_key_spki());
  ASSERT_TRUE(root.ok());
  SecretBytes copy(root->span());
  auto a = WithReleasedSealingRoot(OpenSim("box", Bytes{'{', '}'}), std::move(root).value());
  auto b = WithReleasedSealingRoot(OpenSim("box", Bytes{'{', '}'}), std::move(copy));
  auto store_a = a->SealingKey("model-store/v1");
  auto store_b = b->SealingKey("model-store/v1");
  auto counter_a = a->SealingKey("receipt-counter/v1");
  auto own = platform_->SealingKey("model-store/v1");
  ASSERT_TRUE(store_a.ok() && store_b.ok() && counter_a.ok() && own.ok());
  EXPECT_EQ(store_a->size(), 32u);
  EXPECT_TRUE(ConstantTimeEquals(store_a->span(), store_b->span()));
  EXPECT_FALSE(ConstantTimeEquals(store_a->span(), counter_a->span()));
  // Not the platform's own sealing key: the released root replaces it.
  EXPECT_FALSE(ConstantTimeEquals(store_a->span(), own->span()));
  // Everything else is the inner platform's.
  EXPECT_EQ(a->measurement(), platform_->measurement());
  EXPECT_NE(a->Describe().find("attested key release"), std::string::npos);
}

}  // namespace
}  // namespace citadel
