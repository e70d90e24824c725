// NVIDIA reference measurements from signed CoRIMs: a generated CoRIM signing
// hierarchy (root -> sub-CA -> signer, like NVIDIA's three levels) signs
// CoRIMs built here with an independent little CBOR encoder. Self-contained
// tests (always run) cover the parser, the signature/chain/validity checks
// and the comparison through ApplyPolicyRims + EvaluatePolicy; with the
// shared vectors, the real hopper report is appraised end to end against a
// CoRIM holding its measurements (AppraiseEvidence, the code behind
// `citadel verify` and the attested channel).
#include "citadel/attest/nvidia_rim.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "citadel/attest.h"
#include "citadel/attest/appraisal.h"
#include "citadel/attest/collateral.h"
#include "citadel/attest/nvidia.h"
#include "corim_builder.h"
#include "hw_test_util.h"

namespace citadel {
namespace {

using hwtest::At;

using namespace rimtest;  // NOLINT: the builder's short CBOR names

Bytes Digest(uint8_t fill) { return Bytes(48, fill); }

References SampleRefs() { return {{2, {Digest(0x22)}}, {3, {Digest(0x33), Digest(0x34)}}, {5, {Digest(0x55)}}}; }

std::string CheckOf(const Status& st) { return st.message().substr(0, st.message().find(':')); }

// ---- parser and verifier --------------------------------------------------------

TEST(NvidiaRim, ParsesAndVerifiesASignedCorim) {
  RimPki pki = MakeRimPki();
  RimSpec spec;
  spec.refs = SampleRefs();
  Bytes corim = SignedCorim(pki, spec);
  auto rim = nvidia::VerifyCorim(corim, {pki.RootPem()}, At("2025-01-01T00:00:00Z"));
  ASSERT_TRUE(rim.ok()) << rim.status().message();
  EXPECT_EQ(rim->id, "test-rim-1");
  EXPECT_EQ(rim->vendor, "NVIDIA");
  EXPECT_EQ(rim->model, "GH100");
  EXPECT_EQ(rim->x5chain.size(), 2u);
  EXPECT_EQ(rim->references, SampleRefs());
  EXPECT_EQ(rim->signer_name, "Test CoRIM product signer");

  // The draft-06 wrappers #6.500(#6.502(...)), hex text and RIM-service JSON.
  EXPECT_TRUE(nvidia::VerifyCorim(Tag(500, Tag(502, corim)), {pki.RootPem()}, At("2025-01-01T00:00:00Z")).ok());
  std::string hex = HexEncode(corim);
  EXPECT_TRUE(nvidia::ParseCorim(AsBytes(hex)).ok());
  std::string json = R"({"id":"NV_GPU_DRIVER_GH100_1","rim":")" + Base64Encode(corim) + R"("})";
  EXPECT_TRUE(nvidia::ParseCorim(AsBytes(json)).ok());

  // ES256 with a P-256 signer.
  RimPki p256 = MakeRimPki(3650, "P-256");
  spec.alg = -7;
  EXPECT_TRUE(nvidia::VerifyCorim(SignedCorim(p256, spec), {p256.RootPem()}, At("2025-01-01T00:00:00Z")).ok());
}

TEST(NvidiaRim, EachMutationHasItsNamedReason) {
  RimPki pki = MakeRimPki();
  RimSpec spec;
  spec.refs = SampleRefs();
  Bytes good = SignedCorim(pki, spec);
  const auto now = At("2025-01-01T00:00:00Z");
  auto check = [&](ByteSpan corim, const std::vector<Bytes>& roots, std::chrono::system_clock::time_point at) {
    auto r = nvidia::VerifyCorim(corim, roots, at);
    return r.ok() ? std::string("ok") : CheckOf(r.status());
  };
  EXPECT_EQ(check(good, {pki.RootPem()}, now), "ok");

  // Flipped signature byte (the last byte of the input is in the signature).
  Bytes flipped = good;
  flipped.back() ^= 1;
  EXPECT_EQ(check(flipped, {pki.RootPem()}, now), "nvidia.rim_signature");
  // A flipped byte inside the signed payload.
  Bytes payload_flip = good;
  const Bytes needle = Digest(0x55);
  auto pos = std::search(payload_flip.begin(), payload_flip.end(), needle.begin(), needle.end());
  ASSERT_NE(pos, payload_flip.end());
  *pos ^= 1;
  EXPECT_EQ(check(payload_flip, {pki.RootPem()}, now), "nvidia.rim_signature");
  // Wrong root: another name; an impostor with the same name.
  RimPki other = MakeRimPki(3650, "P-384", "Another Root CA");
  EXPECT_EQ(check(good, {other.RootPem()}, now), "nvidia.rim_untrusted_root");
  RimPki impostor = MakeRimPki();
  EXPECT_EQ(check(good, {impostor.RootPem()}, now), "nvidia.rim_chain_signature");
  EXPECT_EQ(check(good, {}, now), "nvidia.rim_trust_anchor");
  // Expired signer certificate, and the CoRIM's own validity.
  RimPki short_lived = MakeRimPki(30);
  EXPECT_EQ(check(SignedCorim(short_lived, spec), {short_lived.RootPem()}, now), "nvidia.rim_chain_validity");
  EXPECT_EQ(check(good, {pki.RootPem()}, At("2030-01-01T00:00:00Z")), "nvidia.rim_validity");
  // Truncated CBOR at every length, and trailing bytes.
  for (size_t n = 0; n < good.size(); n += 7) {
    EXPECT_EQ(check(ByteSpan(good).first(n), {pki.RootPem()}, now), "nvidia.rim_parse") << n;
  }
  Bytes trailing = Cat({good, Bytes{0}});
  EXPECT_EQ(check(trailing, {pki.RootPem()}, now), "nvidia.rim_parse");
  // No x5chain; unsigned CoRIM; unsupported alg; crit with an unknown label.
  RimSpec nochain = spec;
  nochain.with_chain = false;
  EXPECT_EQ(check(SignedCorim(pki, nochain), {pki.RootPem()}, now), "nvidia.rim_chain_missing");
  EXPECT_EQ(check(Tag(501, M({{U(0), T("x")}, {U(1), A({})}})), {pki.RootPem()}, now), "nvidia.rim_unsigned");
  RimSpec es512 = spec;
  es512.alg = -36;  // ES512 with a P-384 key
  EXPECT_EQ(check(SignedCorim(pki, es512), {pki.RootPem()}, now), "nvidia.rim_signature");
  RimSpec crit = spec;
  crit.crit = A({U(99)});
  auto r = nvidia::VerifyCorim(SignedCorim(pki, crit), {pki.RootPem()}, now);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("crit lists header label 99"), std::string::npos) << r.status().message();
  crit.crit = A({U(33)});  // a label the parser does process
  EXPECT_EQ(check(SignedCorim(pki, crit), {pki.RootPem()}, now), "ok");
  // A measurement constraint this verifier does not evaluate (svn, key 1).
  RimSpec svn = spec;
  svn.extra_mval = Cat({U(1), U(3)});
  r = nvidia::VerifyCorim(SignedCorim(pki, svn), {pki.RootPem()}, now);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unsupported key 1"), std::string::npos) << r.status().message();
  // Indefinite lengths, deep nesting and huge declared counts.
  EXPECT_EQ(check(Bytes{0xd2, 0x9f, 0xff}, {pki.RootPem()}, now), "nvidia.rim_parse");
  EXPECT_EQ(check(Bytes(200, 0x81), {pki.RootPem()}, now), "nvidia.rim_parse");
  EXPECT_EQ(check(Bytes{0xd2, 0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {pki.RootPem()}, now),
            "nvidia.rim_parse");
  // A SWID (XML) RIM is named as such.
  r = nvidia::ParseCorim(AsBytes(std::string("<?xml version=\"1.0\"?><SoftwareIdentity/>")));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("SWID"), std::string::npos);
}

// ---- comparison through the policy (self-contained evidence claims) ----------

VerifiedEvidence GpuEvidence(const std::map<uint32_t, Bytes>& blocks) {
  VerifiedEvidence e;
  e.kind = EvidenceKind::kNvidiaGpu;
  e.measurement = Bytes(48, 0xee);
  e.claims["platform"] = "nvidia-gpu";
  e.claims["nvidia.nonce_checked"] = "true";
  for (const auto& [i, v] : blocks) e.claims["nvidia.measurement." + std::to_string(i)] = HexEncode(v);
  return e;
}

std::string WriteTemp(const std::string& name, ByteSpan bytes) {
  std::string dir = ::testing::TempDir() + "/nvidia_rim_test";
  std::filesystem::create_directories(dir);
  std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return path;
}

Policy RimPolicy(const std::vector<std::string>& paths) {
  std::string list;
  for (const auto& p : paths) list += (list.empty() ? "\"" : ",\"") + p + "\"";
  auto p = Policy::FromJson(R"({"version":1,"nvidia":{"rim_file":[)" + list + R"(]}})");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? *p : Policy{};
}

// ApplyPolicyRims + EvaluatePolicy, as AppraiseEvidence runs them.
std::vector<std::string> Appraise(VerifiedEvidence e, const Policy& p, const std::vector<Bytes>& roots,
                                  const char* at = "2025-01-01T00:00:00Z") {
  VerifyOptions o;
  o.trust_anchors = roots;
  o.now = At(at);
  Status st = nvidia::ApplyPolicyRims(*p.nvidia, o, &e);
  if (!st.ok()) return {st.message()};
  return EvaluatePolicy(e, p, o.now);
}

std::string First(const std::vector<std::string>& f) { return f.empty() ? "ok" : f[0].substr(0, f[0].find(':')); }

TEST(NvidiaRim, PolicyComparesMeasurements) {
  RimPki pki = MakeRimPki();
  RimSpec spec;
  spec.refs = SampleRefs();
  std::string path = WriteTemp("driver.corim", SignedCorim(pki, spec));
  Policy p = RimPolicy({path});
  ASSERT_EQ(p.nvidia->rims.size(), 1u);
  std::map<uint32_t, Bytes> blocks = {{1, Bytes(48, 0)}, {2, Digest(0x22)}, {3, Digest(0x34)}, {5, Digest(0x55)}};
  EXPECT_EQ(First(Appraise(GpuEvidence(blocks), p, {pki.RootPem()})), "ok");

  // Digest mismatch.
  auto mismatch = blocks;
  mismatch[3] = Digest(0x35);
  auto f = Appraise(GpuEvidence(mismatch), p, {pki.RootPem()});
  EXPECT_EQ(First(f), "policy.nvidia.rim_measurement");
  EXPECT_NE(f[0].find("index 3"), std::string::npos) << f[0];
  // An active index that no RIM lists; an inactive (zero) one is fine.
  auto extra = blocks;
  extra[7] = Digest(0x77);
  f = Appraise(GpuEvidence(extra), p, {pki.RootPem()});
  EXPECT_EQ(First(f), "policy.nvidia.rim_missing");
  EXPECT_NE(f[0].find("index 7"), std::string::npos) << f[0];
  // The RIM lists an index the report lacks.
  auto fewer = blocks;
  fewer.erase(5);
  EXPECT_EQ(First(Appraise(GpuEvidence(fewer), p, {pki.RootPem()})), "policy.nvidia.rim_measurement");
  // Authenticity failures of the RIM, named, with the file in the detail.
  RimPki other = MakeRimPki(3650, "P-384", "Another Root CA");
  f = Appraise(GpuEvidence(blocks), p, {other.RootPem()});
  EXPECT_EQ(First(f), "nvidia.rim_untrusted_root");
  EXPECT_NE(f[0].find("driver.corim"), std::string::npos) << f[0];
  Bytes flipped = SignedCorim(pki, spec);
  flipped.back() ^= 0x80;
  EXPECT_EQ(First(Appraise(GpuEvidence(blocks), RimPolicy({WriteTemp("flipped.corim", flipped)}), {pki.RootPem()})),
            "nvidia.rim_signature");
  Bytes truncated = SignedCorim(pki, spec);
  truncated.resize(truncated.size() / 2);
  EXPECT_EQ(First(Appraise(GpuEvidence(blocks), RimPolicy({WriteTemp("trunc.corim", truncated)}), {pki.RootPem()})),
            "nvidia.rim_parse");
  EXPECT_EQ(First(Appraise(GpuEvidence(blocks), p, {pki.RootPem()}, "2031-01-01T00:00:00Z")), "nvidia.rim_validity");
  // EvaluatePolicy alone has not verified the RIM: refused, never ignored.
  EXPECT_EQ(First(EvaluatePolicy(GpuEvidence(blocks), p, At("2025-01-01T00:00:00Z"))), "policy.nvidia.rim");
}

TEST(NvidiaRim, DriverAndVbiosRims) {
  RimPki pki = MakeRimPki();
  RimSpec driver, vbios;
  driver.refs = {{2, {Digest(0x22)}}, {3, {Digest(0x33)}}};
  vbios.refs = {{5, {Digest(0x55)}}};
  std::string dir = ::testing::TempDir() + "/nvidia_rim_test";
  WriteTemp("d.corim", SignedCorim(pki, driver));
  WriteTemp("v.corim", SignedCorim(pki, vbios));
  // Relative paths resolve against the policy file's folder.
  std::string policy_path = dir + "/policy.json";
  std::ofstream(policy_path) << R"({"version":1,"nvidia":{"rim_file":["d.corim","v.corim"],"require_nonce":true}})";
  auto p = Policy::LoadFile(policy_path);
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->nvidia->rims.size(), 2u);
  std::map<uint32_t, Bytes> blocks = {{2, Digest(0x22)}, {3, Digest(0x33)}, {5, Digest(0x55)}};
  VerifiedEvidence e = GpuEvidence(blocks);
  VerifyOptions o;
  o.trust_anchors = {pki.RootPem()};
  o.now = At("2025-01-01T00:00:00Z");
  ASSERT_TRUE(nvidia::ApplyPolicyRims(*p->nvidia, o, &e).ok());
  EXPECT_EQ(e.claims["nvidia.rim"], "verified");
  EXPECT_EQ(e.claims["nvidia.rim.count"], "2");
  EXPECT_EQ(e.claims["nvidia.rim.1.file"], "v.corim");
  EXPECT_EQ(e.claims["nvidia.rim.reference.5"], HexEncode(Digest(0x55)));
  EXPECT_TRUE(EvaluatePolicy(e, *p, o.now).empty());
  // Without the VBIOS RIM, index 5 is unlisted.
  EXPECT_EQ(First(Appraise(GpuEvidence(blocks), RimPolicy({dir + "/d.corim"}), {pki.RootPem()})),
            "policy.nvidia.rim_missing");
  // The same index in two RIMs.
  EXPECT_EQ(First(Appraise(GpuEvidence(blocks), RimPolicy({dir + "/d.corim", dir + "/d.corim"}), {pki.RootPem()})),
            "nvidia.rim_conflict");
  // Policy errors: a missing file, a wrong type.
  EXPECT_FALSE(Policy::FromJson(R"({"version":1,"nvidia":{"rim_file":"/nonexistent/x.corim"}})").ok());
  EXPECT_FALSE(Policy::FromJson(R"({"version":1,"nvidia":{"rim_file":[]}})").ok());
  EXPECT_FALSE(Policy::FromJson(R"({"version":1,"nvidia":{"rim_file":7}})").ok());

