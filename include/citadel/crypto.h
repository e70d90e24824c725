// Thin, safe wrappers over OpenSSL 3 for the primitives Citadel uses.
// Everything returns Status/Result; OpenSSL error queues are drained into
// the message and never leak into later calls.
#ifndef CITADEL_CRYPTO_H_
#define CITADEL_CRYPTO_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <array>
#include <memory>
#include <string>

#include "citadel/bytes.h"

namespace citadel {

struct EvpPkeyDeleter { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Deleter { void operator()(X509* p) const { X509_free(p); } };
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

using Sha256Digest = std::array<uint8_t, 32>;
using Sha384Digest = std::array<uint8_t, 48>;
using Sha512Digest = std::array<uint8_t, 64>;

Sha256Digest Sha256(ByteSpan data);
Sha384Digest Sha384(ByteSpan data);
Sha512Digest Sha512(ByteSpan data);

// Incremental hashing for large inputs (files, multi-part statements).
class Hasher {
 public:
  enum class Algo { kSha256, kSha384, kSha512 };
  explicit Hasher(Algo algo);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void Update(ByteSpan data);
  Bytes Finish();

 private:
  EVP_MD_CTX* ctx_;
};

Result<Bytes> HmacSha256(ByteSpan key, ByteSpan data);
// HKDF-SHA256 (RFC 5869), extract-then-expand.
Result<SecretBytes> HkdfSha256(ByteSpan ikm, ByteSpan salt, ByteSpan info, size_t out_len);
Status RandomBytes(std::span<uint8_t> out);

// EC keys (P-256, P-384): generation, SPKI DER, ECDSA sign/verify (DER sigs).
enum class Curve { kP256, kP384 };
Result<EvpPkeyPtr> GenerateEcKey(Curve curve);
Result<Bytes> PublicKeySpkiDer(EVP_PKEY* key);
Result<EvpPkeyPtr> ParsePublicKeySpkiDer(ByteSpan der);
Result<SecretBytes> PrivateKeyPkcs8Der(EVP_PKEY* key);
Result<EvpPkeyPtr> ParsePrivateKeyPkcs8Der(ByteSpan der);
// digest: "SHA256" / "SHA384" / "SHA512".
Result<Bytes> SignDigestMessage(EVP_PKEY* key, const char* digest, ByteSpan message);
// Ok if valid; AttestationFailed-free: returns InvalidArgument on a bad signature.
Status VerifyDigestMessage(EVP_PKEY* key, const char* digest, ByteSpan message, ByteSpan signature);

// AES-256-GCM with a random 12-byte nonce: output = nonce || ciphertext || tag.
Result<Bytes> AeadSeal(ByteSpan key, ByteSpan plaintext, ByteSpan aad);
// Fails with DataLoss if the tag does not verify (tampering or wrong key).
Result<SecretBytes> AeadOpen(ByteSpan key, ByteSpan sealed, ByteSpan aad);

// The first OpenSSL error, as text, with the queue cleared.
std::string TakeOpenSslError();

}  // namespace citadel

#endif  // CITADEL_CRYPTO_H_
