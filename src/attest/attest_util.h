// Internal helpers shared by the hardware-evidence verifiers (SNP, Intel
// DCAP, NVIDIA): certificate parsing, chain walks, validity windows, X.509 extension access, raw
// ECDSA signatures, hex-text input detection. Not a public header.
//
// Error messages from the verifiers have the form "<check>: <detail>", where
// <check> is a stable, dotted name (e.g. "snp.vek_signature") that callers and
// the claims JSON can report as the failed check.
#ifndef CITADEL_SRC_ATTEST_ATTEST_UTIL_H_
#define CITADEL_SRC_ATTEST_ATTEST_UTIL_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/bytes.h"
#include "citadel/crypto.h"
#include "citadel/status.h"

namespace citadel::attest_internal {

// AttestationFailed with message "<check>: <detail>".
Status Fail(std::string_view check, std::string_view detail);

// Drains the OpenSSL error queue into a short string (never payload bytes).
std::string OpenSslErrorText();

// If `input` is hex text (optional "0x" prefix, surrounding/embedded ASCII
// whitespace allowed) returns the decoded bytes; otherwise returns the input
// unchanged. A binary input that happens to be all hex digits is impossible
// for the formats we accept (they all start with a small LE version number
// whose upper bytes are zero), so auto-detection is unambiguous.
Bytes DecodeBinaryOrHexText(ByteSpan input);

// Evidence input as files and APIs carry it: binary, hex text (as above) or
// base64 text (standard or URL-safe alphabet, padding optional, ASCII
// whitespace and line breaks allowed: JSON APIs, configfs-tsm wrappers and
// test sources hand quotes and reports out that way). A leading UTF-8 byte
// order mark is ignored in text. Hex wins when the text is both (base64 of
// real evidence always holds non-hex letters). Returns the decoded bytes, or
// the input unchanged when it is neither hex nor base64 text. Binary
// evidence cannot look like base64: every accepted format begins with a
// little-endian version whose upper bytes are zero.
Bytes DecodeEvidenceText(ByteSpan input);

// Parses one or more certificates: a PEM bundle (any number of CERTIFICATE
// blocks, other text ignored), or one or more concatenated DER certificates
// (trailing NUL bytes ignored). Fails if nothing parses or if bytes remain
// that are not a certificate.
Result<std::vector<X509Ptr>> ParseCertificates(ByteSpan data);
Result<X509Ptr> ParseOneCertificate(ByteSpan data);

// The certificate's subject / issuer common name ("" if none).
std::string SubjectCommonName(X509* cert);
std::string IssuerCommonName(X509* cert);

// True if both certificates carry the same public key (EVP_PKEY_eq).
bool SamePublicKey(X509* a, X509* b);

// Seconds since the epoch for a VerifyOptions::now value.
time_t ToTimeT(std::chrono::system_clock::time_point t);

// notBefore <= now <= notAfter, else "<check>: <what> not yet valid / expired".
Status CheckValidity(X509* cert, time_t now, std::string_view check, std::string_view what);

// X509_verify(cert, issuer key); on failure "<check>: <what> signature does not verify".
Status CheckSignedBy(X509* cert, X509* issuer, std::string_view check, std::string_view what);

// Walks a certificate chain, leaf first, to one of the trusted roots.
// `trusted_roots` are PEM/DER bundles; the chain's top certificate must carry
// a trusted root's public key, or be issued (by name) by a trusted root, which
// is then appended as the last link. Each link must be issued by the next
// (names), signed by it, valid at `now`, and every issuer must be a CA; the
// leaf must not be a CA when the chain has more than one certificate.
// Failures name the check "<prefix><name>" (prefix "nvidia." gives
// nvidia.untrusted_root; "nvidia.rim_" gives nvidia.rim_untrusted_root):
//   trust_anchor      no root given, or a root does not parse;
//   untrusted_root    the top is neither a root nor issued by one;
//   chain_incomplete  a broken issuer link, a non-CA issuer, a CA leaf, or
//                     fewer than `min_length` certificates (root included);
//   chain_signature   a link not signed by its issuer;
//   chain_validity    a link outside its window at `now`.
// `noun` names the certificates in messages ("RIM certificate 1 (...)").
struct ChainWalk {
  std::string_view check_prefix;
  std::string_view noun = "certificate";
  size_t min_length = 1;
};
Status WalkChainToRoot(const std::vector<X509*>& chain, const std::vector<Bytes>& trusted_roots, time_t now,
                       const ChainWalk& walk);

// The raw extnValue octets of the extension with dotted OID `oid`, or nullopt
// if the certificate lacks it. Fails if the extension occurs more than once.
Result<std::optional<Bytes>> ExtensionValue(X509* cert, const char* oid);

// A DER INTEGER (tag 02) holding a non-negative value < 2^63.
Result<uint64_t> ParseDerUnsigned(ByteSpan der);

// Builds an EC public key from raw big-endian x||y coordinates.
Result<EvpPkeyPtr> EcPublicKeyFromXY(ByteSpan xy, const char* group_name);

// ECDSA verification with raw big-endian r and s (each any length up to the
// order size, leading zeros allowed). Hashes `message` with `digest`.
// Returns true only if the signature is valid.
bool VerifyEcdsaRaw(EVP_PKEY* key, const char* digest, ByteSpan message, ByteSpan r_be,
                    ByteSpan s_be);

// Lower-case hex of a byte range.
std::string Hex(ByteSpan data);

}  // namespace citadel::attest_internal

#endif  // CITADEL_SRC_ATTEST_ATTEST_UTIL_H_
