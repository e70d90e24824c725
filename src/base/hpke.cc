// HPKE (RFC 9180) base mode over OpenSSL 3.0 primitives (see
// include/citadel/hpke.h for the contract).
//
// Building blocks and where they come from:
//   HKDF-SHA256 Extract/Expand  - HMAC via EVP_MAC (RFC 5869 written out, so
//                                 that labeled inputs can be fed in pieces
//                                 without concatenating secrets).
//   DH                          - EVP_PKEY_derive (ECDH P-256 / X25519).
//   P-256 pk(sk)                - EC_POINT_mul on the generator (constant-time
//                                 ladder in OpenSSL).
//   AEAD                        - EVP_CIPHER AES-GCM / ChaCha20-Poly1305.
// Every secret intermediate lives in SecretBytes (wiped on destruction);
// OpenSSL objects holding secrets are freed with their clearing frees.

#include "citadel/hpke.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>

#include "citadel/crypto.h"
#include "hpke_internal.h"

namespace citadel {
namespace {

struct MacDeleter { void operator()(EVP_MAC* p) const { EVP_MAC_free(p); } };
struct MacCtxDeleter { void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); } };
struct CipherCtxDeleter { void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); } };
struct PkeyCtxDeleter { void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); } };
struct EcGroupDeleter { void operator()(EC_GROUP* p) const { EC_GROUP_free(p); } };
struct EcPointDeleter { void operator()(EC_POINT* p) const { EC_POINT_clear_free(p); } };
struct BnDeleter { void operator()(BIGNUM* p) const { BN_clear_free(p); } };
struct BnCtxDeleter { void operator()(BN_CTX* p) const { BN_CTX_free(p); } };
struct ParamBldDeleter { void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); } };
struct ParamDeleter { void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); } };

using MacPtr = std::unique_ptr<EVP_MAC, MacDeleter>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using EcGroupPtr = std::unique_ptr<EC_GROUP, EcGroupDeleter>;
using EcPointPtr = std::unique_ptr<EC_POINT, EcPointDeleter>;
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;
using BnCtxPtr = std::unique_ptr<BN_CTX, BnCtxDeleter>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, ParamDeleter>;

constexpr size_t kNh = 32;        // HKDF-SHA256 output size
constexpr size_t kNsecret = 32;   // DHKEM(*, HKDF-SHA256) shared secret size
constexpr size_t kNsk = 32;       // private key size, both KEMs
constexpr size_t kNpkP256 = 65;   // uncompressed SEC1 point
constexpr size_t kNpkX25519 = 32;
constexpr size_t kNn = 12;        // AEAD nonce size, all three AEADs
constexpr size_t kNt = 16;        // AEAD tag size, all three AEADs
constexpr size_t kMaxExpand = 255 * kNh;
constexpr uint8_t kModeBase = 0x00;
// EVP_*Update take int lengths; feed large buffers in chunks below INT_MAX.
constexpr size_t kMaxChunk = size_t{1} << 30;

// The order n of the P-256 group, big-endian.
constexpr std::array<uint8_t, 32> kP256Order = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

Status OpenSslFailure(std::string_view what) {
  return Status::Internal("HPKE: " + std::string(what) + ": " + TakeOpenSslError());
}

void AppendU16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v & 0xff));
}

void Append(Bytes& out, ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); }

bool IsKnownKem(HpkeKem kem) {
  return kem == HpkeKem::kDhkemP256HkdfSha256 || kem == HpkeKem::kDhkemX25519HkdfSha256;
}
bool IsKnownKdf(HpkeKdf kdf) { return kdf == HpkeKdf::kHkdfSha256; }
bool IsKnownAead(HpkeAead aead) {
  return aead == HpkeAead::kAes128Gcm || aead == HpkeAead::kAes256Gcm ||
         aead == HpkeAead::kChaCha20Poly1305;
}

Status CheckSuite(const HpkeSuite& suite) {
  if (!IsKnownKem(suite.kem)) return Status::Unsupported("HPKE: unsupported KEM");
  if (!IsKnownKdf(suite.kdf)) return Status::Unsupported("HPKE: unsupported KDF");
  if (!IsKnownAead(suite.aead)) return Status::Unsupported("HPKE: unsupported AEAD");
  return Status::Ok();
}

size_t AeadKeySize(HpkeAead aead) { return aead == HpkeAead::kAes128Gcm ? 16 : 32; }

const EVP_CIPHER* AeadCipher(HpkeAead aead) {
  switch (aead) {
    case HpkeAead::kAes128Gcm: return EVP_aes_128_gcm();
    case HpkeAead::kAes256Gcm: return EVP_aes_256_gcm();
    case HpkeAead::kChaCha20Poly1305: return EVP_chacha20_poly1305();
  }
  return nullptr;
}

