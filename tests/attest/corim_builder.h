// Test helpers for NVIDIA CoRIM RIMs: a minimal CBOR encoder (independent of
// the parser under test), a CoRIM signing hierarchy like NVIDIA's (root ->
// sub-CA -> product signer) and a signed-CoRIM builder. Used by the attest
// tests and by the `citadel verify` end-to-end tests.
#ifndef CITADEL_TESTS_ATTEST_CORIM_BUILDER_H_
#define CITADEL_TESTS_ATTEST_CORIM_BUILDER_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hw_test_util.h"

namespace citadel::rimtest {

// ---- a minimal CBOR encoder (definite lengths, shortest heads) ----------------

inline Bytes Head(uint8_t major, uint64_t n) {
  Bytes out;
  uint8_t mt = static_cast<uint8_t>(major << 5);
  if (n < 24) {
    out.push_back(mt | static_cast<uint8_t>(n));
    return out;
  }
  int bytes = n <= 0xff ? 1 : n <= 0xffff ? 2 : n <= 0xffffffffu ? 4 : 8;
  out.push_back(mt | static_cast<uint8_t>(bytes == 1 ? 24 : bytes == 2 ? 25 : bytes == 4 ? 26 : 27));
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  return out;
}
inline Bytes Cat(std::initializer_list<Bytes> parts) { return hwtest::Concat(parts); }
inline Bytes U(uint64_t v) { return Head(0, v); }
inline Bytes N(int64_t v) { return Head(1, static_cast<uint64_t>(-1 - v)); }  // v < 0
inline Bytes B(ByteSpan b) { return Cat({Head(2, b.size()), Bytes(b.begin(), b.end())}); }
inline Bytes T(const std::string& s) { return Cat({Head(3, s.size()), Bytes(s.begin(), s.end())}); }
inline Bytes A(const std::vector<Bytes>& items) {
  Bytes out = Head(4, items.size());
  for (const auto& i : items) out.insert(out.end(), i.begin(), i.end());
  return out;
}
inline Bytes M(const std::vector<std::pair<Bytes, Bytes>>& kv) {
  Bytes out = Head(5, kv.size());
  for (const auto& [k, v] : kv) {
    out.insert(out.end(), k.begin(), k.end());
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}
inline Bytes Tag(uint64_t t, const Bytes& item) { return Cat({Head(6, t), item}); }

// ---- the test CoRIM PKI and CoRIM builder -------------------------------------

inline constexpr time_t kBase = 1717200000;  // 2024-06-01

struct RimPki {
  EvpPkeyPtr root_key, sub_key, signer_key;
  X509Ptr root, sub, signer;
  Bytes RootPem() const { return hwtest::CertPem(root.get()); }
};

inline RimPki MakeRimPki(long signer_days = 3650, const char* signer_curve = "P-384",
                  const char* root_cn = "Test CoRIM signing Root CA") {
  RimPki p;
  p.root_key = hwtest::NewEcKey("P-384");
  p.sub_key = hwtest::NewEcKey("P-384");
  p.signer_key = hwtest::NewEcKey(signer_curve);
  hwtest::CertSpec s;
  s.base = kBase;
  s.ca = true;
  s.subject_cn = s.issuer_cn = root_cn;
  p.root = hwtest::MakeCert(s, p.root_key.get(), p.root_key.get());
  s.subject_cn = "Test CoRIM sub-CA";
  s.serial = 2;
  p.sub = hwtest::MakeCert(s, p.sub_key.get(), p.root_key.get());
  s.ca = false;
  s.subject_cn = "Test CoRIM product signer";
  s.issuer_cn = "Test CoRIM sub-CA";
  s.serial = 3;
  s.not_after_offset = signer_days * 86400;
  p.signer = hwtest::MakeCert(s, p.signer_key.get(), p.sub_key.get());
  return p;
}

using References = std::map<uint32_t, std::vector<Bytes>>;

struct RimSpec {
  References refs;
  int64_t alg = -35;  // ES384
  std::optional<int64_t> not_after = kBase + 5L * 365 * 86400;
  bool with_chain = true;
  Bytes extra_mval;  // an extra measurement-values-map entry (key, value) for rejection tests
  Bytes crit;        // a crit array for the protected header
};

inline Bytes Comid(const RimSpec& spec) {
  std::vector<Bytes> meas;
  for (const auto& [index, values] : spec.refs) {
    std::vector<Bytes> digests;
    for (const Bytes& v : values) digests.push_back(A({U(7), B(v)}));
    std::vector<std::pair<Bytes, Bytes>> mval = {{U(2), A(digests)}};
    Bytes mv = M(mval);
    if (!spec.extra_mval.empty()) {
      mv = Cat({Head(5, 2), U(2), A(digests), spec.extra_mval});
    }
    meas.push_back(M({{U(0), U(index)}, {U(1), mv}}));
  }
  Bytes env = M({{U(0), M({{U(1), T("NVIDIA")}, {U(2), T("GH100")}})}});
  return M({{U(1), M({{U(0), T("test-comid")}})}, {U(4), M({{U(0), A({A({env, A(meas)})})}})}});
}

inline Bytes SigStructure(const Bytes& prot, const Bytes& payload) {
  return A({T("Signature1"), B(prot), B(Bytes()), B(payload)});
}

inline Bytes SignedCorim(const RimPki& pki, const RimSpec& spec) {
  std::vector<std::pair<Bytes, Bytes>> corim = {{U(0), T("test-rim-1")}, {U(1), A({Tag(506, B(Comid(spec)))})}};
  if (spec.not_after) corim.push_back({U(4), M({{U(1), Tag(1, U(static_cast<uint64_t>(*spec.not_after)))}})});
  Bytes payload = Tag(501, M(corim));
  std::vector<std::pair<Bytes, Bytes>> ph = {{U(1), N(spec.alg)}, {U(3), T("application/rim+cbor")}};
  if (!spec.crit.empty()) ph.push_back({U(2), spec.crit});
  if (spec.with_chain) {
    ph.push_back({U(33), A({B(hwtest::CertDer(pki.signer.get())), B(hwtest::CertDer(pki.sub.get()))})});
  }
  Bytes prot = M(ph);
  const char* md = spec.alg == -7 ? "SHA256" : spec.alg == -36 ? "SHA512" : "SHA384";
  size_t width = spec.alg == -7 ? 32 : spec.alg == -36 ? 66 : 48;
  auto [r, s] = hwtest::SignRaw(pki.signer_key.get(), md, SigStructure(prot, payload), width);
  return Tag(18, A({B(prot), M({}), B(payload), B(Cat({r, s}))}));
}

}  // namespace citadel::rimtest

#endif  // CITADEL_TESTS_ATTEST_CORIM_BUILDER_H_
