#include <sys/stat.h>

#include <gtest/gtest.h>

#include "citadel/tee.h"
#include "test_util.h"

namespace citadel {
namespace {

using testing_tee::TempDir;
using testing_tee::WriteFile;

// tee_test does not link the attest module; check sim evidence with the
// codec and the signature primitive directly.
struct Checked {
  bool ok = false;
  SimEvidenceBody body;
  std::string signer;  // hex SHA-256 of the signer SPKI
};
Checked CheckSimEvidence(const Evidence& ev) {
  Checked c;
  if (ev.kind != EvidenceKind::kSim) return c;
  auto parsed = ParseSimEvidence(ev.bytes);
  if (!parsed.ok()) return c;
  auto key = ParsePublicKeySpkiDer(parsed->body.signer_spki_der);
  if (!key.ok()) return c;
  if (!VerifyDigestMessage(key->get(), "SHA384", parsed->signed_part, parsed->signature).ok()) {
    return c;
  }
  c.ok = true;
  c.body = parsed->body;
  c.signer = HexEncode(Sha256(parsed->body.signer_spki_der));
  return c;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

class SimPlatformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    binary_ = tmp_.Sub("fake-binary");
    WriteFile(binary_, "pretend this is the citadel executable");
    options_.state_dir = tmp_.Sub("state");
    options_.binary_path = binary_;
    options_.config_bytes = Bytes{'c', 'f', 'g'};
  }

  std::unique_ptr<Platform> Open(const SimPlatformOptions& o) {
    auto p = OpenSimPlatform(o);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(p).value() : nullptr;
  }

  TempDir tmp_;
  std::string binary_;
  SimPlatformOptions options_;
};

TEST_F(SimPlatformTest, CreatesStateWithStrictPermissions) {
  auto p = Open(options_);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ModeOf(options_.state_dir), 0700u);
  EXPECT_EQ(ModeOf(options_.state_dir + "/sim-hardware-key.p8"), 0600u);
  EXPECT_EQ(ModeOf(options_.state_dir + "/sim-root-secret.bin"), 0600u);
}

TEST_F(SimPlatformTest, DescribesItselfAsSimulation) {
  auto p = Open(options_);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->name(), "sim");
  EXPECT_TRUE(p->is_simulation());
  EXPECT_NE(p->Describe().find("SIMULATION"), std::string::npos);
  EXPECT_EQ(p->measurement().size(), 48u);
}

TEST_F(SimPlatformTest, ReopenReusesSignerAndSealingKey) {
  auto a = Open(options_);
  ASSERT_NE(a, nullptr);
  auto key_a = a->SealingKey("model-store/v1");
  ASSERT_TRUE(key_a.ok());
  EXPECT_EQ(key_a->size(), 32u);
  ReportData rd{};
  auto ev_a = a->GetEvidence(rd);
  ASSERT_TRUE(ev_a.ok());
  auto ver_a = CheckSimEvidence(*ev_a);
  ASSERT_TRUE(ver_a.ok);
  a.reset();

  auto b = Open(options_);
  ASSERT_NE(b, nullptr);
  auto key_b = b->SealingKey("model-store/v1");
  ASSERT_TRUE(key_b.ok());
  EXPECT_TRUE(ConstantTimeEquals(key_a->span(), key_b->span()));
  auto ev_b = b->GetEvidence(rd);
  ASSERT_TRUE(ev_b.ok());
  auto ver_b = CheckSimEvidence(*ev_b);
  ASSERT_TRUE(ver_b.ok);
  EXPECT_EQ(ver_a.signer, ver_b.signer);
  EXPECT_EQ(ver_a.body.measurement, ver_b.body.measurement);
}

TEST_F(SimPlatformTest, DifferentPurposeGivesDifferentKey) {
  auto p = Open(options_);
  ASSERT_NE(p, nullptr);
  auto k1 = p->SealingKey("model-store/v1");
  auto k2 = p->SealingKey("receipts/v1");
  ASSERT_TRUE(k1.ok() && k2.ok());
  EXPECT_FALSE(ConstantTimeEquals(k1->span(), k2->span()));
  EXPECT_FALSE(p->SealingKey("").ok());
}

TEST_F(SimPlatformTest, DifferentConfigChangesMeasurementAndSealingKey) {
  auto a = Open(options_);
  ASSERT_NE(a, nullptr);
  SimPlatformOptions other = options_;
  other.config_bytes = Bytes{'c', 'f', 'G'};
  auto b = Open(other);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->measurement(), b->measurement());
  auto ka = a->SealingKey("model-store/v1");
  auto kb = b->SealingKey("model-store/v1");
  ASSERT_TRUE(ka.ok() && kb.ok());
  EXPECT_FALSE(ConstantTimeEquals(ka->span(), kb->span()));
}

