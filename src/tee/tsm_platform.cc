// Linux configfs-tsm report interface (kernel 6.7+,
// Documentation/ABI/testing/configfs-tsm) and the Intel TDX platform on it.
//
// An entry is a directory under /sys/kernel/config/tsm/report that this
// process creates with mkdir(2); the kernel fills it with attributes:
//   inblob (WO, <= 64 bytes)  the report_data
//   outblob (RO)              the report, generated when read: a TDX quote
//                             (provider "tdx_guest") or an SEV-SNP report
//                             (provider "sev_guest")
//   auxblob (RO)              sev_guest: the certificate table (VCEK...)
//   provider (RO)             the format of outblob
//   generation (RO)           increments on every write to the entry
//   privlevel (WO)            SNP VMPL of the report
// Another process can write to our entry between our write and our read;
// generation tells: after our reads it must equal its value before our
// writes plus the number of our writes, else we retry (bounded).
// The entry is removed (rmdir) on every path.
//
// TDX has no hardware sealing key (no equivalent of SGX EGETKEY or SNP's
// MSG_KEY_REQ reaches the guest): SealingKey fails with FailedPrecondition.
// A TDX deployment must obtain its model-store key through attested key
// release (a key broker that verifies this TD's quote), see
// docs/platforms.md; the server refuses to start without one.

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>

#include "citadel/crypto.h"
#include "citadel/tee.h"
#include "tee_internal.h"

namespace citadel {
namespace tee_internal {
namespace {

constexpr size_t kMaxOutblob = 1 << 20;
constexpr size_t kMaxAuxblob = 1 << 20;

void Hook(const PlatformOptions& o, std::string_view step, const std::string& entry) {
  if (o.tsm_test_hook) o.tsm_test_hook(step, entry);
}

// A configfs-tsm entry that exists for the lifetime of this object.
class TsmEntry {
 public:
  static Result<std::unique_ptr<TsmEntry>> Create(const PlatformOptions& options) {
    const std::string base = TsmReportDir(options);
    if (!PathExists(base)) {
      return Status::FailedPrecondition("configfs-tsm: " + base +
                                        " does not exist (kernel without CONFIG_TSM_REPORTS, configfs not "
                                        "mounted at /sys/kernel/config, or not a confidential VM)");
    }
    static std::atomic<uint64_t> counter{0};
    uint8_t rnd[8];
    CITADEL_RETURN_IF_ERROR(RandomBytes(rnd));
    std::string path = base + "/citadel-" + std::to_string(::getpid()) + "-" +
                       std::to_string(counter.fetch_add(1)) + "-" + HexEncode(rnd);
    if (::mkdir(path.c_str(), 0700) != 0) {
      return Status::FailedPrecondition("configfs-tsm: cannot create report entry " + path + ": " +
                                        ErrnoText(errno));
    }
    auto entry = std::unique_ptr<TsmEntry>(new TsmEntry(options, std::move(path)));
    Hook(options, "created", entry->path_);
    return entry;
  }
  ~TsmEntry() {
    Hook(options_, "removing", path_);
    ::rmdir(path_.c_str());  // best effort: nothing secret is left in it
  }
  TsmEntry(const TsmEntry&) = delete;
  TsmEntry& operator=(const TsmEntry&) = delete;
  std::string Attr(std::string_view name) const { return path_ + "/" + std::string(name); }
  const std::string& path() const { return path_; }

