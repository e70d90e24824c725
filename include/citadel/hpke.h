// Hybrid Public Key Encryption (RFC 9180), base mode only, built from
// OpenSSL 3.0 primitives (OpenSSL 3.0 has no HPKE API of its own).
//
// Citadel uses HPKE for box-bound model packages: the model owner encrypts a
// model to the public key that one box's TEE attested to, and only that TEE
// can open it (see docs/hpke.md).
//
// Supported algorithms (RFC 9180 section 7 identifiers):
//   KEM:  DHKEM(P-256, HKDF-SHA256)   0x0010
//         DHKEM(X25519, HKDF-SHA256)  0x0020
//   KDF:  HKDF-SHA256                 0x0001
//   AEAD: AES-128-GCM                 0x0001
//         AES-256-GCM                 0x0002
//         ChaCha20Poly1305            0x0003
// Only mode_base (0x00) is implemented: no PSK, no sender authentication.
// The export-only AEAD (0xFFFF) is not supported.
//
// Key formats are the RFC's serializations:
//   P-256 public key:  65 bytes, uncompressed SEC1 point (0x04 || X || Y).
//   P-256 private key: 32 bytes, big-endian scalar in [1, n-1].
//   X25519 public key / private key: 32 raw bytes each.
// "enc" (the encapsulated key) is the sender's ephemeral public key in the
// same format as a public key.
//
// Errors (never exceptions):
//   Unsupported      - an algorithm identifier this module does not implement.
//   InvalidArgument  - malformed input: a public key, private key or enc of the
//                      wrong length, a P-256 point that is not on the curve, a
//                      private scalar out of range, a too-short IKM, an export
//                      length out of range, a DH result that is all zero.
//   DataLoss         - a well-formed ciphertext failed authentication: it was
//                      tampered with, or enc / info / aad / key / suite do not
//                      match what the sender used. Callers cannot tell these
//                      apart, by design.
//   ResourceExhausted - a context's sequence number would overflow.
//   Internal         - OpenSSL failed (out of memory, missing provider).
// Messages never contain key material or plaintext.
//
// Thread safety: free functions are thread safe. A context object is not;
// use one per thread (sequence numbers must advance in order).
#ifndef CITADEL_HPKE_H_
#define CITADEL_HPKE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "citadel/bytes.h"
#include "citadel/status.h"

namespace citadel {

enum class HpkeKem : uint16_t {
  kDhkemP256HkdfSha256 = 0x0010,
  kDhkemX25519HkdfSha256 = 0x0020,
};

enum class HpkeKdf : uint16_t {
  kHkdfSha256 = 0x0001,
};

enum class HpkeAead : uint16_t {
  kAes128Gcm = 0x0001,
  kAes256Gcm = 0x0002,
  kChaCha20Poly1305 = 0x0003,
};

struct HpkeSuite {
  HpkeKem kem = HpkeKem::kDhkemP256HkdfSha256;
  HpkeKdf kdf = HpkeKdf::kHkdfSha256;
  HpkeAead aead = HpkeAead::kAes256Gcm;

