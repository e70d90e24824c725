// A throw-away AMD SEV-SNP hierarchy for tests: ARK -> ASK -> VCEK (Milan
// style, RSA-PSS/SHA-384 links, P-384 VCEK with the TCB and hwID
// extensions), reports signed by the VCEK over any report_data, and the
// certificate table a host hands out with an extended report. Used by the
// attest tests and by the client's end-to-end tests (a server whose fake
// SEV-SNP hardware signs with this VCEK).
#ifndef CITADEL_TESTS_ATTEST_SNP_PKI_H_
#define CITADEL_TESTS_ATTEST_SNP_PKI_H_

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

#include "citadel/attest/snp.h"
#include "citadel/evidence.h"
#include "hw_test_util.h"

namespace citadel::snptest {

// TCB the VCEK certifies (and the reports claim): bl 3, tee 0, snp 8, ucode 115.
inline constexpr uint8_t kBl = 3, kTee = 0, kSnp = 8, kUcode = 115;

struct Pki {
  EvpPkeyPtr ark_key, ask_key, vcek_key;
  X509Ptr ark, ask, vcek;
  Bytes chip_id = Bytes(64, 0);
  uint64_t tcb = 0;

  Bytes ArkPem() const { return hwtest::CertPem(ark.get()); }
  Bytes AskPem() const { return hwtest::CertPem(ask.get()); }
  Bytes VcekDer() const { return hwtest::CertDer(vcek.get()); }
};

// DER IA5String (short form; product names are short).
inline Bytes Ia5(const std::string& s) {
  Bytes out(2 + s.size());
  out[0] = 0x16;
  out[1] = static_cast<uint8_t>(s.size());
  for (size_t i = 0; i < s.size(); ++i) out[2 + i] = static_cast<uint8_t>(s[i]);
  return out;
}

// `vcek_not_after_days`: the VCEK's lifetime from now (the ARK/ASK live 10 years).
inline Pki MakeMilanPki(long vcek_not_after_days = 3650) {
  Pki p;
  for (size_t i = 0; i < 64; ++i) p.chip_id[i] = static_cast<uint8_t>(0x40 + i);
  p.ark_key = hwtest::NewRsaKey(2048);
  p.ask_key = hwtest::NewRsaKey(2048);
  p.vcek_key = hwtest::NewEcKey("P-384");
  hwtest::CertSpec s;
  s.rsa_pss_sha384 = true;
  s.ca = true;
  s.subject_cn = s.issuer_cn = "ARK-Milan";
  p.ark = hwtest::MakeCert(s, p.ark_key.get(), p.ark_key.get());
  s.subject_cn = "SEV-Milan";
  p.ask = hwtest::MakeCert(s, p.ask_key.get(), p.ark_key.get());
  s.ca = false;
  s.subject_cn = "SEV-VCEK";
  s.issuer_cn = "SEV-Milan";
  s.not_after_offset = vcek_not_after_days * 86400;
  s.exts = {
      {"1.3.6.1.4.1.3704.1.1", hwtest::DerInt(1)},
      {"1.3.6.1.4.1.3704.1.2", Ia5("Milan-B0")},
      {"1.3.6.1.4.1.3704.1.3.1", hwtest::DerInt(kBl)},
      {"1.3.6.1.4.1.3704.1.3.2", hwtest::DerInt(kTee)},
      {"1.3.6.1.4.1.3704.1.3.3", hwtest::DerInt(kSnp)},
      {"1.3.6.1.4.1.3704.1.3.8", hwtest::DerInt(kUcode)},
      {"1.3.6.1.4.1.3704.1.4", p.chip_id},
  };
  p.vcek = hwtest::MakeCert(s, p.vcek_key.get(), p.ask_key.get());
  p.tcb = uint64_t{kBl} | uint64_t{kTee} << 8 | uint64_t{kSnp} << 48 | uint64_t{kUcode} << 56;
  return p;
}

inline void PutLe(Bytes& b, size_t off, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) b[off + i] = static_cast<uint8_t>(v >> (8 * i));
}

