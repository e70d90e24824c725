// HPKE (RFC 9180) base mode: the RFC's Appendix A test vectors, round trips,
// tampering and malformed keys.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../../src/base/hpke_internal.h"
#include "citadel/bytes.h"
#include "citadel/hpke.h"

namespace citadel {
namespace {

Bytes H(std::string_view hex) {
  auto r = HexDecode(hex);
  EXPECT_TRUE(r.ok()) << hex;
  return r.ok() ? *r : Bytes{};
}

std::string Hex(const SecretBytes& s) { return HexEncode(s.span()); }

struct EncryptionVector {
  uint64_t seq;
  std::string nonce;
  std::string ct;
};

struct ExportVector {
  std::string context;
  size_t length;
  std::string value;
};

struct RfcVector {
  const char* name;
  HpkeSuite suite;
  std::string info, ikm_e, pk_em, sk_em, ikm_r, pk_rm, sk_rm, enc, shared_secret;
  std::string key, base_nonce, exporter_secret;
  std::vector<EncryptionVector> encryptions;
  std::vector<ExportVector> exports;
};

// All Appendix A base-mode vectors share the plaintext and the "Count-<seq>" AADs.
constexpr std::string_view kRfcPlaintext =
    "4265617574792069732074727574682c20747275746820626561757479";
constexpr std::string_view kRfcInfo = "4f6465206f6e2061204772656369616e2055726e";

// RFC 9180 A.3.1: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, mode_base.
RfcVector P256Aes128Vector() {
  return RfcVector{
      "A.3.1 P-256/AES-128-GCM",
      {HpkeKem::kDhkemP256HkdfSha256, HpkeKdf::kHkdfSha256, HpkeAead::kAes128Gcm},
      std::string(kRfcInfo),
      "4270e54ffd08d79d5928020af4686d8f6b7d35dbe470265f1f5aa22816ce860e",
      "04a92719c6195d5085104f469a8b9814d5838ff72b60501e2c4466e5e67b32"
      "5ac98536d7b61a1af4b78e5b7f951c0900be863c403ce65c9bfcb9382657222d18c4",
      "4995788ef4b9d6132b249ce59a77281493eb39af373d236a1fe415cb0c2d7beb",
      "668b37171f1072f3cf12ea8a236a45df23fc13b82af3609ad1e354f6ef817550",
      "04fe8c19ce0905191ebc298a9245792531f26f0cece2460639e8bc39cb7f70"
      "6a826a779b4cf969b8a0e539c7f62fb3d30ad6aa8f80e30f1d128aafd68a2ce72ea0",
      "f3ce7fdae57e1a310d87f1ebbde6f328be0a99cdbcadf4d6589cf29de4b8ffd2",
      "04a92719c6195d5085104f469a8b9814d5838ff72b60501e2c4466e5e67b325"
      "ac98536d7b61a1af4b78e5b7f951c0900be863c403ce65c9bfcb9382657222d18c4",
      "c0d26aeab536609a572b07695d933b589dcf363ff9d93c93adea537aeabb8cb8",
      "868c066ef58aae6dc589b6cfdd18f97e",
      "4e0bc5018beba4bf004cca59",
      "14ad94af484a7ad3ef40e9f3be99ecc6fa9036df9d4920548424df127ee0d99f",
      {
          {0, "4e0bc5018beba4bf004cca59",
           "5ad590bb8baa577f8619db35a36311226a896e7342a6d836d8b7bcd2f20b6c7f"
           "9076ac232e3ab2523f39513434"},
          {1, "4e0bc5018beba4bf004cca58",
           "fa6f037b47fc21826b610172ca9637e82d6e5801eb31cbd3748271affd4ecb06"
           "646e0329cbdf3c3cd655b28e82"},
          {2, "4e0bc5018beba4bf004cca5b",
           "895cabfac50ce6c6eb02ffe6c048bf53b7f7be9a91fc559402cbc5b8dcaeb52b"
           "2ccc93e466c28fb55fed7a7fec"},
          {4, "4e0bc5018beba4bf004cca5d",
           "8787491ee8df99bc99a246c4b3216d3d57ab5076e18fa27133f520703bc70ec9"
           "99dd36ce042e44f0c3169a6a8f"},
          {255, "4e0bc5018beba4bf004ccaa6",
           "2ad71c85bf3f45c6eca301426289854b31448bcf8a8ccb1deef3ebd87f60848a"
           "a53c538c30a4dac71d619ee2cd"},
          {256, "4e0bc5018beba4bf004ccb59",
           "10f179686aa2caec1758c8e554513f16472bd0a11e2a907dde0b212cbe87d74f"
           "367f8ffe5e41cd3e9962a6afb2"},
      },
      {
          {"", 32, "5e9bc3d236e1911d95e65b576a8a86d478fb827e8bdfe77b741b289890490d4d"},
          {"00", 32, "6cff87658931bda83dc857e6353efe4987a201b849658d9b047aab4cf216e796"},
          {"54657374436f6e74657874", 32,
           "d8f1ea7942adbba7412c6d431c62d01371ea476b823eb697e1f6e6cae1dab85a"},
      },
  };
}

// RFC 9180 A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, mode_base.
RfcVector X25519Aes128Vector() {
  return RfcVector{
      "A.1.1 X25519/AES-128-GCM",
      {HpkeKem::kDhkemX25519HkdfSha256, HpkeKdf::kHkdfSha256, HpkeAead::kAes128Gcm},
      std::string(kRfcInfo),
      "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234",
      "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
      "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736",
      "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037",
      "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
      "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
      "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
      "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc",
      "4531685d41d65f03dc48f6b8302c05b0",
      "56d890e5accaaf011cff4b7d",
      "45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8",
      {
          {0, "56d890e5accaaf011cff4b7d",
           "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a9"
           "6d8770ac83d07bea87e13c512a"},
          {1, "56d890e5accaaf011cff4b7c",
           "af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab25"
           "1c03d0c22a56b8ca42c2063b84"},
          {2, "56d890e5accaaf011cff4b7f",
           "498dfcabd92e8acedc281e85af1cb4e3e31c7dc394a1ca20e173cb7251649158"
           "8d96a19ad4a683518973dcc180"},
          {4, "56d890e5accaaf011cff4b79",
           "583bd32bc67a5994bb8ceaca813d369bca7b2a42408cddef5e22f880b631215a"
           "09fc0012bc69fccaa251c0246d"},
          {255, "56d890e5accaaf011cff4b82",
           "7175db9717964058640a3a11fb9007941a5d1757fda1a6935c805c21af32505b"
           "f106deefec4a49ac38d71c9e0a"},
          {256, "56d890e5accaaf011cff4a7d",
           "957f9800542b0b8891badb026d79cc54597cb2d225b54c00c5238c25d05c30e3"
           "fbeda97d2e0e1aba483a2df9f2"},
      },
      {
          {"", 32, "3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee"},
          {"00", 32, "2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5"},
          {"54657374436f6e74657874", 32,
           "e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931"},
      },
  };
}

// RFC 9180 A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, mode_base.
RfcVector X25519ChaChaVector() {
  return RfcVector{
      "A.2.1 X25519/ChaCha20Poly1305",
      {HpkeKem::kDhkemX25519HkdfSha256, HpkeKdf::kHkdfSha256, HpkeAead::kChaCha20Poly1305},
      std::string(kRfcInfo),
      "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b",
      "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a",
      "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600",
      "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df",
      "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a",
      "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb",
      "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a",
      "0bbe78490412b4bbea4812666f7916932b828bba79942424abb65244930d69a7",
      "ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91",
      "5c4d98150661b848853b547f",
      "a3b010d4994890e2c6968a36f64470d3c824c8f5029942feb11e7a74b2921922",
      {
          {0, "5c4d98150661b848853b547f",
           "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db"
           "21993c62ce81883d2dd1b51a28"},
          {1, "5c4d98150661b848853b547e",
           "6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e"
           "85285337cc95ba5f59992dc98c"},
          {2, "5c4d98150661b848853b547d",
           "71146bd6795ccc9c49ce25dda112a48f202ad220559502cef1f34271e0cb4b02"
           "b4f10ecac6f48c32f878fae86b"},
          {4, "5c4d98150661b848853b547b",
           "63357a2aa291f5a4e5f27db6baa2af8cf77427c7c1a909e0b37214dd47db122b"
           "b153495ff0b02e9e54a50dbe16"},
          {255, "5c4d98150661b848853b5480",
           "18ab939d63ddec9f6ac2b60d61d36a7375d2070c9b683861110757062c52b888"
           "0a5f6b3936da9cd6c23ef2a95c"},
          {256, "5c4d98150661b848853b557f",
           "7a4a13e9ef23978e2c520fd4d2e757514ae160cd0cd05e556ef692370ca53076"
           "214c0c40d4c728d6ed9e727a5b"},
      },
      {
          {"", 32, "4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e"},
          {"00", 32, "8c1df14732580e5501b00f82b10a1647b40713191b7c1240ac80e2b68808ba69"},
          {"54657374436f6e74657874", 32,
           "5acb09211139c43b3090489a9da433e8a30ee7188ba8b0a9a1ccf0c229283e53"},
      },
  };
}

Bytes CountAad(uint64_t seq) {
  std::string s = "Count-" + std::to_string(seq);
  return Bytes(s.begin(), s.end());
}

void CheckRfcVector(const RfcVector& v) {
  SCOPED_TRACE(v.name);
  const HpkeSuite& suite = v.suite;
  Bytes info = H(v.info);
  Bytes pt = H(kRfcPlaintext);

  // DeriveKeyPair and SerializePublicKey / SerializePrivateKey.
  auto e = HpkeDeriveKeyPair(suite, H(v.ikm_e));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(Hex(e->private_key), v.sk_em);
  EXPECT_EQ(HexEncode(e->public_key), v.pk_em);
  auto r = HpkeDeriveKeyPair(suite, H(v.ikm_r));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Hex(r->private_key), v.sk_rm);
  EXPECT_EQ(HexEncode(r->public_key), v.pk_rm);
  auto pk_from_sk = HpkePublicKeyFromPrivate(suite, H(v.sk_rm));
  ASSERT_TRUE(pk_from_sk.ok());
  EXPECT_EQ(HexEncode(*pk_from_sk), v.pk_rm);

