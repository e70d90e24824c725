// Intel DCAP quote (SGX v3, TDX v4/v5) parser and verifier tests.
//  * Real vectors from ../shared/testdata/attestation (skipped with a
//    message when absent): signatures, QE binding and PCK chain.
//  * Self-contained: a generated root -> PCK CA -> PCK hierarchy signing
//    quotes of every version, every signed region mutated.
#include <gtest/gtest.h>
#include <openssl/core_names.h>

#include <string>

#include "citadel/attest/intel_quote.h"
#include "citadel/byte_reader.h"
#include "citadel/crypto.h"
#include "hw_test_util.h"

namespace citadel {
namespace {

using hwtest::At;
using hwtest::Concat;
using hwtest::ReadVector;

VerifyOptions Now(const char* t) {
  VerifyOptions o;
  o.now = At(t);
  return o;
}

std::string Check(const Result<VerifiedEvidence>& r) {
  if (r.ok()) return "ok";
  const std::string& m = r.status().message();
  return m.substr(0, m.find(':'));
}

intel::IntelCollateral IntelRoot() {
  intel::IntelCollateral c;
  c.trusted_roots = {ReadVector("roots/intel_sgx_root_ca.pem")};
  return c;
}

// ---------------------------------------------------------------------------
// Real vectors
// ---------------------------------------------------------------------------

TEST(IntelRealVectors, PhalaSgxQuoteV3) {
  CITADEL_REQUIRE_VECTORS();
  Bytes q = ReadVector("sgx-dcap/phala-dcap-qvl/sgx_quote");
  auto r = intel::VerifyIntelQuote(q, IntelRoot(), Now("2025-07-01T00:00:00Z"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->kind, EvidenceKind::kSgxDcap);
  // Read off the file with xxd at quote offsets 112 / 176.
  EXPECT_EQ(r->claims.at("measurement"), "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
  EXPECT_EQ(r->claims.at("sgx.mr_signer"), "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6");
  EXPECT_EQ(r->claims.at("intel.pck_issuer"), "processor");  // PROVENANCE: PCK Processor CA
  EXPECT_EQ(r->claims.at("intel.tcb_status"), "not_evaluated");
  EXPECT_EQ(r->claims.at("platform"), "sgx");
}

TEST(IntelRealVectors, PhalaSgxQuoteExpiredAndNotYetValid) {
  CITADEL_REQUIRE_VECTORS();
  Bytes q = ReadVector("sgx-dcap/phala-dcap-qvl/sgx_quote");
  auto late = intel::VerifyIntelQuote(q, IntelRoot(), Now("2060-01-01T00:00:00Z"));
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.status().message().find("expired"), std::string::npos) << late.status().message();
  auto early = intel::VerifyIntelQuote(q, IntelRoot(), Now("2017-01-01T00:00:00Z"));
  ASSERT_FALSE(early.ok());
  EXPECT_NE(early.status().message().find("not yet valid"), std::string::npos)
      << early.status().message();
}

TEST(IntelRealVectors, FortanixLegacyRootEncodingMatchesByKey) {
  CITADEL_REQUIRE_VECTORS();
  Bytes q = ReadVector("sgx-dcap/fortanix-rust-sgx/quote.bin");
  // Trusted: the 2049 encoding; the quote embeds the 2033 one.
  auto r = intel::VerifyIntelQuote(q, IntelRoot(), Now("2020-06-01T00:00:00Z"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->claims.at("measurement"), "2531fd89facb97c6bab5f343805afe4dc051c2bef0d11309ac553c404326dda2");
  // And the other way round.
  intel::IntelCollateral legacy;
  legacy.trusted_roots = {ReadVector("roots/intel_sgx_root_ca_legacy_notAfter2033.pem")};
  EXPECT_TRUE(intel::VerifyIntelQuote(q, legacy, Now("2020-06-01T00:00:00Z")).ok());
  // DER form of the root works too.
  intel::IntelCollateral der;
  der.trusted_roots = {ReadVector("roots/intel_sgx_root_ca.der")};
  EXPECT_TRUE(intel::VerifyIntelQuote(q, der, Now("2020-06-01T00:00:00Z")).ok());
}

TEST(IntelRealVectors, SyntheticQvlQuoteOnlyWithItsTestRoot) {
  CITADEL_REQUIRE_VECTORS();
  Bytes q = ReadVector("sgx-dcap/intel-qvl-synthetic/quote.dat");
  intel::IntelCollateral c;
  c.pck_chain = Concat({ReadVector("sgx-dcap/intel-qvl-synthetic/pckCert.pem"),
                        ReadVector("sgx-dcap/intel-qvl-synthetic/pckSignChain.pem")});
  c.trusted_roots = {ReadVector("sgx-dcap/intel-qvl-synthetic/trustedRootCaCert.pem")};
  auto ok = intel::VerifyIntelQuote(q, c, Now("2025-01-01T00:00:00Z"));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  c.trusted_roots = {ReadVector("roots/intel_sgx_root_ca.pem")};
  EXPECT_EQ(Check(intel::VerifyIntelQuote(q, c, Now("2025-01-01T00:00:00Z"))), "intel.untrusted_root");
  // Without a chain (the quote carries only a PPID) it cannot be verified.
  c.pck_chain.clear();
  EXPECT_EQ(Check(intel::VerifyIntelQuote(q, c, Now("2025-01-01T00:00:00Z"))), "intel.pck_chain_missing");
}

TEST(IntelRealVectors, SyntheticQvlTdxQuoteDerChain) {
  CITADEL_REQUIRE_VECTORS();
  Bytes q = ReadVector("tdx/intel-qvl-synthetic/quote.dat");
  intel::IntelCollateral c;
  c.trusted_roots = {ReadVector("tdx/intel-qvl-synthetic/trustedRootCaCert.pem")};
  auto r = intel::VerifyIntelQuote(q, c, Now("2025-01-01T00:00:00Z"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->kind, EvidenceKind::kTdx);
  EXPECT_EQ(Check(intel::VerifyIntelQuote(q, IntelRoot(), Now("2025-01-01T00:00:00Z"))),
            "intel.untrusted_root");
}

TEST(IntelRealVectors, PhalaTdxV4WithZeroPadding) {
  CITADEL_REQUIRE_VECTORS();
  Bytes q = ReadVector("tdx/phala-dcap-qvl/tdx_quote");
  auto p = intel::ParseQuote(q);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->trailing_bytes, 70u);
  EXPECT_TRUE(p->trailing_all_zero);
  EXPECT_EQ(p->body_type, intel::BodyType::kTd10);
  auto r = intel::VerifyIntelQuote(q, IntelRoot(), Now("2025-07-01T00:00:00Z"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->kind, EvidenceKind::kTdx);
  EXPECT_EQ(r->claims.at("measurement"),
            "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7");
  EXPECT_EQ(r->claims.at("tdx.mr_td"), r->claims.at("measurement"));
  EXPECT_EQ(r->claims.at("intel.trailing_bytes"), "70");
  EXPECT_EQ(r->claims.at("intel.pck_issuer"), "platform");
}

TEST(IntelRealVectors, TdxV5Td15Bodies) {
  CITADEL_REQUIRE_VECTORS();
  struct Case {
    const char* file;
    const char* mrtd;
    const char* svn2;
  } cases[] = {
      {"tdx/phala-dcap-qvl/tdx_quote_outdated",
       "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd",
       "0d010300000000000000000000000000"},
      {"tdx/google-go-tdx-guest/quote_v5_sample.dat",
       "7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876",
       "0d010400000000000000000000000000"},
  };
  for (const Case& c : cases) {
    Bytes q = ReadVector(c.file);
    auto p = intel::ParseQuote(q);
    ASSERT_TRUE(p.ok()) << c.file << ": " << p.status().message();
    EXPECT_EQ(p->header.version, 5);
    EXPECT_EQ(p->body_type, intel::BodyType::kTd15);
    auto r = intel::VerifyIntelQuote(q, IntelRoot(), Now("2026-03-01T00:00:00Z"));
    ASSERT_TRUE(r.ok()) << c.file << ": " << r.status().message();
    EXPECT_EQ(r->claims.at("measurement"), c.mrtd);
    EXPECT_EQ(r->claims.at("tdx.tee_tcb_svn2"), c.svn2);
  }
}

TEST(IntelRealVectors, HexTextQuotes) {
  CITADEL_REQUIRE_VECTORS();
  for (const char* f : {"tdx/phala-dcap-qvl/tdx-quote.hex", "tdx/phala-dcap-qvl/quote-from-tappd.hex"}) {
    Bytes q = intel::DecodeQuoteInput(ReadVector(f));
    auto r = intel::VerifyIntelQuote(q, IntelRoot(), Now("2025-07-01T00:00:00Z"));
    ASSERT_TRUE(r.ok()) << f << ": " << r.status().message();
    EXPECT_EQ(r->kind, EvidenceKind::kTdx);
  }
}

TEST(IntelRealVectors, GoTdxGuestSprQuoteWithUnsignedTrailer) {
  CITADEL_REQUIRE_VECTORS();
  // The 39 bytes after the signature data are text ("extra bytes (only for
  // testing purpose)"), outside the signed region: ignored, counted.
  Bytes q = ReadVector("tdx/google-go-tdx-guest/tdx_prod_quote_SPR_E4.dat");
  auto r = intel::VerifyIntelQuote(q, IntelRoot(), Now("2023-07-01T00:00:00Z"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->claims.at("measurement"),
            "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb");
  EXPECT_EQ(r->claims.at("intel.trailing_bytes"), "39");
}

TEST(IntelRealVectors, CcelQuoteReportDataIsTheNonce) {
  CITADEL_REQUIRE_VECTORS();
  Bytes q = ReadVector("tdx/google-go-tdx-guest/ccel_cos-113-tdx-quote.dat");
  Bytes nonce = ReadVector("tdx/google-go-tdx-guest/ccel_nonce.dat");
  auto p = intel::ParseQuote(q);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->trailing_bytes, 3065u);
  ByteSpan rd = p->report_data();
  EXPECT_EQ(Bytes(rd.begin(), rd.end()), nonce);
  EXPECT_EQ(hwtest::HexLower(p->measurement()),
            "dae67181d3d65e073ad8f95b7907d5e927bfe9761c9ff3e9b89734a45d8954dba41394c7717cb2735396c1d04231f94a");
}

TEST(IntelRealVectors, MutatedRealQuotesRejected) {
  CITADEL_REQUIRE_VECTORS();
  const Bytes q = ReadVector("sgx-dcap/phala-dcap-qvl/sgx_quote");
  const auto col = IntelRoot();
  const auto now = Now("2025-07-01T00:00:00Z");
  struct M {
    size_t off;
    const char* check;
  } muts[] = {
      {8, "intel.quote_signature"},     // qe_svn in header
      {48 + 64, "intel.quote_signature"},   // mr_enclave
      {48 + 320, "intel.quote_signature"},  // report_data
      {436, "intel.quote_signature"},       // signature r
      {436 + 64, "intel.qe_report_data"},   // attestation key
      {436 + 128 + 64, "intel.qe_report_signature"},   // QE report mr_enclave
      {436 + 128 + 384, "intel.qe_report_signature"},  // QE report signature
      {436 + 128 + 384 + 64 + 2, "intel.qe_report_data"},  // QE auth data
  };
  for (const M& m : muts) {
    Bytes t = q;
    t[m.off] ^= 0x01;
    EXPECT_EQ(Check(intel::VerifyIntelQuote(t, col, now)), m.check) << "offset " << m.off;
  }
}

TEST(IntelRealVectors, TruncationAtEveryLengthNeverCrashes) {
  CITADEL_REQUIRE_VECTORS();
  for (const char* f : {"sgx-dcap/phala-dcap-qvl/sgx_quote", "tdx/phala-dcap-qvl/tdx_quote_outdated"}) {
    const Bytes q = ReadVector(f);
    for (size_t n = 0; n < q.size(); ++n) {
      EXPECT_FALSE(intel::ParseQuote(ByteSpan(q).first(n)).ok()) << f << " " << n;
    }
    EXPECT_TRUE(intel::ParseQuote(q).ok());
  }
}

// ---------------------------------------------------------------------------
// Generated hierarchy
// ---------------------------------------------------------------------------

struct IntelPki {
  EvpPkeyPtr root_key, ca_key, pck_key;
  X509Ptr root, ca, pck;
};

IntelPki MakeIntelPki(const char* ca_cn = "Intel SGX PCK Platform CA") {
  IntelPki p;
  p.root_key = hwtest::NewEcKey("P-256");
  p.ca_key = hwtest::NewEcKey("P-256");
  p.pck_key = hwtest::NewEcKey("P-256");
  hwtest::CertSpec s;
  s.ca = true;
  s.subject_cn = s.issuer_cn = "Intel SGX Root CA";
  p.root = hwtest::MakeCert(s, p.root_key.get(), p.root_key.get());
  s.subject_cn = ca_cn;
  p.ca = hwtest::MakeCert(s, p.ca_key.get(), p.root_key.get());
  s.ca = false;
  s.subject_cn = "Intel SGX PCK Certificate";
  s.issuer_cn = ca_cn;
  p.pck = hwtest::MakeCert(s, p.pck_key.get(), p.ca_key.get());
  return p;
}

Bytes RawPublicXY(EVP_PKEY* k) {
  uint8_t buf[65];
  size_t len = 0;
  EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof(buf), &len);
  return Bytes(buf + 1, buf + len);
}

struct QuoteSpec {
  uint16_t version = 3;
  uint16_t body_type = 1;  // v5: 1 SGX, 2 TD1.0, 3 TD1.5
  bool tdx = false;
  size_t padding = 0;
};

struct Built {
  Bytes quote;
  size_t sig_data_offset = 0;  // where the 4-byte signature data length is
  size_t qe_report_offset = 0;
  size_t ak_offset = 0;
  size_t auth_offset = 0;
};

Built BuildQuote(const IntelPki& p, const QuoteSpec& spec, ByteSpan chain_pem) {
  auto ak = hwtest::NewEcKey("P-256");
  const Bytes ak_xy = RawPublicXY(ak.get());
  ByteWriter w;
  w.U16Le(spec.version);
  w.U16Le(2);
  w.U32Le(spec.tdx ? 0x81 : 0);
  w.U16Le(spec.version == 3 ? 7 : 0);   // qe_svn
  w.U16Le(spec.version == 3 ? 13 : 0);  // pce_svn
  const uint8_t vendor[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                              0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
  w.Append(vendor);
  w.Append(Bytes(20, 0x11));
  size_t body_size = spec.tdx ? (spec.body_type == 3 ? 648 : 584) : 384;
  if (spec.version == 5) {
    w.U16Le(spec.body_type);
    w.U32Le(static_cast<uint32_t>(body_size));
  }
  Bytes body(body_size, 0);
  if (spec.tdx) {
    for (size_t i = 0; i < 48; ++i) body[136 + i] = static_cast<uint8_t>(0xD0 + i % 16);  // mr_td
    for (size_t i = 0; i < 64; ++i) body[520 + i] = static_cast<uint8_t>(i);               // report_data
    body[0] = 3;
    body[1] = 1;
  } else {
    for (size_t i = 0; i < 32; ++i) body[64 + i] = static_cast<uint8_t>(0xE0 + i % 16);  // mr_enclave
    for (size_t i = 0; i < 64; ++i) body[320 + i] = static_cast<uint8_t>(i);              // report_data
  }
  w.Append(body);
  Built out;
  const Bytes signed_region = w.bytes();
  auto [r, s] = hwtest::SignRaw(ak.get(), "SHA256", signed_region, 32);

  Bytes auth(32);
  for (size_t i = 0; i < 32; ++i) auth[i] = static_cast<uint8_t>(0x70 + i);
  Bytes qe(384, 0);
  for (size_t i = 0; i < 32; ++i) qe[128 + i] = 0x8C;  // mr_signer
  Hasher h(Hasher::Algo::kSha256);
  h.Update(ak_xy);
  h.Update(auth);
  Bytes bind = h.Finish();
  std::copy(bind.begin(), bind.end(), qe.begin() + 320);
  auto [qr, qs] = hwtest::SignRaw(p.pck_key.get(), "SHA256", qe, 32);

  ByteWriter qe_sec;
  qe_sec.Append(qe);
  qe_sec.Append(qr);
  qe_sec.Append(qs);
  qe_sec.U16LePrefixed(auth);
  qe_sec.U16Le(5);
  qe_sec.U32LePrefixed(chain_pem);

  ByteWriter sig;
  sig.Append(r);
  sig.Append(s);
  sig.Append(ak_xy);
  size_t qe_rel = 128;
  if (spec.version == 3) {
    sig.Append(qe_sec.bytes());
  } else {
    sig.U16Le(6);
    sig.U32LePrefixed(qe_sec.bytes());
    qe_rel += 6;
  }
  out.sig_data_offset = signed_region.size();
  out.ak_offset = out.sig_data_offset + 4 + 64;
  out.qe_report_offset = out.sig_data_offset + 4 + qe_rel;
  out.auth_offset = out.qe_report_offset + 384 + 64 + 2;
  w.U32LePrefixed(sig.bytes());
  w.Append(Bytes(spec.padding, 0));
  out.quote = w.Take();
  return out;
}

Bytes ChainPem(const IntelPki& p, bool with_root = true) {
  Bytes c = Concat({hwtest::CertPem(p.pck.get()), hwtest::CertPem(p.ca.get())});
  if (with_root) c = Concat({c, hwtest::CertPem(p.root.get())});
  c.push_back(0);  // NUL-terminated, like real quotes
  return c;
}

class IntelGenerated : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new IntelPki(MakeIntelPki()); }
  static void TearDownTestSuite() { delete pki_; }
  intel::IntelCollateral Col() const {
    intel::IntelCollateral c;
    c.trusted_roots = {hwtest::CertDer(pki_->root.get())};
    return c;
  }
  static IntelPki* pki_;
  VerifyOptions now_;
};
IntelPki* IntelGenerated::pki_ = nullptr;

TEST_F(IntelGenerated, AllVersionsAndBodiesAccepted) {
  const QuoteSpec specs[] = {
      {3, 1, false, 0}, {4, 0, true, 0}, {4, 0, false, 0}, {4, 0, true, 70},
      {5, 1, false, 0}, {5, 2, true, 0}, {5, 3, true, 3},
  };
  for (const QuoteSpec& s : specs) {
    Built b = BuildQuote(*pki_, s, ChainPem(*pki_));
    auto r = intel::VerifyIntelQuote(b.quote, Col(), now_);
    ASSERT_TRUE(r.ok()) << "v" << s.version << " type " << s.body_type << " tdx " << s.tdx << ": "
                        << r.status().message();
    EXPECT_EQ(r->kind, s.tdx ? EvidenceKind::kTdx : EvidenceKind::kSgxDcap);
    EXPECT_EQ(r->report_data[63], 63);
    EXPECT_EQ(r->measurement.size(), s.tdx ? 48u : 32u);
    EXPECT_EQ(r->measurement[0], s.tdx ? 0xD0 : 0xE0);
    EXPECT_EQ(r->claims.at("intel.trailing_bytes"), std::to_string(s.padding));
  }
}

TEST_F(IntelGenerated, EverySignedRegionMutated) {
  for (QuoteSpec s : {QuoteSpec{3, 1, false, 0}, QuoteSpec{5, 3, true, 0}}) {
    Built b = BuildQuote(*pki_, s, ChainPem(*pki_));
    ASSERT_TRUE(intel::VerifyIntelQuote(b.quote, Col(), now_).ok());
    // Header + body (signed by the attestation key) and the quote signature.
    for (size_t off = 0; off < b.sig_data_offset + 4 + 64; ++off) {
      if (off >= b.sig_data_offset && off < b.sig_data_offset + 4) continue;  // length field
      Bytes t = b.quote;
      t[off] ^= 0x04;
      auto r = intel::VerifyIntelQuote(t, Col(), now_);
      EXPECT_FALSE(r.ok()) << "offset " << off;
    }
    // Attestation key.
    for (size_t off = b.ak_offset; off < b.ak_offset + 64; off += 5) {
      Bytes t = b.quote;
      t[off] ^= 0x04;
      EXPECT_EQ(Check(intel::VerifyIntelQuote(t, Col(), now_)), "intel.qe_report_data") << off;
    }
    // QE report and its signature.
    for (size_t off = b.qe_report_offset; off < b.qe_report_offset + 384 + 64; off += 3) {
      Bytes t = b.quote;
      t[off] ^= 0x04;
      EXPECT_EQ(Check(intel::VerifyIntelQuote(t, Col(), now_)), "intel.qe_report_signature") << off;
    }
    // QE authentication data.
    for (size_t off = b.auth_offset; off < b.auth_offset + 32; ++off) {
      Bytes t = b.quote;
      t[off] ^= 0x04;
      EXPECT_EQ(Check(intel::VerifyIntelQuote(t, Col(), now_)), "intel.qe_report_data") << off;
    }
  }
}

TEST_F(IntelGenerated, ChainChecksHaveTheirNames) {
  const QuoteSpec s{3, 1, false, 0};
  // Root omitted from the quote: taken from the trust store.
  Built b = BuildQuote(*pki_, s, ChainPem(*pki_, false));
  EXPECT_TRUE(intel::VerifyIntelQuote(b.quote, Col(), now_).ok());
  // Missing intermediate.
  Bytes leaf_only = hwtest::CertPem(pki_->pck.get());
  b = BuildQuote(*pki_, s, leaf_only);
  EXPECT_EQ(Check(intel::VerifyIntelQuote(b.quote, Col(), now_)), "intel.pck_chain_incomplete");
  // Another root (same names, other key).
  IntelPki other = MakeIntelPki();
  b = BuildQuote(*pki_, s, ChainPem(*pki_));
  intel::IntelCollateral wrong;
  wrong.trusted_roots = {hwtest::CertPem(other.root.get())};
  EXPECT_EQ(Check(intel::VerifyIntelQuote(b.quote, wrong, now_)), "intel.untrusted_root");
  intel::IntelCollateral none;
  EXPECT_EQ(Check(intel::VerifyIntelQuote(b.quote, none, now_)), "intel.trust_anchor");
  // A PCK CA with the right name but the attacker's key, chained to the real root.
  Bytes forged = Concat({hwtest::CertPem(pki_->pck.get()), hwtest::CertPem(other.ca.get()),
                         hwtest::CertPem(pki_->root.get())});
  b = BuildQuote(*pki_, s, forged);
  EXPECT_EQ(Check(intel::VerifyIntelQuote(b.quote, Col(), now_)), "intel.pck_ca_signature");
  // The attacker's PCK under the real CA name but signed by their CA key.
  Bytes forged_leaf = Concat({hwtest::CertPem(other.pck.get()), hwtest::CertPem(pki_->ca.get()),
                              hwtest::CertPem(pki_->root.get())});
  b = BuildQuote(other, s, forged_leaf);
  EXPECT_EQ(Check(intel::VerifyIntelQuote(b.quote, Col(), now_)), "intel.pck_signature");
  // A CA that is not one of Intel's PCK CAs.
  IntelPki odd = MakeIntelPki("Some Other CA");
  b = BuildQuote(odd, s, ChainPem(odd));
  intel::IntelCollateral oddc;
  oddc.trusted_roots = {hwtest::CertPem(odd.root.get())};
  EXPECT_EQ(Check(intel::VerifyIntelQuote(b.quote, oddc, now_)), "intel.pck_chain_names");
  // Validity.
  b = BuildQuote(*pki_, s, ChainPem(*pki_));
  VerifyOptions later;
  later.now = std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 11);
  auto r = intel::VerifyIntelQuote(b.quote, Col(), later);
  EXPECT_EQ(Check(r), "intel.root_validity");
  EXPECT_NE(r.status().message().find("expired"), std::string::npos);
}

TEST_F(IntelGenerated, MalformedStructuresRejected) {
  Built b = BuildQuote(*pki_, QuoteSpec{4, 0, true, 0}, ChainPem(*pki_));
  // Unknown version / key type / TEE type.
  for (auto [off, val] : {std::pair<size_t, uint8_t>{0, 6}, {0, 2}, {2, 3}, {4, 0x80}}) {
    Bytes t = b.quote;
    t[off] = val;
    EXPECT_EQ(Check(intel::VerifyIntelQuote(t, Col(), now_)), "intel.parse") << off;
  }
  // Wrong outer certification data type.
  Bytes t = b.quote;
  t[b.sig_data_offset + 4 + 128] = 5;
  EXPECT_EQ(Check(intel::VerifyIntelQuote(t, Col(), now_)), "intel.parse");
  // Signature data length larger than the quote.
  t = b.quote;
  t[b.sig_data_offset + 2] = 0x01;
  EXPECT_EQ(Check(intel::VerifyIntelQuote(t, Col(), now_)), "intel.parse");
  // v5 body size that does not match its type.
  Built v5 = BuildQuote(*pki_, QuoteSpec{5, 3, true, 0}, ChainPem(*pki_));
  t = v5.quote;
  t[50] = 0x48;  // 584 instead of 648
  t[51] = 0x02;
  EXPECT_EQ(Check(intel::VerifyIntelQuote(t, Col(), now_)), "intel.parse");
  // Truncation at every length.
  for (size_t n = 0; n < b.quote.size(); ++n) {
    EXPECT_FALSE(intel::ParseQuote(ByteSpan(b.quote).first(n)).ok()) << n;
  }
}

// ---------------------------------------------------------------------------
// Generated collateral: TCB Info, QE Identity, CRLs signed by the test root
// ---------------------------------------------------------------------------

Bytes Tlv(uint8_t tag, const Bytes& content) {
  Bytes out{tag};
  size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<uint8_t>(n));
  } else if (n < 0x100) {
    out.push_back(0x81);
    out.push_back(static_cast<uint8_t>(n));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(n));
  }
  for (uint8_t b : content) out.push_back(b);
  return out;
}

