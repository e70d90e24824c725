// Internal helpers shared by the real TEE backends (not a public header).
#ifndef CITADEL_SRC_TEE_TEE_INTERNAL_H_
#define CITADEL_SRC_TEE_TEE_INTERNAL_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "citadel/bytes.h"
#include "citadel/evidence.h"
#include "citadel/status.h"
#include "citadel/tee.h"

namespace citadel::tee_internal {

// root + absolute path, without doubling the slash ("/" + "/dev/x" = "/dev/x").
std::string JoinRoot(const std::string& root, std::string_view abs_path);

bool PathExists(const std::string& path);

// Reads a pseudo file (sysfs, configfs, Gramine's /dev/attestation) until
// EOF: st_size means nothing there. NotFound when absent; ResourceExhausted
// beyond max_bytes.
Result<Bytes> ReadPseudoFile(const std::string& path, size_t max_bytes);
// Same into wiped memory (keys).
Result<SecretBytes> ReadSecretPseudoFile(const std::string& path, size_t max_bytes);
// The file's text with trailing whitespace removed.
Result<std::string> ReadPseudoText(const std::string& path, size_t max_bytes = 256);
// One write(2) of all bytes to an existing file (no O_CREAT, no truncation
// semantics beyond O_TRUNC): attribute files take one write.
Status WritePseudoFile(const std::string& path, ByteSpan data);
Result<uint64_t> ReadDecimal(const std::string& path);

// The fields the backends need from the evidence they produce. Every parse
// goes through ByteReader; the attest module does the full verification.
struct QuoteFields {
  Bytes measurement;  // MRENCLAVE (32) / MRTD (48) / SNP MEASUREMENT (48)
  ReportData report_data{};
  bool debug = false;
  uint32_t snp_vmpl = 0;
};
// Intel DCAP quote: v3 SGX (want_tdx = false) or v4/v5 TDX (want_tdx = true).
Result<QuoteFields> ParseIntelQuoteFields(ByteSpan quote, bool want_tdx);
// SEV-SNP attestation report: exactly 1184 bytes.
Result<QuoteFields> ParseSnpReportFields(ByteSpan report);
// The SNP certificate table (GHCB spec, MSG_REPORT_REQ: 16-byte GUID, u32
// offset, u32 length entries ending with an all-zero entry; offsets from the
// start of the table) -> concatenated PEM of the certificates it names.
// InvalidArgument on entries outside the blob; an empty blob gives empty PEM.
Result<Bytes> SnpCertTableToPem(ByteSpan table);

// The report_data used for the probe attestation at open: domain-separated,
// so a probe quote can never pass for one over a TLS key or a nonce.
ReportData ProbeReportData();

// HKDF-SHA256(ikm = root, salt = measurement, info = "citadel/seal/v1/" ||
// purpose): the same derivation as the sim platform.
Result<SecretBytes> DeriveSealingKey(ByteSpan root, ByteSpan measurement, std::string_view purpose);

std::string ErrnoText(int err);

// ---- configfs-tsm (Documentation/ABI/testing/configfs-tsm) ----
// <root>/sys/kernel/config/tsm/report
std::string TsmReportDir(const PlatformOptions& options);
struct TsmReport {
  Bytes outblob;  // the quote (tdx_guest) or the SNP report (sev_guest)
  Bytes auxblob;  // sev_guest: the certificate table; may be empty
};
// Creates a private entry, checks `provider`, writes report_data to inblob
// (and privlevel for sev_guest when options.snp_vmpl > 0), reads outblob
// (and auxblob when want_aux), checks that `generation` advanced by exactly
// our writes (else retries, up to options.tsm_max_attempts), and removes the
// entry on every path.
Result<TsmReport> TsmGetReport(const PlatformOptions& options, std::string_view expected_provider,
                               const ReportData& report_data, bool want_aux);
// The provider name of a fresh entry ("tdx_guest", "sev_guest", ...).
Result<std::string> TsmProvider(const PlatformOptions& options);

// Backends (one file each); OpenPlatform dispatches to them.
Result<std::unique_ptr<Platform>> OpenSgxPlatform(const PlatformOptions& options);
Result<std::unique_ptr<Platform>> OpenTdxPlatform(const PlatformOptions& options);
Result<std::unique_ptr<Platform>> OpenSnpPlatform(const PlatformOptions& options);

}  // namespace citadel::tee_internal

#endif  // CITADEL_SRC_TEE_TEE_INTERNAL_H_