  // Encap (deterministic ephemeral) and Decap.
  auto encap = hpke_internal::EncapWithIkm(suite.kem, H(v.pk_rm), H(v.ikm_e));
  ASSERT_TRUE(encap.ok()) << encap.status().ToString();
  EXPECT_EQ(HexEncode(encap->enc), v.enc);
  EXPECT_EQ(Hex(encap->shared_secret), v.shared_secret);
  auto decap = hpke_internal::Decap(suite.kem, H(v.enc), H(v.sk_rm));
  ASSERT_TRUE(decap.ok()) << decap.status().ToString();
  EXPECT_EQ(Hex(*decap), v.shared_secret);

  // Key schedule.
  auto ks = hpke_internal::KeyScheduleBase(suite, H(v.shared_secret), info);
  ASSERT_TRUE(ks.ok()) << ks.status().ToString();
  EXPECT_EQ(Hex(ks->key), v.key);
  EXPECT_EQ(Hex(ks->base_nonce), v.base_nonce);
  EXPECT_EQ(Hex(ks->exporter_secret), v.exporter_secret);
  for (const auto& ev : v.encryptions) {
    EXPECT_EQ(HexEncode(hpke_internal::ComputeNonce(ks->base_nonce.span(), ev.seq)), ev.nonce)
        << "seq " << ev.seq;
  }