Bytes SgxOid(std::initializer_list<uint8_t> suffix) {
  Bytes o = {0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01};
  for (uint8_t b : suffix) o.push_back(b);
  return Tlv(0x06, o);
}

Bytes SgxExtension(uint8_t comp_svn, unsigned pce_svn, const Bytes& fmspc) {
  Bytes tcb;
  for (uint8_t i = 1; i <= 16; ++i) {
    tcb = Concat({tcb, Tlv(0x30, Concat({SgxOid({2, i}), hwtest::DerInt(comp_svn)}))});
  }
  tcb = Concat({tcb, Tlv(0x30, Concat({SgxOid({2, 17}), hwtest::DerInt(pce_svn)}))});
  tcb = Concat({tcb, Tlv(0x30, Concat({SgxOid({2, 18}), Tlv(0x04, Bytes(16, comp_svn))}))});
  Bytes body = Concat({
      Tlv(0x30, Concat({SgxOid({1}), Tlv(0x04, Bytes(16, 0xAB))})),
      Tlv(0x30, Concat({SgxOid({2}), Tlv(0x30, tcb)})),
      Tlv(0x30, Concat({SgxOid({3}), Tlv(0x04, Bytes{0, 0})})),
      Tlv(0x30, Concat({SgxOid({4}), Tlv(0x04, fmspc)})),
      Tlv(0x30, Concat({SgxOid({5}), Tlv(0x0A, Bytes{0})})),
  });
  return Tlv(0x30, body);
}

