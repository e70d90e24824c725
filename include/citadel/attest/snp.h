// AMD SEV-SNP attestation report: parser and offline verifier.
//
// Layout: AMD SEV-SNP Firmware ABI specification (#56860), table
// "ATTESTATION_REPORT Structure"; VCEK/VLEK certificate extensions: AMD
// "Versioned Chip Endorsement Key (VCEK) Certificate and KDS Interface
// Specification" (#57230). See docs/attestation.md.
//
// Verification (VerifySnpReport):
//   1. parse the 1184-byte report (versions 2, 3, 5), signature_algo must be
//      1 (ECDSA P-384 / SHA-384), signing_key must be VCEK (0) or VLEK (1);
//   2. the certificate chain: VEK <- ASK (VCEK) or ASVK (VLEK) <- ARK, every
//      link RSA-PSS/SHA-384, ARK self-signed and equal (by public key) to one
//      of the configured trusted ARKs, every certificate valid at `now`;
//   3. the report signature: ECDSA P-384 over bytes [0x000, 0x2A0) with the
//      VEK's public key (R and S are stored little-endian, 72 bytes each);
//   4. reported_tcb equals the VEK's TCB extensions (blSPL, teeSPL, snpSPL,
//      ucodeSPL, and fmcSPL on Turin);
//   5. for a VCEK: chip_id equals the hwID extension (64 bytes on
//      Milan/Genoa, the first 8 bytes of chip_id on Turin). A VLEK has no
//      hwID; a report with MASK_CHIP_KEY set carries a zero chip_id and the
//      comparison is skipped (the claim "snp.chip_id_masked" says so).
// Every failure is Code::kAttestationFailed with message "<check>: <detail>"
// where <check> is one of the stable names listed in docs/attestation.md.
#ifndef CITADEL_ATTEST_SNP_H_
#define CITADEL_ATTEST_SNP_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "citadel/attest.h"
#include "citadel/bytes.h"
#include "citadel/status.h"

namespace citadel::snp {

inline constexpr size_t kReportSize = 0x4A0;        // 1184
inline constexpr size_t kSignedSize = 0x2A0;        // bytes covered by the signature
inline constexpr size_t kSignatureComponentSize = 72;

// Guest policy bits (ABI spec, "GUEST_POLICY").
inline constexpr uint64_t kPolicySmt = uint64_t{1} << 16;
inline constexpr uint64_t kPolicyReserved1 = uint64_t{1} << 17;  // must be 1
inline constexpr uint64_t kPolicyMigrateMa = uint64_t{1} << 18;
inline constexpr uint64_t kPolicyDebug = uint64_t{1} << 19;
inline constexpr uint64_t kPolicySingleSocket = uint64_t{1} << 20;

enum class SigningKey : uint8_t { kVcek = 0, kVlek = 1, kNone = 7 };

enum class Product : uint8_t { kUnknown = 0, kMilan, kGenoa, kTurin };
std::string_view ProductName(Product p);  // "Milan", "Genoa", "Turin", "unknown"

// TCB_VERSION decoded per product. Milan/Genoa: [0] boot_loader, [1] tee,
// [6] snp, [7] microcode. Turin: [0] fmc, [1] boot_loader, [2] tee, [3] snp,
// [7] microcode.
struct TcbParts {
  uint8_t fmc = 0;  // Turin only
  uint8_t boot_loader = 0;
  uint8_t tee = 0;
  uint8_t snp = 0;
  uint8_t microcode = 0;
  bool operator==(const TcbParts&) const = default;
};
TcbParts DecodeTcb(uint64_t tcb_version, Product product);

struct SnpReport {
  uint32_t version = 0;
  uint32_t guest_svn = 0;
  uint64_t policy = 0;
  std::array<uint8_t, 16> family_id{};
  std::array<uint8_t, 16> image_id{};
  uint32_t vmpl = 0;
  uint32_t signature_algo = 0;
  uint64_t current_tcb = 0;
  uint64_t platform_info = 0;
  uint32_t key_info = 0;  // raw word at 0x48
  bool author_key_en = false;
  bool mask_chip_key = false;
  uint8_t signing_key = 0;  // SigningKey value (3 bits)
  std::array<uint8_t, 64> report_data{};
  std::array<uint8_t, 48> measurement{};
  std::array<uint8_t, 32> host_data{};
  std::array<uint8_t, 48> id_key_digest{};
  std::array<uint8_t, 48> author_key_digest{};
  std::array<uint8_t, 32> report_id{};
  std::array<uint8_t, 32> report_id_ma{};
  uint64_t reported_tcb = 0;
  // Version 3 and later; zero for version 2.
  uint8_t cpuid_fam_id = 0;
  uint8_t cpuid_mod_id = 0;
  uint8_t cpuid_step = 0;
  std::array<uint8_t, 64> chip_id{};
  uint64_t committed_tcb = 0;
  uint8_t current_build = 0, current_minor = 0, current_major = 0;
  uint8_t committed_build = 0, committed_minor = 0, committed_major = 0;
  uint64_t launch_tcb = 0;
  // Version 5 and later; zero before.
  uint64_t launch_mit_vector = 0;
  uint64_t current_mit_vector = 0;
  // Signature components exactly as stored (little-endian, zero-extended).
  std::array<uint8_t, kSignatureComponentSize> signature_r{};
  std::array<uint8_t, kSignatureComponentSize> signature_s{};

