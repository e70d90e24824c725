// Internal HPKE entry points: the RFC 9180 building blocks, exposed only so
// that tests can check each intermediate value of the RFC's Appendix A test
// vectors. Not part of the public API: production code must use
// include/citadel/hpke.h, which always draws ephemeral keys from the RNG.
#ifndef CITADEL_SRC_BASE_HPKE_INTERNAL_H_
#define CITADEL_SRC_BASE_HPKE_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "citadel/bytes.h"
#include "citadel/hpke.h"
#include "citadel/status.h"

namespace citadel::hpke_internal {

// suite_id for KEM labels: "KEM" || I2OSP(kem_id, 2).
Bytes KemSuiteId(HpkeKem kem);
// suite_id for HPKE labels: "HPKE" || kem_id || kdf_id || aead_id.
Bytes HpkeSuiteId(const HpkeSuite& suite);

// LabeledExtract / LabeledExpand (RFC 9180 section 4) over HKDF-SHA256.
Result<SecretBytes> LabeledExtract(ByteSpan suite_id, ByteSpan salt, std::string_view label,
                                   ByteSpan ikm);
Result<SecretBytes> LabeledExpand(ByteSpan suite_id, ByteSpan prk, std::string_view label,
                                  ByteSpan info, size_t length);

struct EncapOutput {
  SecretBytes shared_secret;
  Bytes enc;
};

// DHKEM Encap with the ephemeral key pair DeriveKeyPair(ikm_e) instead of a
// random one. DETERMINISTIC: reusing ikm_e reuses the ephemeral key. Tests only.
Result<EncapOutput> EncapWithIkm(HpkeKem kem, ByteSpan recipient_public_key, ByteSpan ikm_e);
// DHKEM Encap with a random ephemeral key pair.
Result<EncapOutput> Encap(HpkeKem kem, ByteSpan recipient_public_key);
// DHKEM Decap.
Result<SecretBytes> Decap(HpkeKem kem, ByteSpan enc, ByteSpan recipient_private_key);

struct KeyScheduleOutput {
  SecretBytes key;
  SecretBytes base_nonce;
  SecretBytes exporter_secret;
};

// KeySchedule for mode_base (psk = psk_id = "").
Result<KeyScheduleOutput> KeyScheduleBase(const HpkeSuite& suite, ByteSpan shared_secret,
                                          ByteSpan info);

// base_nonce XOR I2OSP(seq, Nn).
Bytes ComputeNonce(ByteSpan base_nonce, uint64_t seq);

// SetupBaseS with a deterministic ephemeral key (see EncapWithIkm). Tests only.
Result<HpkeSenderContext> SetupBaseSenderWithIkm(const HpkeSuite& suite,
                                                 ByteSpan recipient_public_key, ByteSpan info,
                                                 ByteSpan ikm_e);

// Builds contexts from key schedule output (friend of both context classes).
struct ContextAccess {
  static HpkeSenderContext MakeSender(const HpkeSuite& suite, KeyScheduleOutput ks, Bytes enc);
  static HpkeRecipientContext MakeRecipient(const HpkeSuite& suite, KeyScheduleOutput ks);
};

}  // namespace citadel::hpke_internal

#endif  // CITADEL_SRC_BASE_HPKE_INTERNAL_H_
