// Sim evidence: format, verification, and robustness against hostile bytes.
#include <gtest/gtest.h>

#include <random>

#include "citadel/attest.h"
#include "citadel/byte_reader.h"
#include "citadel/crypto.h"

namespace citadel {
namespace {

struct SimFixture {
  EvpPkeyPtr key;
  Bytes spki;
  SimEvidenceBody body;
};

SimFixture MakeFixture() {
  SimFixture f;
  auto key = GenerateEcKey(Curve::kP384);
  EXPECT_TRUE(key.ok());
  f.key = std::move(key).value();
  f.spki = *PublicKeySpkiDer(f.key.get());
  f.body.flags = kSimFlagSimulation;
  for (size_t i = 0; i < f.body.measurement.size(); ++i) f.body.measurement[i] = uint8_t(0xA0 + i);
  for (size_t i = 0; i < f.body.report_data.size(); ++i) f.body.report_data[i] = uint8_t(i);
  f.body.timestamp = 1700000000;
  f.body.signer_spki_der = f.spki;
  return f;
}

Bytes Sign(EVP_PKEY* key, const SimEvidenceBody& body) {
  auto signed_part = SimEvidenceSignedPart(body);
  EXPECT_TRUE(signed_part.ok());
  auto sig = SignDigestMessage(key, "SHA384", *signed_part);
  EXPECT_TRUE(sig.ok());
  auto out = FinishSimEvidence(*signed_part, *sig);
  EXPECT_TRUE(out.ok());
  return *out;
}

Evidence Sim(Bytes bytes) { return Evidence{EvidenceKind::kSim, std::move(bytes)}; }

class SimEvidenceTest : public ::testing::Test {
 protected:
  SimFixture f_ = MakeFixture();
  Bytes good_ = Sign(f_.key.get(), f_.body);
};

TEST_F(SimEvidenceTest, RoundTrip) {
  auto v = VerifyEvidence(Sim(good_));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->kind, EvidenceKind::kSim);
  EXPECT_TRUE(v->simulation);
  EXPECT_EQ(v->measurement, Bytes(f_.body.measurement.begin(), f_.body.measurement.end()));
  EXPECT_EQ(v->report_data, f_.body.report_data);
  EXPECT_EQ(v->claims.at("platform"), "sim");
  EXPECT_EQ(v->claims.at("simulation"), "true");
  EXPECT_EQ(v->claims.at("measurement"), HexEncode(f_.body.measurement));
  EXPECT_EQ(v->claims.at("signer"), HexEncode(Sha256(f_.spki)));
}

TEST_F(SimEvidenceTest, LayoutIsAsDocumented) {
  ByteReader r(good_);
  ByteSpan magic;
  ASSERT_TRUE(r.ReadBytes(8, &magic));
  EXPECT_EQ(AsStringView(magic), "CTDLSIM1");
  uint16_t version;
  ASSERT_TRUE(r.ReadU16Le(&version));
  EXPECT_EQ(version, 1);
  uint32_t flags;
  ASSERT_TRUE(r.ReadU32Le(&flags));
  EXPECT_EQ(flags, 1u);
  ASSERT_TRUE(r.Skip(48 + 64));
  uint64_t ts;
  ASSERT_TRUE(r.ReadU64Le(&ts));
  EXPECT_EQ(ts, 1700000000u);
  ByteReader spki, sig;
  ASSERT_TRUE(r.ReadU16LePrefixed(&spki));
  EXPECT_EQ(Bytes(spki.rest().begin(), spki.rest().end()), f_.spki);
  ASSERT_TRUE(r.ReadU16LePrefixed(&sig));
  EXPECT_TRUE(r.empty());
}

TEST_F(SimEvidenceTest, EverySingleByteFlipIsRejected) {
  for (size_t i = 0; i < good_.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xFF}) {
      Bytes t = good_;
      t[i] ^= mask;
      auto v = VerifyEvidence(Sim(t));
      ASSERT_FALSE(v.ok()) << "byte " << i << " mask " << int(mask);
      EXPECT_EQ(v.status().code(), Code::kAttestationFailed) << i;
    }
  }
}

TEST_F(SimEvidenceTest, EveryTruncationIsRejected) {
  for (size_t n = 0; n < good_.size(); ++n) {
    auto v = VerifyEvidence(Sim(Bytes(good_.begin(), good_.begin() + n)));
    ASSERT_FALSE(v.ok()) << n;
    EXPECT_EQ(v.status().code(), Code::kAttestationFailed);
  }
}

TEST_F(SimEvidenceTest, TrailingBytesRejected) {
  Bytes t = good_;
  t.push_back(0);
  auto v = VerifyEvidence(Sim(t));
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("trailing"), std::string::npos);
}

// Re-signed with a valid signature, so only the version check can reject it.
TEST_F(SimEvidenceTest, UnknownVersionRejected) {
  auto signed_part = *SimEvidenceSignedPart(f_.body);
  signed_part[8] = 2;  // u16 version low byte
  auto sig = *SignDigestMessage(f_.key.get(), "SHA384", signed_part);
  auto v = VerifyEvidence(Sim(*FinishSimEvidence(signed_part, sig)));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kAttestationFailed);
  EXPECT_NE(v.status().message().find("version 2"), std::string::npos);
}