  bool operator==(const HpkeSuite&) const = default;
};

// The suite Citadel uses for box-bound model packages:
// DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.
constexpr HpkeSuite kHpkeDefaultSuite{};

// Builds a suite from wire identifiers (e.g. read from a package header).
// Unsupported if any identifier is unknown to this module.
Result<HpkeSuite> HpkeSuiteFromIds(uint16_t kem_id, uint16_t kdf_id, uint16_t aead_id);

// "DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM" (for logs / errors).
std::string HpkeSuiteName(const HpkeSuite& suite);

// Npk / Nenc (65 for P-256, 32 for X25519) and Nsk (32 for both).
size_t HpkePublicKeySize(HpkeKem kem);
size_t HpkePrivateKeySize(HpkeKem kem);

// A KEM key pair in serialized form (see key formats above). Move-only.
struct HpkeKeyPair {
  SecretBytes private_key;
  Bytes public_key;
};

// A fresh random key pair for the suite's KEM.
Result<HpkeKeyPair> HpkeGenerateKeyPair(const HpkeSuite& suite);

// RFC 9180 DeriveKeyPair(ikm): a deterministic key pair from input keying
// material. ikm must have at least Nsk (32) bytes of entropy; shorter input
// is refused with InvalidArgument. ikm is treated as secret.
Result<HpkeKeyPair> HpkeDeriveKeyPair(const HpkeSuite& suite, ByteSpan ikm);

// The serialized public key of a serialized private key. InvalidArgument if
// the private key is malformed (wrong length, scalar out of range).
Result<Bytes> HpkePublicKeyFromPrivate(const HpkeSuite& suite, ByteSpan private_key);

// Ok if public_key is a valid serialized public key for the suite's KEM:
// right length; for P-256 an uncompressed point on the curve.
Status HpkeValidatePublicKey(const HpkeSuite& suite, ByteSpan public_key);

// ---- Single-shot API (RFC 9180 section 6.1) --------------------------------

struct HpkeSealed {
  Bytes enc;         // encapsulated key, HpkePublicKeySize(kem) bytes
  Bytes ciphertext;  // plaintext.size() + 16 bytes (AEAD tag appended)
};

// Encrypts plaintext to recipient_public_key. info binds the application
// context (both sides must pass the same bytes), aad is authenticated but not
// encrypted. Uses a fresh ephemeral key every call.
Result<HpkeSealed> HpkeSealBase(const HpkeSuite& suite, ByteSpan recipient_public_key,
                                ByteSpan info, ByteSpan aad, ByteSpan plaintext);

// Decrypts what HpkeSealBase produced. InvalidArgument for a malformed
// private key or enc; DataLoss if authentication fails.
Result<SecretBytes> HpkeOpenBase(const HpkeSuite& suite, ByteSpan recipient_private_key,
                                 ByteSpan enc, ByteSpan info, ByteSpan aad,
                                 ByteSpan ciphertext);

// ---- Contexts (RFC 9180 sections 5.1-5.3) ----------------------------------

namespace hpke_internal {
struct ContextAccess;
}  // namespace hpke_internal

// Sender side of a base-mode context: SetupBaseS, then any number of Seal
// calls (each uses the next sequence number) and Export calls. Move-only;
// secrets are wiped on destruction. A moved-from context refuses to work
// (FailedPrecondition).
class HpkeSenderContext {
 public:
  static Result<HpkeSenderContext> SetupBase(const HpkeSuite& suite,
                                             ByteSpan recipient_public_key, ByteSpan info);

  HpkeSenderContext(HpkeSenderContext&&) noexcept = default;
  HpkeSenderContext& operator=(HpkeSenderContext&&) noexcept = default;
  HpkeSenderContext(const HpkeSenderContext&) = delete;
  HpkeSenderContext& operator=(const HpkeSenderContext&) = delete;

  const HpkeSuite& suite() const { return suite_; }
  // The encapsulated key to send to the recipient.
  const Bytes& enc() const { return enc_; }
  // The sequence number the next Seal will use.
  uint64_t sequence_number() const { return seq_; }

  // Encrypts with nonce = base_nonce XOR I2OSP(seq, 12), then increments
  // seq. On failure seq is unchanged.
  Result<Bytes> Seal(ByteSpan aad, ByteSpan plaintext);
  // RFC 9180 Export: LabeledExpand(exporter_secret, "sec", exporter_context,
  // length). length must be 1..8160 (255 * Nh).
  Result<SecretBytes> Export(ByteSpan exporter_context, size_t length) const;

 private:
  friend struct hpke_internal::ContextAccess;
  HpkeSenderContext() = default;

  HpkeSuite suite_;
  SecretBytes key_;
  SecretBytes base_nonce_;
  SecretBytes exporter_secret_;
  Bytes enc_;
  uint64_t seq_ = 0;
};

// Recipient side: SetupBaseR from enc and the recipient's private key, then
// Open calls in the sender's order. A failed Open does not advance the
// sequence number (so a forged message does not desynchronize the stream).
class HpkeRecipientContext {
 public:
  static Result<HpkeRecipientContext> SetupBase(const HpkeSuite& suite,
                                                ByteSpan recipient_private_key, ByteSpan enc,
                                                ByteSpan info);

  HpkeRecipientContext(HpkeRecipientContext&&) noexcept = default;
  HpkeRecipientContext& operator=(HpkeRecipientContext&&) noexcept = default;
  HpkeRecipientContext(const HpkeRecipientContext&) = delete;
  HpkeRecipientContext& operator=(const HpkeRecipientContext&) = delete;

  const HpkeSuite& suite() const { return suite_; }
  uint64_t sequence_number() const { return seq_; }

  // DataLoss if the ciphertext does not authenticate under the next nonce.
  Result<SecretBytes> Open(ByteSpan aad, ByteSpan ciphertext);
  Result<SecretBytes> Export(ByteSpan exporter_context, size_t length) const;

 private:
  friend struct hpke_internal::ContextAccess;
  HpkeRecipientContext() = default;

  HpkeSuite suite_;
  SecretBytes key_;
  SecretBytes base_nonce_;
  SecretBytes exporter_secret_;
  uint64_t seq_ = 0;
};

}  // namespace citadel

#endif  // CITADEL_HPKE_H_