TEST_F(SimPlatformTest, DifferentBinaryChangesMeasurement) {
  auto m1 = ComputeSimMeasurement(binary_, options_.config_bytes);
  ASSERT_TRUE(m1.ok());
  WriteFile(binary_, "a rebuilt executable");
  auto m2 = ComputeSimMeasurement(binary_, options_.config_bytes);
  ASSERT_TRUE(m2.ok());
  EXPECT_NE(*m1, *m2);
  EXPECT_FALSE(ComputeSimMeasurement(tmp_.Sub("missing"), {}).ok());
}

TEST_F(SimPlatformTest, MeasurementMatchesDocumentedFormula) {
  auto m = ComputeSimMeasurement(binary_, options_.config_bytes);
  ASSERT_TRUE(m.ok());
  Sha384Digest bin = Sha384(AsBytes("pretend this is the citadel executable"));
  Sha384Digest cfg = Sha384(options_.config_bytes);
  Hasher h(Hasher::Algo::kSha384);
  h.Update(AsBytes("citadel/sim-measurement/v1"));
  h.Update(bin);
  h.Update(cfg);
  Bytes expected = h.Finish();
  EXPECT_EQ(Bytes(m->begin(), m->end()), expected);
}

TEST_F(SimPlatformTest, DefaultBinaryIsSelf) {
  auto m = ComputeSimMeasurement("", {});
  EXPECT_TRUE(m.ok()) << m.status().ToString();
}

TEST_F(SimPlatformTest, EvidenceVerifiesAndSaysSimulation) {
  auto p = Open(options_);
  ASSERT_NE(p, nullptr);
  ReportData rd{};
  for (size_t i = 0; i < rd.size(); ++i) rd[i] = static_cast<uint8_t>(i);
  auto ev = p->GetEvidence(rd);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->kind, EvidenceKind::kSim);
  auto v = CheckSimEvidence(*ev);
  ASSERT_TRUE(v.ok);
  EXPECT_EQ(v.body.flags & kSimFlagSimulation, kSimFlagSimulation);
  EXPECT_EQ(v.body.report_data, rd);
  EXPECT_EQ(Bytes(v.body.measurement.begin(), v.body.measurement.end()), p->measurement());
  EXPECT_GT(v.body.timestamp, 1600000000u);
  // The full verifier (attest module) is exercised in tests/attest.
}

TEST_F(SimPlatformTest, CorruptKeyFileIsRefusedClearly) {
  ASSERT_NE(Open(options_), nullptr);
  WriteFile(options_.state_dir + "/sim-hardware-key.p8", "not a key");
  ::chmod((options_.state_dir + "/sim-hardware-key.p8").c_str(), 0600);
  auto p = OpenSimPlatform(options_);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kDataLoss);
  EXPECT_NE(p.status().message().find("sim-hardware-key.p8"), std::string::npos);
  EXPECT_NE(p.status().message().find("corrupt"), std::string::npos);
}

TEST_F(SimPlatformTest, CorruptRootSecretIsRefused) {
  ASSERT_NE(Open(options_), nullptr);
  WriteFile(options_.state_dir + "/sim-root-secret.bin", "short");
  auto p = OpenSimPlatform(options_);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kDataLoss);
  EXPECT_NE(p.status().message().find("sim-root-secret.bin"), std::string::npos);
}

TEST_F(SimPlatformTest, LoosePermissionsAreRefused) {
  ASSERT_NE(Open(options_), nullptr);
  std::string key = options_.state_dir + "/sim-hardware-key.p8";
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  auto p = OpenSimPlatform(options_);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("0644"), std::string::npos);
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);

  ASSERT_EQ(::chmod(options_.state_dir.c_str(), 0755), 0);
  p = OpenSimPlatform(options_);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("0755"), std::string::npos);
}

TEST_F(SimPlatformTest, MissingOneStateFileIsRefusedNotRegenerated) {
  ASSERT_NE(Open(options_), nullptr);
  std::string root = options_.state_dir + "/sim-root-secret.bin";
  ASSERT_EQ(::unlink(root.c_str()), 0);
  auto p = OpenSimPlatform(options_);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("incomplete"), std::string::npos);
  struct stat st;
  EXPECT_NE(::stat(root.c_str(), &st), 0);  // not silently recreated
}

TEST_F(SimPlatformTest, SymlinkedKeyFileIsRefused) {
  ASSERT_NE(Open(options_), nullptr);
  std::string key = options_.state_dir + "/sim-hardware-key.p8";
  std::string moved = tmp_.Sub("elsewhere.p8");
  ASSERT_EQ(::rename(key.c_str(), moved.c_str()), 0);
  ASSERT_EQ(::symlink(moved.c_str(), key.c_str()), 0);
  EXPECT_FALSE(OpenSimPlatform(options_).ok());
}

TEST_F(SimPlatformTest, EmptyStateDirIsInvalid) {
  SimPlatformOptions o = options_;
  o.state_dir = "";
  auto p = OpenSimPlatform(o);
  EXPECT_FALSE(p.ok());
}

}  // namespace
}  // namespace citadel
