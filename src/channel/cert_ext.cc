#include "cert_ext.h"

#include <openssl/asn1.h>
#include <openssl/objects.h>

#include <climits>
#include <memory>

#include "citadel/crypto.h"

namespace citadel::channel_internal {
namespace {

struct ObjDeleter { void operator()(ASN1_OBJECT* p) const { ASN1_OBJECT_free(p); } };
struct OctetDeleter { void operator()(ASN1_OCTET_STRING* p) const { ASN1_OCTET_STRING_free(p); } };
struct ExtDeleter { void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); } };
using ObjPtr = std::unique_ptr<ASN1_OBJECT, ObjDeleter>;
using OctetPtr = std::unique_ptr<ASN1_OCTET_STRING, OctetDeleter>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, ExtDeleter>;

ObjPtr EvidenceOid() { return ObjPtr(OBJ_txt2obj(kEvidenceExtensionOid, /*no_name=*/1)); }

}  // namespace

Status AddEvidenceExtension(X509* cert, ByteSpan envelope) {
  if (envelope.size() > INT_MAX / 2) return Status::InvalidArgument("evidence too large");
  ObjPtr oid = EvidenceOid();
  if (!oid) return Status::Internal("evidence OID: " + TakeOpenSslError());
  OctetPtr inner(ASN1_OCTET_STRING_new());
  if (!inner || ASN1_OCTET_STRING_set(inner.get(), envelope.data(),
                                      static_cast<int>(envelope.size())) != 1) {
    return Status::Internal("evidence extension: " + TakeOpenSslError());
  }
  int len = i2d_ASN1_OCTET_STRING(inner.get(), nullptr);
  if (len <= 0) return Status::Internal("evidence extension: " + TakeOpenSslError());
  Bytes der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  if (i2d_ASN1_OCTET_STRING(inner.get(), &p) != len) {
    return Status::Internal("evidence extension: " + TakeOpenSslError());
  }
  OctetPtr value(ASN1_OCTET_STRING_new());
  if (!value || ASN1_OCTET_STRING_set(value.get(), der.data(), len) != 1) {
    return Status::Internal("evidence extension: " + TakeOpenSslError());
  }
  ExtPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), /*crit=*/0, value.get()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Status::Internal("evidence extension: " + TakeOpenSslError());
  }
  return Status::Ok();
}

Result<Bytes> GetEvidenceExtension(X509* cert) {
  ObjPtr oid = EvidenceOid();
  if (!oid) return Status::Internal("evidence OID: " + TakeOpenSslError());
  int idx = X509_get_ext_by_OBJ(cert, oid.get(), -1);
  if (idx < 0) {
    return Status::AttestationFailed(
        "server certificate carries no evidence extension (OID 2.23.133.5.4.9); "
        "it is not a Citadel attested server");
  }
  if (X509_get_ext_by_OBJ(cert, oid.get(), idx) >= 0) {
    return Status::AttestationFailed("server certificate carries more than one evidence extension");
  }
  X509_EXTENSION* ext = X509_get_ext(cert, idx);
  ASN1_OCTET_STRING* value = ext ? X509_EXTENSION_get_data(ext) : nullptr;
  if (value == nullptr) return Status::AttestationFailed("evidence extension is empty");
  const unsigned char* p = ASN1_STRING_get0_data(value);
  long len = ASN1_STRING_length(value);
  const unsigned char* start = p;
  OctetPtr inner(d2i_ASN1_OCTET_STRING(nullptr, &p, len));
  if (!inner || p - start != len) {
    TakeOpenSslError();
    return Status::AttestationFailed("evidence extension is not a DER OCTET STRING");
  }
  const unsigned char* data = ASN1_STRING_get0_data(inner.get());
  int n = ASN1_STRING_length(inner.get());
  if (n <= 0) return Status::AttestationFailed("evidence extension is empty");
  return Bytes(data, data + n);
}

}  // namespace citadel::channel_internal
