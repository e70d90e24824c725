// Fake TEE trees for the real-platform tests: synthetic evidence with the
// real layouts, a fake configfs-tsm "kernel" driven by the backend's test
// hook, and a fake /dev/sev-guest.
#ifndef CITADEL_TESTS_TEE_FAKE_TEE_H_
#define CITADEL_TESTS_TEE_FAKE_TEE_H_

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>

#include "citadel/byte_reader.h"
#include "citadel/crypto.h"
#include "citadel/tee.h"
#include "test_util.h"

namespace citadel::testing_tee {

inline void WriteBytes(const std::string& path, ByteSpan data) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}
inline Bytes ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
inline std::string ReadText(const std::string& path) {
  Bytes b = ReadBytes(path);
  return std::string(b.begin(), b.end());
}

// Same derivation as the backends' probe (src/tee/tee_util.cc).
inline ReportData ProbeData() {
  Sha512Digest d = Sha512(AsBytes("citadel/tee-probe/v1"));
  ReportData r{};
  std::copy(d.begin(), d.end(), r.begin());
  return r;
}
inline ReportData Rd(uint8_t fill) {
  ReportData r{};
  r.fill(fill);
  return r;
}
inline void Put(Bytes& b, size_t off, ByteSpan v) { std::copy(v.begin(), v.end(), b.begin() + static_cast<long>(off)); }
inline void PutU16(Bytes& b, size_t off, uint16_t v) {
  b[off] = v & 0xFF;
  b[off + 1] = v >> 8;
}
inline void PutU32(Bytes& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = (v >> (8 * i)) & 0xFF;
}
inline void PutU64(Bytes& b, size_t off, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[off + i] = (v >> (8 * i)) & 0xFF;
}

// Intel quote v3 (SGX) with the body fields the backend reads.
inline Bytes SgxQuote(const std::array<uint8_t, 32>& mrenclave, const ReportData& rd, bool debug = false) {
  Bytes q(48 + 384 + 4 + 100, 0);
  PutU16(q, 0, 3);
  PutU16(q, 2, 2);
  PutU64(q, 48 + 48, debug ? 0x7 : 0x5);
  Put(q, 48 + 64, mrenclave);
  Put(q, 48 + 320, rd);
  PutU32(q, 48 + 384, 100);
  return q;
}
// TDX quote v4 (TD report 1.0).
inline Bytes TdxQuote(const std::array<uint8_t, 48>& mrtd, const ReportData& rd, bool debug = false) {
  Bytes q(48 + 584 + 4 + 200 + 16, 0);  // 16 zero bytes of padding, as real quotes have
  PutU16(q, 0, 4);
  PutU16(q, 2, 2);
  PutU32(q, 4, 0x81);
  PutU64(q, 48 + 120, debug ? 1 : 0);
  Put(q, 48 + 136, mrtd);
  Put(q, 48 + 520, rd);
  PutU32(q, 48 + 584, 200);
  return q;
}
// SEV-SNP attestation report v2.
inline Bytes SnpReport(const std::array<uint8_t, 48>& measurement, const ReportData& rd, uint32_t vmpl = 0,
                       bool debug = false) {
  Bytes r(1184, 0);
  PutU32(r, 0, 2);
  PutU64(r, 8, (uint64_t{1} << 17) | (debug ? uint64_t{1} << 19 : 0));
  PutU32(r, 0x30, vmpl);
  PutU32(r, 0x34, 1);
  Put(r, 0x50, rd);
  Put(r, 0x90, measurement);
  return r;
}
// An SNP certificate table: entries (GUID in RFC 4122 byte order, offset,
// length), a zero terminator, then the certificates.
inline Bytes CertTable(const std::vector<std::pair<std::string, Bytes>>& certs) {
  size_t header = (certs.size() + 1) * 24;
  Bytes t(header, 0);
  size_t off = header;
  for (size_t i = 0; i < certs.size(); ++i) {
    auto guid = HexDecode(certs[i].first);
    Put(t, i * 24, *guid);
    PutU32(t, i * 24 + 16, static_cast<uint32_t>(off));
    PutU32(t, i * 24 + 20, static_cast<uint32_t>(certs[i].second.size()));
    t.insert(t.end(), certs[i].second.begin(), certs[i].second.end());
    off += certs[i].second.size();
  }
  return t;
}
inline constexpr char kVcekGuid[] = "63da758de6644564adc5f4b93be8accd";
inline constexpr char kAskGuid[] = "4ab7b379bbac4fe4a02f05aef327c782";

inline std::array<uint8_t, 48> M48(uint8_t fill) {
  std::array<uint8_t, 48> m{};
  m.fill(fill);
  return m;
}
inline std::array<uint8_t, 32> M32(uint8_t fill) {
  std::array<uint8_t, 32> m{};
  m.fill(fill);
  return m;
}

