// OpenSSL 3 wrappers (see include/citadel/crypto.h).
//
// Conventions: every failure path drains the OpenSSL error queue into the
// returned Status (TakeOpenSslError), so a stale error never shows up in an
// unrelated later call. Secret intermediates live in SecretBytes or are
// cleansed before release.

#include "citadel/crypto.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace citadel {
namespace {

struct MdCtxDeleter { void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } };
struct CipherCtxDeleter { void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); } };
struct MacDeleter { void operator()(EVP_MAC* p) const { EVP_MAC_free(p); } };
struct MacCtxDeleter { void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); } };
struct KdfDeleter { void operator()(EVP_KDF* p) const { EVP_KDF_free(p); } };
struct KdfCtxDeleter { void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); } };
struct Pkcs8Deleter {
  void operator()(PKCS8_PRIV_KEY_INFO* p) const { PKCS8_PRIV_KEY_INFO_free(p); }
};

using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;
using MacPtr = std::unique_ptr<EVP_MAC, MacDeleter>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;
using KdfPtr = std::unique_ptr<EVP_KDF, KdfDeleter>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter>;
using Pkcs8Ptr = std::unique_ptr<PKCS8_PRIV_KEY_INFO, Pkcs8Deleter>;

constexpr size_t kGcmNonceLen = 12;
constexpr size_t kGcmTagLen = 16;
constexpr size_t kAes256KeyLen = 32;
// EVP_*Update take int lengths; feed large buffers in chunks below INT_MAX.
constexpr size_t kMaxChunk = size_t{1} << 30;

Status OpenSslFailure(std::string_view what) {
  return Status::Internal(std::string(what) + ": " + TakeOpenSslError());
}

// A digest failure here means OpenSSL itself is broken (out of memory or a
// missing default provider). Returning a zero digest would fail open, so stop.
[[noreturn]] void DigestFailed() {
  ERR_clear_error();
  std::abort();
}

template <size_t N>
std::array<uint8_t, N> OneShotDigest(const EVP_MD* md, ByteSpan data) {
  std::array<uint8_t, N> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1 || len != N) {
    DigestFailed();
  }
  return out;
}

// Only the SHA-2 names the API documents; anything else is a caller bug.
bool IsSupportedDigest(const char* name) {
  if (name == nullptr) return false;
  return std::strcmp(name, "SHA256") == 0 || std::strcmp(name, "SHA384") == 0 ||
         std::strcmp(name, "SHA512") == 0;
}

// d2i functions take a long length.
bool FitsLong(size_t n) { return n <= static_cast<size_t>(LONG_MAX); }

}  // namespace

std::string TakeOpenSslError() {
  unsigned long err = ERR_get_error();
  ERR_clear_error();
  if (err == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(err, buf, sizeof(buf));
  return buf;
}

// ---- Digests -----------------------------------------------------------------

Sha256Digest Sha256(ByteSpan data) { return OneShotDigest<32>(EVP_sha256(), data); }
Sha384Digest Sha384(ByteSpan data) { return OneShotDigest<48>(EVP_sha384(), data); }
Sha512Digest Sha512(ByteSpan data) { return OneShotDigest<64>(EVP_sha512(), data); }

namespace {
const EVP_MD* HasherMd(Hasher::Algo algo) {
  switch (algo) {
    case Hasher::Algo::kSha256: return EVP_sha256();
    case Hasher::Algo::kSha384: return EVP_sha384();
    case Hasher::Algo::kSha512: return EVP_sha512();
  }
  return EVP_sha256();
}
}  // namespace

Hasher::Hasher(Algo algo) : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, HasherMd(algo), nullptr) != 1) DigestFailed();
}

Hasher::~Hasher() { EVP_MD_CTX_free(ctx_); }

void Hasher::Update(ByteSpan data) {
  if (EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1) DigestFailed();
}

// Returns the digest and re-arms the hasher for a fresh message with the
// same algorithm.
Bytes Hasher::Finish() {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1) DigestFailed();
  out.resize(len);
  if (EVP_DigestInit_ex(ctx_, EVP_MD_CTX_get0_md(ctx_), nullptr) != 1) DigestFailed();
  return out;
}

// ---- MAC / KDF / RNG -----------------------------------------------------------

Result<Bytes> HmacSha256(ByteSpan key, ByteSpan data) {
  MacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return OpenSslFailure("HMAC unavailable");
  MacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) return OpenSslFailure("HMAC context");
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  // A zero-length key is legal HMAC; give OpenSSL a valid pointer for it.
  static const uint8_t kEmpty = 0;
  const uint8_t* key_ptr = key.empty() ? &kEmpty : key.data();
  if (EVP_MAC_init(ctx.get(), key_ptr, key.size(), params) != 1) {
    return OpenSslFailure("HMAC init");
  }
  if (EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1) {
    return OpenSslFailure("HMAC update");
  }
  Bytes out(32);
  size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != 32) {
    return OpenSslFailure("HMAC final");
  }
  return out;
}