// ---- HKDF-SHA256 ---------------------------------------------------------------

// HMAC-SHA256(key, concat(parts)) into wiping storage.
Result<SecretBytes> HmacParts(ByteSpan key, std::initializer_list<ByteSpan> parts) {
  MacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return OpenSslFailure("HMAC unavailable");
  MacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) return OpenSslFailure("HMAC context");
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  // An empty salt is legal (it means HashLen zero bytes, which HMAC's key
  // padding makes identical); give OpenSSL a valid pointer for it.
  static const uint8_t kEmpty = 0;
  if (EVP_MAC_init(ctx.get(), key.empty() ? &kEmpty : key.data(), key.size(), params) != 1) {
    return OpenSslFailure("HMAC init");
  }
  for (ByteSpan part : parts) {
    if (part.empty()) continue;
    if (EVP_MAC_update(ctx.get(), part.data(), part.size()) != 1) {
      return OpenSslFailure("HMAC update");
    }
  }
  SecretBytes out(kNh);
  size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != kNh) {
    return OpenSslFailure("HMAC final");
  }
  return out;
}

constexpr std::string_view kVersionLabel = "HPKE-v1";

// ---- P-256 ---------------------------------------------------------------------

// 1 if the 32-byte big-endian value is in [1, n-1], else 0; time independent
// of the value.
bool P256ScalarInRange(ByteSpan s) {
  if (s.size() != 32) return false;
  unsigned borrow = 0;
  unsigned nonzero = 0;
  for (size_t i = 32; i-- > 0;) {
    unsigned diff = static_cast<unsigned>(s[i]) - kP256Order[i] - borrow;
    borrow = (diff >> 8) & 1;
    nonzero |= s[i];
  }
  // borrow == 1 iff s < n.
  unsigned nz = (nonzero | (0u - nonzero)) >> 8 & 1;  // 1 iff nonzero != 0
  return (borrow & nz) == 1;
}

Result<EcGroupPtr> P256Group() {
  EcGroupPtr group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  if (!group) return OpenSslFailure("P-256 group");
  return group;
}

// pk = sk * G, serialized uncompressed. sk must already be range-checked.
Result<Bytes> P256PublicFromScalar(ByteSpan sk) {
  CITADEL_ASSIGN_OR_RETURN(EcGroupPtr group, P256Group());
  BnCtxPtr bn_ctx(BN_CTX_secure_new());
  BnPtr scalar(BN_secure_new());
  EcPointPtr point(EC_POINT_new(group.get()));
  if (!bn_ctx || !scalar || !point) return OpenSslFailure("P-256 allocation");
  BN_set_flags(scalar.get(), BN_FLG_CONSTTIME);
  if (BN_bin2bn(sk.data(), static_cast<int>(sk.size()), scalar.get()) == nullptr) {
    return OpenSslFailure("P-256 scalar");
  }
  if (EC_POINT_mul(group.get(), point.get(), scalar.get(), nullptr, nullptr, bn_ctx.get()) != 1) {
    return OpenSslFailure("P-256 scalar multiplication");
  }
  Bytes out(kNpkP256);
  if (EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED, out.data(),
                         out.size(), bn_ctx.get()) != kNpkP256) {
    return OpenSslFailure("P-256 point encoding");
  }
  return out;
}

// Checks length, the uncompressed prefix and that the point is on the curve
// (EC_POINT_oct2point refuses points off the curve; the identity has no
// 65-byte encoding).
Status P256CheckPublic(ByteSpan pk) {
  if (pk.size() != kNpkP256) {
    return Status::InvalidArgument("HPKE: P-256 public key must be 65 bytes (uncompressed point), got " +
                                   std::to_string(pk.size()));
  }
  if (pk[0] != 0x04) {
    return Status::InvalidArgument("HPKE: P-256 public key is not an uncompressed point (0x04 prefix)");
  }
  CITADEL_ASSIGN_OR_RETURN(EcGroupPtr group, P256Group());
  EcPointPtr point(EC_POINT_new(group.get()));
  if (!point) return OpenSslFailure("P-256 allocation");
  if (EC_POINT_oct2point(group.get(), point.get(), pk.data(), pk.size(), nullptr) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("HPKE: P-256 public key is not a point on the curve");
  }
  if (EC_POINT_is_at_infinity(group.get(), point.get()) == 1) {
    return Status::InvalidArgument("HPKE: P-256 public key is the point at infinity");
  }
  return Status::Ok();
}

