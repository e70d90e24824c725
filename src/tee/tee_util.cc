// Helpers shared by the real TEE backends: pseudo-file I/O and the few
// evidence fields the backends read back from what the hardware produced.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "citadel/byte_reader.h"
#include "citadel/crypto.h"
#include "tee_internal.h"

namespace citadel::tee_internal {
namespace {

class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status OpenError(const std::string& path, int err) {
  if (err == ENOENT) return Status::NotFound(path + " does not exist");
  return Status::FailedPrecondition("cannot open " + path + ": " + ErrnoText(err));
}

// Reads into `out` until EOF; out grows in chunks up to max_bytes.
template <typename Buf>
Status ReadAll(const std::string& path, size_t max_bytes, Buf* out, size_t* len) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return OpenError(path, errno);
  *len = 0;
  for (;;) {
    if (*len == out->size()) {
      if (out->size() > max_bytes) {
        return Status::ResourceExhausted(path + " is larger than " + std::to_string(max_bytes) + " bytes");
      }
      // Grow by copying into a fresh buffer so secrets are never left behind
      // in a freed vector (SecretBytes wipes on move-assign).
      Buf bigger(out->size() == 0 ? 4096 : out->size() * 2);
      if (*len > 0) std::memcpy(bigger.data(), out->data(), *len);
      *out = std::move(bigger);
    }
    ssize_t n = ::read(fd.get(), out->data() + *len, out->size() - *len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Unavailable("cannot read " + path + ": " + ErrnoText(errno));
    if (n == 0) break;
    *len += static_cast<size_t>(n);
  }
  if (*len > max_bytes) {
    return Status::ResourceExhausted(path + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  return Status::Ok();
}

constexpr std::string_view kSealInfoPrefix = "citadel/seal/v1/";

// Known certificate-table GUIDs (RFC 4122 byte order).
struct CertGuid {
  const char* text;
  const char* name;
};
constexpr CertGuid kSnpCertGuids[] = {
    {"63da758de6644564adc5f4b93be8accd", "VCEK"},
    {"a8074bc2a25a483eaae639c045a0b8a1", "VLEK"},
    {"4ab7b379bbac4fe4a02f05aef327c782", "ASK"},
    {"c0b406a4a803495297433fb6014cd0ae", "ARK"},
};

}  // namespace

std::string ErrnoText(int err) { return std::strerror(err); }

std::string JoinRoot(const std::string& root, std::string_view abs_path) {
  std::string r = root.empty() ? "/" : root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  if (r == "/") return std::string(abs_path);
  return r + std::string(abs_path);
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Result<Bytes> ReadPseudoFile(const std::string& path, size_t max_bytes) {
  Bytes buf;
  size_t len = 0;
  CITADEL_RETURN_IF_ERROR(ReadAll(path, max_bytes, &buf, &len));
  buf.resize(len);
  return buf;
}

Result<SecretBytes> ReadSecretPseudoFile(const std::string& path, size_t max_bytes) {
  SecretBytes buf;
  size_t len = 0;
  CITADEL_RETURN_IF_ERROR(ReadAll(path, max_bytes, &buf, &len));
  SecretBytes out(ByteSpan(buf.data(), len));
  return out;
}

Result<std::string> ReadPseudoText(const std::string& path, size_t max_bytes) {
  CITADEL_ASSIGN_OR_RETURN(Bytes b, ReadPseudoFile(path, max_bytes));
  std::string s(b.begin(), b.end());
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\0')) {
    s.pop_back();
  }
  return s;
}

Status WritePseudoFile(const std::string& path, ByteSpan data) {
  ScopedFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return OpenError(path, errno);
  for (;;) {
    ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Unavailable("cannot write " + path + ": " + ErrnoText(errno));
    if (static_cast<size_t>(n) != data.size()) {
      return Status::Unavailable("short write to " + path + " (" + std::to_string(n) + " of " +
                                 std::to_string(data.size()) + " bytes)");
    }
    return Status::Ok();
  }
}

Result<uint64_t> ReadDecimal(const std::string& path) {
  CITADEL_ASSIGN_OR_RETURN(std::string s, ReadPseudoText(path, 64));
  if (s.empty() || s.size() > 20) return Status::InvalidArgument(path + ": not a decimal number");
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return Status::InvalidArgument(path + ": not a decimal number");
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return Status::InvalidArgument(path + ": number out of range");
    v = v * 10 + d;
  }
  return v;
}

Result<QuoteFields> ParseIntelQuoteFields(ByteSpan quote, bool want_tdx) {
  const char* what = want_tdx ? "TDX quote" : "SGX quote";
  auto bad = [&](const std::string& m) { return Status::InvalidArgument(std::string(what) + ": " + m); };
  ByteReader r(quote);
  uint16_t version = 0, att_key_type = 0;
  uint32_t tee_type = 0;
  if (!r.ReadU16Le(&version) || !r.ReadU16Le(&att_key_type) || !r.ReadU32Le(&tee_type) || !r.Skip(40)) {
    return bad("truncated header (" + std::to_string(quote.size()) + " bytes)");
  }
  if (att_key_type != 2) return bad("attestation key type " + std::to_string(att_key_type) + " is not ECDSA P-256");
  size_t body_size = 0;
  if (!want_tdx) {
    if (version != 3) return bad("version " + std::to_string(version) + " (expected 3)");
    body_size = 384;
  } else {
    if (tee_type != 0x81) return bad("TEE type is not TDX");
    if (version == 4) {
      body_size = 584;
    } else if (version == 5) {
      uint16_t body_type = 0;
      uint32_t declared = 0;
      if (!r.ReadU16Le(&body_type) || !r.ReadU32Le(&declared)) return bad("truncated body descriptor");
      if (body_type == 2 && declared == 584) {
        body_size = 584;
      } else if (body_type == 3 && declared == 648) {
        body_size = 648;
      } else {
        return bad("unsupported body type " + std::to_string(body_type) + " / size " + std::to_string(declared));
      }
    } else {
      return bad("version " + std::to_string(version) + " (expected 4 or 5)");
    }
  }
  ByteReader body;
  if (!r.ReadSub(body_size, &body)) return bad("truncated report body");
  uint32_t sig_len = 0;
  if (!r.ReadU32Le(&sig_len)) return bad("missing signature data length");
  if (sig_len == 0 || sig_len > r.remaining()) {
    return bad("signature data length " + std::to_string(sig_len) + " does not fit the " +
               std::to_string(quote.size()) + "-byte quote");
  }
  QuoteFields out;
  ByteSpan m;
  uint64_t attributes = 0;
  if (!want_tdx) {
    // sgx_report_body_t: cpu_svn 16, misc_select 4, reserved 12,
    // isv_ext_prod_id 16, attributes (flags 8, xfrm 8) @48, mr_enclave @64,
    // ..., report_data @320.
    if (!body.Skip(48) || !body.ReadU64Le(&attributes) || !body.Skip(8) || !body.ReadBytes(32, &m) ||
        !body.Skip(320 - 96) || !body.CopyBytes(out.report_data)) {
      return bad("malformed report body");
    }
    out.debug = (attributes & 0x2) != 0;
  } else {
    // TD report: tee_tcb_svn 16, mr_seam 48, mr_signer_seam 48,
    // seam_attributes 8, td_attributes @120, xfam 8, mr_td @136, mr_config_id,
    // mr_owner, mr_owner_config (48 each), rtmr 4x48, report_data @520.
    if (!body.Skip(120) || !body.ReadU64Le(&attributes) || !body.Skip(8) || !body.ReadBytes(48, &m) ||
        !body.Skip(520 - 184) || !body.CopyBytes(out.report_data)) {
      return bad("malformed TD report body");
    }
    out.debug = (attributes & 0x1) != 0;
  }
  out.measurement.assign(m.begin(), m.end());
  return out;
}

Result<QuoteFields> ParseSnpReportFields(ByteSpan report) {
  constexpr size_t kReportSize = 1184;
  if (report.size() != kReportSize) {
    return Status::InvalidArgument("SEV-SNP report is " + std::to_string(report.size()) + " bytes, expected " +
                                   std::to_string(kReportSize));
  }
  ByteReader r(report);
  uint32_t version = 0, vmpl = 0;
  uint64_t policy = 0;
  ByteSpan m;
  QuoteFields out;
  // version @0, guest_svn @4, policy @8, family_id @0x10, image_id @0x20,
  // vmpl @0x30, ..., report_data @0x50, measurement @0x90.
  if (!r.ReadU32Le(&version) || !r.Skip(4) || !r.ReadU64Le(&policy) || !r.Skip(0x20) || !r.ReadU32Le(&vmpl) ||
      !r.Skip(0x50 - 0x34) || !r.CopyBytes(out.report_data) || !r.ReadBytes(48, &m)) {
    return Status::InvalidArgument("SEV-SNP report: malformed");
  }
  if (version < 2) return Status::InvalidArgument("SEV-SNP report: unsupported version " + std::to_string(version));
  out.measurement.assign(m.begin(), m.end());
  out.debug = (policy & (uint64_t{1} << 19)) != 0;
  out.snp_vmpl = vmpl;
  return out;
}

Result<Bytes> SnpCertTableToPem(ByteSpan table) {
  constexpr size_t kMaxEntries = 64;
  Bytes pem;
  if (table.empty()) return pem;
  ByteReader r(table);
  for (size_t i = 0;; ++i) {
    if (i == kMaxEntries) return Status::InvalidArgument("SNP certificate table: too many entries");
    ByteSpan guid;
    uint32_t offset = 0, length = 0;
    if (!r.ReadBytes(16, &guid) || !r.ReadU32Le(&offset) || !r.ReadU32Le(&length)) {
      return Status::InvalidArgument("SNP certificate table: truncated (no terminating entry)");
    }
    bool zero = offset == 0 && length == 0;
    for (uint8_t b : guid) zero = zero && b == 0;
    if (zero) break;
    if (static_cast<uint64_t>(offset) + length > table.size()) {
      return Status::InvalidArgument("SNP certificate table: entry " + std::to_string(i) +
                                     " points outside the table");
    }
    std::string hex = HexEncode(guid);
    // Also accept the mixed-endian (Microsoft) GUID encoding.
    std::string mixed = HexEncode(Bytes{guid[3], guid[2], guid[1], guid[0], guid[5], guid[4], guid[7], guid[6]}) +
                        hex.substr(16);
    bool known = false;
    for (const auto& g : kSnpCertGuids) known = known || hex == g.text || mixed == g.text;
    if (!known || length == 0) continue;  // not a certificate we know how to label
    std::string b64 = Base64Encode(table.subspan(offset, length));
    std::string block = "-----BEGIN CERTIFICATE-----\n";
    for (size_t p = 0; p < b64.size(); p += 64) block += b64.substr(p, 64) + "\n";
    block += "-----END CERTIFICATE-----\n";
    pem.insert(pem.end(), block.begin(), block.end());
  }
  return pem;
}

ReportData ProbeReportData() {
  Sha512Digest d = Sha512(AsBytes("citadel/tee-probe/v1"));
  ReportData out{};
  std::copy(d.begin(), d.end(), out.begin());
  return out;
}

Result<SecretBytes> DeriveSealingKey(ByteSpan root, ByteSpan measurement, std::string_view purpose) {
  if (purpose.empty()) return Status::InvalidArgument("sealing key purpose is empty");
  std::string info(kSealInfoPrefix);
  info.append(purpose);
  return HkdfSha256(root, measurement, AsBytes(info), 32);
}

}  // namespace citadel::tee_internal
