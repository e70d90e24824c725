// Server side of attested TLS: the TLS key and its evidence-carrying
// self-signed certificate.

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include <array>

#include "cert_ext.h"
#include "citadel/channel.h"

namespace citadel {
namespace {

struct BnDeleter { void operator()(BIGNUM* p) const { BN_free(p); } };
struct ExtDeleter { void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); } };
struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};

constexpr long kValidBeforeNowSeconds = 3600;            // tolerate clock skew
constexpr long kValidAfterNowSeconds = 365L * 24 * 3600;  // one year

Status SslError(const std::string& what) {
  return Status::Internal("server certificate: " + what + ": " + TakeOpenSslError());
}

// A hostname for the SAN; anything unusual is refused rather than escaped.
bool IsPlainHostname(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Status AddFixedExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, ExtDeleter> ext(
      X509V3_EXT_conf_nid(nullptr, &v3, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return SslError("extension");
  return Status::Ok();
}

Status AddSubjectAltName(X509* cert, const std::string& name) {
  std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter> names(GENERAL_NAMES_new());
  if (!names) return SslError("subjectAltName");
  GENERAL_NAME* gn = nullptr;
  std::array<unsigned char, 16> ip{};
  if (inet_pton(AF_INET, name.c_str(), ip.data()) == 1 ||
      inet_pton(AF_INET6, name.c_str(), ip.data()) == 1) {
    gn = a2i_GENERAL_NAME(nullptr, nullptr, nullptr, GEN_IPADD, name.c_str(), 0);
  } else if (IsPlainHostname(name)) {
    gn = a2i_GENERAL_NAME(nullptr, nullptr, nullptr, GEN_DNS, name.c_str(), 0);
  } else {
    return Status::InvalidArgument("server certificate: common name \"" + name +
                                   "\" is neither a hostname nor an IP address");
  }
  if (gn == nullptr || sk_GENERAL_NAME_push(names.get(), gn) <= 0) {
    GENERAL_NAME_free(gn);
    return SslError("subjectAltName");
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return SslError("subjectAltName");
  }
  return Status::Ok();
}

Status SetRandomSerial(X509* cert) {
  std::array<uint8_t, 16> raw{};
  CITADEL_RETURN_IF_ERROR(RandomBytes(raw));
  raw[0] = (raw[0] & 0x7f) | 0x01;  // positive and non-zero, fixed length
  std::unique_ptr<BIGNUM, BnDeleter> bn(BN_bin2bn(raw.data(), raw.size(), nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return SslError("serial");
  }
  return Status::Ok();
}

Status SetName(X509* cert, const std::string& cn, bool simulation) {
  X509_NAME* name = X509_get_subject_name(cert);
  auto add = [&](const char* field, const std::string& value) {
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.c_str()),
                                      -1, -1, 0) == 1;
  };
  if (!add("O", "Citadel") || !add("CN", cn)) return SslError("subject");
  if (simulation && !add("OU", "SIMULATION - no TEE, protects nothing")) {
    return SslError("subject");
  }
  if (X509_set_issuer_name(cert, name) != 1) return SslError("issuer");
  return Status::Ok();
}

}  // namespace

Result<ServerIdentity> CreateServerIdentity(Platform& platform, const std::string& common_name) {
  if (common_name.empty()) return Status::InvalidArgument("server certificate: empty common name");

  ServerIdentity id;
  CITADEL_ASSIGN_OR_RETURN(id.key, GenerateEcKey(Curve::kP256));
  CITADEL_ASSIGN_OR_RETURN(id.spki_der, PublicKeySpkiDer(id.key.get()));
  auto evidence = platform.GetEvidence(ReportDataForCertificate(id.spki_der));
  if (!evidence.ok()) return evidence.status().WithContext("evidence for the TLS key");
  id.evidence = std::move(evidence).value();

  X509Ptr cert(X509_new());
  if (!cert) return SslError("allocation");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) return SslError("version");
  CITADEL_RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  CITADEL_RETURN_IF_ERROR(SetName(cert.get(), common_name, platform.is_simulation()));
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kValidBeforeNowSeconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValidAfterNowSeconds) == nullptr) {
    return SslError("validity");
  }
  if (X509_set_pubkey(cert.get(), id.key.get()) != 1) return SslError("public key");

  CITADEL_RETURN_IF_ERROR(AddFixedExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  CITADEL_RETURN_IF_ERROR(
      AddFixedExtension(cert.get(), NID_key_usage, "critical,digitalSignature"));
  CITADEL_RETURN_IF_ERROR(AddFixedExtension(cert.get(), NID_ext_key_usage, "serverAuth"));
  CITADEL_RETURN_IF_ERROR(AddSubjectAltName(cert.get(), common_name));
  CITADEL_RETURN_IF_ERROR(channel_internal::AddEvidenceExtension(
      cert.get(), EncodeEvidenceEnvelope(id.evidence)));

  if (X509_sign(cert.get(), id.key.get(), EVP_sha256()) <= 0) return SslError("signing");
  id.certificate = std::move(cert);
  return id;
}

}  // namespace citadel