std::string IsoTime(time_t t) {
  char buf[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Bytes MakeCrl(X509* issuer, EVP_PKEY* key, long revoked_serial, time_t now) {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
  ASN1_TIME* last = ASN1_TIME_set(nullptr, now - 3600);
  ASN1_TIME* next = ASN1_TIME_set(nullptr, now + 30 * 86400);
  X509_CRL_set1_lastUpdate(crl, last);
  X509_CRL_set1_nextUpdate(crl, next);
  if (revoked_serial >= 0) {
    X509_REVOKED* rev = X509_REVOKED_new();
    ASN1_INTEGER* serial = ASN1_INTEGER_new();
    ASN1_INTEGER_set(serial, revoked_serial);
    X509_REVOKED_set_serialNumber(rev, serial);
    X509_REVOKED_set_revocationDate(rev, last);
    X509_CRL_add0_revoked(crl, rev);
    ASN1_INTEGER_free(serial);
  }
  X509_CRL_sort(crl);
  X509_CRL_sign(crl, key, EVP_sha256());
  unsigned char* der = nullptr;
  int n = i2d_X509_CRL(crl, &der);
  Bytes out(der, der + n);
  OPENSSL_free(der);
  ASN1_TIME_free(last);
  ASN1_TIME_free(next);
  X509_CRL_free(crl);
  return out;
}

intel::SignedJson SignJson(const std::string& body, EVP_PKEY* key, const Bytes& chain) {
  auto [r, s] = hwtest::SignRaw(key, "SHA256", AsBytes(body), 32);
  return intel::SignedJson{body, Concat({r, s}), chain};
}

std::string TcbInfoJson(time_t now, const std::string& fmspc) {
  auto level = [](int svn, int pce, const char* status, const char* adv) {
    std::string comps;
    for (int i = 0; i < 16; ++i) comps += std::string(i ? "," : "") + "{\"svn\":" + std::to_string(svn) + "}";
    return "{\"tcb\":{\"sgxtcbcomponents\":[" + comps + "],\"pcesvn\":" + std::to_string(pce) +
           "},\"tcbDate\":\"2024-01-01T00:00:00Z\",\"tcbStatus\":\"" + status + "\"" + adv + "}";
  };
  return "{\"id\":\"SGX\",\"version\":3,\"issueDate\":\"" + IsoTime(now - 86400) + "\",\"nextUpdate\":\"" +
         IsoTime(now + 86400) + "\",\"fmspc\":\"" + fmspc +
         "\",\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":17,\"tcbLevels\":[" +
         level(5, 13, "UpToDate", "") + "," +
         level(3, 10, "OutOfDate", ",\"advisoryIDs\":[\"INTEL-SA-00001\",\"INTEL-SA-00002\"]") + "]}";
}

std::string QeIdentityJson(time_t now, const char* mrsigner_byte) {
  std::string mrsigner;
  for (int i = 0; i < 32; ++i) mrsigner += mrsigner_byte;
  return "{\"id\":\"QE\",\"version\":2,\"issueDate\":\"" + IsoTime(now - 86400) + "\",\"nextUpdate\":\"" +
         IsoTime(now + 86400) +
         "\",\"tcbEvaluationDataNumber\":17,\"miscselect\":\"00000000\",\"miscselectMask\":\"FFFFFFFF\","
         "\"attributes\":\"00000000000000000000000000000000\",\"attributesMask\":"
         "\"00000000000000000000000000000000\",\"mrsigner\":\"" + mrsigner +
         "\",\"isvprodid\":0,\"tcbLevels\":[{\"tcb\":{\"isvsvn\":0},\"tcbDate\":\"2024-01-01T00:00:00Z\","
         "\"tcbStatus\":\"UpToDate\"}]}";
}

struct CollateralFixture {
  IntelPki pki;
  EvpPkeyPtr tcb_key;
  X509Ptr tcb_signer;
  time_t now = std::time(nullptr);

  explicit CollateralFixture(uint8_t pck_svn, unsigned pce_svn) {
    pki = MakeIntelPki();
    // Re-issue the PCK with an SGX extension.
    hwtest::CertSpec s;
    s.subject_cn = "Intel SGX PCK Certificate";
    s.issuer_cn = "Intel SGX PCK Platform CA";
    s.serial = 77;
    s.exts = {{"1.2.840.113741.1.13.1", SgxExtension(pck_svn, pce_svn, Bytes{0x00, 0x90, 0x6E, 0xD5, 0, 0})}};
    pki.pck = hwtest::MakeCert(s, pki.pck_key.get(), pki.ca_key.get());
    tcb_key = hwtest::NewEcKey("P-256");
    hwtest::CertSpec t;
    t.subject_cn = "Intel SGX TCB Signing";
    t.issuer_cn = "Intel SGX Root CA";
    tcb_signer = hwtest::MakeCert(t, tcb_key.get(), pki.root_key.get());
  }
  Bytes SigningChain() const {
    return Concat({hwtest::CertPem(tcb_signer.get()), hwtest::CertPem(pki.root.get())});
  }
  intel::IntelCollateral Collateral(long revoked_serial = -1) const {
    intel::IntelCollateral c;
    c.trusted_roots = {hwtest::CertDer(pki.root.get())};
    c.tcb_info = SignJson(TcbInfoJson(now, "00906ED50000"), tcb_key.get(), SigningChain());
    c.qe_identity = SignJson(QeIdentityJson(now, "8C"), tcb_key.get(), SigningChain());
    c.crls = {MakeCrl(pki.ca.get(), pki.ca_key.get(), revoked_serial, now),
              MakeCrl(pki.root.get(), pki.root_key.get(), -1, now)};
    return c;
  }
  Bytes Quote() const { return BuildQuote(pki, QuoteSpec{3, 1, false, 0}, ChainPem(pki)).quote; }
};

TEST(IntelGeneratedCollateral, StatusesFromTcbLevels) {
  VerifyOptions now;
  {
    CollateralFixture f(5, 13);
    auto r = intel::VerifyIntelQuote(f.Quote(), f.Collateral(), now);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->claims.at("intel.tcb_status"), "UpToDate");
    EXPECT_EQ(r->claims.at("intel.advisory_ids"), "");
    EXPECT_EQ(r->claims.at("intel.qe_tcb_status"), "UpToDate");
    EXPECT_EQ(r->claims.at("intel.fmspc"), "00906ed50000");
  }
  {
    CollateralFixture f(4, 13);  // one component below the first level
    auto r = intel::VerifyIntelQuote(f.Quote(), f.Collateral(), now);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->claims.at("intel.tcb_status"), "OutOfDate");
    EXPECT_EQ(r->claims.at("intel.advisory_ids"), "INTEL-SA-00001,INTEL-SA-00002");
  }
  {
    CollateralFixture f(5, 9);  // PCESVN below every level
    EXPECT_EQ(Check(intel::VerifyIntelQuote(f.Quote(), f.Collateral(), now)), "intel.tcb_no_match");
  }
}