Result<EvpPkeyPtr> P256PkeyFromData(ByteSpan pk, ByteSpan sk) {
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld) return OpenSslFailure("P-256 parameters");
  BnPtr scalar;
  if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pk.data(), pk.size()) !=
          1) {
    return OpenSslFailure("P-256 parameters");
  }
  if (!sk.empty()) {
    scalar.reset(BN_secure_new());
    if (!scalar || BN_bin2bn(sk.data(), static_cast<int>(sk.size()), scalar.get()) == nullptr ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, scalar.get()) != 1) {
      return OpenSslFailure("P-256 private parameters");
    }
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return OpenSslFailure("P-256 parameters");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return OpenSslFailure("P-256 import");
  EVP_PKEY* raw = nullptr;
  int selection = sk.empty() ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEYPAIR;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) != 1) {
    // Inputs were validated before; failing here is OpenSSL's problem.
    return OpenSslFailure("P-256 import");
  }
  return EvpPkeyPtr(raw);
}

// ---- KEM-generic key handling --------------------------------------------------

Status CheckPublicKey(HpkeKem kem, ByteSpan pk) {
  if (kem == HpkeKem::kDhkemP256HkdfSha256) return P256CheckPublic(pk);
  if (pk.size() != kNpkX25519) {
    return Status::InvalidArgument("HPKE: X25519 public key must be 32 bytes, got " +
                                   std::to_string(pk.size()));
  }
  return Status::Ok();
}

Status CheckPrivateKey(HpkeKem kem, ByteSpan sk) {
  if (sk.size() != kNsk) {
    return Status::InvalidArgument("HPKE: private key must be 32 bytes, got " +
                                   std::to_string(sk.size()));
  }
  if (kem == HpkeKem::kDhkemP256HkdfSha256 && !P256ScalarInRange(sk)) {
    return Status::InvalidArgument("HPKE: P-256 private key is out of range");
  }
  return Status::Ok();
}

// Public key of a validated private key.
Result<Bytes> PublicFromPrivate(HpkeKem kem, ByteSpan sk) {
  if (kem == HpkeKem::kDhkemP256HkdfSha256) return P256PublicFromScalar(sk);
  EvpPkeyPtr key(EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr, sk.data(), sk.size()));
  if (!key) return OpenSslFailure("X25519 private key import");
  Bytes out(kNpkX25519);
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), out.data(), &len) != 1 || len != kNpkX25519) {
    return OpenSslFailure("X25519 public key");
  }
  return out;
}

// EVP_PKEY for a validated private key (and its public key).
Result<EvpPkeyPtr> PrivatePkey(HpkeKem kem, ByteSpan sk, ByteSpan pk) {
  if (kem == HpkeKem::kDhkemP256HkdfSha256) return P256PkeyFromData(pk, sk);
  EvpPkeyPtr key(EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr, sk.data(), sk.size()));
  if (!key) return OpenSslFailure("X25519 private key import");
  return key;
}

// EVP_PKEY for a validated public key.
Result<EvpPkeyPtr> PublicPkey(HpkeKem kem, ByteSpan pk) {
  if (kem == HpkeKem::kDhkemP256HkdfSha256) return P256PkeyFromData(pk, {});
  EvpPkeyPtr key(EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, pk.data(), pk.size()));
  if (!key) return OpenSslFailure("X25519 public key import");
  return key;
}

// DH(sk, pk): the x-coordinate for P-256, the X25519 output otherwise. Both
// 32 bytes. An all-zero result (X25519 small-order peer) is refused.
Result<SecretBytes> Dh(EVP_PKEY* priv, EVP_PKEY* peer) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, priv, nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return OpenSslFailure("DH init");
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer, 1) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("HPKE: peer public key rejected by key validation");
  }
  SecretBytes out(kNsecret);
  size_t len = out.size();
  if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1) {
    // OpenSSL's X25519 fails the derivation when the result is all zero.
    ERR_clear_error();
    return Status::InvalidArgument("HPKE: Diffie-Hellman failed (invalid peer public key)");
  }
  if (len != kNsecret) return Status::Internal("HPKE: unexpected DH output length");
  uint8_t acc = 0;
  for (size_t i = 0; i < len; ++i) acc |= out.data()[i];
  if (acc == 0) return Status::InvalidArgument("HPKE: Diffie-Hellman result is all zero");
  return out;
}