// Signs bytes [0, 0x2A0) with `key`; R and S are stored little endian.
inline void SignReport(Bytes& b, EVP_PKEY* key) {
  auto [r, s] = hwtest::SignRaw(key, "SHA384", ByteSpan(b).first(snp::kSignedSize), 72);
  std::reverse(r.begin(), r.end());
  std::reverse(s.begin(), s.end());
  std::copy(r.begin(), r.end(), b.begin() + 0x2A0);
  std::copy(s.begin(), s.end(), b.begin() + 0x2A0 + 72);
}

struct ReportSpec {
  std::array<uint8_t, 48> measurement{};
  ReportData report_data{};
  uint32_t vmpl = 0;
  uint64_t policy = 0x30000;  // SMT + the reserved bit 17
};

// A version 2 report signed by the PKI's VCEK.
inline Bytes MakeReport(const Pki& p, const ReportSpec& spec) {
  Bytes b(snp::kReportSize, 0);
  PutLe(b, 0x00, 2, 4);
  PutLe(b, 0x04, 1, 4);  // guest_svn
  PutLe(b, 0x08, spec.policy, 8);
  PutLe(b, 0x30, spec.vmpl, 4);
  PutLe(b, 0x34, 1, 4);  // ECDSA P-384 / SHA-384
  PutLe(b, 0x38, p.tcb, 8);
  std::copy(spec.report_data.begin(), spec.report_data.end(), b.begin() + 0x50);
  std::copy(spec.measurement.begin(), spec.measurement.end(), b.begin() + 0x90);
  PutLe(b, 0x180, p.tcb, 8);
  std::copy(p.chip_id.begin(), p.chip_id.end(), b.begin() + 0x1A0);
  PutLe(b, 0x1E0, p.tcb, 8);
  PutLe(b, 0x1F0, p.tcb, 8);
  SignReport(b, p.vcek_key.get());
  return b;
}

// GUIDs in RFC 4122 byte order (GHCB spec, SNP Extended Guest Request).
inline constexpr char kVcekGuid[] = "63da758de6644564adc5f4b93be8accd";
inline constexpr char kVlekGuid[] = "a8074bc2a25a483eaae639c045a0b8a1";
inline constexpr char kAskGuid[] = "4ab7b379bbac4fe4a02f05aef327c782";
inline constexpr char kArkGuid[] = "c0b406a4a803495297433fb6014cd0ae";

// Entries {GUID, offset, length}, an all-zero terminator, then the data;
// `padding` zero bytes at the end (hosts hand out page-sized buffers).
inline Bytes CertTable(const std::vector<std::pair<std::string, Bytes>>& certs, size_t padding = 0) {
  const size_t header = (certs.size() + 1) * 24;
  Bytes t(header, 0);
  size_t off = header;
  for (size_t i = 0; i < certs.size(); ++i) {
    Bytes guid(16);
    for (size_t j = 0; j < 16; ++j) guid[j] = static_cast<uint8_t>(std::stoi(certs[i].first.substr(2 * j, 2), nullptr, 16));
    std::copy(guid.begin(), guid.end(), t.begin() + static_cast<long>(i * 24));
    PutLe(t, i * 24 + 16, off, 4);
    PutLe(t, i * 24 + 20, certs[i].second.size(), 4);
    t.insert(t.end(), certs[i].second.begin(), certs[i].second.end());
    off += certs[i].second.size();
  }
  t.resize(t.size() + padding, 0);
  return t;
}

// The table a host would hand out for this PKI: VCEK, ASK, ARK (DER).
inline Bytes HostCertTable(const Pki& p, size_t padding = 0) {
  return CertTable({{kVcekGuid, p.VcekDer()},
                    {kAskGuid, hwtest::CertDer(p.ask.get())},
                    {kArkGuid, hwtest::CertDer(p.ark.get())}},
                   padding);
}

}  // namespace citadel::snptest

#endif  // CITADEL_TESTS_ATTEST_SNP_PKI_H_