TEST(IntelGeneratedCollateral, EachCollateralCheckHasItsName) {
  VerifyOptions now;
  CollateralFixture f(5, 13);
  const Bytes q = f.Quote();
  // Revoked PCK.
  EXPECT_EQ(Check(intel::VerifyIntelQuote(q, f.Collateral(77), now)), "intel.pck_revoked");
  // A revoked unrelated serial does not matter.
  EXPECT_TRUE(intel::VerifyIntelQuote(q, f.Collateral(78), now).ok());
  // CRL signed by someone else.
  auto c = f.Collateral();
  IntelPki other = MakeIntelPki();
  c.crls[0] = MakeCrl(f.pki.ca.get(), other.ca_key.get(), -1, f.now);
  EXPECT_EQ(Check(intel::VerifyIntelQuote(q, c, now)), "intel.pck_crl");
  // FMSPC of another platform.
  c = f.Collateral();
  c.tcb_info = SignJson(TcbInfoJson(f.now, "00A067110000"), f.tcb_key.get(), f.SigningChain());
  EXPECT_EQ(Check(intel::VerifyIntelQuote(q, c, now)), "intel.tcb_info_mismatch");
  // TCB Info signed by a key that is not the TCB Signing certificate's.
  c = f.Collateral();
  c.tcb_info = SignJson(TcbInfoJson(f.now, "00906ED50000"), other.root_key.get(), f.SigningChain());
  EXPECT_EQ(Check(intel::VerifyIntelQuote(q, c, now)), "intel.tcb_info");
  // Signing chain rooted elsewhere.
  c = f.Collateral();
  c.tcb_info->issuer_chain = Concat({hwtest::CertPem(f.tcb_signer.get()), hwtest::CertPem(other.root.get())});
  EXPECT_EQ(Check(intel::VerifyIntelQuote(q, c, now)), "intel.tcb_info");
  // QE from another signer.
  c = f.Collateral();
  c.qe_identity = SignJson(QeIdentityJson(f.now, "8D"), f.tcb_key.get(), f.SigningChain());
  EXPECT_EQ(Check(intel::VerifyIntelQuote(q, c, now)), "intel.qe_identity_mismatch");
  // Collateral windows.
  VerifyOptions later;
  later.now = std::chrono::system_clock::now() + std::chrono::hours(48);
  auto r = intel::VerifyIntelQuote(q, f.Collateral(), later);
  EXPECT_EQ(Check(r), "intel.tcb_info_validity");
  EXPECT_NE(r.status().message().find("expired"), std::string::npos);
  VerifyOptions earlier;
  earlier.now = std::chrono::system_clock::now() - std::chrono::hours(48);
  r = intel::VerifyIntelQuote(q, f.Collateral(), earlier);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not yet valid"), std::string::npos) << r.status().message();
}