// ExtractAndExpand(dh, kem_context) (RFC 9180 section 4.1).
Result<SecretBytes> ExtractAndExpand(HpkeKem kem, ByteSpan dh, ByteSpan enc, ByteSpan pkrm) {
  Bytes suite_id = hpke_internal::KemSuiteId(kem);
  CITADEL_ASSIGN_OR_RETURN(SecretBytes eae_prk,
                           hpke_internal::LabeledExtract(suite_id, {}, "eae_prk", dh));
  Bytes kem_context;
  kem_context.reserve(enc.size() + pkrm.size());
  Append(kem_context, enc);
  Append(kem_context, pkrm);
  return hpke_internal::LabeledExpand(suite_id, eae_prk.span(), "shared_secret", kem_context,
                                      kNsecret);
}

// ---- AEAD ----------------------------------------------------------------------

Result<Bytes> AeadSealRaw(HpkeAead aead, ByteSpan key, ByteSpan nonce, ByteSpan aad,
                          ByteSpan plaintext) {
  if (plaintext.size() > std::numeric_limits<size_t>::max() - kNt) {
    return Status::InvalidArgument("HPKE: plaintext too large");
  }
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return OpenSslFailure("seal: context");
  if (EVP_EncryptInit_ex(ctx.get(), AeadCipher(aead), nullptr, key.data(), nonce.data()) != 1) {
    return OpenSslFailure("seal: init");
  }
  int len = 0;
  for (size_t off = 0; off < aad.size(); off += kMaxChunk) {
    size_t n = std::min(aad.size() - off, kMaxChunk);
    if (EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data() + off, static_cast<int>(n)) != 1) {
      return OpenSslFailure("seal: aad");
    }
  }
  Bytes out(plaintext.size() + kNt);
  size_t written = 0;
  for (size_t off = 0; off < plaintext.size(); off += kMaxChunk) {
    size_t n = std::min(plaintext.size() - off, kMaxChunk);
    if (EVP_EncryptUpdate(ctx.get(), out.data() + written, &len, plaintext.data() + off,
                          static_cast<int>(n)) != 1) {
      return OpenSslFailure("seal: encrypt");
    }
    written += static_cast<size_t>(len);
  }
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + written, &len) != 1) {
    return OpenSslFailure("seal: final");
  }
  written += static_cast<size_t>(len);
  if (written != plaintext.size()) return Status::Internal("HPKE seal: unexpected ciphertext length");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kNt),
                          out.data() + written) != 1) {
    return OpenSslFailure("seal: tag");
  }
  return out;
}

Result<SecretBytes> AeadOpenRaw(HpkeAead aead, ByteSpan key, ByteSpan nonce, ByteSpan aad,
                                ByteSpan ciphertext) {
  if (ciphertext.size() < kNt) return Status::DataLoss("HPKE: ciphertext shorter than the tag");
  ByteSpan ct = ciphertext.subspan(0, ciphertext.size() - kNt);
  ByteSpan tag = ciphertext.subspan(ciphertext.size() - kNt);
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return OpenSslFailure("open: context");
  if (EVP_DecryptInit_ex(ctx.get(), AeadCipher(aead), nullptr, key.data(), nonce.data()) != 1) {
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
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kNt),
                          const_cast<uint8_t*>(tag.data())) != 1) {
    return OpenSslFailure("open: tag");
  }
  // No output at Final for these AEADs; a scratch buffer keeps an empty
  // plaintext from handing OpenSSL a null pointer.
  uint8_t scratch[32];
  if (EVP_DecryptFinal_ex(ctx.get(), scratch, &len) != 1) {
    ERR_clear_error();
    out.Wipe();  // unauthenticated plaintext must not survive
    return Status::DataLoss(
        "HPKE: ciphertext failed authentication (tampered, or enc/info/aad/key mismatch)");
  }
  return out;
}

Result<SecretBytes> ExportImpl(const HpkeSuite& suite, const SecretBytes& exporter_secret,
                               ByteSpan exporter_context, size_t length) {
  if (exporter_secret.empty()) return Status::FailedPrecondition("HPKE: context was moved from");
  if (length == 0 || length > kMaxExpand) {
    return Status::InvalidArgument("HPKE: export length must be 1..8160 bytes");
  }
  return hpke_internal::LabeledExpand(hpke_internal::HpkeSuiteId(suite), exporter_secret.span(),
                                      "sec", exporter_context, length);
}

}  // namespace

// ---- Internal building blocks --------------------------------------------------