TEST_F(SimEvidenceTest, SimulationFlagMustBeSetAndNoUnknownFlags) {
  SimEvidenceBody b = f_.body;
  b.flags = 0;
  auto v = VerifyEvidence(Sim(Sign(f_.key.get(), b)));
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("SIMULATION flag"), std::string::npos);
  b.flags = kSimFlagSimulation | 0x2;
  v = VerifyEvidence(Sim(Sign(f_.key.get(), b)));
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("unknown flag"), std::string::npos);
}

TEST_F(SimEvidenceTest, SignatureByAnotherKeyRejected) {
  auto other = GenerateEcKey(Curve::kP384);
  ASSERT_TRUE(other.ok());
  auto v = VerifyEvidence(Sim(Sign(other->get(), f_.body)));  // body names f_'s key
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("signature"), std::string::npos);
}

TEST_F(SimEvidenceTest, NonP384SignerRejected) {
  auto p256 = GenerateEcKey(Curve::kP256);
  ASSERT_TRUE(p256.ok());
  SimEvidenceBody b = f_.body;
  b.signer_spki_der = *PublicKeySpkiDer(p256->get());
  auto v = VerifyEvidence(Sim(Sign(p256->get(), b)));
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("P-384"), std::string::npos);
}

TEST_F(SimEvidenceTest, WrongKindOrGarbageRejected) {
  EXPECT_FALSE(VerifyEvidence(Sim({})).ok());
  EXPECT_FALSE(VerifyEvidence(Sim(Bytes(500, 0xAA))).ok());
  Evidence e{static_cast<EvidenceKind>(99), good_};
  auto v = VerifyEvidence(e);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kAttestationFailed);
  // Sim bytes labelled as another kind never verify as sim.
  auto t = VerifyEvidence(Evidence{EvidenceKind::kNvidiaGpu, good_});
  EXPECT_FALSE(t.ok());
}

// Deterministic random mutations (overwrites, insertions, deletions,
// length-field edits): every result is a clean AttestationFailed.
TEST_F(SimEvidenceTest, RandomMutationsNeverVerify) {
  std::mt19937 rng(20240601);
  for (int iter = 0; iter < 3000; ++iter) {
    Bytes t = good_;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % (t.size() + 1);
      switch (rng() % 3) {
        case 0:
          if (pos < t.size()) t[pos] = static_cast<uint8_t>(rng());
          else t.push_back(static_cast<uint8_t>(rng()));
          break;
        case 1:
          t.insert(t.begin() + static_cast<std::ptrdiff_t>(pos), static_cast<uint8_t>(rng()));
          break;
        case 2:
          if (pos < t.size()) t.erase(t.begin() + static_cast<std::ptrdiff_t>(pos));
          break;
      }
    }
    if (t == good_) continue;
    auto v = VerifyEvidence(Sim(t));
    ASSERT_FALSE(v.ok()) << "iteration " << iter;
    EXPECT_EQ(v.status().code(), Code::kAttestationFailed);
  }
}

TEST(EvidenceKindTest, Names) {
  for (auto k : {EvidenceKind::kSim, EvidenceKind::kSgxDcap, EvidenceKind::kTdx,
                 EvidenceKind::kSevSnp, EvidenceKind::kNvidiaGpu}) {
    auto back = EvidenceKindFromName(EvidenceKindName(k));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, k);
  }
  EXPECT_EQ(EvidenceKindName(EvidenceKind::kSim), "sim");
  EXPECT_EQ(EvidenceKindName(EvidenceKind::kSevSnp), "snp");
  EXPECT_FALSE(EvidenceKindFromName("SIM").has_value());
  EXPECT_FALSE(EvidenceKindFromName("").has_value());
}

TEST(ReportDataTest, LayoutAndDomainSeparation) {
  Bytes spki = {1, 2, 3};
  ReportData cert = ReportDataForCertificate(spki);
  Sha256Digest key_hash = Sha256(spki);
  EXPECT_TRUE(std::equal(key_hash.begin(), key_hash.end(), cert.begin()));
  Sha256Digest dom = Sha256(AsBytes("citadel/tls-cert/v1"));
  EXPECT_TRUE(std::equal(dom.begin(), dom.end(), cert.begin() + 32));

  Bytes nonce(32, 7);
  ReportData fresh = ReportDataForNonce(spki, nonce);
  EXPECT_TRUE(std::equal(key_hash.begin(), key_hash.end(), fresh.begin()));
  Hasher h(Hasher::Algo::kSha256);
  h.Update(AsBytes("citadel/nonce/v1"));
  h.Update(nonce);
  Bytes nd = h.Finish();
  EXPECT_TRUE(std::equal(nd.begin(), nd.end(), fresh.begin() + 32));
  EXPECT_NE(cert, fresh);
  EXPECT_NE(ReportDataForNonce(spki, Bytes(32, 8)), fresh);
  EXPECT_NE(ReportDataForCertificate(Bytes{1, 2, 4}), cert);
}

}  // namespace
}  // namespace citadel
