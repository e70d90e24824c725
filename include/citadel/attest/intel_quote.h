// Intel DCAP ECDSA quotes: SGX quote v3, TDX quote v4 and v5.
//
// Layouts: Intel "SGX ECDSA Quote Library API" (quote v3) and "TDX DCAP
// Quoting Library API" (quote v4/v5); docs/attestation.md summarises them.
//
// Verification (VerifyIntelQuote), in this order:
//   1. parse: header (att_key_type 2 = ECDSA P-256), body (SGX report 384 B,
//      TD report 1.0 584 B, TD report 1.5 648 B), signature data; bytes after
//      signature_data_len are ignored (they are not signed; TDX quotes are
//      often delivered in zero-padded buffers) and counted in the claims;
//   2. the PCK certificate chain (certification data type 5, or
//      IntelCollateral::pck_chain when the quote carries another type):
//      leaf <- Platform/Processor CA <- root, ECDSA signatures, each valid at
//      `now`, and the root equal BY PUBLIC KEY to a configured trusted root
//      (the Intel root has two certificate encodings with the same key);
//   3. the QE report signature (ECDSA P-256/SHA-256 over the 384-byte QE
//      report) with the PCK leaf key;
//   4. QE report_data == SHA-256(attestation key || QE auth data) || 32 zero bytes;
//   5. the quote signature (ECDSA P-256/SHA-256 over header||body, for v5
//      header||body_type||body_size||body) with the attestation key.
// With collateral (IntelCollateral::tcb_info set), additionally:
//   6. TCB Info and QE Identity: signature over the exact body bytes by the
//      TCB Signing certificate chained to the trusted root; issueDate <= now
//      <= nextUpdate; id/version supported;
//   7. CRLs: the PCK CA CRL (signed by the PCK CA, current) must not list the
//      PCK certificate; the Root CA CRL, when given, must not list the PCK CA
//      or the TCB Signing certificate;
//   8. PCK certificate SGX extension: FMSPC and PCE ID equal the TCB Info's;
//   9. TCB level: the first level whose SGX component SVNs and PCESVN are <=
//      the PCK certificate's (and, for TDX, every tdxtcbcomponents[i] <=
//      tee_tcb_svn[i]); none -> rejected (intel.tcb_no_match); "Revoked" ->
//      rejected; otherwise the status and advisory IDs become claims;
//  10. TDX module identity (TCB Info v3): mr_signer_seam / seam attributes
//      match tdxModule, and the TDX_<major> identity's level for
//      tee_tcb_svn[0] gives tdx.module_tcb_status;
//  11. QE Identity: id (QE / TD_QE), mrsigner, isvprodid, masked miscselect
//      and attributes match the QE report; its isvsvn selects the QE TCB
//      status (claim intel.qe_tcb_status).
// Without collateral the result carries intel.tcb_status = "not_evaluated"
// and a policy must not treat such evidence as up to date.
// Failures: Code::kAttestationFailed, message "<check>: <detail>" with the
// stable check names listed in docs/attestation.md.
#ifndef CITADEL_ATTEST_INTEL_QUOTE_H_
#define CITADEL_ATTEST_INTEL_QUOTE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/attest.h"
#include "citadel/bytes.h"
#include "citadel/status.h"