  // Contexts: seal every sequence number up to the last listed one, check the
  // listed ciphertexts, and open them all in order on the recipient side.
  auto sender = hpke_internal::SetupBaseSenderWithIkm(suite, H(v.pk_rm), info, H(v.ikm_e));
  ASSERT_TRUE(sender.ok()) << sender.status().ToString();
  EXPECT_EQ(HexEncode(sender->enc()), v.enc);
  auto recipient = HpkeRecipientContext::SetupBase(suite, H(v.sk_rm), H(v.enc), info);
  ASSERT_TRUE(recipient.ok()) << recipient.status().ToString();

  size_t next = 0;
  const uint64_t last = v.encryptions.back().seq;
  for (uint64_t seq = 0; seq <= last; ++seq) {
    ASSERT_EQ(sender->sequence_number(), seq);
    Bytes aad = CountAad(seq);
    auto ct = sender->Seal(aad, pt);
    ASSERT_TRUE(ct.ok()) << ct.status().ToString();
    if (next < v.encryptions.size() && v.encryptions[next].seq == seq) {
      EXPECT_EQ(HexEncode(*ct), v.encryptions[next].ct) << "seq " << seq;
      ++next;
    }
    auto opened = recipient->Open(aad, *ct);
    ASSERT_TRUE(opened.ok()) << "seq " << seq << ": " << opened.status().ToString();
    EXPECT_EQ(HexEncode(opened->span()), kRfcPlaintext);
  }
  EXPECT_EQ(next, v.encryptions.size());

