// Model-owner keys and the statements they sign.
//
// An owner (the AI vendor) holds an ECDSA P-256 private key; the server's
// configuration (measured into the evidence) lists the owners' public keys.
// Every model change is a signed statement, so neither the operator nor a
// network attacker can install, replace or roll back a model.
#ifndef CITADEL_OWNER_KEY_H_
#define CITADEL_OWNER_KEY_H_

#include <string>

#include "citadel/bytes.h"
#include "citadel/crypto.h"
#include "citadel/status.h"

namespace citadel {

class OwnerKey {
 public:
  static Result<OwnerKey> Generate();
  // PKCS#8 PEM private key file (as written by SavePrivatePem).
  static Result<OwnerKey> LoadPrivatePem(const std::string& path);
  Status SavePrivatePem(const std::string& path) const;  // mode 0600

  const Bytes& spki_der() const { return spki_; }
  // SHA-256 of the SPKI, hex: how statements and stored models name a key.
  std::string key_id() const;
  Result<Bytes> Sign(std::string_view statement) const;

 private:
  EvpPkeyPtr key_;
  Bytes spki_;
};

// Verifies an owner signature made by OwnerKey::Sign.
Status VerifyOwnerSignature(ByteSpan spki_der, std::string_view statement, ByteSpan signature);

// Statements (text, one field per line, versioned by their first line).
// Upload: the owner authorises `name` version `version` to be the model with
// SHA-256 `model_sha256_hex`; `allow_downgrade` permits a lower version.
std::string UploadStatement(const std::string& name, int64_t version, const std::string& model_sha256_hex,
                            int64_t signed_at, bool allow_downgrade);
// Delete: the owner authorises removing `name` at exactly `version`.
std::string DeleteStatement(const std::string& name, int64_t version, int64_t signed_at);

}  // namespace citadel

#endif  // CITADEL_OWNER_KEY_H_