// Plays the kernel's part of configfs-tsm in a fake tree: populates each new
// entry, bumps `generation` on writes, produces outblob from inblob, and
// empties the entry before the backend's rmdir.
class FakeTsmKernel {
 public:
  explicit FakeTsmKernel(std::string root) : root_(std::move(root)) {
    std::filesystem::create_directories(root_ + "/sys/kernel/config/tsm/report");
  }
  std::string provider = "tdx_guest";
  // outblob for a given inblob; nullopt = no outblob file.
  std::function<std::optional<Bytes>(const Bytes& inblob)> make_outblob;
  std::optional<Bytes> auxblob;
  int disturb_reads = 0;      // this many attempts see a concurrent writer
  bool provider_file = true;  // false: the entry has no provider attribute
  std::string generation_text;  // non-empty: written as-is instead of a number
  int created = 0, removed = 0, attempts = 0;
  std::string last_privlevel;

  void Install(PlatformOptions& o) {
    o.root = root_;
    o.tsm_test_hook = [this](std::string_view step, const std::string& entry) { Step(step, entry); };
  }
  size_t EntriesLeft() const {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(root_ + "/sys/kernel/config/tsm/report")) {
      (void)e;
      ++n;
    }
    return n;
  }

 private:
  void Step(std::string_view step, const std::string& entry) {
    if (step == "created") {
      ++created;
      if (provider_file) WriteText(entry + "/provider", provider + "\n");
      WriteText(entry + "/generation", generation_text.empty() ? "0\n" : generation_text);
      WriteText(entry + "/inblob", "");
      WriteText(entry + "/privlevel", "");
      WriteText(entry + "/outblob", "");
    } else if (step == "written") {
      ++attempts;
      uint64_t gen = std::stoull(ReadText(entry + "/generation"));
      std::string priv = ReadText(entry + "/privlevel");
      int writes = 1;
      if (!priv.empty()) {
        last_privlevel = priv;
        ++writes;
        WriteText(entry + "/privlevel", "");
      }
      WriteText(entry + "/generation", std::to_string(gen + writes) + "\n");
      Bytes in = ReadBytes(entry + "/inblob");
      auto out = make_outblob ? make_outblob(in) : std::optional<Bytes>(Bytes{});
      if (out) {
        WriteBytes(entry + "/outblob", *out);
      } else {
        std::filesystem::remove(entry + "/outblob");
      }
      if (auxblob) WriteBytes(entry + "/auxblob", *auxblob);
    } else if (step == "read") {
      if (disturb_reads > 0) {
        --disturb_reads;
        uint64_t gen = std::stoull(ReadText(entry + "/generation"));
        WriteText(entry + "/generation", std::to_string(gen + 1) + "\n");
      }
    } else if (step == "removing") {
      ++removed;
      for (auto& e : std::filesystem::directory_iterator(entry)) std::filesystem::remove(e.path());
    }
  }
  static void WriteText(const std::string& p, const std::string& s) { WriteBytes(p, AsBytes(s)); }
  std::string root_;
};

// A fake /dev/sev-guest.
class FakeSevGuest final : public SevGuestDevice {
 public:
  std::array<uint8_t, 48> measurement = M48(0x5A);
  uint32_t report_status = 0;
  std::optional<uint32_t> report_size;  // default 1184
  Status report_error;                  // non-OK: the ioctl fails
  Status key_error;
  uint32_t key_status = 0;
  size_t key_response_len = 64;
  uint8_t key_fill = 0x42;
  int report_calls = 0, key_calls = 0;
  SnpDerivedKeyRequest last_key_request;
  std::optional<uint32_t> report_vmpl_override;

  Result<Bytes> GetReport(const ReportData& user_data, uint32_t vmpl) override {
    ++report_calls;
    if (!report_error.ok()) return report_error;
    Bytes resp(4000, 0);
    PutU32(resp, 0, report_status);
    PutU32(resp, 4, report_size.value_or(1184));
    Bytes rep = SnpReport(measurement, user_data, report_vmpl_override.value_or(vmpl));
    Put(resp, 32, rep);
    return resp;
  }
  Result<SecretBytes> GetDerivedKey(const SnpDerivedKeyRequest& request) override {
    ++key_calls;
    last_key_request = request;
    if (!key_error.ok()) return key_error;
    Bytes resp(64, 0);
    PutU32(resp, 0, key_status);
    std::fill(resp.begin() + 32, resp.end(), key_fill);
    resp.resize(key_response_len);
    return SecretBytes(ByteSpan(resp));
  }
};

// Real vectors: /work/shared/testdata/attestation (next to the repository).
inline std::string VectorPath(const std::string& rel) {
  return std::string(CITADEL_SOURCE_DIR) + "/../shared/testdata/attestation/" + rel;
}
inline std::optional<Bytes> LoadVector(const std::string& rel) {
  std::string p = VectorPath(rel);
  if (!std::filesystem::exists(p)) return std::nullopt;
  return ReadBytes(p);
}

}  // namespace citadel::testing_tee

#endif  // CITADEL_TESTS_TEE_FAKE_TEE_H_