  // The single-shot Open is the recipient's first message.
  auto single = HpkeOpenBase(suite, H(v.sk_rm), H(v.enc), info, CountAad(0),
                             H(v.encryptions[0].ct));
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  EXPECT_EQ(HexEncode(single->span()), kRfcPlaintext);

  for (const auto& x : v.exports) {
    auto s = sender->Export(H(x.context), x.length);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(Hex(*s), x.value) << "exporter_context " << x.context;
    auto rr = recipient->Export(H(x.context), x.length);
    ASSERT_TRUE(rr.ok()) << rr.status().ToString();
    EXPECT_EQ(Hex(*rr), x.value) << "exporter_context " << x.context;
  }
}

TEST(HpkeRfcVectorTest, P256HkdfSha256Aes128GcmBase) { CheckRfcVector(P256Aes128Vector()); }

TEST(HpkeRfcVectorTest, X25519HkdfSha256Aes128GcmBase) { CheckRfcVector(X25519Aes128Vector()); }

TEST(HpkeRfcVectorTest, X25519HkdfSha256ChaCha20Poly1305Base) {
  CheckRfcVector(X25519ChaChaVector());
}

// ---- Round trips with random keys --------------------------------------------

std::vector<HpkeSuite> AllSuites() {
  std::vector<HpkeSuite> out;
  for (HpkeKem kem : {HpkeKem::kDhkemP256HkdfSha256, HpkeKem::kDhkemX25519HkdfSha256}) {
    for (HpkeAead aead :
         {HpkeAead::kAes128Gcm, HpkeAead::kAes256Gcm, HpkeAead::kChaCha20Poly1305}) {
      out.push_back({kem, HpkeKdf::kHkdfSha256, aead});
    }
  }
  return out;
}

TEST(HpkeRoundTripTest, AllSuitesSingleShot) {
  for (const HpkeSuite& suite : AllSuites()) {
    SCOPED_TRACE(HpkeSuiteName(suite));
    auto kp = HpkeGenerateKeyPair(suite);
    ASSERT_TRUE(kp.ok()) << kp.status().ToString();
    EXPECT_EQ(kp->public_key.size(), HpkePublicKeySize(suite.kem));
    EXPECT_EQ(kp->private_key.size(), HpkePrivateKeySize(suite.kem));
    EXPECT_TRUE(HpkeValidatePublicKey(suite, kp->public_key).ok());

    for (size_t len : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{1000}}) {
      Bytes pt(len);
      for (size_t i = 0; i < len; ++i) pt[i] = static_cast<uint8_t>(i * 7 + 3);
      auto sealed = HpkeSealBase(suite, kp->public_key, AsBytes("info"), AsBytes("aad"), pt);
      ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
      EXPECT_EQ(sealed->enc.size(), HpkePublicKeySize(suite.kem));
      EXPECT_EQ(sealed->ciphertext.size(), len + 16);
      auto opened = HpkeOpenBase(suite, kp->private_key.span(), sealed->enc, AsBytes("info"),
                                 AsBytes("aad"), sealed->ciphertext);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      EXPECT_EQ(Bytes(opened->span().begin(), opened->span().end()), pt);
    }
  }
}