  // Fuzz seeds (fuzz/corpus/nvidia_rim) are written from these CoRIMs on request.
  if (const char* seeds = std::getenv("CITADEL_WRITE_RIM_SEEDS"); seeds != nullptr && *seeds != 0) {
    std::filesystem::create_directories(seeds);
    std::ofstream(std::string(seeds) + "/driver.corim", std::ios::binary)
        .write(reinterpret_cast<const char*>(SignedCorim(pki, driver).data()), SignedCorim(pki, driver).size());
    Bytes wrapped = Tag(500, Tag(502, SignedCorim(pki, vbios)));
    std::ofstream(std::string(seeds) + "/vbios_wrapped.corim", std::ios::binary)
        .write(reinterpret_cast<const char*>(wrapped.data()), wrapped.size());
  }
}

// NVIDIA's networking CoRIMs name their signer certificate by URL instead of
// carrying an x5chain: the policy supplies it (nvidia.rim_chain).
TEST(NvidiaRim, SignerChainFromThePolicy) {
  RimPki pki = MakeRimPki();
  RimSpec spec;
  spec.refs = SampleRefs();
  spec.with_chain = false;
  const std::string rim = WriteTemp("nochain.corim", SignedCorim(pki, spec));
  const std::string chain =
      WriteTemp("signer-chain.pem", Cat({hwtest::CertPem(pki.signer.get()), hwtest::CertPem(pki.sub.get())}));
  std::map<uint32_t, Bytes> blocks = {{2, Digest(0x22)}, {3, Digest(0x33)}, {5, Digest(0x55)}};
  auto p = Policy::FromJson(R"({"version":1,"nvidia":{"rim_file":")" + rim + R"(","rim_chain":")" + chain + R"("}})");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(First(Appraise(GpuEvidence(blocks), *p, {pki.RootPem()})), "ok");
  EXPECT_EQ(First(Appraise(GpuEvidence(blocks), RimPolicy({rim}), {pki.RootPem()})), "nvidia.rim_chain_missing");
  // A chain file with another signer: the signature does not verify.
  RimPki other = MakeRimPki();
  const std::string wrong = WriteTemp("other-chain.pem", Cat({hwtest::CertPem(other.signer.get()), hwtest::CertPem(other.sub.get())}));
  auto q = Policy::FromJson(R"({"version":1,"nvidia":{"rim_file":")" + rim + R"(","rim_chain":")" + wrong + R"("}})");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(First(Appraise(GpuEvidence(blocks), *q, {other.RootPem()})), "nvidia.rim_signature");
  EXPECT_FALSE(Policy::FromJson(R"({"version":1,"accept_any_measurement":true,"nvidia":{"rim_chain":")" + chain + R"("}})").ok());
}