namespace hpke_internal {

Bytes KemSuiteId(HpkeKem kem) {
  Bytes out = {'K', 'E', 'M'};
  AppendU16(out, static_cast<uint16_t>(kem));
  return out;
}

Bytes HpkeSuiteId(const HpkeSuite& suite) {
  Bytes out = {'H', 'P', 'K', 'E'};
  AppendU16(out, static_cast<uint16_t>(suite.kem));
  AppendU16(out, static_cast<uint16_t>(suite.kdf));
  AppendU16(out, static_cast<uint16_t>(suite.aead));
  return out;
}

Result<SecretBytes> LabeledExtract(ByteSpan suite_id, ByteSpan salt, std::string_view label,
                                   ByteSpan ikm) {
  // Extract(salt, "HPKE-v1" || suite_id || label || ikm) = HMAC(salt, ...).
  return HmacParts(salt, {AsBytes(kVersionLabel), suite_id, AsBytes(label), ikm});
}

Result<SecretBytes> LabeledExpand(ByteSpan suite_id, ByteSpan prk, std::string_view label,
                                  ByteSpan info, size_t length) {
  if (length == 0 || length > kMaxExpand) {
    return Status::InvalidArgument("HPKE: expand length must be 1..8160 bytes");
  }
  if (prk.size() < kNh) return Status::Internal("HPKE: expand key shorter than Nh");
  // labeled_info = I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info
  Bytes labeled_info;
  labeled_info.reserve(2 + kVersionLabel.size() + suite_id.size() + label.size() + info.size());
  AppendU16(labeled_info, static_cast<uint16_t>(length));
  Append(labeled_info, AsBytes(kVersionLabel));
  Append(labeled_info, suite_id);
  Append(labeled_info, AsBytes(label));
  Append(labeled_info, info);

  // HKDF-Expand (RFC 5869 2.3): T(i) = HMAC(PRK, T(i-1) || info || i).
  SecretBytes out(length);
  SecretBytes t;
  size_t done = 0;
  for (uint8_t i = 1; done < length; ++i) {
    const uint8_t counter = i;
    CITADEL_ASSIGN_OR_RETURN(t, HmacParts(prk, {t.span(), labeled_info, ByteSpan(&counter, 1)}));
    size_t n = std::min(length - done, kNh);
    std::copy_n(t.data(), n, out.data() + done);
    done += n;
  }
  return out;
}

}  // namespace hpke_internal

namespace {

// DeriveKeyPair (RFC 9180 section 7.1.3).
Result<HpkeKeyPair> DeriveKeyPairImpl(HpkeKem kem, ByteSpan ikm) {
  if (ikm.size() < kNsk) {
    return Status::InvalidArgument("HPKE: DeriveKeyPair input keying material must be at least 32 bytes");
  }
  Bytes suite_id = hpke_internal::KemSuiteId(kem);
  CITADEL_ASSIGN_OR_RETURN(SecretBytes dkp_prk,
                           hpke_internal::LabeledExtract(suite_id, {}, "dkp_prk", ikm));
  HpkeKeyPair kp;
  if (kem == HpkeKem::kDhkemX25519HkdfSha256) {
    CITADEL_ASSIGN_OR_RETURN(kp.private_key, hpke_internal::LabeledExpand(
                                                 suite_id, dkp_prk.span(), "sk", {}, kNsk));
  } else {
    // Rejection sampling with bitmask 0xff: candidates are tried until one is
    // in [1, n-1]. The chance of needing a second candidate is about 2^-32.
    bool found = false;
    for (unsigned counter = 0; counter <= 255 && !found; ++counter) {
      const uint8_t c = static_cast<uint8_t>(counter);
      CITADEL_ASSIGN_OR_RETURN(SecretBytes candidate,
                               hpke_internal::LabeledExpand(suite_id, dkp_prk.span(), "candidate",
                                                            ByteSpan(&c, 1), kNsk));
      candidate.data()[0] &= 0xff;  // the P-256 bitmask (a no-op, kept for the RFC's shape)
      if (P256ScalarInRange(candidate.span())) {
        kp.private_key = std::move(candidate);
        found = true;
      }
    }
    if (!found) return Status::Internal("HPKE: DeriveKeyPair found no valid P-256 scalar");
  }
  CITADEL_ASSIGN_OR_RETURN(kp.public_key, PublicFromPrivate(kem, kp.private_key.span()));
  return kp;
}

// Encap given an ephemeral key pair.
Result<hpke_internal::EncapOutput> EncapWithKeyPair(HpkeKem kem, ByteSpan pkr,
                                                    const HpkeKeyPair& ephemeral) {
  CITADEL_RETURN_IF_ERROR(CheckPublicKey(kem, pkr));
  CITADEL_ASSIGN_OR_RETURN(EvpPkeyPtr peer, PublicPkey(kem, pkr));
  CITADEL_ASSIGN_OR_RETURN(EvpPkeyPtr ske,
                           PrivatePkey(kem, ephemeral.private_key.span(), ephemeral.public_key));
  CITADEL_ASSIGN_OR_RETURN(SecretBytes dh, Dh(ske.get(), peer.get()));
  hpke_internal::EncapOutput out;
  out.enc = ephemeral.public_key;
  CITADEL_ASSIGN_OR_RETURN(out.shared_secret, ExtractAndExpand(kem, dh.span(), out.enc, pkr));
  return out;
}

Result<HpkeSenderContext> SetupSender(const HpkeSuite& suite, hpke_internal::EncapOutput encap,
                                      ByteSpan info) {
  CITADEL_ASSIGN_OR_RETURN(
      hpke_internal::KeyScheduleOutput ks,
      hpke_internal::KeyScheduleBase(suite, encap.shared_secret.span(), info));
  return hpke_internal::ContextAccess::MakeSender(suite, std::move(ks), std::move(encap.enc));
}

}  // namespace

