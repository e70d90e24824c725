// A throw-away NVIDIA GPU device hierarchy for tests: root CA -> device CA
// -> device leaf (P-384, with the TCG DICE FWID extension), SPDM reports
// signed by the leaf over any nonce, and the directory the fake NVML
// library (tests/tee/fake_nvml.cc) reads its "GPUs" from.
#ifndef CITADEL_TESTS_ATTEST_NVIDIA_PKI_H_
#define CITADEL_TESTS_ATTEST_NVIDIA_PKI_H_

#include <openssl/pem.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "citadel/bytes.h"
#include "hw_test_util.h"
#include "spdm_builder.h"

namespace citadel::gputest {

struct GpuPki {
  EvpPkeyPtr root_key, ca_key, leaf_key;
  X509Ptr root, ca, leaf;
  Bytes fwid;  // 48 bytes, in the leaf's FWID extension

  Bytes RootPem() const { return hwtest::CertPem(root.get()); }
  // What NVML's attestation certificate chain holds: leaf first, root last.
  Bytes ChainPem() const {
    Bytes out = hwtest::CertPem(leaf.get());
    for (X509* c : {ca.get(), root.get()}) {
      Bytes pem = hwtest::CertPem(c);
      out.insert(out.end(), pem.begin(), pem.end());
    }
    return out;
  }
};

// DiceTcbInfo ::= SEQUENCE { fwids [6] IMPLICIT SEQUENCE OF FWID }, with one
// FWID ::= SEQUENCE { hashAlg sha384, digest OCTET STRING (48) }.
inline Bytes FwidExtension(const Bytes& fwid) {
  Bytes fw = {0x30, 0x3D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x04, 0x30};
  fw.insert(fw.end(), fwid.begin(), fwid.end());
  Bytes out = {0x30, 0x41, 0xA6, 0x3F};
  out.insert(out.end(), fw.begin(), fw.end());
  return out;
}

// `tag` goes into every subject name: hierarchies with different tags do not
// even claim to chain to each other.
inline GpuPki MakeGpuPki(uint8_t fwid_fill = 0x5A, const std::string& tag = "") {
  GpuPki p;
  p.fwid = Bytes(48, fwid_fill);
  p.root_key = hwtest::NewEcKey("P-384");
  p.ca_key = hwtest::NewEcKey("P-384");
  p.leaf_key = hwtest::NewEcKey("P-384");
  hwtest::CertSpec s;
  s.ca = true;
  s.subject_cn = s.issuer_cn = "Test NVIDIA Device Identity CA" + tag;
  p.root = hwtest::MakeCert(s, p.root_key.get(), p.root_key.get());
  s.subject_cn = "Test NVIDIA GH100 Provisioner ICA" + tag;
  s.serial = 2;
  p.ca = hwtest::MakeCert(s, p.ca_key.get(), p.root_key.get());
  s.ca = false;
  s.issuer_cn = s.subject_cn;
  s.subject_cn = "Test GH100 A01 FSP BROM" + tag;
  s.serial = 3;
  s.exts.push_back({"2.23.133.5.4.1", FwidExtension(p.fwid)});
  p.leaf = hwtest::MakeCert(s, p.leaf_key.get(), p.ca_key.get());
  return p;
}

// Measurement blocks 1..count, each 48 bytes of (fill + index).
inline std::vector<spdmtest::Block> Measurements(uint8_t fill, int count = 4) {
  std::vector<spdmtest::Block> out;
  for (int i = 1; i <= count; ++i) {
    out.push_back({static_cast<uint8_t>(i), spdmtest::Buf(48, static_cast<uint8_t>(fill + i))});
  }
  return out;
}

inline Bytes MakeGpuReport(const GpuPki& pki, const std::array<uint8_t, 32>& nonce,
                           const std::vector<spdmtest::Block>& blocks) {
  spdmtest::ReportSpec spec;
  spec.nonce = nonce;
  spec.blocks = blocks;
  spec.fwid.assign(pki.fwid.begin(), pki.fwid.end());
  return spdmtest::MakeSignedReport(pki.leaf_key.get(), spec);
}

inline void WriteFile(const std::filesystem::path& path, ByteSpan data) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

// The fake NVML's state (tests/tee/fake_nvml.cc reads $CITADEL_FAKE_NVML_DIR):
//   count, cc, devtools        decimal integers (defaults 1, 1, 0)
//   gpu<i>/key.pem             the leaf's private key (signs the reports)
//   gpu<i>/chain.pem           the attestation certificate chain
//   gpu<i>/fwid.bin            the FWID put in the opaque data
//   gpu<i>/measurements.bin    48-byte digests, blocks 1..n
//   gpu<i>/fail                present: the report call fails
inline void WriteFakeNvml(const std::filesystem::path& dir, const std::vector<const GpuPki*>& gpus,
                          uint8_t measurement_fill) {
  std::filesystem::create_directories(dir);
  const std::string count = std::to_string(gpus.size());
  WriteFile(dir / "count", AsBytes(count));
  for (size_t i = 0; i < gpus.size(); ++i) {
    const auto g = dir / ("gpu" + std::to_string(i));
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, gpus[i]->leaf_key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    WriteFile(g / "key.pem", ByteSpan(reinterpret_cast<const uint8_t*>(p), static_cast<size_t>(n)));
    BIO_free(b);
    WriteFile(g / "chain.pem", gpus[i]->ChainPem());
    WriteFile(g / "fwid.bin", gpus[i]->fwid);
    Bytes digests;
    for (const auto& block : Measurements(measurement_fill)) digests.insert(digests.end(), block.value.begin(), block.value.end());
    WriteFile(g / "measurements.bin", digests);
  }
}

}  // namespace citadel::gputest

#endif  // CITADEL_TESTS_ATTEST_NVIDIA_PKI_H_