// ---- the real hopper report against a CoRIM of its own measurements ----------

TEST(NvidiaRimVectors, HopperReportAgainstCorim) {
  CITADEL_REQUIRE_VECTORS();
  Bytes raw = hwtest::ReadVector("nvidia-gpu/trustee/hopperAttestationReport.txt");
  auto decoded = nvidia::DecodeGpuReportInput(raw);
  ASSERT_TRUE(decoded.ok());
  auto report = nvidia::ParseGpuReport(*decoded);
  ASSERT_TRUE(report.ok()) << report.status().message();
  References refs;
  size_t active = 0;
  for (const auto& b : report->blocks) {
    bool nonzero = false;
    for (uint8_t c : b.value) nonzero = nonzero || c != 0;
    if (!nonzero) continue;
    ++active;
    refs[b.index] = {Digest(0x01), b.value};  // an alternative and the real value
  }
  ASSERT_EQ(active, 26u);
  RimPki pki = MakeRimPki();
  RimSpec spec;
  spec.refs = refs;
  Evidence ev = *DetectEvidence(raw);
  CollateralBundle chain;
  ASSERT_TRUE(chain.ImportFile(hwtest::VectorDir() + "/nvidia-gpu/trustee/hopper_cert_chain_case1.txt").ok());
  VerifyOptions o;
  o.collateral = &chain;
  o.now = At("2025-01-01T00:00:00Z");
  o.trust_anchors = {hwtest::ReadVector("roots/nvidia_device_identity_ca.pem"), pki.RootPem()};
  auto policy_for = [&](const Bytes& corim, const char* name) {
    auto p = Policy::FromJson(R"({"version":1,"nvidia":{"require_nonce":false,"rim_file":")" +
                              WriteTemp(name, corim) + R"("}})");
    EXPECT_TRUE(p.ok()) << p.status().message();
    return *p;
  };
  Policy good = policy_for(SignedCorim(pki, spec), "hopper.corim");
  Appraisal a = AppraiseEvidence(ev, o, &good);
  EXPECT_EQ(a.verdict, Verdict::kAccepted) << a.ToJson();
  EXPECT_NE(a.ToJson().find("\"nvidia.rim\": \"verified\""), std::string::npos);

  auto verdict = [&](const Policy& p, const VerifyOptions& opts) {
    Appraisal r = AppraiseEvidence(ev, opts, &p);
    std::string c = r.failed_checks.empty() ? "ok" : r.failed_checks[0].substr(0, r.failed_checks[0].find(':'));
    return std::string(VerdictName(r.verdict)) + " " + c;
  };
  // Digest mismatch at one index (the report's value replaced).
  RimSpec changed = spec;
  changed.refs[2] = {Digest(0x02)};
  EXPECT_EQ(verdict(policy_for(SignedCorim(pki, changed), "changed.corim"), o), "rejected policy.nvidia.rim_measurement");
  // Missing index.
  RimSpec missing = spec;
  missing.refs.erase(missing.refs.begin());
  EXPECT_EQ(verdict(policy_for(SignedCorim(pki, missing), "missing.corim"), o), "rejected policy.nvidia.rim_missing");
  // Flipped signature byte, truncated CBOR.
  Bytes flipped = SignedCorim(pki, spec);
  flipped[flipped.size() - 10] ^= 1;
  EXPECT_EQ(verdict(policy_for(flipped, "flipped.corim"), o), "invalid nvidia.rim_signature");
  Bytes truncated = SignedCorim(pki, spec);
  truncated.resize(truncated.size() - 1);
  EXPECT_EQ(verdict(policy_for(truncated, "truncated.corim"), o), "invalid nvidia.rim_parse");
  // Wrong root: the test CoRIM root is not trusted (built-in roots: the
  // device chain verifies, the RIM does not).
  VerifyOptions builtin = o;
  builtin.trust_anchors.clear();
  EXPECT_EQ(verdict(good, builtin), "invalid nvidia.rim_untrusted_root");
  // Expired RIM signer certificate.
  RimPki short_lived = MakeRimPki(30);
  VerifyOptions with_short = o;
  with_short.trust_anchors.back() = short_lived.RootPem();
  EXPECT_EQ(verdict(policy_for(SignedCorim(short_lived, spec), "short.corim"), with_short),
            "expired nvidia.rim_chain_validity");
}

}  // namespace
}  // namespace citadel
