// Evidence: what a TEE produces to prove what code runs inside it, and the
// report_data convention that binds it to Citadel's TLS key and nonces.
#ifndef CITADEL_EVIDENCE_H_
#define CITADEL_EVIDENCE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "citadel/bytes.h"

namespace citadel {

enum class EvidenceKind : uint8_t {
  kSim = 1,       // Citadel simulation platform: protects NOTHING
  kSgxDcap = 2,   // Intel SGX DCAP quote v3
  kTdx = 3,       // Intel TDX quote v4/v5
  kSevSnp = 4,    // AMD SEV-SNP attestation report
  kNvidiaGpu = 5, // NVIDIA H100 SPDM measurement report
};

std::string_view EvidenceKindName(EvidenceKind kind);  // "sim", "sgx", "tdx", "snp", "nvidia"
std::optional<EvidenceKind> EvidenceKindFromName(std::string_view name);

struct Evidence {
  // Constructors rather than aggregate initialisation, so that the common
  // Evidence{kind, bytes} needs no endorsements argument.
  Evidence() = default;
  Evidence(EvidenceKind k, Bytes b, Bytes e = {})
      : kind(k), bytes(std::move(b)), endorsements(std::move(e)) {}

  EvidenceKind kind = EvidenceKind::kSim;
  Bytes bytes;
  // Certificates the platform handed out with the evidence, in the
  // platform's own format (SEV-SNP: the certificate table of an extended
  // report, holding the VCEK/VLEK, ASK and ARK). UNTRUSTED collateral: a
  // verifier chains them to its own trust anchors and prefers collateral its
  // caller supplied. Empty for most platforms.
  Bytes endorsements;
  // Evidence of devices attached to this TEE (composite attestation,
  // docs/platforms.md): today NVIDIA GPUs in confidential-computing mode,
  // each report taken over DeviceNonceForReportData(this evidence's
  // report_data), so that one client nonce binds the CPU and every GPU and
  // no part can be replayed alone. Only EvidenceKind::kNvidiaGpu; a device
  // entry never has devices of its own. Empty for CPU-only servers.
  std::vector<Evidence> devices;
};

using ReportData = std::array<uint8_t, 64>;

// The 32-byte nonce a device (GPU) report is taken over:
// SHA-256("citadel/gpu-nonce/v1" || report_data) of the CPU evidence.
std::array<uint8_t, 32> DeviceNonceForReportData(const ReportData& report_data);

// report_data layout (docs/protocol.md):
//   [0, 32)  SHA-256 of the TLS certificate's SubjectPublicKeyInfo (DER)
//   [32, 64) SHA-256("citadel/tls-cert/v1")            for certificate evidence
//            SHA-256("citadel/nonce/v1" || nonce)      for fresh evidence
// The two purposes are domain-separated so that one can never pass for the
// other, and a client's nonce is never echoed raw.
ReportData ReportDataForCertificate(ByteSpan tls_spki_der);
ReportData ReportDataForNonce(ByteSpan tls_spki_der, ByteSpan nonce);
// Box identity for offline model packages: [0, 32) SHA-256 of the box's
// HPKE public key, [32, 64) SHA-256("citadel/package-key/v1").
ReportData ReportDataForPackageKey(ByteSpan hpke_public_key);

// ---- Simulation evidence (EvidenceKind::kSim), docs/protocol.md ----------
//
// Binary, little endian:
//   magic "CTDLSIM1" (8) | u16 version = 1 | u32 flags (bit 0 SIMULATION, must
//   be set; other bits must be 0) | measurement (48) | report_data (64) |
//   u64 timestamp (unix seconds, informational) | u16-prefixed signer
//   SubjectPublicKeyInfo DER (P-384) | u16-prefixed ECDSA-SHA384 DER signature
//   over every byte before the signature's length prefix.
// This is only the codec: it checks structure, not the signature. Use
// VerifyEvidence (attest.h) to decide whether evidence is authentic.
inline constexpr uint16_t kSimEvidenceVersion = 1;
inline constexpr uint32_t kSimFlagSimulation = 1u << 0;

struct SimEvidenceBody {
  uint32_t flags = kSimFlagSimulation;
  std::array<uint8_t, 48> measurement{};
  ReportData report_data{};
  uint64_t timestamp = 0;
  Bytes signer_spki_der;
};

// The bytes the signature covers (everything before the signature).
Result<Bytes> SimEvidenceSignedPart(const SimEvidenceBody& body);
// signed_part || u16 length || signature.
Result<Bytes> FinishSimEvidence(ByteSpan signed_part, ByteSpan signature);

struct ParsedSimEvidence {
  SimEvidenceBody body;
  Bytes signed_part;
  Bytes signature;
};
// InvalidArgument on bad magic, unknown version, unknown or missing flags,
// truncation, or trailing bytes.
Result<ParsedSimEvidence> ParseSimEvidence(ByteSpan bytes);

}  // namespace citadel

#endif  // CITADEL_EVIDENCE_H_
