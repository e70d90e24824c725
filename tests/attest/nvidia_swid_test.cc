// NVIDIA SWID (XML-DSig) RIMs: SWID tags shaped like NVIDIA's driver and
// VBIOS RIMs, signed in the test with xmlsec by a generated RIM hierarchy
// (root -> sub-CA -> signer). Self-contained tests (always run) cover the
// structure rules, the signature and chain checks, each mutation's named
// reason and the comparison with report measurements through
// ApplyPolicyRims + EvaluatePolicy; with the shared vectors, the real hopper
// report is appraised end to end against a SWID RIM of its own measurements.
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
#include "citadel/attest/nvidia_rim.h"
#include "corim_builder.h"
#include "hw_test_util.h"
#include "swid_builder.h"

namespace citadel {
namespace {

using hwtest::At;
using rimtest::MakeRimPki;
using rimtest::RimPki;
using swidtest::Replace;
using swidtest::Resource;
using swidtest::SignedSwid;
using swidtest::SwidSpec;

Bytes Digest(uint8_t fill) { return Bytes(48, fill); }

// Indices 0..7 like NVIDIA's RIMs list them: 2 and 3 (with two alternatives)
// active, the others inactive (zero values).
std::vector<Resource> DriverResources() {
  std::vector<Resource> out;
  for (uint32_t i = 0; i < 8; ++i) {
    if (i == 2) out.push_back({i, true, {Digest(0x22)}});
    else if (i == 3) out.push_back({i, true, {Digest(0x33), Digest(0x34)}});
    else out.push_back({i, false, {Digest(0)}});
  }
  return out;
}

std::vector<Resource> VbiosResources() {
  std::vector<Resource> out;
  for (uint32_t i = 0; i < 8; ++i) out.push_back({i, i == 5, {i == 5 ? Digest(0x55) : Digest(0)}});
  return out;
}

std::string CheckOf(const Status& st) { return st.message().substr(0, st.message().find(':')); }

const auto kNow = At("2025-01-01T00:00:00Z");

std::string Check(const std::string& xml, const std::vector<Bytes>& roots,
                  std::chrono::system_clock::time_point at = kNow) {
  auto r = nvidia::VerifySwidRim(AsBytes(xml), roots, at);
  return r.ok() ? std::string("ok") : CheckOf(r.status());
}

std::string Between(const std::string& s, const std::string& open, const std::string& close) {
  size_t a = s.find(open);
  size_t b = s.find(close, a);
  if (a == std::string::npos || b == std::string::npos) return "";
  return s.substr(a + open.size(), b - a - open.size());
}

TEST(NvidiaSwid, ParsesAndVerifiesASignedSwidTag) {
  RimPki pki = MakeRimPki();
  SwidSpec spec;
  spec.resources = DriverResources();
  const std::string xml = SignedSwid(pki, spec);
  ASSERT_FALSE(xml.empty());
  auto rim = nvidia::VerifySwidRim(AsBytes(xml), {pki.RootPem()}, kNow);
  ASSERT_TRUE(rim.ok()) << rim.status().message();
  EXPECT_EQ(rim->format, "swid");
  EXPECT_EQ(rim->id, "test-swid-1");
  EXPECT_EQ(rim->version, "535.104.05");
  EXPECT_EQ(rim->vendor, "NVIDIA Corporation");
  EXPECT_EQ(rim->model, "GH100");
  EXPECT_EQ(rim->signer_name, "Test CoRIM product signer");
  EXPECT_EQ(rim->x5chain.size(), 3u);  // signer, sub-CA and the root itself
  const std::map<uint32_t, std::vector<Bytes>> expected = {{2, {Digest(0x22)}}, {3, {Digest(0x33), Digest(0x34)}}};
  EXPECT_EQ(rim->references, expected);  // inactive resources are not references
  EXPECT_EQ(rim->inactive, 6u);

  // VerifyRim tells XML from CBOR, also inside a RIM-service JSON response.
  auto any = nvidia::VerifyRim(AsBytes(xml), {pki.RootPem()}, kNow);
  ASSERT_TRUE(any.ok()) << any.status().message();
  EXPECT_EQ(any->format, "swid");
  std::string json = R"({"id":"NV_GPU_DRIVER_GH100_535.104.05","rim":")" + Base64Encode(AsBytes(xml)) + R"("})";
  any = nvidia::VerifyRim(AsBytes(json), {pki.RootPem()}, kNow);
  ASSERT_TRUE(any.ok()) << any.status().message();
  EXPECT_EQ(any->references, expected);
  rimtest::RimSpec corim_spec;
  corim_spec.refs = expected;
  any = nvidia::VerifyRim(rimtest::SignedCorim(pki, corim_spec), {pki.RootPem()}, kNow);
  ASSERT_TRUE(any.ok()) << any.status().message();
  EXPECT_EQ(any->format, "corim");
  // The structure alone.
  auto parsed = nvidia::ParseSwidRim(AsBytes(xml));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->references, expected);
}

TEST(NvidiaSwid, EachMutationHasItsNamedReason) {
  RimPki pki = MakeRimPki();
  SwidSpec spec;
  spec.resources = DriverResources();
  const std::string good = SignedSwid(pki, spec);
  const std::vector<Bytes> roots = {pki.RootPem()};
  ASSERT_EQ(Check(good, roots), "ok");

  // A measurement value changed after signing; a Resource flipped to inactive.
  EXPECT_EQ(Check(Replace(good, HexEncode(Digest(0x34)), HexEncode(Digest(0x35))), roots), "nvidia.rim_signature");
  EXPECT_EQ(Check(Replace(good, "index=\"2\" active=\"True\"", "index=\"2\" active=\"False\""), roots),
            "nvidia.rim_signature");
  // A Resource added to the signed Payload after signing.
  const std::string extra =
      "<Resource type=\"Measurement\" index=\"9\" active=\"True\" alternatives=\"1\" ns2:Hash0=\"" +
      HexEncode(Digest(0x99)) + "\" size=\"48\"/>";
  EXPECT_EQ(Check(Replace(good, "</Payload>", extra + "</Payload>"), roots), "nvidia.rim_signature");
  // Signature bytes flipped.
  const std::string sig_b64 = Between(good, "<ds:SignatureValue>", "</ds:SignatureValue>");
  ASSERT_FALSE(sig_b64.empty());
  std::string compact;
  for (char c : sig_b64) if (c != '\n' && c != '\r' && c != ' ') compact += c;
  auto sig = Base64Decode(compact);
  ASSERT_TRUE(sig.ok());
  ASSERT_EQ(sig->size(), 96u);  // raw r||s, P-384
  (*sig)[20] ^= 1;
  EXPECT_EQ(Check(Replace(good, sig_b64, Base64Encode(*sig)), roots), "nvidia.rim_signature");
  // The digest value flipped (SignedInfo changed: the signature fails).
  const std::string digest_b64 = Between(good, "<ds:DigestValue>", "</ds:DigestValue>");
  auto digest = Base64Decode(digest_b64);
  ASSERT_TRUE(digest.ok());
  (*digest)[0] ^= 1;
  EXPECT_EQ(Check(Replace(good, digest_b64, Base64Encode(*digest)), roots), "nvidia.rim_signature");

  // Unsigned content injected where the signature does not reach: inside
  // ds:Signature (a ds:Object holding a Payload, or in KeyInfo), and a
  // second Payload next to the signed one.
  const std::string payload = "<Payload xmlns=\"http://standards.iso.org/iso/19770/-2/2015/schema.xsd\">" + extra + "</Payload>";
  EXPECT_EQ(Check(Replace(good, "</ds:Signature>", "<ds:Object>" + payload + "</ds:Object></ds:Signature>"), roots),
            "nvidia.rim_signature");
  EXPECT_EQ(Check(Replace(good, "</ds:X509Data>", "</ds:X509Data>" + payload), roots), "nvidia.rim_signature");
  EXPECT_EQ(Check(Replace(good, "</ds:Signature>", "</ds:Signature>" + payload), roots), "nvidia.rim_parse");
  // A reference to part of the document, genuinely signed: refused, since
  // the Payload would not be covered.
  SwidSpec partial = spec;
  partial.reference_uri = "#meta";
  const std::string partial_xml = SignedSwid(pki, partial);
  ASSERT_NE(partial_xml.find("URI=\"#meta\""), std::string::npos);
  auto r = nvidia::VerifySwidRim(AsBytes(partial_xml), roots, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(CheckOf(r.status()), "nvidia.rim_signature");
  EXPECT_NE(r.status().message().find("#meta"), std::string::npos) << r.status().message();
  // Two signatures; none.
  const std::string sig_elem = good.substr(good.find("<ds:Signature"), good.find("</ds:Signature>") + 15 - good.find("<ds:Signature"));
  EXPECT_EQ(Check(Replace(good, "</SoftwareIdentity>", sig_elem + "</SoftwareIdentity>"), roots), "nvidia.rim_signature");
  EXPECT_EQ(Check(swidtest::SwidXml(spec), roots), "nvidia.rim_signature");

  // The signer chain: another root, an impostor root with the same name, no
  // root, an expired signer, no KeyInfo.
  RimPki other = MakeRimPki(3650, "P-384", "Another Root CA");
  EXPECT_EQ(Check(good, {other.RootPem()}), "nvidia.rim_untrusted_root");
  RimPki impostor = MakeRimPki();
  // KeyInfo carries the real root, which names the impostor as its issuer
  // but is not signed by it.
  EXPECT_EQ(Check(good, {impostor.RootPem()}), "nvidia.rim_chain_signature");
  EXPECT_EQ(Check(good, {}), "nvidia.rim_trust_anchor");
  RimPki short_lived = MakeRimPki(30);
  EXPECT_EQ(Check(SignedSwid(short_lived, spec), {short_lived.RootPem()}), "nvidia.rim_chain_validity");
  SwidSpec no_key_info = spec;
  no_key_info.with_key_info = false;
  const std::string bare = SignedSwid(pki, no_key_info);
  EXPECT_EQ(Check(bare, roots), "nvidia.rim_chain_missing");
  // ... which a policy-supplied chain completes; a chain of another signer fails.
  const Bytes chain = rimtest::Cat({hwtest::CertPem(pki.signer.get()), hwtest::CertPem(pki.sub.get())});
  EXPECT_TRUE(nvidia::VerifySwidRim(AsBytes(bare), roots, kNow, chain).ok());
  const Bytes wrong = rimtest::Cat({hwtest::CertPem(impostor.signer.get()), hwtest::CertPem(impostor.sub.get())});
  EXPECT_EQ(CheckOf(nvidia::VerifySwidRim(AsBytes(bare), {impostor.RootPem()}, kNow, wrong).status()),
            "nvidia.rim_signature");
  // A P-256 signer cannot make an ECDSA-SHA384 signature this verifier accepts.
  RimPki p256 = MakeRimPki(3650, "P-256");
  EXPECT_EQ(Check(SignedSwid(p256, spec), {p256.RootPem()}), "nvidia.rim_signature");

  // Malformed XML and structure.
  for (size_t n = 0; n < good.size(); n += 97) {
    EXPECT_NE(Check(good.substr(0, n), roots), "ok") << n;
  }
  EXPECT_EQ(Check(good.substr(0, good.size() / 2), roots), "nvidia.rim_parse");
  EXPECT_EQ(Check("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]>" + good.substr(good.find("<SoftwareIdentity")), roots),
            "nvidia.rim_parse");
  EXPECT_EQ(Check(Replace(good, "alternatives=\"2\"", "alternatives=\"3\""), roots), "nvidia.rim_parse");
  EXPECT_EQ(Check(Replace(good, "type=\"Measurement\"", "type=\"File\""), roots), "nvidia.rim_parse");
  EXPECT_EQ(Check(Replace(good, "size=\"48\"", "size=\"48\" svn=\"3\""), roots), "nvidia.rim_parse");
  EXPECT_EQ(Check(Replace(good, "index=\"3\"", "index=\"2\""), roots), "nvidia.rim_parse");
  EXPECT_EQ(Check(Replace(good, "<Payload>", "<Payload><Evidence/>"), roots), "nvidia.rim_parse");
  EXPECT_EQ(Check(Replace(good, HexEncode(Digest(0x22)), "zz" + HexEncode(Digest(0x22)).substr(2)), roots),
            "nvidia.rim_parse");
  EXPECT_EQ(Check(std::string(nvidia::kMaxSwidBytes + 1, ' '), roots), "nvidia.rim_parse");
}

// ---- comparison through the policy -----------------------------------------------

VerifiedEvidence GpuEvidence(const std::map<uint32_t, Bytes>& blocks) {
  VerifiedEvidence e;
  e.kind = EvidenceKind::kNvidiaGpu;
  e.measurement = Bytes(48, 0xee);
  e.claims["platform"] = "nvidia-gpu";
  e.claims["nvidia.nonce_checked"] = "true";
  for (const auto& [i, v] : blocks) e.claims["nvidia.measurement." + std::to_string(i)] = HexEncode(v);
  return e;
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string dir = ::testing::TempDir() + "/nvidia_swid_test";
  std::filesystem::create_directories(dir);
  std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

Policy RimPolicy(const std::vector<std::string>& paths) {
  std::string list;
  for (const auto& p : paths) list += (list.empty() ? "\"" : ",\"") + p + "\"";
  auto p = Policy::FromJson(R"({"version":1,"nvidia":{"rim_file":[)" + list + R"(]}})");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? *p : Policy{};
}

std::vector<std::string> Appraise(VerifiedEvidence e, const Policy& p, const std::vector<Bytes>& roots,
                                  std::map<std::string, std::string>* claims = nullptr) {
  VerifyOptions o;
  o.trust_anchors = roots;
  o.now = kNow;
  Status st = nvidia::ApplyPolicyRims(*p.nvidia, o, &e);
  if (!st.ok()) return {st.message()};
  if (claims != nullptr) *claims = e.claims;
  return EvaluatePolicy(e, p, o.now);
}

std::string First(const std::vector<std::string>& f) { return f.empty() ? "ok" : f[0].substr(0, f[0].find(':')); }

TEST(NvidiaSwid, DriverAndVbiosRimsAgainstTheReport) {
  RimPki pki = MakeRimPki();
  SwidSpec driver, vbios;
  driver.resources = DriverResources();
  vbios.resources = VbiosResources();
  vbios.tag_id = "test-vbios";
  vbios.version = "96.00.74.00.1C";
  const std::string d = WriteTemp("driver.swidtag", SignedSwid(pki, driver));
  const std::string v = WriteTemp("vbios.swidtag", SignedSwid(pki, vbios));
  const std::vector<Bytes> roots = {pki.RootPem()};
  std::map<uint32_t, Bytes> blocks = {{0, Bytes(48, 0)}, {2, Digest(0x22)}, {3, Digest(0x34)}, {5, Digest(0x55)}};
  std::map<std::string, std::string> claims;
  EXPECT_EQ(First(Appraise(GpuEvidence(blocks), RimPolicy({d, v}), roots, &claims)), "ok");
  EXPECT_EQ(claims["nvidia.rim.0.format"], "swid");
  EXPECT_EQ(claims["nvidia.rim.1.version"], "96.00.74.00.1C");
  EXPECT_EQ(claims["nvidia.rim.reference.3"], HexEncode(Digest(0x33)) + "," + HexEncode(Digest(0x34)));
  EXPECT_EQ(claims.count("nvidia.rim.reference.0"), 0u);  // inactive in both

  // A report value that matches no alternative ("wrong hash").
  auto wrong = blocks;
  wrong[2] = Digest(0x23);
  auto f = Appraise(GpuEvidence(wrong), RimPolicy({d, v}), roots);
  EXPECT_EQ(First(f), "policy.nvidia.rim_measurement");
  EXPECT_NE(f[0].find("index 2"), std::string::npos) << f[0];
  // Without the VBIOS RIM, index 5 is active in the report but unlisted.
  EXPECT_EQ(First(Appraise(GpuEvidence(blocks), RimPolicy({d}), roots)), "policy.nvidia.rim_missing");
  // An index active in both RIMs.
  EXPECT_EQ(First(Appraise(GpuEvidence(blocks), RimPolicy({d, d}), roots)), "nvidia.rim_conflict");
  // A SWID driver RIM with a CoRIM VBIOS RIM.
  rimtest::RimSpec corim;
  corim.refs = {{5, {Digest(0x55)}}};
  std::string c = WriteTemp("vbios.corim", "");
  {
    Bytes b = rimtest::SignedCorim(pki, corim);
    std::ofstream(c, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
  }
  EXPECT_EQ(First(Appraise(GpuEvidence(blocks), RimPolicy({d, c}), roots)), "ok");
  // Authenticity failures name the file.
  RimPki other = MakeRimPki(3650, "P-384", "Another Root CA");
  f = Appraise(GpuEvidence(blocks), RimPolicy({d, v}), {other.RootPem()});
  EXPECT_EQ(First(f), "nvidia.rim_untrusted_root");
  EXPECT_NE(f[0].find("driver.swidtag"), std::string::npos) << f[0];
  const std::string tampered =
      WriteTemp("tampered.swidtag", Replace(SignedSwid(pki, vbios), HexEncode(Digest(0x55)), HexEncode(Digest(0x56))));
  EXPECT_EQ(First(Appraise(GpuEvidence(blocks), RimPolicy({d, tampered}), roots)), "nvidia.rim_signature");
  // The built-in NVIDIA RIM root (no trust anchors given) does not vouch for
  // the test hierarchy.
  EXPECT_EQ(First(Appraise(GpuEvidence(blocks), RimPolicy({d, v}), {})), "nvidia.rim_untrusted_root");

  // Fuzz seeds (fuzz/corpus/nvidia_swid) are written from these RIMs on request.
  if (const char* seeds = std::getenv("CITADEL_WRITE_SWID_SEEDS"); seeds != nullptr && *seeds != 0) {
    std::filesystem::create_directories(seeds);
    std::ofstream(std::string(seeds) + "/driver.swidtag") << SignedSwid(pki, driver);
    std::ofstream(std::string(seeds) + "/vbios.swidtag") << SignedSwid(pki, vbios);
    std::ofstream(std::string(seeds) + "/rim_service.json")
        << R"({"id":"NV_GPU_DRIVER_GH100_535.104.05","rim":")" + Base64Encode(AsBytes(SignedSwid(pki, driver))) + R"("})";
  }
}

// ---- the real hopper report against a SWID RIM of its own measurements -------

TEST(NvidiaSwidVectors, HopperReportAgainstSwid) {
  CITADEL_REQUIRE_VECTORS();
  Bytes raw = hwtest::ReadVector("nvidia-gpu/trustee/hopperAttestationReport.txt");
  auto decoded = nvidia::DecodeGpuReportInput(raw);
  ASSERT_TRUE(decoded.ok());
  auto report = nvidia::ParseGpuReport(*decoded);
  ASSERT_TRUE(report.ok()) << report.status().message();
  SwidSpec spec;
  size_t active = 0;
  for (const auto& b : report->blocks) {
    bool nonzero = false;
    for (uint8_t c : b.value) nonzero = nonzero || c != 0;
    active += nonzero;
    // Like NVIDIA's RIMs: every index listed, zero blocks inactive.
    spec.resources.push_back({b.index, nonzero, nonzero ? std::vector<Bytes>{Digest(0x01), b.value}
                                                        : std::vector<Bytes>{b.value}});
  }
  ASSERT_EQ(active, 26u);
  RimPki pki = MakeRimPki();
  Evidence ev = *DetectEvidence(raw);
  CollateralBundle chain;
  ASSERT_TRUE(chain.ImportFile(hwtest::VectorDir() + "/nvidia-gpu/trustee/hopper_cert_chain_case1.txt").ok());
  VerifyOptions o;
  o.collateral = &chain;
  o.now = kNow;
  o.trust_anchors = {hwtest::ReadVector("roots/nvidia_device_identity_ca.pem"), pki.RootPem()};
  auto policy_for = [&](const std::string& xml, const char* name) {
    auto p = Policy::FromJson(R"({"version":1,"nvidia":{"require_nonce":false,"rim_file":")" +
                              WriteTemp(name, xml) + R"("}})");
    EXPECT_TRUE(p.ok()) << p.status().message();
    return *p;
  };
  auto verdict = [&](const Policy& p, const VerifyOptions& opts) {
    Appraisal r = AppraiseEvidence(ev, opts, &p);
    std::string c = r.failed_checks.empty() ? "ok" : r.failed_checks[0].substr(0, r.failed_checks[0].find(':'));
    return std::string(VerdictName(r.verdict)) + " " + c;
  };
  Policy good = policy_for(SignedSwid(pki, spec), "hopper.swidtag");
  Appraisal a = AppraiseEvidence(ev, o, &good);
  EXPECT_EQ(a.verdict, Verdict::kAccepted) << a.ToJson();
  EXPECT_NE(a.ToJson().find("\"nvidia.rim.0.format\": \"swid\""), std::string::npos);

  // One active value replaced by another.
  SwidSpec changed = spec;
  for (auto& r : changed.resources) {
    if (r.active) {
      r.values = {Digest(0x02)};
      break;
    }
  }
  EXPECT_EQ(verdict(policy_for(SignedSwid(pki, changed), "changed.swidtag"), o), "rejected policy.nvidia.rim_measurement");
  // One active index marked inactive: the report's value has no reference.
  SwidSpec missing = spec;
  for (auto& r : missing.resources) {
    if (r.active) {
      r.active = false;
      break;
    }
  }
  EXPECT_EQ(verdict(policy_for(SignedSwid(pki, missing), "missing.swidtag"), o), "rejected policy.nvidia.rim_missing");
  // A value changed after signing.
  const std::string tampered = Replace(SignedSwid(pki, spec), HexEncode(Digest(0x01)), HexEncode(Digest(0x03)));
  EXPECT_EQ(verdict(policy_for(tampered, "tampered.swidtag"), o), "invalid nvidia.rim_signature");
  // The built-in RIM root only: the test hierarchy is not trusted.
  VerifyOptions builtin = o;
  builtin.trust_anchors.clear();
  EXPECT_EQ(verdict(good, builtin), "invalid nvidia.rim_untrusted_root");
  // An expired RIM signer.
  RimPki short_lived = MakeRimPki(30);
  VerifyOptions with_short = o;
  with_short.trust_anchors.back() = short_lived.RootPem();
  EXPECT_EQ(verdict(policy_for(SignedSwid(short_lived, spec), "short.swidtag"), with_short),
            "expired nvidia.rim_chain_validity");
}

}  // namespace
}  // namespace citadel