namespace hpke_internal {

Result<EncapOutput> EncapWithIkm(HpkeKem kem, ByteSpan recipient_public_key, ByteSpan ikm_e) {
  if (!IsKnownKem(kem)) return Status::Unsupported("HPKE: unsupported KEM");
  CITADEL_ASSIGN_OR_RETURN(HpkeKeyPair ephemeral, DeriveKeyPairImpl(kem, ikm_e));
  return EncapWithKeyPair(kem, recipient_public_key, ephemeral);
}

Result<EncapOutput> Encap(HpkeKem kem, ByteSpan recipient_public_key) {
  if (!IsKnownKem(kem)) return Status::Unsupported("HPKE: unsupported KEM");
  // Validate before spending randomness, so a bad key fails the same way.
  CITADEL_RETURN_IF_ERROR(CheckPublicKey(kem, recipient_public_key));
  SecretBytes ikm(kNsk);
  CITADEL_RETURN_IF_ERROR(RandomBytes({ikm.data(), ikm.size()}));
  CITADEL_ASSIGN_OR_RETURN(HpkeKeyPair ephemeral, DeriveKeyPairImpl(kem, ikm.span()));
  return EncapWithKeyPair(kem, recipient_public_key, ephemeral);
}

Result<SecretBytes> Decap(HpkeKem kem, ByteSpan enc, ByteSpan recipient_private_key) {
  if (!IsKnownKem(kem)) return Status::Unsupported("HPKE: unsupported KEM");
  CITADEL_RETURN_IF_ERROR(CheckPrivateKey(kem, recipient_private_key));
  Status enc_ok = CheckPublicKey(kem, enc);
  if (!enc_ok.ok()) return enc_ok.WithContext("HPKE: malformed encapsulated key (enc)");
  CITADEL_ASSIGN_OR_RETURN(Bytes pkrm, PublicFromPrivate(kem, recipient_private_key));
  CITADEL_ASSIGN_OR_RETURN(EvpPkeyPtr skr, PrivatePkey(kem, recipient_private_key, pkrm));
  CITADEL_ASSIGN_OR_RETURN(EvpPkeyPtr pke, PublicPkey(kem, enc));
  CITADEL_ASSIGN_OR_RETURN(SecretBytes dh, Dh(skr.get(), pke.get()));
  return ExtractAndExpand(kem, dh.span(), enc, pkrm);
}

Result<KeyScheduleOutput> KeyScheduleBase(const HpkeSuite& suite, ByteSpan shared_secret,
                                          ByteSpan info) {
  CITADEL_RETURN_IF_ERROR(CheckSuite(suite));
  Bytes suite_id = HpkeSuiteId(suite);
  // psk_id = "" and psk = "" in mode_base.
  CITADEL_ASSIGN_OR_RETURN(SecretBytes psk_id_hash, LabeledExtract(suite_id, {}, "psk_id_hash", {}));
  CITADEL_ASSIGN_OR_RETURN(SecretBytes info_hash, LabeledExtract(suite_id, {}, "info_hash", info));
  Bytes context;  // key_schedule_context = mode || psk_id_hash || info_hash (public)
  context.reserve(1 + 2 * kNh);
  context.push_back(kModeBase);
  Append(context, psk_id_hash.span());
  Append(context, info_hash.span());

  CITADEL_ASSIGN_OR_RETURN(SecretBytes secret, LabeledExtract(suite_id, shared_secret, "secret", {}));
  KeyScheduleOutput out;
  CITADEL_ASSIGN_OR_RETURN(out.key, LabeledExpand(suite_id, secret.span(), "key", context,
                                                  AeadKeySize(suite.aead)));
  CITADEL_ASSIGN_OR_RETURN(out.base_nonce,
                           LabeledExpand(suite_id, secret.span(), "base_nonce", context, kNn));
  CITADEL_ASSIGN_OR_RETURN(out.exporter_secret,
                           LabeledExpand(suite_id, secret.span(), "exp", context, kNh));
  return out;
}

Bytes ComputeNonce(ByteSpan base_nonce, uint64_t seq) {
  Bytes nonce(base_nonce.begin(), base_nonce.end());
  for (size_t i = 0; i < 8 && i < nonce.size(); ++i) {
    nonce[nonce.size() - 1 - i] ^= static_cast<uint8_t>(seq >> (8 * i));
  }
  return nonce;
}

Result<HpkeSenderContext> SetupBaseSenderWithIkm(const HpkeSuite& suite,
                                                 ByteSpan recipient_public_key, ByteSpan info,
                                                 ByteSpan ikm_e) {
  CITADEL_RETURN_IF_ERROR(CheckSuite(suite));
  CITADEL_ASSIGN_OR_RETURN(EncapOutput encap, EncapWithIkm(suite.kem, recipient_public_key, ikm_e));
  return SetupSender(suite, std::move(encap), info);
}

HpkeSenderContext ContextAccess::MakeSender(const HpkeSuite& suite, KeyScheduleOutput ks,
                                            Bytes enc) {
  HpkeSenderContext ctx;
  ctx.suite_ = suite;
  ctx.key_ = std::move(ks.key);
  ctx.base_nonce_ = std::move(ks.base_nonce);
  ctx.exporter_secret_ = std::move(ks.exporter_secret);
  ctx.enc_ = std::move(enc);
  return ctx;
}

HpkeRecipientContext ContextAccess::MakeRecipient(const HpkeSuite& suite, KeyScheduleOutput ks) {
  HpkeRecipientContext ctx;
  ctx.suite_ = suite;
  ctx.key_ = std::move(ks.key);
  ctx.base_nonce_ = std::move(ks.base_nonce);
  ctx.exporter_secret_ = std::move(ks.exporter_secret);
  return ctx;
}

}  // namespace hpke_internal