namespace citadel::intel {

inline constexpr size_t kHeaderSize = 48;
inline constexpr size_t kSgxReportSize = 384;
inline constexpr size_t kTdReport10Size = 584;
inline constexpr size_t kTdReport15Size = 648;
inline constexpr uint16_t kAttKeyEcdsaP256 = 2;
inline constexpr uint32_t kTeeTypeSgx = 0x00000000;
inline constexpr uint32_t kTeeTypeTdx = 0x00000081;
inline constexpr uint16_t kCertTypePckChain = 5;
inline constexpr uint16_t kCertTypeQeReport = 6;
// Upper bound on signature data we are willing to parse (real quotes: ~4 KiB).
inline constexpr size_t kMaxSignatureData = 64 * 1024;

enum class BodyType : uint16_t { kSgx = 1, kTd10 = 2, kTd15 = 3 };

struct QuoteHeader {
  uint16_t version = 0;
  uint16_t att_key_type = 0;
  uint32_t tee_type = 0;  // v3: att_key_data_0 (reserved)
  uint16_t qe_svn = 0;    // v3 only (reserved in v4/v5)
  uint16_t pce_svn = 0;   // v3 only
  std::array<uint8_t, 16> qe_vendor_id{};
  std::array<uint8_t, 20> user_data{};
};

// sgx_report_body_t (384 bytes): the SGX enclave body and every QE report.
struct SgxReportBody {
  std::array<uint8_t, 16> cpu_svn{};
  uint32_t misc_select = 0;
  std::array<uint8_t, 16> isv_ext_prod_id{};
  uint64_t attributes_flags = 0;
  uint64_t attributes_xfrm = 0;
  std::array<uint8_t, 32> mr_enclave{};
  std::array<uint8_t, 32> mr_signer{};
  std::array<uint8_t, 64> config_id{};
  uint16_t isv_prod_id = 0;
  uint16_t isv_svn = 0;
  uint16_t config_svn = 0;
  std::array<uint8_t, 16> isv_family_id{};
  std::array<uint8_t, 64> report_data{};
  bool debug() const { return (attributes_flags & 0x2) != 0; }
};

// TD report body, TDX 1.0 (584 bytes) and 1.5 (648 bytes).
struct TdReportBody {
  std::array<uint8_t, 16> tee_tcb_svn{};
  std::array<uint8_t, 48> mr_seam{};
  std::array<uint8_t, 48> mr_signer_seam{};
  uint64_t seam_attributes = 0;
  uint64_t td_attributes = 0;
  uint64_t xfam = 0;
  std::array<uint8_t, 48> mr_td{};
  std::array<uint8_t, 48> mr_config_id{};
  std::array<uint8_t, 48> mr_owner{};
  std::array<uint8_t, 48> mr_owner_config{};
  std::array<std::array<uint8_t, 48>, 4> rtmr{};
  std::array<uint8_t, 64> report_data{};
  bool is_v15 = false;
  std::array<uint8_t, 16> tee_tcb_svn2{};   // TDX 1.5 only
  std::array<uint8_t, 48> mr_servicetd{};   // TDX 1.5 only
  bool debug() const { return (td_attributes & 0x1) != 0; }
};

struct Quote {
  QuoteHeader header;
  BodyType body_type = BodyType::kSgx;
  SgxReportBody sgx;  // when body_type == kSgx
  TdReportBody td;    // when body_type is kTd10 / kTd15
  Bytes signed_region;                      // what the attestation key signed
  std::array<uint8_t, 64> signature{};      // r || s, big-endian
  std::array<uint8_t, 64> attestation_key{};  // x || y, big-endian
  Bytes qe_report_raw;                      // 384 bytes, what the PCK key signed
  SgxReportBody qe_report;
  std::array<uint8_t, 64> qe_report_signature{};
  Bytes qe_auth_data;
  uint16_t cert_type = 0;  // innermost certification data type (5 = PEM PCK chain)
  Bytes cert_data;
  size_t trailing_bytes = 0;  // after the signature data (ignored, unsigned)
  bool trailing_all_zero = true;