  bool debug_allowed() const { return (policy & kPolicyDebug) != 0; }
  bool migrate_ma_allowed() const { return (policy & kPolicyMigrateMa) != 0; }
};

// Parses exactly kReportSize bytes. Rejects other sizes, unknown versions
// (accepted: 2, 3, 5) and a signing_key other than VCEK/VLEK/none.
// InvalidArgument on malformed input.
Result<SnpReport> ParseSnpReport(ByteSpan bytes);

// Accepts the binary report or its hex text (optional 0x, whitespace) and
// returns the binary bytes; the decoded size must be exactly kReportSize.
Result<Bytes> DecodeSnpReportInput(ByteSpan input);

// SEV-SNP certificate table: the certificates the host hands out with an
// extended report (SNP_GET_EXT_REPORT's certs buffer, configfs-tsm's
// auxblob; GHCB specification #56421, "SNP Extended Guest Request").
// Layout: entries {GUID (16 bytes), u32 offset, u32 length} (little endian,
// offsets from the start of the table) ended by an all-zero entry, then the
// DER certificates. GUIDs are read in RFC 4122 byte order; the mixed-endian
// (Microsoft) encoding is also accepted because some hosts write it.
//   VCEK 63da758d-e664-4564-adc5-f4b93be8accd
//   VLEK a8074bc2-a25a-483e-aae6-39c045a0b8a1
//   ASK  4ab7b379-bbac-4fe4-a02f-05aef327c782  (the ASVK when a VLEK is used)
//   ARK  c0b406a4-a803-4952-9743-3fb6014cd0ae
// The table is UNTRUSTED (the host writes it): these are collateral to be
// chained to a trusted ARK, never trust anchors.
inline constexpr size_t kMaxCertTableEntries = 64;
inline constexpr size_t kMaxCertTableSize = 256 * 1024;

struct SnpCertTable {
  Bytes vcek, vlek, ask, ark;  // DER as stored; empty when absent
  size_t unknown_entries = 0;  // entries with other GUIDs (ignored)
  bool empty() const { return vcek.empty() && vlek.empty() && ask.empty() && ark.empty(); }
};

// Parses a certificate table. InvalidArgument (with the entry index) when
// it is larger than kMaxCertTableSize, has no terminator, more than
// kMaxCertTableEntries entries, an entry pointing into the entry list or
// outside the table, an empty known entry, or a known GUID twice. Bytes after
// the last certificate (page padding) are ignored.
Result<SnpCertTable> ParseSnpCertTable(ByteSpan table);

// True when `bytes` starts with an entry whose GUID is one of the four above
// (how importers recognise a raw table among other file formats).
bool LooksLikeSnpCertTable(ByteSpan bytes);

// Certificates needed to verify a report. Each field accepts PEM (any number
// of certificates) or DER.
struct SnpCollateral {
  Bytes vek;  // the VCEK or VLEK certificate (exactly one)
  // The AMD chain: ASK and/or ASVK and the ARK, in any order (the KDS
  // cert_chain bundle or trustee's ask_ark_asvk bundle both work).
  Bytes chain;
  // Trust anchors: ARK certificates (PEM/DER, one or more each). The chain's
  // ARK must have the same public key as one of them. Required.
  std::vector<Bytes> trusted_arks;
  // Optional AMD CRLs (DER, AMD KDS /vcek/v1/<product>/crl), issued by the
  // ARK. One issued by this report's ARK must verify with the ARK's key, be
  // current at `now` and not list the ASK/ASVK (the certificates an ARK
  // issues; VEKs are the ASK's to revoke); others are
  // ignored. Claim snp.crl = checked | absent.
  std::vector<Bytes> crls;
};

// The full verification described at the top of this file. The result's
// measurement is the 48-byte MEASUREMENT, report_data the 64-byte
// REPORT_DATA; claims include (hex lower case, integers decimal):
//   platform=sev-snp, measurement, report_data, snp.version, snp.guest_svn,
//   snp.policy (hex), snp.debug, snp.migrate_ma, snp.smt, snp.vmpl,
//   snp.signing_key (vcek|vlek), snp.product, snp.host_data,
//   snp.family_id, snp.image_id, snp.id_key_digest, snp.author_key_digest,
//   snp.report_id, snp.chip_id, snp.chip_id_masked, snp.reported_tcb (hex),
//   snp.tcb.boot_loader/tee/snp/microcode(/fmc), snp.current_tcb,
//   snp.committed_tcb, snp.launch_tcb, snp.platform_info, snp.vek_not_after.
Result<VerifiedEvidence> VerifySnpReport(ByteSpan report, const SnpCollateral& collateral,
                                         const VerifyOptions& options);

}  // namespace citadel::snp

#endif  // CITADEL_ATTEST_SNP_H_