Result<SecretBytes> HkdfSha256(ByteSpan ikm, ByteSpan salt, ByteSpan info, size_t out_len) {
  if (out_len == 0 || out_len > 255 * 32) {
    return Status::InvalidArgument("HKDF-SHA256 output length must be 1..8160 bytes");
  }
  if (ikm.empty()) return Status::InvalidArgument("HKDF input key material is empty");
  KdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return OpenSslFailure("HKDF unavailable");
  KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return OpenSslFailure("HKDF context");

  char digest_name[] = "SHA256";
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.data()), ikm.size());
  // An absent salt means HashLen zero bytes (RFC 5869 2.2); OpenSSL does that
  // when the parameter is not given.
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()), salt.size());
  }
  if (!info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_INFO, const_cast<uint8_t*>(info.data()), info.size());
  }
  params[n] = OSSL_PARAM_construct_end();

  SecretBytes out(out_len);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return OpenSslFailure("HKDF derive");
  }
  return out;
}

Status RandomBytes(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    size_t chunk = std::min(out.size() - done, kMaxChunk);
    if (RAND_bytes(out.data() + done, static_cast<int>(chunk)) != 1) {
      return OpenSslFailure("random number generator");
    }
    done += chunk;
  }
  return Status::Ok();
}

// ---- EC keys and signatures ----------------------------------------------------

Result<EvpPkeyPtr> GenerateEcKey(Curve curve) {
  const char* name = curve == Curve::kP256 ? "P-256" : "P-384";
  EvpPkeyPtr key(EVP_EC_gen(name));
  if (!key) return OpenSslFailure(std::string("EC key generation (") + name + ")");
  return key;
}

Result<Bytes> PublicKeySpkiDer(EVP_PKEY* key) {
  if (key == nullptr) return Status::InvalidArgument("no key");
  int len = i2d_PUBKEY(key, nullptr);
  if (len <= 0) return OpenSslFailure("encoding public key");
  Bytes out(static_cast<size_t>(len));
  unsigned char* p = out.data();
  if (i2d_PUBKEY(key, &p) != len) return OpenSslFailure("encoding public key");
  return out;
}

Result<EvpPkeyPtr> ParsePublicKeySpkiDer(ByteSpan der) {
  if (der.empty() || !FitsLong(der.size())) {
    return Status::InvalidArgument("public key: empty or oversized SubjectPublicKeyInfo");
  }
  const unsigned char* p = der.data();
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key) {
    return Status::InvalidArgument("public key: not a valid SubjectPublicKeyInfo: " +
                                   TakeOpenSslError());
  }
  // d2i advanced p past what it consumed; anything left over is trailing junk.
  if (static_cast<size_t>(p - der.data()) != der.size()) {
    return Status::InvalidArgument("public key: trailing bytes after SubjectPublicKeyInfo");
  }
  return key;
}

Result<SecretBytes> PrivateKeyPkcs8Der(EVP_PKEY* key) {
  if (key == nullptr) return Status::InvalidArgument("no key");
  Pkcs8Ptr p8(EVP_PKEY2PKCS8(key));
  if (!p8) return OpenSslFailure("encoding private key");
  int len = i2d_PKCS8_PRIV_KEY_INFO(p8.get(), nullptr);
  if (len <= 0) return OpenSslFailure("encoding private key");
  // Encode straight into wiping storage so no plain copy of the key remains.
  SecretBytes out(static_cast<size_t>(len));
  unsigned char* p = out.data();
  if (i2d_PKCS8_PRIV_KEY_INFO(p8.get(), &p) != len) return OpenSslFailure("encoding private key");
  return out;
}

Result<EvpPkeyPtr> ParsePrivateKeyPkcs8Der(ByteSpan der) {
  if (der.empty() || !FitsLong(der.size())) {
    return Status::InvalidArgument("private key: empty or oversized PKCS#8");
  }
  const unsigned char* p = der.data();
  Pkcs8Ptr p8(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size())));
  if (!p8) {
    return Status::InvalidArgument("private key: not valid PKCS#8: " + TakeOpenSslError());
  }
  if (static_cast<size_t>(p - der.data()) != der.size()) {
    return Status::InvalidArgument("private key: trailing bytes after PKCS#8");
  }
  EvpPkeyPtr key(EVP_PKCS82PKEY(p8.get()));
  if (!key) return Status::InvalidArgument("private key: unusable PKCS#8: " + TakeOpenSslError());
  return key;
}

Result<Bytes> SignDigestMessage(EVP_PKEY* key, const char* digest, ByteSpan message) {
  if (key == nullptr) return Status::InvalidArgument("sign: no key");
  if (!IsSupportedDigest(digest)) return Status::InvalidArgument("sign: unsupported digest");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return OpenSslFailure("sign: context");
  if (EVP_DigestSignInit_ex(ctx.get(), nullptr, digest, nullptr, nullptr, key, nullptr) != 1) {
    return OpenSslFailure("sign: init");
  }
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1) {
    return OpenSslFailure("sign: size");
  }
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1) {
    return OpenSslFailure("sign");
  }
  sig.resize(len);  // ECDSA DER signatures vary in length
  return sig;
}

