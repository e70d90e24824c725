// Citadel collateral bundle: everything an offline verifier needs besides
// the evidence and the trust anchors, in one JSON file (docs/attestation.md,
// "Collateral bundle"):
//   Intel: TCB Info and QE/TD_QE Identity (exact signed bytes, signature,
//          issuer chain), PCK and Root CA CRLs, PCK chains for quotes that
//          do not embed one;
//   AMD:   VCEK/VLEK certificates, ASK/ASVK/ARK chains and ARK CRLs;
//   NVIDIA: GPU device certificate chains.
// Each item records its origin (URL or file and format) and fetch time.
//
// The bundle is UNTRUSTED input (it lives on the untrusted disk): every item
// is checked against the trust anchors (VerifyOptions::trust_anchors or the
// built-in vendor roots); nothing in a bundle can add a trust anchor.
#ifndef CITADEL_ATTEST_COLLATERAL_H_
#define CITADEL_ATTEST_COLLATERAL_H_

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/attest.h"
#include "citadel/attest/intel_quote.h"
#include "citadel/attest/snp.h"
#include "citadel/bytes.h"
#include "citadel/status.h"

namespace citadel {

inline constexpr int kCollateralBundleVersion = 1;

enum class CollateralType {
  kIntelTcbInfo,      // signed JSON (intel::SignedJson)
  kIntelQeIdentity,   // signed JSON
  kIntelCrl,          // DER CRL (PCK Platform/Processor CA or Root CA)
  kIntelCerts,        // Intel certificates: TCB Signing / PCK CA chains, PCK chains
  kSnpVek,            // one VCEK or VLEK certificate
  kSnpChain,          // ASK/ASVK (+ARK) certificates
  kNvidiaChain,       // an H100 device certificate chain (leaf first)
  kSnpCrl,            // an AMD CRL (DER), issued by an ARK (KDS /vcek/v1/<product>/crl)
  kNvidiaOcsp,        // an OCSP response (DER) about NVIDIA device or RIM certificates
};
std::string_view CollateralTypeName(CollateralType t);  // "intel.tcb_info", ...

struct CollateralItem {
  CollateralType type = CollateralType::kIntelCrl;
  std::string origin;      // URL, or "file:<name> (<format>)"
  std::string fetched_at;  // RFC 3339 UTC; "" when unknown
  // kIntelTcbInfo / kIntelQeIdentity: body (exact bytes), signature, issuer chain.
  intel::SignedJson signed_json;
  // Other types: DER (CRL, one certificate) or PEM text (certificate lists).
  Bytes data;
};

struct CollateralBundle {
  std::vector<CollateralItem> items;

  // The bundle file (JSON, version 1). Strict: unknown keys, unknown item
  // types and malformed items are errors.
  static Result<CollateralBundle> FromJson(std::string_view json);
  static Result<CollateralBundle> LoadFile(const std::string& path);
  std::string ToJson() const;

  // Imports one file in any supported format, auto-detected (see
  // docs/attestation.md): a Citadel bundle (merged), Phala dcap-qvl
  // collateral JSON, Intel PCS TCB Info / QE Identity responses, Fortanix
  // .tcb/.id wrappers and {"crl": PEM} files, DER/PEM CRLs, PEM/DER
  // certificate files (classified by subject: Intel, AMD VCEK/VLEK, AMD
  // ASK/ASVK/ARK, NVIDIA), DER OCSP responses (NVIDIA's OCSP service). `origin` defaults to "file:<path>"; fetched_at
  // to the file's modification time.
  Status ImportFile(const std::string& path);
  Status ImportBytes(ByteSpan data, const std::string& origin, const std::string& fetched_at);

  void Merge(const CollateralBundle& other);

  // Views for the verifiers. The Intel view is chosen for one quote: the
  // TCB Info whose id matches the quote's TEE (and FMSPC, when several),
  // the QE Identity with id QE / TD_QE, all CRLs (those current at `now`
  // first), issuer chains filled from the bundle's Intel certificates.
  Result<intel::IntelCollateral> IntelFor(const intel::Quote& quote, std::string_view fmspc_hex,
                                          std::chrono::system_clock::time_point now) const;
  std::vector<Bytes> SnpVeks() const;
  Bytes SnpChains() const;       // PEM concatenation of every kSnpChain item
  std::vector<Bytes> SnpCrls() const;  // every kSnpCrl item, DER
  std::vector<Bytes> NvidiaChains() const;
  std::vector<Bytes> NvidiaOcspResponses() const;  // every kNvidiaOcsp item, DER
};

// RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac]Z" (UTC only) <-> time_point.
Result<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text);
std::string FormatRfc3339(std::chrono::system_clock::time_point t);

}  // namespace citadel

#endif  // CITADEL_ATTEST_COLLATERAL_H_
