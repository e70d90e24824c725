// Regression tests from fuzzing the proof verifiers (issue 9): a signed
// statement is attacker-controlled whenever the verifier accepts its
// evidence (no policy, or a policy allowing simulation: anyone can make sim
// evidence over their own key). Fields of the wrong JSON type inside a
// validly signed payload must be refused, never throw.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "citadel/channel.h"
#include "citadel/crypto.h"
#include "citadel/proof.h"
#include "citadel/tee.h"

namespace citadel {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class HostileStatementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("citadel-proof-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    SimPlatformOptions o;
    o.state_dir = dir_.string();
    o.config_bytes = Bytes{'{', '}'};
    auto p = OpenSimPlatform(o);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    platform_ = std::move(p).value();
    auto id = CreateServerIdentity(*platform_, "attacker");
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    identity_ = std::move(id).value();
    signer_.key = identity_.key.get();
    signer_.spki_der = identity_.spki_der;
    signer_.evidence_envelope = EncodeEvidenceEnvelope(identity_.evidence);
  }
  void TearDown() override { fs::remove_all(dir_); }

  json Sign(json payload, std::string_view kind) {
    payload["evidence_sha256"] = HexEncode(Sha256(signer_.evidence_envelope));
    auto st = SignStatement(signer_, kind, payload);
    EXPECT_TRUE(st.ok());
    return st.ok() ? *st : json();
  }

  fs::path dir_;
  std::unique_ptr<Platform> platform_;
  ServerIdentity identity_;
  StatementSigner signer_;
};

TEST_F(HostileStatementTest, CheckpointWithWrongTypesIsRefusedNotThrown) {
  json entry = {{"seq", 0}, {"time", 1}, {"event", "x"}, {"data", json::object()}, {"prev", std::string(64, '0')}};
  entry["hash"] = AuditEntryHash(entry);
  for (const json& payload : {json{{"seq", "0"}, {"head_hash", entry["hash"]}},
                              json{{"seq", 0}, {"head_hash", 12}},
                              json{{"seq", 0.5}, {"head_hash", nullptr}}}) {
    json checkpoint = Sign(payload, "audit-checkpoint");
    Result<AuditVerification> r = Status::Internal("not run");
    EXPECT_NO_THROW(r = VerifyAuditLog({entry}, &checkpoint, nullptr)) << payload.dump();
    EXPECT_FALSE(r.ok()) << payload.dump();
  }
}

TEST_F(HostileStatementTest, ReceiptDigestsWithWrongTypesAreRefusedNotThrown) {
  auto t = Tensor::FromVector<float>(DType::kFloat32, {1}, {1.0f});
  ASSERT_TRUE(t.ok());
  ReceiptCheck check;
  check.inputs.push_back({"x", *t});
  for (const json& digests : {json::array({{{"name", 7}, {"sha256", "00"}}}),
                              json::array({{{"name", "x"}, {"sha256", 7}}}),
                              json::array({{{"name", nullptr}}})}) {
    json receipt = Sign({{"inputs", digests}, {"outputs", json::array()}}, "receipt");
    Result<VerifiedStatement> r = Status::Internal("not run");
    EXPECT_NO_THROW(r = VerifyReceipt(receipt, check)) << digests.dump();
    EXPECT_FALSE(r.ok()) << digests.dump();
  }
}

}  // namespace
}  // namespace citadel
