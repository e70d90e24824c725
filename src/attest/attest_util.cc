#include "attest_util.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "citadel/byte_reader.h"

namespace citadel::attest_internal {
namespace {

struct BioDeleter { void operator()(BIO* b) const { BIO_free(b); } };
struct BnDeleter { void operator()(BIGNUM* b) const { BN_free(b); } };
struct EcdsaSigDeleter { void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); } };
struct MdCtxDeleter { void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); } };
struct PkeyCtxDeleter { void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); } };
struct ObjDeleter { void operator()(ASN1_OBJECT* o) const { ASN1_OBJECT_free(o); } };

bool IsHexDigit(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsSpace(uint8_t c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
uint8_t HexValue(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

std::string CommonName(X509_NAME* name) {
  if (name == nullptr) return "";
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return "";
  X509_NAME_ENTRY* e = X509_NAME_get_entry(name, idx);
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(e);
  if (s == nullptr) return "";
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

}  // namespace

Status Fail(std::string_view check, std::string_view detail) {
  std::string m(check);
  m += ": ";
  m += detail;
  return Status::AttestationFailed(std::move(m));
}

std::string OpenSslErrorText() {
  unsigned long e = ERR_get_error();
  std::string out;
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out = buf;
  }
  ERR_clear_error();
  return out;
}

Bytes DecodeBinaryOrHexText(ByteSpan input) {
  ByteReader r(input);
  // Skip leading whitespace.
  size_t lead = 0;
  for (uint8_t c : input) {
    if (!IsSpace(c)) break;
    ++lead;
  }
  r.Skip(lead);
  ByteSpan rest = r.rest();
  size_t start = 0;
  if (rest.size() >= 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X')) start = 2;
  size_t digits = 0;
  for (size_t i = start; i < rest.size(); ++i) {
    uint8_t c = rest[i];
    if (IsHexDigit(c)) {
      ++digits;
    } else if (!IsSpace(c)) {
      return Bytes(input.begin(), input.end());  // not hex text
    }
  }
  if (digits == 0 || digits % 2 != 0) return Bytes(input.begin(), input.end());
  Bytes out;
  out.reserve(digits / 2);
  bool high = true;
  uint8_t acc = 0;
  for (size_t i = start; i < rest.size(); ++i) {
    uint8_t c = rest[i];
    if (!IsHexDigit(c)) continue;
    if (high) {
      acc = static_cast<uint8_t>(HexValue(c) << 4);
    } else {
      out.push_back(static_cast<uint8_t>(acc | HexValue(c)));
    }
    high = !high;
  }
  return out;
}

namespace {

// Base64 text -> bytes, or nullopt when `text` is not base64 text.
std::optional<Bytes> DecodeBase64Text(ByteSpan text) {
  std::string compact;
  compact.reserve(text.size());
  for (uint8_t c : text) {
    if (IsSpace(c)) continue;
    if (c == '-') c = '+';  // URL-safe alphabet (RFC 4648 section 5)
    if (c == '_') c = '/';
    const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                          c == '+' || c == '/' || c == '=';
    if (!alphabet) return std::nullopt;
    compact.push_back(static_cast<char>(c));
  }
  // 16 characters at least: no evidence format is shorter than 12 bytes.
  if (compact.size() < 16 || compact.size() % 4 == 1) return std::nullopt;
  while (compact.size() % 4 != 0) compact.push_back('=');  // unpadded
  auto decoded = Base64Decode(compact);
  if (!decoded.ok()) return std::nullopt;
  return std::move(decoded).value();
}

}  // namespace

Bytes DecodeEvidenceText(ByteSpan input) {
  ByteSpan text = input;
  if (text.size() >= 3 && text[0] == 0xEF && text[1] == 0xBB && text[2] == 0xBF) text = text.subspan(3);
  Bytes hex = DecodeBinaryOrHexText(text);
  if (!std::equal(hex.begin(), hex.end(), text.begin(), text.end())) return hex;  // it was hex text
  if (auto b64 = DecodeBase64Text(text)) return std::move(*b64);
  return Bytes(input.begin(), input.end());
}

namespace {

Result<std::vector<X509Ptr>> ParseCertificatesUncached(ByteSpan data);

// Parsed certificate lists, keyed by SHA-256 of the input bytes. Chains and
// collateral arrive as the same bytes on every verification, and OpenSSL 3
// parsing (PEM decoding, key decoders under global locks) costs more than
// the signature checks of an Intel quote. The verifiers only read the
// certificates, and X509 objects are reference counted and safe to share
// read-only between threads. Errors are not cached; the cache is bounded
// (cleared when full) and skips large inputs, so hostile inputs cannot grow
// it.
class ParsedCertificates {
 public:
  static constexpr size_t kMaxEntries = 256;
  static constexpr size_t kMaxInputBytes = 256 * 1024;
  static ParsedCertificates& Get() {
    static ParsedCertificates* p = new ParsedCertificates();
    return *p;
  }
  // Copies (up-referenced) of the cached list, or nullopt.
  std::optional<std::vector<X509Ptr>> Find(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    return Copy(it->second);
  }
  void Add(const std::string& key, const std::vector<X509Ptr>& certs) {
    std::lock_guard<std::mutex> lock(mu_);
    if (map_.size() >= kMaxEntries) map_.clear();
    map_[key] = Copy(certs);
  }

 private:
  static std::vector<X509Ptr> Copy(const std::vector<X509Ptr>& in) {
    std::vector<X509Ptr> out;
    out.reserve(in.size());
    for (const auto& c : in) {
      X509_up_ref(c.get());
      out.emplace_back(c.get());
    }
    return out;
  }
  std::mutex mu_;
  std::unordered_map<std::string, std::vector<X509Ptr>> map_;
};

}  // namespace

Result<std::vector<X509Ptr>> ParseCertificates(ByteSpan data) {
  if (data.size() > ParsedCertificates::kMaxInputBytes) return ParseCertificatesUncached(data);
  Sha256Digest d = Sha256(data);
  const std::string key(reinterpret_cast<const char*>(d.data()), d.size());
  if (auto hit = ParsedCertificates::Get().Find(key)) return std::move(*hit);
  auto parsed = ParseCertificatesUncached(data);
  if (parsed.ok()) ParsedCertificates::Get().Add(key, *parsed);
  return parsed;
}

namespace {

Result<std::vector<X509Ptr>> ParseCertificatesUncached(ByteSpan data) {
  std::vector<X509Ptr> certs;
  std::string_view text = AsStringView(data);
  if (text.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
    if (data.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
      return Status::InvalidArgument("certificate bundle too large");
    }
    std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    if (!bio) return Status::Internal("BIO_new_mem_buf failed");
    while (true) {
      X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
      if (c == nullptr) break;
      certs.emplace_back(c);
    }
    ERR_clear_error();  // the loop ends with a "no start line" error
    if (certs.empty()) return Status::InvalidArgument("no PEM certificate could be parsed");
    return certs;
  }
  // DER: one or more concatenated certificates, then optional NUL padding.
  ByteReader r(data);
  while (!r.empty()) {
    ByteSpan rest = r.rest();
    bool all_zero = true;
    for (uint8_t b : rest) all_zero = all_zero && b == 0;
    if (all_zero) break;
    if (rest.size() > static_cast<size_t>(std::numeric_limits<long>::max())) {
      return Status::InvalidArgument("certificate data too large");
    }
    const unsigned char* p = rest.data();
    X509* c = d2i_X509(nullptr, &p, static_cast<long>(rest.size()));
    if (c == nullptr) {
      ERR_clear_error();
      return Status::InvalidArgument("certificate data is neither PEM nor DER");
    }
    certs.emplace_back(c);
    // d2i advanced p by the number of bytes it consumed.
    size_t used = static_cast<size_t>(p - rest.data());
    if (used == 0 || !r.Skip(used)) return Status::Internal("DER certificate length mismatch");
  }
  if (certs.empty()) return Status::InvalidArgument("no certificate present");
  return certs;
}

}  // namespace

Result<X509Ptr> ParseOneCertificate(ByteSpan data) {
  CITADEL_ASSIGN_OR_RETURN(auto certs, ParseCertificates(data));
  if (certs.size() != 1) {
    return Status::InvalidArgument("expected exactly one certificate, found " +
                                   std::to_string(certs.size()));
  }
  return std::move(certs[0]);
}

std::string SubjectCommonName(X509* cert) { return CommonName(X509_get_subject_name(cert)); }
std::string IssuerCommonName(X509* cert) { return CommonName(X509_get_issuer_name(cert)); }

bool SamePublicKey(X509* a, X509* b) {
  EVP_PKEY* ka = X509_get0_pubkey(a);
  EVP_PKEY* kb = X509_get0_pubkey(b);
  if (ka == nullptr || kb == nullptr) {
    ERR_clear_error();
    return false;
  }
  bool same = EVP_PKEY_eq(ka, kb) == 1;
  ERR_clear_error();
  return same;
}

time_t ToTimeT(std::chrono::system_clock::time_point t) {
  return std::chrono::system_clock::to_time_t(t);
}

namespace {

// "YYYY-MM-DDTHH:MM:SSZ" for messages; "?" if OpenSSL cannot read it.
std::string Rfc3339(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return "?";
  }
  char buf[96];  // room for any int fields, so the compiler sees no truncation
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string Rfc3339(time_t t) {
  struct tm tm {};
  if (gmtime_r(&t, &tm) == nullptr) return "?";
  char buf[96];  // room for any int fields, so the compiler sees no truncation
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace

Status CheckValidity(X509* cert, time_t now, std::string_view check, std::string_view what) {
  time_t t = now;
  int nb = X509_cmp_time(X509_get0_notBefore(cert), &t);
  int na = X509_cmp_time(X509_get0_notAfter(cert), &t);
  if (nb == 0 || na == 0) {
    ERR_clear_error();
    return Fail(check, std::string(what) + " has a malformed validity time");
  }
  // X509_cmp_time: -1 if the ASN.1 time is earlier than t, 1 if later.
  // The bound and the instant, so that the user can tell clock skew from
  // stale collateral.
  if (nb > 0) {
    return Fail(check, std::string(what) + " is not yet valid at the verification time (notBefore " +
                           Rfc3339(X509_get0_notBefore(cert)) + ", verification time " + Rfc3339(now) + ")");
  }
  if (na < 0) {
    return Fail(check, std::string(what) + " has expired at the verification time (notAfter " +
                           Rfc3339(X509_get0_notAfter(cert)) + ", verification time " + Rfc3339(now) + ")");
  }
  return Status::Ok();
}

namespace {

// Certificate signatures that verified, keyed by SHA-256(certificate DER) ||
// SHA-256(issuer SubjectPublicKeyInfo DER). Whether a signature verifies is
// a pure function of those bytes, and the certificates of a chain or of
// collateral are the same on every verification (a client re-attesting, a
// verifier judging many quotes of one platform), so a success need not be
// recomputed: P-384 verification dominates the verification time
// (docs/attestation.md, "Verification time"). Validity windows, revocation
// and everything else are still checked on every call. Failures are not
// remembered, and the set is bounded (cleared when full) so that hostile
// inputs cannot grow it.
class VerifiedSignatures {
 public:
  static constexpr size_t kMaxEntries = 4096;
  static VerifiedSignatures& Get() {
    static VerifiedSignatures* v = new VerifiedSignatures();
    return *v;
  }
  bool Contains(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    return keys_.count(key) != 0;
  }
  void Add(std::string key) {
    std::lock_guard<std::mutex> lock(mu_);
    if (keys_.size() >= kMaxEntries) keys_.clear();
    keys_.insert(std::move(key));
  }

 private:
  std::mutex mu_;
  std::unordered_set<std::string> keys_;
};

// "" when either encoding fails (then nothing is cached).
std::string SignatureKey(X509* cert, EVP_PKEY* issuer_key) {
  unsigned char* cert_der = nullptr;
  unsigned char* key_der = nullptr;
  int cert_len = i2d_X509(cert, &cert_der);
  int key_len = i2d_PUBKEY(issuer_key, &key_der);
  std::string out;
  if (cert_len > 0 && key_len > 0) {
    Sha256Digest a = Sha256(ByteSpan(cert_der, static_cast<size_t>(cert_len)));
    Sha256Digest b = Sha256(ByteSpan(key_der, static_cast<size_t>(key_len)));
    out.assign(reinterpret_cast<const char*>(a.data()), a.size());
    out.append(reinterpret_cast<const char*>(b.data()), b.size());
  }
  OPENSSL_free(cert_der);
  OPENSSL_free(key_der);
  ERR_clear_error();
  return out;
}

}  // namespace

Status CheckSignedBy(X509* cert, X509* issuer, std::string_view check, std::string_view what) {
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  if (key == nullptr) {
    ERR_clear_error();
    return Fail(check, "issuer of " + std::string(what) + " has an unusable public key");
  }
  const std::string cache_key = SignatureKey(cert, key);
  if (!cache_key.empty() && VerifiedSignatures::Get().Contains(cache_key)) return Status::Ok();
  if (X509_verify(cert, key) != 1) {
    ERR_clear_error();
    return Fail(check, std::string(what) + " signature does not verify with its issuer's key");
  }
  if (!cache_key.empty()) VerifiedSignatures::Get().Add(cache_key);
  return Status::Ok();
}

Status WalkChainToRoot(const std::vector<X509*>& chain, const std::vector<Bytes>& trusted_roots, time_t now,
                       const ChainWalk& walk) {
  const std::string p(walk.check_prefix);
  const std::string noun(walk.noun);
  if (trusted_roots.empty()) return Fail(p + "trust_anchor", "no trusted root is configured");
  std::vector<X509Ptr> anchors;
  for (const Bytes& t : trusted_roots) {
    auto certs = ParseCertificates(t);
    if (!certs.ok()) return Fail(p + "trust_anchor", "a trusted root does not parse");
    for (auto& c : *certs) anchors.push_back(std::move(c));
  }
  if (chain.empty()) return Fail(p + "chain_incomplete", "the chain is empty");
  std::vector<X509*> certs = chain;
  X509* top = certs.back();
  // By key first: the chain may end in the root itself (possibly a different
  // encoding of it); otherwise the first root whose subject issued the top.
  X509* anchor = nullptr;
  for (auto& a : anchors) {
    if (anchor == nullptr && SamePublicKey(top, a.get())) anchor = a.get();
  }
  if (anchor == nullptr) {
    for (auto& a : anchors) {
      if (anchor == nullptr && X509_NAME_cmp(X509_get_issuer_name(top), X509_get_subject_name(a.get())) == 0) {
        anchor = a.get();
        certs.push_back(anchor);
      }
    }
  }
  if (anchor == nullptr) {
    return Fail(p + "untrusted_root",
                "the chain does not end in a trusted root (top: \"" + SubjectCommonName(top) + "\")");
  }
  if (certs.size() < walk.min_length) {
    return Fail(p + "chain_incomplete", "the chain has " + std::to_string(certs.size()) +
                                            " certificate(s) including the root; at least " +
                                            std::to_string(walk.min_length) + " are needed");
  }
  for (size_t i = 0; i < certs.size(); ++i) {
    X509* c = certs[i];
    X509* issuer = i + 1 < certs.size() ? certs[i + 1] : certs[i];  // the root signs itself
    const std::string what = noun + " " + std::to_string(i) + " (\"" + SubjectCommonName(c) + "\")";
    if (X509_NAME_cmp(X509_get_issuer_name(c), X509_get_subject_name(issuer)) != 0) {
      return Fail(p + "chain_incomplete", what + " is not issued by the next certificate in the chain (\"" +
                                              SubjectCommonName(issuer) + "\")");
    }
    CITADEL_RETURN_IF_ERROR(CheckSignedBy(c, issuer, p + "chain_signature", what));
    CITADEL_RETURN_IF_ERROR(CheckValidity(c, now, p + "chain_validity", what));
    if (i > 0 && X509_check_ca(c) < 1) return Fail(p + "chain_incomplete", what + " issues certificates but is not a CA");
  }
  if (certs.size() > 1 && X509_check_ca(certs.front()) >= 1) {
    return Fail(p + "chain_incomplete", "the first certificate is a CA, not the end-entity signer");
  }
  return Status::Ok();
}

Result<std::optional<Bytes>> ExtensionValue(X509* cert, const char* oid) {
  std::unique_ptr<ASN1_OBJECT, ObjDeleter> obj(OBJ_txt2obj(oid, /*no_name=*/1));
  if (!obj) {
    ERR_clear_error();
    return Status::Internal(std::string("bad OID ") + oid);
  }
  int idx = X509_get_ext_by_OBJ(cert, obj.get(), -1);
  if (idx < 0) return std::optional<Bytes>();
  if (X509_get_ext_by_OBJ(cert, obj.get(), idx) >= 0) {
    return Status::AttestationFailed(std::string("certificate repeats extension ") + oid);
  }
  X509_EXTENSION* ext = X509_get_ext(cert, idx);
  ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(ext);
  if (v == nullptr) return Status::AttestationFailed(std::string("empty extension ") + oid);
  const unsigned char* d = ASN1_STRING_get0_data(v);
  int n = ASN1_STRING_length(v);
  if (n < 0) return Status::AttestationFailed(std::string("bad extension ") + oid);
  return std::optional<Bytes>(Bytes(d, d + n));
}

Result<uint64_t> ParseDerUnsigned(ByteSpan der) {
  ByteReader r(der);
  uint8_t tag = 0, len = 0;
  if (!r.ReadU8(&tag) || tag != 0x02 || !r.ReadU8(&len) || len == 0 || len > 9 ||
      r.remaining() != len) {
    return Status::InvalidArgument("not a short DER INTEGER");
  }
  ByteSpan v;
  r.ReadBytes(len, &v);
  if (v[0] & 0x80) return Status::InvalidArgument("negative DER INTEGER");
  if (len == 9 && v[0] != 0) return Status::InvalidArgument("DER INTEGER too large");
  if (len > 1 && v[0] == 0 && !(v[1] & 0x80)) {
    return Status::InvalidArgument("non-minimal DER INTEGER");
  }
  uint64_t out = 0;
  for (uint8_t b : v) out = (out << 8) | b;
  if (out > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Status::InvalidArgument("DER INTEGER too large");
  }
  return out;
}

Result<EvpPkeyPtr> EcPublicKeyFromXY(ByteSpan xy, const char* group_name) {
  Bytes point;
  point.reserve(xy.size() + 1);
  point.push_back(0x04);
  point.insert(point.end(), xy.begin(), xy.end());
  OSSL_PARAM params[3];
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                               const_cast<char*>(group_name), 0);
  params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  params[2] = OSSL_PARAM_construct_end();
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1 || pkey == nullptr) {
    ERR_clear_error();
    return Status::InvalidArgument("not a valid EC public key");
  }
  EvpPkeyPtr key(pkey);
  // fromdata does not always check that the point is on the curve.
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("EC public key is not a point on the curve");
  }
  return key;
}

bool VerifyEcdsaRaw(EVP_PKEY* key, const char* digest, ByteSpan message, ByteSpan r_be,
                    ByteSpan s_be) {
  if (r_be.size() > 1024 || s_be.size() > 1024) return false;
  std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(r_be.data(), static_cast<int>(r_be.size()), nullptr);
  BIGNUM* s = BN_bin2bn(s_be.data(), static_cast<int>(s_be.size()), nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ERR_clear_error();
    return false;
  }
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) {
    ERR_clear_error();
    return false;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestVerifyInit_ex(ctx.get(), nullptr, digest, nullptr, nullptr, key,
                                           nullptr) == 1 &&
            EVP_DigestVerify(ctx.get(), der, static_cast<size_t>(der_len), message.data(),
                             message.size()) == 1;
  OPENSSL_free(der);
  ERR_clear_error();
  return ok;
}

std::string Hex(ByteSpan data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (uint8_t b : data) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xF]);
  }
  return out;
}

}  // namespace citadel::attest_internal
