// NVIDIA H100 (Hopper) confidential-computing GPU attestation report:
// parser and offline verifier.
//
// The report is an SPDM 1.1 (DMTF DSP0274) GET_MEASUREMENTS request followed
// by its response (docs/attestation.md, "NVIDIA H100"):
//   request (37 B):  version 0x11 | code 0xE0 | param1 (bit 0: signature
//                    requested) | param2 (0xFF: all blocks) | nonce (32) | slot
//   response:        version 0x11 | code 0x60 | param1 | param2 |
//                    NumberOfBlocks u8 | MeasurementRecordLength u24 LE |
//                    measurement record | nonce (32) | OpaqueLength u16 LE |
//                    opaque data | signature (96 B: ECDSA P-384 r||s, BE)
//   measurement block: index u8 | spec u8 (bit 0: DMTF) | size u16 LE |
//                    DMTF value type u8 | value size u16 LE | value
//   opaque data: TLVs (type u16 LE, size u16 LE, value); type 20 = FWID.
//
// Verification (VerifyGpuReport):
//   1. parse (bounds-checked; unknown SPDM version, codes, a block count
//      that disagrees with the record, duplicate indices are rejected);
//   2. the device certificate chain (PEM, leaf first): every certificate is
//      signed by the next one's key, CA certificates have CA:TRUE, all valid
//      at `now`, the last one's issuer is a trusted root (by public key);
//   3. the report signature: ECDSA P-384 / SHA-384 over request || response
//      up to the signature, with the leaf key;
//   4. FWID binding: opaque type 20 equals the SHA-384 FWID in the leaf's
//      extension 2.23.133.5.4.1;
//   5. the nonce the verifier asked for equals the request nonce (when one
//      is given).
// Bytes after the signature are not signed; they are ignored and counted
// (claim nvidia.trailing_bytes).
// Failures: Code::kAttestationFailed, "<check>: <detail>" with the check
// names in docs/attestation.md.
#ifndef CITADEL_ATTEST_NVIDIA_H_
#define CITADEL_ATTEST_NVIDIA_H_

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "citadel/attest.h"
#include "citadel/bytes.h"
#include "citadel/status.h"

namespace citadel::nvidia {

inline constexpr size_t kRequestSize = 37;
inline constexpr size_t kNonceSize = 32;
inline constexpr size_t kSignatureSize = 96;
inline constexpr uint8_t kSpdmVersion11 = 0x11;
inline constexpr uint8_t kGetMeasurements = 0xE0;
inline constexpr uint8_t kMeasurementsResponse = 0x60;
inline constexpr uint16_t kOpaqueFwid = 20;
inline constexpr uint16_t kOpaqueDriverVersion = 3;
inline constexpr uint16_t kOpaqueVbiosVersion = 6;

struct MeasurementBlock {
  uint8_t index = 0;
  uint8_t spec = 0;
  uint8_t value_type = 0;
  Bytes value;
};

struct OpaqueField {
  uint16_t type = 0;
  Bytes value;
};

struct GpuReport {
  // Request.
  uint8_t request_param1 = 0;
  uint8_t request_param2 = 0;
  std::array<uint8_t, kNonceSize> request_nonce{};
  uint8_t slot_id = 0;
  // Response.
  uint8_t response_param1 = 0;
  uint8_t response_param2 = 0;
  std::vector<MeasurementBlock> blocks;
  Bytes measurement_record;  // raw record bytes
  std::array<uint8_t, kNonceSize> response_nonce{};
  std::vector<OpaqueField> opaque;
  std::array<uint8_t, kSignatureSize> signature{};
  Bytes signed_part;  // request || response up to the signature
  size_t trailing_bytes = 0;
};

// Parses the binary report (request || response).
Result<GpuReport> ParseGpuReport(ByteSpan bytes);

// Accepts the binary report or hex text; also nvtrust-style JSON
// {"evidence": "<base64 or hex>", "certificate": "<base64 of PEM chain>"}:
// then *chain_out (if not null) receives the PEM chain.
Result<Bytes> DecodeGpuReportInput(ByteSpan input, Bytes* chain_out = nullptr);

// Steps 1-5. `chain` is the device certificate chain (PEM/DER, leaf first);
// `trusted_roots` the NVIDIA Device Identity CA (PEM/DER). The result:
// kind kNvidiaGpu; measurement = SHA-384 over the raw measurement record
// (one value a policy can pin); report_data = the request nonce (32 bytes)
// followed by zeros; claims: platform=nvidia-gpu, measurement, report_data,
// nvidia.nonce, nvidia.nonce_checked, nvidia.fwid, nvidia.driver_version,
// nvidia.vbios_version, nvidia.measurement.<index> (hex), nvidia.block_count,
// nvidia.leaf_subject, nvidia.trailing_bytes, nvidia.opaque.<type> (hex),
// nvidia.ocsp (absent | partial | checked: OCSP responses from
// options.collateral, src/attest/ocsp.h; a revoked certificate fails).
Result<VerifiedEvidence> VerifyGpuReport(ByteSpan report, ByteSpan chain,
                                         const std::vector<Bytes>& trusted_roots,
                                         const VerifyOptions& options);

}  // namespace citadel::nvidia

#endif  // CITADEL_ATTEST_NVIDIA_H_