 private:
  TsmEntry(const PlatformOptions& options, std::string path) : options_(options), path_(std::move(path)) {}
  const PlatformOptions& options_;
  std::string path_;
};

}  // namespace

std::string TsmReportDir(const PlatformOptions& options) {
  return JoinRoot(options.root, "/sys/kernel/config/tsm/report");
}

Result<std::string> TsmProvider(const PlatformOptions& options) {
  CITADEL_ASSIGN_OR_RETURN(std::unique_ptr<TsmEntry> entry, TsmEntry::Create(options));
  auto provider = ReadPseudoText(entry->Attr("provider"));
  if (!provider.ok()) return provider.status().WithContext("configfs-tsm");
  return *provider;
}

Result<TsmReport> TsmGetReport(const PlatformOptions& options, std::string_view expected_provider,
                               const ReportData& report_data, bool want_aux) {
  CITADEL_ASSIGN_OR_RETURN(std::unique_ptr<TsmEntry> entry, TsmEntry::Create(options));
  auto provider = ReadPseudoText(entry->Attr("provider"));
  if (!provider.ok()) return provider.status().WithContext("configfs-tsm");
  if (*provider != expected_provider) {
    return Status::FailedPrecondition("configfs-tsm: provider is \"" + *provider + "\", expected \"" +
                                      std::string(expected_provider) + "\" (wrong --platform for this machine?)");
  }
  const bool write_privlevel = expected_provider == "sev_guest" && options.snp_vmpl > 0;
  const int attempts = options.tsm_max_attempts < 1 ? 1 : options.tsm_max_attempts;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    auto before = ReadDecimal(entry->Attr("generation"));
    if (!before.ok()) return before.status().WithContext("configfs-tsm");
    uint64_t writes = 0;
    if (write_privlevel) {
      std::string level = std::to_string(options.snp_vmpl);
      Status st = WritePseudoFile(entry->Attr("privlevel"), AsBytes(level));
      if (!st.ok()) return st.WithContext("configfs-tsm privlevel");
      ++writes;
    }
    Status st = WritePseudoFile(entry->Attr("inblob"), report_data);
    if (!st.ok()) return st.WithContext("configfs-tsm");
    ++writes;
    Hook(options, "written", entry->path());
    TsmReport report;
    auto out = ReadPseudoFile(entry->Attr("outblob"), kMaxOutblob);
    if (!out.ok()) return out.status().WithContext("configfs-tsm report");
    if (out->empty()) return Status::Unavailable("configfs-tsm: " + entry->Attr("outblob") + " is empty");
    report.outblob = std::move(out).value();
    if (want_aux) {
      auto aux = ReadPseudoFile(entry->Attr("auxblob"), kMaxAuxblob);
      if (aux.ok()) {
        report.auxblob = std::move(aux).value();
      } else if (aux.status().code() != Code::kNotFound) {
        return aux.status().WithContext("configfs-tsm auxblob");
      }
    }
    Hook(options, "read", entry->path());
    auto after = ReadDecimal(entry->Attr("generation"));
    if (!after.ok()) return after.status().WithContext("configfs-tsm");
    if (*after == *before + writes) return report;
    // Someone else wrote to the entry between our write and our read: the
    // outblob may be over their inblob. Discard and try again.
  }
  return Status::Unavailable("configfs-tsm: " + entry->path() + " was written by someone else during each of " +
                             std::to_string(attempts) +
                             " attempts (generation changed); another process is interfering");
}

namespace {

class TdxPlatform final : public Platform {
 public:
  TdxPlatform(PlatformOptions options, Bytes mrtd, bool debug)
      : options_(std::move(options)), mrtd_(std::move(mrtd)), debug_(debug) {}

  std::string_view name() const override { return "tdx"; }
  bool is_simulation() const override { return false; }
  Bytes measurement() const override { return mrtd_; }
  std::string Describe() const override {
    return std::string("Intel TDX trust domain (configfs-tsm)") +
           (debug_ ? " DEBUG TD: memory is readable by the host, NOT confidential" : "") +
           " mrtd=" + HexEncode(mrtd_) + " (no hardware sealing key: attested key release required)";
  }

  Result<Evidence> GetEvidence(const ReportData& report_data) override {
    std::lock_guard<std::mutex> lock(mu_);
    CITADEL_ASSIGN_OR_RETURN(Bytes quote, Quote(options_, report_data));
    return Evidence{EvidenceKind::kTdx, std::move(quote)};
  }

  Result<SecretBytes> SealingKey(std::string_view purpose) override {
    return Status::FailedPrecondition(
        "tdx: Intel TDX has no hardware sealing key; the key for '" + std::string(purpose) +
        "' must be obtained through attested key release (a key broker that verifies this TD's quote "
        "before releasing it), which is not configured (docs/platforms.md)");
  }

  static Result<Bytes> Quote(const PlatformOptions& options, const ReportData& report_data) {
    CITADEL_ASSIGN_OR_RETURN(TsmReport r, TsmGetReport(options, "tdx_guest", report_data, false));
    auto fields = ParseIntelQuoteFields(r.outblob, /*want_tdx=*/true);
    if (!fields.ok()) return fields.status().WithContext("tdx: configfs-tsm outblob");
    if (fields->report_data != report_data) {
      return Status::Unavailable("tdx: the quote does not carry the report_data written to inblob");
    }
    return std::move(r.outblob);
  }

 private:
  PlatformOptions options_;
  Bytes mrtd_;
  bool debug_;
  std::mutex mu_;
};

}  // namespace

Result<std::unique_ptr<Platform>> OpenTdxPlatform(const PlatformOptions& options) {
  CITADEL_ASSIGN_OR_RETURN(Bytes probe, TdxPlatform::Quote(options, ProbeReportData()));
  CITADEL_ASSIGN_OR_RETURN(QuoteFields fields, ParseIntelQuoteFields(probe, true));
  return std::unique_ptr<Platform>(new TdxPlatform(options, std::move(fields.measurement), fields.debug));
}

}  // namespace tee_internal
}  // namespace citadel