  bool is_tdx() const { return body_type != BodyType::kSgx; }
  // MRENCLAVE (SGX) or MRTD (TDX).
  ByteSpan measurement() const {
    return is_tdx() ? ByteSpan(td.mr_td) : ByteSpan(sgx.mr_enclave);
  }
  ByteSpan report_data() const {
    return is_tdx() ? ByteSpan(td.report_data) : ByteSpan(sgx.report_data);
  }
};

// Parses a binary quote. InvalidArgument on anything malformed.
Result<Quote> ParseQuote(ByteSpan bytes);

// Binary, or hex text (optional 0x prefix, whitespace), auto-detected.
Bytes DecodeQuoteInput(ByteSpan input);

// A signed Intel PCS JSON object (TCB Info or QE Identity).
struct SignedJson {
  // The exact bytes of the "tcbInfo" / "enclaveIdentity" value as served by
  // PCS (the signature covers these bytes; never re-serialise them).
  std::string body;
  // ECDSA P-256 signature: raw r||s (64 bytes, PCS) or DER (Fortanix files).
  Bytes signature;
  // PEM chain: Intel SGX TCB Signing certificate (+ root).
  Bytes issuer_chain;
};

struct IntelCollateral {
  // Trust anchors: Intel SGX Root CA certificate(s), PEM/DER. Required.
  std::vector<Bytes> trusted_roots;
  // PCK leaf + CA chain (PEM or DER), used only when the quote does not
  // embed one (certification data type other than 5).
  Bytes pck_chain;
  // Optional collateral. When tcb_info is present, the full TCB evaluation
  // runs (and then qe_identity and the PCK CA's CRL are required too).
  std::optional<SignedJson> tcb_info;
  std::optional<SignedJson> qe_identity;
  // CRLs, DER or PEM: the PCK Platform/Processor CA CRL (required with
  // tcb_info) and the Intel SGX Root CA CRL (optional; its absence is
  // reported as claim intel.root_crl = "absent").
  std::vector<Bytes> crls;
};

// Imports Phala dcap-qvl's QuoteCollateralV3 JSON (pck_crl_issuer_chain,
// root_ca_crl hex, pck_crl hex, tcb_info_issuer_chain, tcb_info,
// tcb_info_signature hex, qe_identity_issuer_chain, qe_identity,
// qe_identity_signature hex). trusted_roots is left empty.
Result<IntelCollateral> ImportDcapQvlCollateral(std::string_view json);

// Splits an Intel PCS response body {"tcbInfo":{...},"signature":"hex"} or
// {"enclaveIdentity":{...},"signature":"hex"} into a SignedJson (the
// issuer_chain is left empty), keeping the exact bytes of the signed value.
Result<SignedJson> ImportPcsSignedJson(std::string_view response_body);

// Fortanix rust-sgx wrappers (.tcb / .id files): {"raw_tcb_info" or
// "raw_enclave_identity": "<signed string>", "signature": [DER bytes],
// "ca_chain": ["PEM", ...]}.
Result<SignedJson> ImportFortanixSignedJson(std::string_view wrapper);

// Steps 1-5 above. The result: kind kSgxDcap or kTdx; measurement =
// MRENCLAVE / MRTD; report_data; claims (hex lower case):
//   platform (sgx|tdx), measurement, report_data, intel.quote_version,
//   intel.tcb_status (= "not_evaluated"), intel.qe_vendor_id,
//   intel.trailing_bytes, intel.pck_issuer;
//   SGX: sgx.mr_enclave, sgx.mr_signer, sgx.isv_prod_id, sgx.isv_svn,
//        sgx.attributes, sgx.xfrm, sgx.misc_select, sgx.debug, sgx.config_svn,
//        sgx.cpu_svn, sgx.config_id, sgx.isv_family_id, sgx.isv_ext_prod_id;
//   TDX: tdx.mr_td, tdx.rtmr0..3, tdx.mr_config_id, tdx.mr_owner,
//        tdx.mr_owner_config, tdx.mr_seam, tdx.mr_signer_seam,
//        tdx.td_attributes, tdx.debug, tdx.xfam, tdx.tee_tcb_svn,
//        tdx.seam_attributes, (1.5:) tdx.tee_tcb_svn2, tdx.mr_servicetd.
Result<VerifiedEvidence> VerifyIntelQuote(ByteSpan quote, const IntelCollateral& collateral,
                                          const VerifyOptions& options);

}  // namespace citadel::intel

#endif  // CITADEL_ATTEST_INTEL_QUOTE_H_