TEST(HpkeRoundTripTest, FreshEphemeralKeyEveryCall) {
  auto kp = HpkeGenerateKeyPair(kHpkeDefaultSuite);
  ASSERT_TRUE(kp.ok());
  auto a = HpkeSealBase(kHpkeDefaultSuite, kp->public_key, {}, {}, AsBytes("same"));
  auto b = HpkeSealBase(kHpkeDefaultSuite, kp->public_key, {}, {}, AsBytes("same"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->enc, b->enc);
  EXPECT_NE(a->ciphertext, b->ciphertext);
}

TEST(HpkeRoundTripTest, ContextsStreamAndExportAgree) {
  const HpkeSuite suite = kHpkeDefaultSuite;
  auto kp = HpkeGenerateKeyPair(suite);
  ASSERT_TRUE(kp.ok());
  auto s = HpkeSenderContext::SetupBase(suite, kp->public_key, AsBytes("model package v1"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto r = HpkeRecipientContext::SetupBase(suite, kp->private_key.span(), s->enc(),
                                           AsBytes("model package v1"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (int i = 0; i < 5; ++i) {
    std::string msg = "chunk " + std::to_string(i);
    auto ct = s->Seal(AsBytes("hdr"), AsBytes(msg));
    ASSERT_TRUE(ct.ok());
    auto pt = r->Open(AsBytes("hdr"), *ct);
    ASSERT_TRUE(pt.ok()) << pt.status().ToString();
    EXPECT_EQ(AsStringView(pt->span()), msg);
  }
  auto xs = s->Export(AsBytes("package key"), 32);
  auto xr = r->Export(AsBytes("package key"), 32);
  ASSERT_TRUE(xs.ok() && xr.ok());
  EXPECT_EQ(Hex(*xs), Hex(*xr));
  auto other = r->Export(AsBytes("other label"), 32);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(Hex(*other), Hex(*xr));
}

TEST(HpkeRoundTripTest, DeriveKeyPairIsDeterministic) {
  Bytes ikm(32, 0x42);
  for (const HpkeSuite& suite : AllSuites()) {
    auto a = HpkeDeriveKeyPair(suite, ikm);
    auto b = HpkeDeriveKeyPair(suite, ikm);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(Hex(a->private_key), Hex(b->private_key));
    EXPECT_EQ(a->public_key, b->public_key);
  }
  EXPECT_EQ(HpkeDeriveKeyPair(kHpkeDefaultSuite, Bytes(31, 1)).status().code(),
            Code::kInvalidArgument);
}

// ---- Tampering ---------------------------------------------------------------
// Policy: a well-formed input that fails authentication is DataLoss; a
// malformed enc (wrong length, not a curve point) is InvalidArgument.

class HpkeTamperTest : public ::testing::TestWithParam<HpkeSuite> {};

TEST_P(HpkeTamperTest, AnyChangeFailsAuthentication) {
  const HpkeSuite suite = GetParam();
  auto kp = HpkeGenerateKeyPair(suite);
  ASSERT_TRUE(kp.ok());
  const Bytes info = {'i', 'n', 'f', 'o'};
  const Bytes aad = {'a', 'a', 'd'};
  auto sealed = HpkeSealBase(suite, kp->public_key, info, aad, AsBytes("secret weights"));
  ASSERT_TRUE(sealed.ok());
  auto open = [&](ByteSpan enc, ByteSpan inf, ByteSpan ad, ByteSpan ct) {
    return HpkeOpenBase(suite, kp->private_key.span(), enc, inf, ad, ct).status().code();
  };
  ASSERT_EQ(open(sealed->enc, info, aad, sealed->ciphertext), Code::kOk);

  for (size_t i = 0; i < sealed->ciphertext.size(); ++i) {
    Bytes ct = sealed->ciphertext;
    ct[i] ^= 0x01;
    EXPECT_EQ(open(sealed->enc, info, aad, ct), Code::kDataLoss) << "ciphertext byte " << i;
  }
  Bytes truncated(sealed->ciphertext.begin(), sealed->ciphertext.end() - 1);
  EXPECT_EQ(open(sealed->enc, info, aad, truncated), Code::kDataLoss);
  EXPECT_EQ(open(sealed->enc, info, aad, Bytes(15, 0)), Code::kDataLoss);
  Bytes extended = sealed->ciphertext;
  extended.push_back(0);
  EXPECT_EQ(open(sealed->enc, info, aad, extended), Code::kDataLoss);

  Bytes bad_aad = aad;
  bad_aad[0] ^= 1;
  EXPECT_EQ(open(sealed->enc, info, bad_aad, sealed->ciphertext), Code::kDataLoss);
  EXPECT_EQ(open(sealed->enc, info, {}, sealed->ciphertext), Code::kDataLoss);
  Bytes bad_info = info;
  bad_info.push_back('!');
  EXPECT_EQ(open(sealed->enc, bad_info, aad, sealed->ciphertext), Code::kDataLoss);

  // A different valid ephemeral key: well-formed, so authentication fails.
  auto other = HpkeGenerateKeyPair(suite);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(open(other->public_key, info, aad, sealed->ciphertext), Code::kDataLoss);
  // Flipping a byte of enc: for X25519 still a valid key (DataLoss); for
  // P-256 almost always off the curve (InvalidArgument). Either way, refused.
  Bytes bad_enc = sealed->enc;
  bad_enc[bad_enc.size() - 1] ^= 0x01;
  Code c = open(bad_enc, info, aad, sealed->ciphertext);
  EXPECT_TRUE(c == Code::kDataLoss || c == Code::kInvalidArgument) << CodeName(c);
  if (suite.kem == HpkeKem::kDhkemP256HkdfSha256) {
    EXPECT_EQ(c, Code::kInvalidArgument);
  }

  // The wrong recipient key.
  EXPECT_EQ(HpkeOpenBase(suite, other->private_key.span(), sealed->enc, info, aad,
                         sealed->ciphertext)
                .status()
                .code(),
            Code::kDataLoss);
}

TEST_P(HpkeTamperTest, WrongSuiteFails) {
  const HpkeSuite suite = GetParam();
  auto kp = HpkeGenerateKeyPair(suite);
  ASSERT_TRUE(kp.ok());
  auto sealed = HpkeSealBase(suite, kp->public_key, {}, {}, AsBytes("x"));
  ASSERT_TRUE(sealed.ok());
  for (const HpkeSuite& other : AllSuites()) {
    if (other == suite || other.kem != suite.kem) continue;
    EXPECT_EQ(HpkeOpenBase(other, kp->private_key.span(), sealed->enc, {}, {}, sealed->ciphertext)
                  .status()
                  .code(),
              Code::kDataLoss)
        << HpkeSuiteName(other);
  }
}

INSTANTIATE_TEST_SUITE_P(Hpke, HpkeTamperTest, ::testing::ValuesIn(AllSuites()));

TEST(HpkeContextTest, FailedOpenDoesNotAdvanceSequence) {
  auto kp = HpkeGenerateKeyPair(kHpkeDefaultSuite);
  ASSERT_TRUE(kp.ok());
  auto s = HpkeSenderContext::SetupBase(kHpkeDefaultSuite, kp->public_key, {});
  ASSERT_TRUE(s.ok());
  auto r = HpkeRecipientContext::SetupBase(kHpkeDefaultSuite, kp->private_key.span(), s->enc(), {});
  ASSERT_TRUE(r.ok());
  auto c0 = s->Seal({}, AsBytes("zero"));
  auto c1 = s->Seal({}, AsBytes("one"));
  ASSERT_TRUE(c0.ok() && c1.ok());
  EXPECT_EQ(s->sequence_number(), 2u);
  // Out of order: c1 under seq 0 fails, and seq stays 0.
  EXPECT_EQ(r->Open({}, *c1).status().code(), Code::kDataLoss);
  EXPECT_EQ(r->sequence_number(), 0u);
  Bytes forged = *c0;
  forged[0] ^= 0x80;
  EXPECT_EQ(r->Open({}, forged).status().code(), Code::kDataLoss);
  EXPECT_EQ(r->sequence_number(), 0u);
  auto p0 = r->Open({}, *c0);
  ASSERT_TRUE(p0.ok());
  EXPECT_EQ(AsStringView(p0->span()), "zero");
  // Replaying c0 at seq 1 fails.
  EXPECT_EQ(r->Open({}, *c0).status().code(), Code::kDataLoss);
  auto p1 = r->Open({}, *c1);
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(AsStringView(p1->span()), "one");
  EXPECT_EQ(r->sequence_number(), 2u);
}

TEST(HpkeContextTest, MovedFromContextRefuses) {
  auto kp = HpkeGenerateKeyPair(kHpkeDefaultSuite);
  ASSERT_TRUE(kp.ok());
  auto s = HpkeSenderContext::SetupBase(kHpkeDefaultSuite, kp->public_key, {});
  ASSERT_TRUE(s.ok());
  HpkeSenderContext moved = std::move(*s);
  EXPECT_EQ(s->Seal({}, AsBytes("x")).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(s->Export({}, 16).status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(moved.Seal({}, AsBytes("x")).ok());
}

TEST(HpkeContextTest, ExportLengthBounds) {
  auto kp = HpkeGenerateKeyPair(kHpkeDefaultSuite);
  ASSERT_TRUE(kp.ok());
  auto s = HpkeSenderContext::SetupBase(kHpkeDefaultSuite, kp->public_key, {});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->Export({}, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(s->Export({}, 255 * 32 + 1).status().code(), Code::kInvalidArgument);
  auto big = s->Export({}, 255 * 32);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->size(), 255u * 32);
  auto small = s->Export({}, 20);
  ASSERT_TRUE(small.ok());
  // Export output is a prefix-consistent HKDF stream only for the same L
  // (L is in the labeled info), so different lengths give different bytes.
  EXPECT_NE(HexEncode(small->span()), HexEncode(big->span().subspan(0, 20)));
}

// ---- Malformed keys and suites -------------------------------------------------

const HpkeSuite kP256Suite{HpkeKem::kDhkemP256HkdfSha256, HpkeKdf::kHkdfSha256,
                           HpkeAead::kAes128Gcm};
const HpkeSuite kX25519Suite{HpkeKem::kDhkemX25519HkdfSha256, HpkeKdf::kHkdfSha256,
                             HpkeAead::kAes128Gcm};

TEST(HpkeKeyTest, P256PublicKeyValidation) {
  Bytes good = H(P256Aes128Vector().pk_rm);
  EXPECT_TRUE(HpkeValidatePublicKey(kP256Suite, good).ok());

  auto seal_code = [](ByteSpan pk) {
    return HpkeSealBase(kP256Suite, pk, {}, {}, AsBytes("x")).status();
  };
  // Wrong lengths: empty, compressed (33), truncated, extended.
  Bytes compressed(good.begin(), good.begin() + 33);
  compressed[0] = 0x02 | (good[64] & 1);
  for (const Bytes& pk : {Bytes{}, compressed, Bytes(good.begin(), good.end() - 1),
                          [&] { Bytes b = good; b.push_back(0); return b; }()}) {
    Status st = seal_code(pk);
    EXPECT_EQ(st.code(), Code::kInvalidArgument);
    EXPECT_NE(st.message().find("65 bytes"), std::string::npos) << st.message();
  }
  // Right length, wrong prefix.
  Bytes prefix = good;
  prefix[0] = 0x03;
  EXPECT_EQ(seal_code(prefix).code(), Code::kInvalidArgument);
  // Right length and prefix, not on the curve.
  Bytes off_curve = good;
  off_curve[64] ^= 0x01;
  Status st = seal_code(off_curve);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("not a point on the curve"), std::string::npos) << st.message();
  EXPECT_EQ(HpkeValidatePublicKey(kP256Suite, off_curve).code(), Code::kInvalidArgument);
  // All zero coordinates (0,0) is not on P-256.
  Bytes zeros(65, 0);
  zeros[0] = 0x04;
  EXPECT_EQ(seal_code(zeros).code(), Code::kInvalidArgument);
  // The same checks apply to enc on the recipient side.
  auto r = HpkeDeriveKeyPair(kP256Suite, H(P256Aes128Vector().ikm_r));
  ASSERT_TRUE(r.ok());
  Status enc_st =
      HpkeOpenBase(kP256Suite, r->private_key.span(), off_curve, {}, {}, Bytes(32, 0)).status();
  EXPECT_EQ(enc_st.code(), Code::kInvalidArgument);
  EXPECT_NE(enc_st.message().find("enc"), std::string::npos) << enc_st.message();
}

TEST(HpkeKeyTest, P256PrivateKeyValidation) {
  Bytes enc = H(P256Aes128Vector().enc);
  auto open_code = [&](ByteSpan sk) {
    return HpkeOpenBase(kP256Suite, sk, enc, {}, {}, Bytes(32, 0)).status().code();
  };
  const Bytes n = H("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
  Bytes n_minus_1 = n;
  n_minus_1[31] -= 1;
  EXPECT_EQ(open_code(Bytes(32, 0)), Code::kInvalidArgument);  // zero
  EXPECT_EQ(open_code(n), Code::kInvalidArgument);             // = n
  EXPECT_EQ(open_code(Bytes(32, 0xff)), Code::kInvalidArgument);
  EXPECT_EQ(open_code(Bytes(31, 1)), Code::kInvalidArgument);
  EXPECT_EQ(open_code(Bytes(33, 1)), Code::kInvalidArgument);
  // n-1 and 1 are valid scalars: the key is accepted, authentication fails.
  EXPECT_EQ(open_code(n_minus_1), Code::kDataLoss);
  Bytes one(32, 0);
  one[31] = 1;
  EXPECT_EQ(open_code(one), Code::kDataLoss);
  auto pk1 = HpkePublicKeyFromPrivate(kP256Suite, one);
  ASSERT_TRUE(pk1.ok());
  // 1*G is the P-256 generator.
  EXPECT_EQ(HexEncode(*pk1),
            "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
            "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
  EXPECT_EQ(HpkePublicKeyFromPrivate(kP256Suite, n).status().code(), Code::kInvalidArgument);
}

TEST(HpkeKeyTest, X25519KeyValidation) {
  EXPECT_EQ(HpkeSealBase(kX25519Suite, Bytes(31, 9), {}, {}, AsBytes("x")).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(HpkeSealBase(kX25519Suite, Bytes(65, 4), {}, {}, AsBytes("x")).status().code(),
            Code::kInvalidArgument);
  // Small-order points give an all-zero shared secret and must be refused.
  Bytes zero(32, 0);
  Status st = HpkeSealBase(kX25519Suite, zero, {}, {}, AsBytes("x")).status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  Bytes one(32, 0);
  one[0] = 1;
  EXPECT_EQ(HpkeSealBase(kX25519Suite, one, {}, {}, AsBytes("x")).status().code(),
            Code::kInvalidArgument);
  auto r = HpkeGenerateKeyPair(kX25519Suite);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(HpkeOpenBase(kX25519Suite, r->private_key.span(), zero, {}, {}, Bytes(32, 0))
                .status()
                .code(),
            Code::kInvalidArgument);
  EXPECT_EQ(HpkeOpenBase(kX25519Suite, Bytes(16, 1), H(X25519Aes128Vector().enc), {}, {},
                         Bytes(32, 0))
                .status()
                .code(),
            Code::kInvalidArgument);
}

TEST(HpkeSuiteTest, IdsAndNames) {
  auto s = HpkeSuiteFromIds(0x0010, 0x0001, 0x0002);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, kHpkeDefaultSuite);
  EXPECT_EQ(HpkeSuiteName(*s), "DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM");
  EXPECT_TRUE(HpkeSuiteFromIds(0x0020, 0x0001, 0x0003).ok());
  EXPECT_EQ(HpkeSuiteFromIds(0x0011, 1, 1).status().code(), Code::kUnsupported);  // P-384
  EXPECT_EQ(HpkeSuiteFromIds(0x0010, 2, 1).status().code(), Code::kUnsupported);  // SHA-384
  EXPECT_EQ(HpkeSuiteFromIds(0x0010, 1, 0xffff).status().code(), Code::kUnsupported);
  HpkeSuite bad{static_cast<HpkeKem>(0x0012), HpkeKdf::kHkdfSha256, HpkeAead::kAes128Gcm};
  EXPECT_EQ(HpkeGenerateKeyPair(bad).status().code(), Code::kUnsupported);
  EXPECT_EQ(HpkeSealBase(bad, Bytes(65, 4), {}, {}, {}).status().code(), Code::kUnsupported);
}

}  // namespace
}  // namespace citadel
