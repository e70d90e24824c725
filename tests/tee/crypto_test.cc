// Known-answer and behaviour tests for src/base/crypto.cc (which the sim
// platform is built on).
#include <gtest/gtest.h>

#include "citadel/crypto.h"

namespace citadel {
namespace {

Bytes Hex(std::string_view h) {
  auto b = HexDecode(h);
  EXPECT_TRUE(b.ok());
  return b.ok() ? *b : Bytes{};
}

TEST(CryptoTest, Sha2KnownAnswers) {
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha384(AsBytes("abc"))),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            "8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(HexEncode(Sha512(AsBytes("abc"))).substr(0, 32), "ddaf35a193617abacc417349ae204131");
}

TEST(CryptoTest, HasherMatchesOneShotAndIsReusable) {
  Hasher h(Hasher::Algo::kSha384);
  h.Update(AsBytes("a"));
  h.Update(AsBytes("bc"));
  Sha384Digest d = Sha384(AsBytes("abc"));
  EXPECT_EQ(h.Finish(), Bytes(d.begin(), d.end()));
  h.Update(AsBytes("abc"));
  EXPECT_EQ(h.Finish(), Bytes(d.begin(), d.end()));
}

TEST(CryptoTest, HmacSha256Rfc4231Case2) {
  auto mac = HmacSha256(AsBytes("Jefe"), AsBytes("what do ya want for nothing?"));
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(HexEncode(*mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CryptoTest, HkdfRfc5869Case1) {
  Bytes ikm(22, 0x0b);
  auto okm = HkdfSha256(ikm, Hex("000102030405060708090a0b0c"), Hex("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm.ok());
  EXPECT_EQ(HexEncode(okm->span()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865");
  EXPECT_FALSE(HkdfSha256(ikm, {}, {}, 0).ok());
  EXPECT_FALSE(HkdfSha256(ikm, {}, {}, 255 * 32 + 1).ok());
}

TEST(CryptoTest, HkdfRfc5869Case3EmptySaltAndInfo) {
  Bytes ikm(22, 0x0b);
  auto okm = HkdfSha256(ikm, {}, {}, 42);
  ASSERT_TRUE(okm.ok());
  EXPECT_EQ(HexEncode(okm->span()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
            "9d201395faa4b61a96c8");
}

TEST(CryptoTest, RandomBytesDiffer) {
  Bytes a(32), b(32);
  ASSERT_TRUE(RandomBytes(a).ok());
  ASSERT_TRUE(RandomBytes(b).ok());
  EXPECT_NE(a, b);
}

TEST(CryptoTest, EcdsaSignVerifyAndKeyEncodings) {
  for (Curve c : {Curve::kP256, Curve::kP384}) {
    auto key = GenerateEcKey(c);
    ASSERT_TRUE(key.ok());
    auto spki = PublicKeySpkiDer(key->get());
    ASSERT_TRUE(spki.ok());
    auto pub = ParsePublicKeySpkiDer(*spki);
    ASSERT_TRUE(pub.ok());
    auto sig = SignDigestMessage(key->get(), "SHA384", AsBytes("message"));
    ASSERT_TRUE(sig.ok());
    EXPECT_TRUE(VerifyDigestMessage(pub->get(), "SHA384", AsBytes("message"), *sig).ok());
    EXPECT_FALSE(VerifyDigestMessage(pub->get(), "SHA384", AsBytes("messagE"), *sig).ok());
    EXPECT_FALSE(VerifyDigestMessage(pub->get(), "SHA256", AsBytes("message"), *sig).ok());
    Bytes bad = *sig;
    bad.back() ^= 1;
    EXPECT_FALSE(VerifyDigestMessage(pub->get(), "SHA384", AsBytes("message"), bad).ok());
    EXPECT_FALSE(SignDigestMessage(key->get(), "MD5", AsBytes("m")).ok());

    auto p8 = PrivateKeyPkcs8Der(key->get());
    ASSERT_TRUE(p8.ok());
    auto again = ParsePrivateKeyPkcs8Der(p8->span());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(EVP_PKEY_eq(key->get(), again->get()), 1);

    Bytes trailing = *spki;
    trailing.push_back(0);
    EXPECT_FALSE(ParsePublicKeySpkiDer(trailing).ok());
    EXPECT_FALSE(ParsePublicKeySpkiDer(ByteSpan(spki->data(), spki->size() - 1)).ok());
  }
  EXPECT_FALSE(ParsePrivateKeyPkcs8Der(AsBytes("garbage")).ok());
  EXPECT_FALSE(ParsePublicKeySpkiDer({}).ok());
}

TEST(CryptoTest, AeadRoundTripAndTamperDetection) {
  Bytes key(32, 0x42);
  auto sealed = AeadSeal(key, AsBytes("secret weights"), AsBytes("model-id"));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), 12 + 14 + 16u);
  auto opened = AeadOpen(key, *sealed, AsBytes("model-id"));
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(AsStringView(opened->span()), "secret weights");

  auto again = AeadSeal(key, AsBytes("secret weights"), AsBytes("model-id"));
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*sealed, *again);  // random nonce

  for (size_t i = 0; i < sealed->size(); ++i) {
    Bytes t = *sealed;
    t[i] ^= 0x01;
    auto r = AeadOpen(key, t, AsBytes("model-id"));
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.status().code(), Code::kDataLoss);
  }
  EXPECT_EQ(AeadOpen(key, *sealed, AsBytes("other-id")).status().code(), Code::kDataLoss);
  Bytes other(32, 0x43);
  EXPECT_EQ(AeadOpen(other, *sealed, AsBytes("model-id")).status().code(), Code::kDataLoss);
  EXPECT_EQ(AeadOpen(key, ByteSpan(sealed->data(), 27), {}).status().code(), Code::kDataLoss);
  EXPECT_FALSE(AeadSeal(Bytes(16), AsBytes("x"), {}).ok());

  auto empty = AeadSeal(key, {}, {});
  ASSERT_TRUE(empty.ok());
  auto empty_open = AeadOpen(key, *empty, {});
  ASSERT_TRUE(empty_open.ok());
  EXPECT_TRUE(empty_open->empty());
}

TEST(CryptoTest, OpenSslErrorQueueIsDrained) {
  EXPECT_FALSE(ParsePrivateKeyPkcs8Der(AsBytes("garbage")).ok());
  EXPECT_EQ(TakeOpenSslError(), "unknown OpenSSL error");
}

}  // namespace
}  // namespace citadel