TEST(IntelGeneratedCollateral, TcbSigningCertificateCheckedAgainstRootCrl) {
  VerifyOptions now;
  CollateralFixture f(5, 13);
  // A TCB Signing certificate with a serial of its own, so that revoking it
  // revokes nothing else.
  hwtest::CertSpec t;
  t.subject_cn = "Intel SGX TCB Signing";
  t.issuer_cn = "Intel SGX Root CA";
  t.serial = 4242;
  f.tcb_signer = hwtest::MakeCert(t, f.tcb_key.get(), f.pki.root_key.get());
  const Bytes q = f.Quote();
  auto c = f.Collateral();
  auto ok = intel::VerifyIntelQuote(q, c, now);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->claims.at("intel.root_crl"), "checked");
  c.crls[1] = MakeCrl(f.pki.root.get(), f.pki.root_key.get(), 4242, f.now);
  auto r = intel::VerifyIntelQuote(q, c, now);
  EXPECT_EQ(Check(r), "intel.tcb_signing_revoked");
  EXPECT_NE(r.status().message().find("TCB Info"), std::string::npos) << r.status().message();
  // Another serial revoked: still accepted.
  c.crls[1] = MakeCrl(f.pki.root.get(), f.pki.root_key.get(), 4243, f.now);
  EXPECT_TRUE(intel::VerifyIntelQuote(q, c, now).ok());
  // Without a Root CA CRL nothing can be said, and the claim says so.
  c.crls.resize(1);
  auto absent = intel::VerifyIntelQuote(q, c, now);
  ASSERT_TRUE(absent.ok()) << absent.status().message();
  EXPECT_EQ(absent->claims.at("intel.root_crl"), "absent");
}

}  // namespace
}  // namespace citadel
