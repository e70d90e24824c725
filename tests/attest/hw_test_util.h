// Test helpers for the hardware-evidence verifiers (SNP, Intel DCAP):
// locating the shared real-world vectors, and building throw-away
// certificate hierarchies with OpenSSL so that every check can be exercised
// without any vendor key.
#ifndef CITADEL_TESTS_ATTEST_HW_TEST_UTIL_H_
#define CITADEL_TESTS_ATTEST_HW_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "citadel/bytes.h"
#include "citadel/crypto.h"

namespace citadel::hwtest {

// The real vectors live outside the repository (they are third-party files
// and the issue forbids copying them in): ../shared/testdata/attestation
// relative to the source tree, or $CITADEL_ATTEST_TESTDATA.
inline std::string VectorDir() {
  if (const char* env = std::getenv("CITADEL_ATTEST_TESTDATA"); env != nullptr && *env != 0) {
    return env;
  }
#ifdef CITADEL_SOURCE_DIR
  return std::string(CITADEL_SOURCE_DIR) + "/../shared/testdata/attestation";
#else
  return "/work/shared/testdata/attestation";
#endif
}

inline bool HaveVectors() { return std::filesystem::is_directory(VectorDir()); }

#define CITADEL_REQUIRE_VECTORS()                                                        \
  do {                                                                                   \
    if (!::citadel::hwtest::HaveVectors()) {                                             \
      GTEST_SKIP() << "SKIPPED: real attestation vectors not found at "                 \
                   << ::citadel::hwtest::VectorDir()                                     \
                   << " (set CITADEL_ATTEST_TESTDATA to the shared testdata/attestation)"; \
    }                                                                                    \
  } while (0)

inline Bytes ReadVector(const std::string& rel) {
  std::ifstream f(VectorDir() + "/" + rel, std::ios::binary);
  EXPECT_TRUE(f.good()) << "missing vector " << rel;
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

inline Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) {
    for (uint8_t b : p) out.push_back(b);
  }
  return out;
}

// "2025-07-01T00:00:00Z" -> time_point.
inline std::chrono::system_clock::time_point At(const char* rfc3339) {
  std::tm tm{};
  int y, mo, d, h, mi, s;
  if (std::sscanf(rfc3339, "%d-%d-%dT%d:%d:%dZ", &y, &mo, &d, &h, &mi, &s) != 6) std::abort();
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

inline std::string HexLower(ByteSpan b) {
  static const char* k = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s.push_back(k[x >> 4]);
    s.push_back(k[x & 15]);
  }
  return s;
}

// ---- Key and certificate construction ---------------------------------------

inline EvpPkeyPtr NewRsaKey(int bits) {
  EVP_PKEY* k = EVP_RSA_gen(static_cast<unsigned>(bits));
  if (k == nullptr) std::abort();
  return EvpPkeyPtr(k);
}

inline EvpPkeyPtr NewEcKey(const char* curve) {
  EVP_PKEY* k = EVP_EC_gen(curve);
  if (k == nullptr) std::abort();
  return EvpPkeyPtr(k);
}

struct ExtSpec {
  std::string oid;  // dotted
  Bytes value;      // raw extnValue contents
};

struct CertSpec {
  std::string subject_cn;
  std::string issuer_cn;  // equal to subject_cn for self-signed
  long not_before_offset = -3600;   // seconds relative to `base`
  long not_after_offset = 10L * 365 * 86400;
  time_t base = 0;  // 0 = now
  std::vector<ExtSpec> exts;
  bool ca = false;
  bool rsa_pss_sha384 = false;  // else ECDSA/SHA-256 or RSA PKCS#1 SHA-256
  long serial = 1;
};

inline X509Ptr MakeCert(const CertSpec& spec, EVP_PKEY* subject_key, EVP_PKEY* issuer_key) {
  X509Ptr c(X509_new());
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), spec.serial);
  auto name = [](const std::string& cn) {
    X509_NAME* n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("Citadel Test"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    return n;
  };
  X509_NAME* subj = name(spec.subject_cn);
  X509_NAME* iss = name(spec.issuer_cn);
  X509_set_subject_name(c.get(), subj);
  X509_set_issuer_name(c.get(), iss);
  X509_NAME_free(subj);
  X509_NAME_free(iss);
  time_t base = spec.base != 0 ? spec.base : std::time(nullptr);
  X509_time_adj_ex(X509_getm_notBefore(c.get()), 0, spec.not_before_offset, &base);
  X509_time_adj_ex(X509_getm_notAfter(c.get()), 0, spec.not_after_offset, &base);
  X509_set_pubkey(c.get(), subject_key);
  if (spec.ca) {
    X509_EXTENSION* bc = X509V3_EXT_conf_nid(nullptr, nullptr, NID_basic_constraints,
                                             "critical,CA:TRUE");
    X509_add_ext(c.get(), bc, -1);
    X509_EXTENSION_free(bc);
  }
  for (const ExtSpec& e : spec.exts) {
    ASN1_OBJECT* obj = OBJ_txt2obj(e.oid.c_str(), 1);
    ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, e.value.data(), static_cast<int>(e.value.size()));
    X509_EXTENSION* x = X509_EXTENSION_create_by_OBJ(nullptr, obj, 0, os);
    X509_add_ext(c.get(), x, -1);
    X509_EXTENSION_free(x);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
  }
  EVP_MD_CTX* mctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  if (spec.rsa_pss_sha384) {
    EVP_DigestSignInit(mctx, &pctx, EVP_sha384(), nullptr, issuer_key);
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48);
    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384());
  } else {
    EVP_DigestSignInit(mctx, &pctx, EVP_sha256(), nullptr, issuer_key);
  }
  if (X509_sign_ctx(c.get(), mctx) <= 0) std::abort();
  EVP_MD_CTX_free(mctx);
  return c;
}

inline Bytes CertDer(X509* c) {
  unsigned char* der = nullptr;
  int n = i2d_X509(c, &der);
  Bytes out(der, der + n);
  OPENSSL_free(der);
  return out;
}

inline Bytes CertPem(X509* c) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, c);
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  Bytes out(p, p + n);
  BIO_free(b);
  return out;
}

// A DER INTEGER with a small non-negative value.
inline Bytes DerInt(unsigned v) {
  Bytes content;
  do {
    content.insert(content.begin(), static_cast<uint8_t>(v & 0xFF));
    v >>= 8;
  } while (v != 0);
  if (content[0] & 0x80) content.insert(content.begin(), 0);
  Bytes out;
  out.reserve(2 + content.size());
  out.push_back(0x02);
  out.push_back(static_cast<uint8_t>(content.size()));
  for (uint8_t b : content) out.push_back(b);
  return out;
}

// Raw ECDSA signature (r, s) as fixed-width big-endian values.
inline std::pair<Bytes, Bytes> SignRaw(EVP_PKEY* key, const char* md, ByteSpan msg, size_t width) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit_ex(ctx, nullptr, md, nullptr, nullptr, key, nullptr);
  size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, msg.data(), msg.size());
  Bytes der(len);
  EVP_DigestSign(ctx, der.data(), &len, msg.data(), msg.size());
  EVP_MD_CTX_free(ctx);
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  Bytes r(width), s(width);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), r.data(), static_cast<int>(width));
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), s.data(), static_cast<int>(width));
  ECDSA_SIG_free(sig);
  return {r, s};
}

}  // namespace citadel::hwtest

#endif  // CITADEL_TESTS_ATTEST_HW_TEST_UTIL_H_