// ---- Public API ----------------------------------------------------------------

Result<HpkeSuite> HpkeSuiteFromIds(uint16_t kem_id, uint16_t kdf_id, uint16_t aead_id) {
  HpkeSuite suite{static_cast<HpkeKem>(kem_id), static_cast<HpkeKdf>(kdf_id),
                  static_cast<HpkeAead>(aead_id)};
  Status st = CheckSuite(suite);
  if (!st.ok()) {
    char ids[48];
    std::snprintf(ids, sizeof(ids), " (kem 0x%04x, kdf 0x%04x, aead 0x%04x)", kem_id, kdf_id,
                  aead_id);
    return Status(st.code(), st.message() + ids);
  }
  return suite;
}

std::string HpkeSuiteName(const HpkeSuite& suite) {
  std::string out;
  switch (suite.kem) {
    case HpkeKem::kDhkemP256HkdfSha256: out = "DHKEM(P-256, HKDF-SHA256)"; break;
    case HpkeKem::kDhkemX25519HkdfSha256: out = "DHKEM(X25519, HKDF-SHA256)"; break;
    default: out = "unknown KEM"; break;
  }
  out += suite.kdf == HpkeKdf::kHkdfSha256 ? ", HKDF-SHA256" : ", unknown KDF";
  switch (suite.aead) {
    case HpkeAead::kAes128Gcm: out += ", AES-128-GCM"; break;
    case HpkeAead::kAes256Gcm: out += ", AES-256-GCM"; break;
    case HpkeAead::kChaCha20Poly1305: out += ", ChaCha20Poly1305"; break;
    default: out += ", unknown AEAD"; break;
  }
  return out;
}

size_t HpkePublicKeySize(HpkeKem kem) {
  return kem == HpkeKem::kDhkemP256HkdfSha256 ? kNpkP256 : kNpkX25519;
}

size_t HpkePrivateKeySize(HpkeKem kem) { return kNsk; }

Result<HpkeKeyPair> HpkeGenerateKeyPair(const HpkeSuite& suite) {
  CITADEL_RETURN_IF_ERROR(CheckSuite(suite));
  // GenerateKeyPair() = DeriveKeyPair(random(Nsk)): uniform over valid keys
  // and one code path for both KEMs.
  SecretBytes ikm(kNsk);
  CITADEL_RETURN_IF_ERROR(RandomBytes({ikm.data(), ikm.size()}));
  return DeriveKeyPairImpl(suite.kem, ikm.span());
}

Result<HpkeKeyPair> HpkeDeriveKeyPair(const HpkeSuite& suite, ByteSpan ikm) {
  CITADEL_RETURN_IF_ERROR(CheckSuite(suite));
  return DeriveKeyPairImpl(suite.kem, ikm);
}

