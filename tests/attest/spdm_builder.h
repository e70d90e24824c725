// Builds NVIDIA-style SPDM 1.1 GET_MEASUREMENTS transcripts (request ||
// signed response), the layout src/attest/nvidia_report.cc parses, signed
// with a test P-384 key. Depends on OpenSSL and the standard library only,
// so that the fake NVML library (tests/tee/fake_nvml.cc, a shared object)
// can use it as well as the attest tests.
#ifndef CITADEL_TESTS_ATTEST_SPDM_BUILDER_H_
#define CITADEL_TESTS_ATTEST_SPDM_BUILDER_H_

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace citadel::spdmtest {

using Buf = std::vector<uint8_t>;

struct Block {
  uint8_t index = 0;
  Buf value;  // the measurement (48 bytes for SHA-384 digests)
};

struct ReportSpec {
  std::array<uint8_t, 32> nonce{};
  std::vector<Block> blocks;
  Buf fwid;  // 48 bytes: must equal the leaf certificate's FWID
  std::string driver_version = "550.54.15";
};

inline void PutLe(Buf& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// request (37 B) || response up to the signature.
inline Buf SignedPart(const ReportSpec& spec) {
  Buf out = {0x11, 0xE0, 0x01, 0xFF};
  out.insert(out.end(), spec.nonce.begin(), spec.nonce.end());
  out.push_back(0);  // slot
  Buf record;
  for (const Block& b : spec.blocks) {
    record.push_back(b.index);
    record.push_back(0x01);  // DMTF measurement specification
    PutLe(record, 3 + b.value.size(), 2);
    record.push_back(0x01);  // DMTF value type: mutable firmware, digest
    PutLe(record, b.value.size(), 2);
    record.insert(record.end(), b.value.begin(), b.value.end());
  }
  out.insert(out.end(), {0x11, 0x60, 0x00, 0x00});
  out.push_back(static_cast<uint8_t>(spec.blocks.size()));
  PutLe(out, record.size(), 3);
  out.insert(out.end(), record.begin(), record.end());
  for (int i = 0; i < 32; ++i) out.push_back(static_cast<uint8_t>(0xA0 + i));  // responder nonce
  Buf opaque;
  PutLe(opaque, 3, 2);  // driver version
  PutLe(opaque, spec.driver_version.size(), 2);
  opaque.insert(opaque.end(), spec.driver_version.begin(), spec.driver_version.end());
  PutLe(opaque, 20, 2);  // FWID
  PutLe(opaque, spec.fwid.size(), 2);
  opaque.insert(opaque.end(), spec.fwid.begin(), spec.fwid.end());
  PutLe(out, opaque.size(), 2);
  out.insert(out.end(), opaque.begin(), opaque.end());
  return out;
}

// ECDSA P-384 / SHA-384, raw r || s (48 + 48 bytes, big endian).
inline Buf SignP384(EVP_PKEY* key, const Buf& msg) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha384(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx, nullptr, &len, msg.data(), msg.size()) != 1) {
    std::abort();
  }
  Buf der(len);
  if (EVP_DigestSign(ctx, der.data(), &len, msg.data(), msg.size()) != 1) std::abort();
  EVP_MD_CTX_free(ctx);
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  if (sig == nullptr) std::abort();
  Buf out(96);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), out.data(), 48);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), out.data() + 48, 48);
  ECDSA_SIG_free(sig);
  return out;
}

inline Buf MakeSignedReport(EVP_PKEY* leaf_key, const ReportSpec& spec) {
  Buf out = SignedPart(spec);
  Buf sig = SignP384(leaf_key, out);
  out.insert(out.end(), sig.begin(), sig.end());
  return out;
}

}  // namespace citadel::spdmtest

#endif  // CITADEL_TESTS_ATTEST_SPDM_BUILDER_H_
