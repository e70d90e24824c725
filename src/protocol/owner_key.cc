#include "citadel/owner_key.h"

#include <openssl/pem.h>

namespace citadel {

Result<OwnerKey> OwnerKey::Generate() {
  OwnerKey k;
  CITADEL_ASSIGN_OR_RETURN(k.key_, GenerateEcKey(Curve::kP256));
  CITADEL_ASSIGN_OR_RETURN(k.spki_, PublicKeySpkiDer(k.key_.get()));
  return k;
}

Result<OwnerKey> OwnerKey::LoadPrivatePem(const std::string& path) {
  CITADEL_ASSIGN_OR_RETURN(Bytes pem, ReadFileBytes(path, 64 * 1024));
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  SecureZero(pem.data(), pem.size());
  if (!raw) return Status::InvalidArgument(path + " is not a PEM private key: " + TakeOpenSslError());
  OwnerKey k;
  k.key_.reset(raw);
  if (EVP_PKEY_get_base_id(raw) != EVP_PKEY_EC) return Status::InvalidArgument(path + " is not an EC key");
  CITADEL_ASSIGN_OR_RETURN(k.spki_, PublicKeySpkiDer(raw));
  return k;
}

Status OwnerKey::SavePrivatePem(const std::string& path) const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!PEM_write_bio_PrivateKey(bio, key_.get(), nullptr, nullptr, 0, nullptr, nullptr)) {
    BIO_free(bio);
    return Status::Internal("cannot encode private key: " + TakeOpenSslError());
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  Status st = WriteFileAtomic(path, ByteSpan(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len)), 0600);
  SecureZero(data, static_cast<size_t>(len));
  BIO_free(bio);
  return st;
}

std::string OwnerKey::key_id() const { return HexEncode(Sha256(spki_)); }

Result<Bytes> OwnerKey::Sign(std::string_view statement) const {
  return SignDigestMessage(key_.get(), "SHA256", AsBytes(statement));
}

Status VerifyOwnerSignature(ByteSpan spki_der, std::string_view statement, ByteSpan signature) {
  CITADEL_ASSIGN_OR_RETURN(EvpPkeyPtr key, ParsePublicKeySpkiDer(spki_der));
  Status st = VerifyDigestMessage(key.get(), "SHA256", AsBytes(statement), signature);
  if (!st.ok()) return Status::PermissionDenied("owner signature does not verify");
  return Status::Ok();
}

std::string UploadStatement(const std::string& name, int64_t version, const std::string& model_sha256_hex,
                            int64_t signed_at, bool allow_downgrade) {
  return "citadel/model-upload/v1\nname=" + name + "\nversion=" + std::to_string(version) +
         "\nsha256=" + model_sha256_hex + "\nsigned_at=" + std::to_string(signed_at) +
         "\nallow_downgrade=" + (allow_downgrade ? "1" : "0") + "\n";
}

std::string DeleteStatement(const std::string& name, int64_t version, int64_t signed_at) {
  return "citadel/model-delete/v1\nname=" + name + "\nversion=" + std::to_string(version) +
         "\nsigned_at=" + std::to_string(signed_at) + "\n";
}

}  // namespace citadel