Result<Bytes> HpkePublicKeyFromPrivate(const HpkeSuite& suite, ByteSpan private_key) {
  CITADEL_RETURN_IF_ERROR(CheckSuite(suite));
  CITADEL_RETURN_IF_ERROR(CheckPrivateKey(suite.kem, private_key));
  return PublicFromPrivate(suite.kem, private_key);
}

Status HpkeValidatePublicKey(const HpkeSuite& suite, ByteSpan public_key) {
  CITADEL_RETURN_IF_ERROR(CheckSuite(suite));
  return CheckPublicKey(suite.kem, public_key);
}

Result<HpkeSealed> HpkeSealBase(const HpkeSuite& suite, ByteSpan recipient_public_key,
                                ByteSpan info, ByteSpan aad, ByteSpan plaintext) {
  CITADEL_ASSIGN_OR_RETURN(HpkeSenderContext ctx,
                           HpkeSenderContext::SetupBase(suite, recipient_public_key, info));
  HpkeSealed out;
  CITADEL_ASSIGN_OR_RETURN(out.ciphertext, ctx.Seal(aad, plaintext));
  out.enc = ctx.enc();
  return out;
}

Result<SecretBytes> HpkeOpenBase(const HpkeSuite& suite, ByteSpan recipient_private_key,
                                 ByteSpan enc, ByteSpan info, ByteSpan aad,
                                 ByteSpan ciphertext) {
  CITADEL_ASSIGN_OR_RETURN(HpkeRecipientContext ctx,
                           HpkeRecipientContext::SetupBase(suite, recipient_private_key, enc, info));
  return ctx.Open(aad, ciphertext);
}

Result<HpkeSenderContext> HpkeSenderContext::SetupBase(const HpkeSuite& suite,
                                                       ByteSpan recipient_public_key,
                                                       ByteSpan info) {
  CITADEL_RETURN_IF_ERROR(CheckSuite(suite));
  CITADEL_ASSIGN_OR_RETURN(hpke_internal::EncapOutput encap,
                           hpke_internal::Encap(suite.kem, recipient_public_key));
  return SetupSender(suite, std::move(encap), info);
}

Result<Bytes> HpkeSenderContext::Seal(ByteSpan aad, ByteSpan plaintext) {
  if (key_.empty()) return Status::FailedPrecondition("HPKE: context was moved from");
  if (seq_ == std::numeric_limits<uint64_t>::max()) {
    return Status::ResourceExhausted("HPKE: message limit reached for this context");
  }
  Bytes nonce = hpke_internal::ComputeNonce(base_nonce_.span(), seq_);
  auto ct = AeadSealRaw(suite_.aead, key_.span(), nonce, aad, plaintext);
  SecureZero(nonce.data(), nonce.size());
  if (!ct.ok()) return ct.status();
  ++seq_;
  return ct;
}

Result<SecretBytes> HpkeSenderContext::Export(ByteSpan exporter_context, size_t length) const {
  return ExportImpl(suite_, exporter_secret_, exporter_context, length);
}

Result<HpkeRecipientContext> HpkeRecipientContext::SetupBase(const HpkeSuite& suite,
                                                             ByteSpan recipient_private_key,
                                                             ByteSpan enc, ByteSpan info) {
  CITADEL_RETURN_IF_ERROR(CheckSuite(suite));
  CITADEL_ASSIGN_OR_RETURN(SecretBytes shared_secret,
                           hpke_internal::Decap(suite.kem, enc, recipient_private_key));
  CITADEL_ASSIGN_OR_RETURN(hpke_internal::KeyScheduleOutput ks,
                           hpke_internal::KeyScheduleBase(suite, shared_secret.span(), info));
  return hpke_internal::ContextAccess::MakeRecipient(suite, std::move(ks));
}

Result<SecretBytes> HpkeRecipientContext::Open(ByteSpan aad, ByteSpan ciphertext) {
  if (key_.empty()) return Status::FailedPrecondition("HPKE: context was moved from");
  if (seq_ == std::numeric_limits<uint64_t>::max()) {
    return Status::ResourceExhausted("HPKE: message limit reached for this context");
  }
  Bytes nonce = hpke_internal::ComputeNonce(base_nonce_.span(), seq_);
  auto pt = AeadOpenRaw(suite_.aead, key_.span(), nonce, aad, ciphertext);
  SecureZero(nonce.data(), nonce.size());
  if (!pt.ok()) return pt.status();
  ++seq_;
  return pt;
}

Result<SecretBytes> HpkeRecipientContext::Export(ByteSpan exporter_context, size_t length) const {
  return ExportImpl(suite_, exporter_secret_, exporter_context, length);
}

}  // namespace citadel