Status VerifyDigestMessage(EVP_PKEY* key, const char* digest, ByteSpan message,
                           ByteSpan signature) {
  if (key == nullptr) return Status::InvalidArgument("verify: no key");
  if (!IsSupportedDigest(digest)) return Status::InvalidArgument("verify: unsupported digest");
  if (signature.empty()) return Status::InvalidArgument("signature is empty");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return OpenSslFailure("verify: context");
  if (EVP_DigestVerifyInit_ex(ctx.get(), nullptr, digest, nullptr, nullptr, key, nullptr) != 1) {
    return OpenSslFailure("verify: init");
  }
  int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                            message.size());
  // 0 = wrong signature, <0 = malformed signature; both are just "invalid".
  ERR_clear_error();
  if (rc != 1) return Status::InvalidArgument("signature does not verify");
  return Status::Ok();
}

// ---- AES-256-GCM --------------------------------------------------------------

Result<Bytes> AeadSeal(ByteSpan key, ByteSpan plaintext, ByteSpan aad) {
  if (key.size() != kAes256KeyLen) return Status::InvalidArgument("AES-256-GCM key must be 32 bytes");
  Bytes out(kGcmNonceLen + plaintext.size() + kGcmTagLen);
  std::span<uint8_t> nonce(out.data(), kGcmNonceLen);
  CITADEL_RETURN_IF_ERROR(RandomBytes(nonce));

  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return OpenSslFailure("seal: context");
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1) {
    return OpenSslFailure("seal: init");
  }
  int len = 0;
  for (size_t off = 0; off < aad.size(); off += kMaxChunk) {
    size_t n = std::min(aad.size() - off, kMaxChunk);
    if (EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data() + off, static_cast<int>(n)) != 1) {
      return OpenSslFailure("seal: aad");
    }
  }
  uint8_t* ct = out.data() + kGcmNonceLen;
  size_t written = 0;
  for (size_t off = 0; off < plaintext.size(); off += kMaxChunk) {
    size_t n = std::min(plaintext.size() - off, kMaxChunk);
    if (EVP_EncryptUpdate(ctx.get(), ct + written, &len, plaintext.data() + off,
                          static_cast<int>(n)) != 1) {
      return OpenSslFailure("seal: encrypt");
    }
    written += static_cast<size_t>(len);
  }
  if (EVP_EncryptFinal_ex(ctx.get(), ct + written, &len) != 1) return OpenSslFailure("seal: final");
  written += static_cast<size_t>(len);
  if (written != plaintext.size()) return Status::Internal("seal: unexpected ciphertext length");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagLen, ct + written) != 1) {
    return OpenSslFailure("seal: tag");
  }
  return out;
}

Result<SecretBytes> AeadOpen(ByteSpan key, ByteSpan sealed, ByteSpan aad) {
  if (key.size() != kAes256KeyLen) return Status::InvalidArgument("AES-256-GCM key must be 32 bytes");
  if (sealed.size() < kGcmNonceLen + kGcmTagLen) {
    return Status::DataLoss("sealed data is too short");
  }
  ByteSpan nonce = sealed.subspan(0, kGcmNonceLen);
  ByteSpan ct = sealed.subspan(kGcmNonceLen, sealed.size() - kGcmNonceLen - kGcmTagLen);
  ByteSpan tag = sealed.subspan(sealed.size() - kGcmTagLen);

  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return OpenSslFailure("open: context");
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1) {
    return OpenSslFailure("open: init");
  }
  int len = 0;
  for (size_t off = 0; off < aad.size(); off += kMaxChunk) {
    size_t n = std::min(aad.size() - off, kMaxChunk);
    if (EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data() + off, static_cast<int>(n)) != 1) {
      return OpenSslFailure("open: aad");
    }
  }
  SecretBytes out(ct.size());
  size_t written = 0;
  for (size_t off = 0; off < ct.size(); off += kMaxChunk) {
    size_t n = std::min(ct.size() - off, kMaxChunk);
    if (EVP_DecryptUpdate(ctx.get(), out.data() + written, &len, ct.data() + off,
                          static_cast<int>(n)) != 1) {
      return OpenSslFailure("open: decrypt");
    }
    written += static_cast<size_t>(len);
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagLen,
                          const_cast<uint8_t*>(tag.data())) != 1) {
    return OpenSslFailure("open: tag");
  }
  // GCM produces no output at Final; point at a scratch byte so that an
  // empty plaintext does not hand OpenSSL a null pointer.
  uint8_t scratch[16];
  if (EVP_DecryptFinal_ex(ctx.get(), scratch, &len) != 1) {
    ERR_clear_error();
    out.Wipe();  // unauthenticated plaintext must not survive
    return Status::DataLoss("sealed data failed authentication (tampered, or wrong key)");
  }
  return out;
}

}  // namespace citadel
