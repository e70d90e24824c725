// AMD SEV-SNP attestation report parsing and verification. See
// include/citadel/attest/snp.h for the checks and docs/attestation.md for the
// check names.
#include "citadel/attest/snp.h"

#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "attest_util.h"
#include "citadel/byte_reader.h"
#include "citadel/crypto.h"

namespace citadel::snp {
namespace {

using attest_internal::Fail;
using attest_internal::Hex;

constexpr const char* kOidStructVersion = "1.3.6.1.4.1.3704.1.1";
constexpr const char* kOidProductName = "1.3.6.1.4.1.3704.1.2";
constexpr const char* kOidBlSpl = "1.3.6.1.4.1.3704.1.3.1";
constexpr const char* kOidTeeSpl = "1.3.6.1.4.1.3704.1.3.2";
constexpr const char* kOidSnpSpl = "1.3.6.1.4.1.3704.1.3.3";
constexpr const char* kOidUcodeSpl = "1.3.6.1.4.1.3704.1.3.8";
constexpr const char* kOidFmcSpl = "1.3.6.1.4.1.3704.1.3.9";
constexpr const char* kOidHwId = "1.3.6.1.4.1.3704.1.4";

template <size_t N>
bool Copy(ByteReader& r, std::array<uint8_t, N>& out) {
  return r.CopyBytes(std::span<uint8_t>(out.data(), out.size()));
}

std::string Hex64(uint64_t v) {
  char buf[19];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

bool AllZero(ByteSpan b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

Product ProductFromSuffix(std::string_view s) {
  if (s == "Milan") return Product::kMilan;
  if (s == "Genoa") return Product::kGenoa;
  if (s == "Turin") return Product::kTurin;
  return Product::kUnknown;
}

// Product implied by CPUID family/model (report v3+), or kUnknown.
Product ProductFromCpuid(uint8_t fam, uint8_t model) {
  if (fam == 0x19) {
    if (model <= 0x0F) return Product::kMilan;
    if ((model >= 0x10 && model <= 0x1F) || (model >= 0xA0 && model <= 0xAF)) return Product::kGenoa;
  }
  if (fam == 0x1A) return Product::kTurin;
  return Product::kUnknown;
}

bool IsRsaPssSha384(X509* cert) {
  if (X509_get_signature_nid(cert) != NID_rsassaPss) return false;
  int md = NID_undef, pk = NID_undef, bits = 0;
  uint32_t flags = 0;
  if (X509_get_signature_info(cert, &md, &pk, &bits, &flags) != 1) {
    ERR_clear_error();
    return false;
  }
  return md == NID_sha384;
}

Result<uint8_t> TcbExtension(X509* vek, const char* oid, std::string_view name, bool required,
                             bool* present) {
  *present = false;
  auto v = attest_internal::ExtensionValue(vek, oid);
  if (!v.ok()) return Fail("snp.vek_extensions", v.status().message());
  if (!v->has_value()) {
    if (required) return Fail("snp.vek_extensions", "VEK lacks the " + std::string(name) + " extension");
    return uint8_t{0};
  }
  auto n = attest_internal::ParseDerUnsigned(**v);
  if (!n.ok() || *n > 255) {
    return Fail("snp.vek_extensions", "VEK " + std::string(name) + " extension is not a byte INTEGER");
  }
  *present = true;
  return static_cast<uint8_t>(*n);
}

}  // namespace

std::string_view ProductName(Product p) {
  switch (p) {
    case Product::kMilan: return "Milan";
    case Product::kGenoa: return "Genoa";
    case Product::kTurin: return "Turin";
    case Product::kUnknown: break;
  }
  return "unknown";
}

TcbParts DecodeTcb(uint64_t tcb, Product product) {
  auto byte = [tcb](int i) { return static_cast<uint8_t>((tcb >> (8 * i)) & 0xFF); };
  TcbParts p;
  if (product == Product::kTurin) {
    p.fmc = byte(0);
    p.boot_loader = byte(1);
    p.tee = byte(2);
    p.snp = byte(3);
    p.microcode = byte(7);
  } else {
    p.boot_loader = byte(0);
    p.tee = byte(1);
    p.snp = byte(6);
    p.microcode = byte(7);
  }
  return p;
}

Result<SnpReport> ParseSnpReport(ByteSpan bytes) {
  if (bytes.size() != kReportSize) {
    return Status::InvalidArgument("SEV-SNP report must be " + std::to_string(kReportSize) +
                                   " bytes, got " + std::to_string(bytes.size()));
  }
  ByteReader r(bytes);
  SnpReport rep;
  bool ok = r.ReadU32Le(&rep.version);
  if (!ok) return Status::InvalidArgument("SEV-SNP report truncated");
  if (rep.version != 2 && rep.version != 3 && rep.version != 5) {
    return Status::InvalidArgument("unsupported SEV-SNP report version " + std::to_string(rep.version));
  }
  uint32_t reserved32 = 0;
  ok = r.ReadU32Le(&rep.guest_svn) && r.ReadU64Le(&rep.policy) && Copy(r, rep.family_id) &&
       Copy(r, rep.image_id) && r.ReadU32Le(&rep.vmpl) && r.ReadU32Le(&rep.signature_algo) &&
       r.ReadU64Le(&rep.current_tcb) && r.ReadU64Le(&rep.platform_info) &&
       r.ReadU32Le(&rep.key_info) && r.ReadU32Le(&reserved32) &&  // 0x4C
       Copy(r, rep.report_data) && Copy(r, rep.measurement) && Copy(r, rep.host_data) &&
       Copy(r, rep.id_key_digest) && Copy(r, rep.author_key_digest) && Copy(r, rep.report_id) &&
       Copy(r, rep.report_id_ma) && r.ReadU64Le(&rep.reported_tcb);  // ends at 0x188
  if (!ok) return Status::InvalidArgument("SEV-SNP report truncated");
  uint8_t fam = 0, mod = 0, step = 0;
  ok = r.ReadU8(&fam) && r.ReadU8(&mod) && r.ReadU8(&step) && r.Skip(0x1A0 - 0x18B) &&
       Copy(r, rep.chip_id) && r.ReadU64Le(&rep.committed_tcb) && r.ReadU8(&rep.current_build) &&
       r.ReadU8(&rep.current_minor) && r.ReadU8(&rep.current_major) && r.Skip(1) &&
       r.ReadU8(&rep.committed_build) && r.ReadU8(&rep.committed_minor) &&
       r.ReadU8(&rep.committed_major) && r.Skip(1) && r.ReadU64Le(&rep.launch_tcb);  // 0x1F8
  if (!ok) return Status::InvalidArgument("SEV-SNP report truncated");
  if (rep.version >= 3) {
    rep.cpuid_fam_id = fam;
    rep.cpuid_mod_id = mod;
    rep.cpuid_step = step;
  }
  uint64_t launch_mit = 0, current_mit = 0;
  ok = r.ReadU64Le(&launch_mit) && r.ReadU64Le(&current_mit) && r.Skip(kSignedSize - 0x208) &&
       Copy(r, rep.signature_r) && Copy(r, rep.signature_s);
  if (!ok) return Status::InvalidArgument("SEV-SNP report truncated");
  if (rep.version >= 5) {
    rep.launch_mit_vector = launch_mit;
    rep.current_mit_vector = current_mit;
  }
  rep.author_key_en = (rep.key_info & 1) != 0;
  rep.mask_chip_key = (rep.key_info & 2) != 0;
  rep.signing_key = static_cast<uint8_t>((rep.key_info >> 2) & 7);
  if (rep.signing_key != static_cast<uint8_t>(SigningKey::kVcek) &&
      rep.signing_key != static_cast<uint8_t>(SigningKey::kVlek) &&
      rep.signing_key != static_cast<uint8_t>(SigningKey::kNone)) {
    return Status::InvalidArgument("SEV-SNP report has reserved signing_key value " +
                                   std::to_string(rep.signing_key));
  }
  return rep;
}

Result<Bytes> DecodeSnpReportInput(ByteSpan input) {
  Bytes b = attest_internal::DecodeEvidenceText(input);
  if (b.size() != kReportSize) {
    return Status::InvalidArgument("SEV-SNP report must be " + std::to_string(kReportSize) +
                                   " bytes (binary, hex or base64 text), got " + std::to_string(b.size()));
  }
  return b;
}

namespace {

enum class CertSlot { kNone, kVcek, kVlek, kAsk, kArk };

struct KnownGuid {
  std::array<uint8_t, 16> rfc;  // RFC 4122 byte order
  CertSlot slot;
  const char* name;
};

constexpr KnownGuid kCertGuids[] = {
    {{0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd},
     CertSlot::kVcek, "VCEK"},
    {{0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1},
     CertSlot::kVlek, "VLEK"},
    {{0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82},
     CertSlot::kAsk, "ASK"},
    {{0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae},
     CertSlot::kArk, "ARK"},
};

constexpr size_t kCertEntrySize = 24;

// The slot of a GUID in either byte order (RFC 4122, or mixed-endian with
// the first three fields little endian).
const KnownGuid* FindGuid(ByteSpan g) {
  for (const auto& k : kCertGuids) {
    if (std::equal(k.rfc.begin(), k.rfc.end(), g.begin())) return &k;
    const std::array<uint8_t, 8> mixed = {k.rfc[3], k.rfc[2], k.rfc[1], k.rfc[0],
                                          k.rfc[5], k.rfc[4], k.rfc[7], k.rfc[6]};
    if (std::equal(mixed.begin(), mixed.end(), g.begin()) &&
        std::equal(k.rfc.begin() + 8, k.rfc.end(), g.begin() + 8)) {
      return &k;
    }
  }
  return nullptr;
}

}  // namespace

bool LooksLikeSnpCertTable(ByteSpan bytes) {
  return bytes.size() >= 2 * kCertEntrySize && FindGuid(bytes.first(16)) != nullptr;
}

Result<SnpCertTable> ParseSnpCertTable(ByteSpan table) {
  auto bad = [](const std::string& why) {
    return Status::InvalidArgument("SEV-SNP certificate table: " + why);
  };
  if (table.size() > kMaxCertTableSize) {
    return bad("larger than " + std::to_string(kMaxCertTableSize) + " bytes");
  }
  // Pass 1: the entry list, up to its all-zero terminator.
  struct Entry {
    ByteSpan guid;
    uint32_t offset, length;
  };
  std::vector<Entry> entries;
  ByteReader r(table);
  while (true) {
    Entry e{};
    if (!r.ReadBytes(16, &e.guid) || !r.ReadU32Le(&e.offset) || !r.ReadU32Le(&e.length)) {
      return bad("truncated entry list (no all-zero terminator)");
    }
    if (AllZero(e.guid) && e.offset == 0 && e.length == 0) break;
    if (entries.size() == kMaxCertTableEntries) {
      return bad("more than " + std::to_string(kMaxCertTableEntries) + " entries");
    }
    entries.push_back(e);
  }
  if (entries.empty()) return bad("no entries");
  const uint64_t list_end = (entries.size() + 1) * kCertEntrySize;
  // Pass 2: every entry's bytes lie after the entry list and inside the table.
  SnpCertTable out;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    const std::string where = "entry " + std::to_string(i);
    const uint64_t end = uint64_t{e.offset} + e.length;
    if (e.offset < list_end) return bad(where + " points into the entry list (offset " + std::to_string(e.offset) + ")");
    if (end > table.size()) {
      return bad(where + " (offset " + std::to_string(e.offset) + ", length " + std::to_string(e.length) +
                 ") ends past the table's " + std::to_string(table.size()) + " bytes");
    }
    const KnownGuid* k = FindGuid(e.guid);
    if (k == nullptr) {
      ++out.unknown_entries;
      continue;
    }
    if (e.length == 0) return bad(where + " (" + k->name + ") is empty");
    Bytes* slot = k->slot == CertSlot::kVcek   ? &out.vcek
                  : k->slot == CertSlot::kVlek ? &out.vlek
                  : k->slot == CertSlot::kAsk  ? &out.ask
                                               : &out.ark;
    if (!slot->empty()) return bad(where + " repeats the " + std::string(k->name) + " GUID");
    ByteSpan cert = table.subspan(e.offset, e.length);
    slot->assign(cert.begin(), cert.end());
  }
  return out;
}

Result<VerifiedEvidence> VerifySnpReport(ByteSpan report_bytes, const SnpCollateral& collateral,
                                         const VerifyOptions& options) {
  // ---- 1. Parse --------------------------------------------------------
  auto parsed = ParseSnpReport(report_bytes);
  if (!parsed.ok()) return Fail("snp.parse", parsed.status().message());
  const SnpReport& rep = *parsed;
  if (rep.signature_algo != 1) {
    return Fail("snp.signature_algo",
                "unsupported signature algorithm " + std::to_string(rep.signature_algo) +
                    " (only 1 = ECDSA P-384 with SHA-384)");
  }
  const bool is_vlek = rep.signing_key == static_cast<uint8_t>(SigningKey::kVlek);
  if (rep.signing_key == static_cast<uint8_t>(SigningKey::kNone)) {
    return Fail("snp.signing_key", "the report is not signed (signing_key = none)");
  }
  const std::string vek_name = is_vlek ? "VLEK" : "VCEK";
  const time_t now = attest_internal::ToTimeT(options.now);

  // ---- 2. Certificates ---------------------------------------------------
  auto vek_r = attest_internal::ParseOneCertificate(collateral.vek);
  if (!vek_r.ok()) return Fail("snp.vek_parse", vek_r.status().message());
  X509* vek = vek_r->get();
  const std::string vek_cn = attest_internal::SubjectCommonName(vek);
  if (vek_cn != (is_vlek ? "SEV-VLEK" : "SEV-VCEK")) {
    return Fail("snp.vek_kind", "the report's signing_key is " + vek_name +
                                    " but the certificate's subject is \"" + vek_cn + "\"");
  }
  // The issuer names the product: SEV-<product> (ASK) or SEV-VLEK-<product> (ASVK).
  const std::string issuer_cn = attest_internal::IssuerCommonName(vek);
  const std::string issuer_prefix = is_vlek ? "SEV-VLEK-" : "SEV-";
  Product product = Product::kUnknown;
  if (issuer_cn.rfind(issuer_prefix, 0) == 0) {
    product = ProductFromSuffix(std::string_view(issuer_cn).substr(issuer_prefix.size()));
  }
  if (product == Product::kUnknown) {
    return Fail("snp.product", "unsupported " + vek_name + " issuer \"" + issuer_cn +
                                   "\" (expected " + issuer_prefix + "Milan/Genoa/Turin)");
  }
  if (rep.cpuid_fam_id != 0) {
    Product cpu = ProductFromCpuid(rep.cpuid_fam_id, rep.cpuid_mod_id);
    if (cpu != Product::kUnknown && cpu != product) {
      return Fail("snp.product", "report CPUID says " + std::string(ProductName(cpu)) +
                                     " but the " + vek_name + " is for " +
                                     std::string(ProductName(product)));
    }
  }

  if (collateral.trusted_arks.empty()) {
    return Fail("snp.trust_anchor", "no trusted AMD root key (ARK) is configured");
  }
  std::vector<X509Ptr> trusted;
  for (const Bytes& t : collateral.trusted_arks) {
    auto certs = attest_internal::ParseCertificates(t);
    if (!certs.ok()) return Fail("snp.trust_anchor", certs.status().message());
    for (auto& c : *certs) trusted.push_back(std::move(c));
  }
  std::vector<X509Ptr> chain;
  if (!collateral.chain.empty()) {
    auto certs = attest_internal::ParseCertificates(collateral.chain);
    if (!certs.ok()) return Fail("snp.chain_parse", certs.status().message());
    chain = std::move(*certs);
  }
  // Intermediate: the chain certificate whose subject is the VEK's issuer.
  X509* intermediate = nullptr;
  for (auto& c : chain) {
    if (X509_NAME_cmp(X509_get_subject_name(c.get()), X509_get_issuer_name(vek)) == 0) {
      intermediate = c.get();
      break;
    }
  }
  const std::string inter_name = is_vlek ? "ASVK" : "ASK";
  if (intermediate == nullptr) {
    return Fail("snp.chain_incomplete", "no " + inter_name + " (\"" + issuer_cn +
                                           "\") in the certificate chain");
  }
  // ARK: the chain's self-signed issuer of the intermediate, else a trusted one.
  X509* ark = nullptr;
  for (auto& c : chain) {
    if (X509_NAME_cmp(X509_get_subject_name(c.get()), X509_get_issuer_name(intermediate)) == 0 &&
        X509_NAME_cmp(X509_get_subject_name(c.get()), X509_get_issuer_name(c.get())) == 0) {
      ark = c.get();
      break;
    }
  }
  if (ark == nullptr) {
    for (auto& c : trusted) {
      if (X509_NAME_cmp(X509_get_subject_name(c.get()), X509_get_issuer_name(intermediate)) == 0) {
        ark = c.get();
        break;
      }
    }
  }
  if (ark == nullptr) {
    return Fail("snp.chain_incomplete", "no ARK issuing the " + inter_name + " was found");
  }
  bool anchored = false;
  for (auto& t : trusted) anchored = anchored || attest_internal::SamePublicKey(ark, t.get());
  if (!anchored) {
    return Fail("snp.untrusted_root", "the ARK \"" + attest_internal::SubjectCommonName(ark) +
                                          "\" is not one of the trusted AMD root keys");
  }
  if (attest_internal::SubjectCommonName(ark) != "ARK-" + std::string(ProductName(product))) {
    return Fail("snp.product", "the ARK does not belong to product " +
                                   std::string(ProductName(product)));
  }
  // Signatures: all three RSA-PSS / SHA-384.
  struct Link {
    X509* cert;
    X509* issuer;
    std::string what;
    const char* check;
  };
  const Link links[] = {
      {ark, ark, "ARK (self-signed)", "snp.ark_signature"},
      {intermediate, ark, inter_name, "snp.ask_signature"},
      {vek, intermediate, vek_name, "snp.vek_signature"},
  };
  for (const Link& l : links) {
    if (!IsRsaPssSha384(l.cert)) {
      return Fail(l.check, l.what + " is not signed with RSA-PSS / SHA-384");
    }
    CITADEL_RETURN_IF_ERROR(attest_internal::CheckSignedBy(l.cert, l.issuer, l.check, l.what));
  }
  CITADEL_RETURN_IF_ERROR(attest_internal::CheckValidity(ark, now, "snp.ark_validity", "ARK"));
  CITADEL_RETURN_IF_ERROR(
      attest_internal::CheckValidity(intermediate, now, "snp.ask_validity", inter_name));
  CITADEL_RETURN_IF_ERROR(attest_internal::CheckValidity(vek, now, "snp.vek_validity", vek_name));

  // ---- 2b. AMD CRL (KDS /vcek/v1/<product>/crl): issued by the ARK, lists
  // revoked ASKs/ASVKs. Optional collateral; when one from this ARK is
  // given it must verify, be current, and not list the intermediate.
  std::string crl_state = "absent";
  for (const Bytes& der : collateral.crls) {
    const unsigned char* p = der.data();
    std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> crl(
        d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())), &X509_CRL_free);
    if (!crl || p != der.data() + der.size()) {
      ERR_clear_error();
      return Fail("snp.crl", "an AMD CRL is not a DER CRL");
    }
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ark)) != 0) continue;
    EVP_PKEY* ark_key = X509_get0_pubkey(ark);
    if (ark_key == nullptr || X509_CRL_verify(crl.get(), ark_key) != 1) {
      ERR_clear_error();
      return Fail("snp.crl", "the CRL of " + attest_internal::SubjectCommonName(ark) +
                                 " does not verify with the ARK's key");
    }
    time_t t = now;
    const ASN1_TIME* last = X509_CRL_get0_lastUpdate(crl.get());
    const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
    if (last == nullptr || next == nullptr) return Fail("snp.crl", "the AMD CRL lacks thisUpdate/nextUpdate");
    if (X509_cmp_time(last, &t) > 0) return Fail("snp.crl_validity", "the AMD CRL is not yet valid");
    if (X509_cmp_time(next, &t) < 0) return Fail("snp.crl_validity", "the AMD CRL has expired (past nextUpdate)");
    X509_REVOKED* revoked = nullptr;
    if (X509_CRL_get0_by_cert(crl.get(), &revoked, intermediate) == 1) {
      return Fail("snp.revoked", "the " + inter_name + " is revoked by the AMD CRL");
    }
    ERR_clear_error();
    crl_state = "checked";
  }

  // ---- 3. Report signature ----------------------------------------------
  EVP_PKEY* vek_key = X509_get0_pubkey(vek);
  if (vek_key == nullptr || EVP_PKEY_get_base_id(vek_key) != EVP_PKEY_EC ||
      EVP_PKEY_get_bits(vek_key) != 384) {
    ERR_clear_error();
    return Fail("snp.vek_key", "the " + vek_name + " key is not an ECDSA P-384 key");
  }
  std::array<uint8_t, kSignatureComponentSize> r_be, s_be;
  std::reverse_copy(rep.signature_r.begin(), rep.signature_r.end(), r_be.begin());
  std::reverse_copy(rep.signature_s.begin(), rep.signature_s.end(), s_be.begin());
  if (!attest_internal::VerifyEcdsaRaw(vek_key, "SHA384", report_bytes.first(kSignedSize), r_be,
                                       s_be)) {
    return Fail("snp.report_signature",
                "the report signature does not verify with the " + vek_name + " key");
  }

  // ---- 4. Reported TCB vs the VEK's TCB extensions ------------------------
  const bool turin = product == Product::kTurin;
  TcbParts cert_tcb;
  bool present = false;
  CITADEL_ASSIGN_OR_RETURN(cert_tcb.boot_loader, TcbExtension(vek, kOidBlSpl, "blSPL", true, &present));
  CITADEL_ASSIGN_OR_RETURN(cert_tcb.tee, TcbExtension(vek, kOidTeeSpl, "teeSPL", true, &present));
  CITADEL_ASSIGN_OR_RETURN(cert_tcb.snp, TcbExtension(vek, kOidSnpSpl, "snpSPL", true, &present));
  CITADEL_ASSIGN_OR_RETURN(cert_tcb.microcode,
                           TcbExtension(vek, kOidUcodeSpl, "ucodeSPL", true, &present));
  CITADEL_ASSIGN_OR_RETURN(cert_tcb.fmc, TcbExtension(vek, kOidFmcSpl, "fmcSPL", turin, &present));
  const TcbParts reported = DecodeTcb(rep.reported_tcb, product);
  if (!(reported == cert_tcb)) {
    auto fmt = [turin](const TcbParts& t) {
      std::string s = (turin ? "fmc " + std::to_string(t.fmc) + ", " : std::string()) + "bl " +
                      std::to_string(t.boot_loader) + ", tee " + std::to_string(t.tee) +
                      ", snp " + std::to_string(t.snp) + ", ucode " + std::to_string(t.microcode);
      return s;
    };
    return Fail("snp.reported_tcb", "reported_tcb (" + fmt(reported) + ") differs from the " +
                                        vek_name + "'s TCB (" + fmt(cert_tcb) + ")");
  }
  // The product name extension, when present, must agree with the chain.
  {
    auto pn = attest_internal::ExtensionValue(vek, kOidProductName);
    if (!pn.ok()) return Fail("snp.vek_extensions", pn.status().message());
    if (pn->has_value()) {
      const Bytes& v = **pn;
      // IA5String: 16 len value
      ByteReader r(v);
      uint8_t tag = 0, len = 0;
      ByteSpan name;
      if (!r.ReadU8(&tag) || tag != 0x16 || !r.ReadU8(&len) || !r.ReadBytes(len, &name) ||
          !r.empty()) {
        return Fail("snp.vek_extensions", "malformed productName extension");
      }
      std::string_view pname = AsStringView(name);
      if (pname.substr(0, pname.find('-')) != ProductName(product)) {
        return Fail("snp.product", "the " + vek_name + " productName \"" + std::string(pname) +
                                       "\" does not match its issuer");
      }
    }
  }
  (void)kOidStructVersion;

  // ---- 5. Chip ID vs hwID (VCEK only) -------------------------------------
  bool chip_masked = false;
  if (!is_vlek) {
    if (rep.mask_chip_key) {
      chip_masked = true;
      if (!AllZero(rep.chip_id)) {
        return Fail("snp.chip_id", "MASK_CHIP_KEY is set but chip_id is not zero");
      }
    } else {
      auto hw = attest_internal::ExtensionValue(vek, kOidHwId);
      if (!hw.ok()) return Fail("snp.vek_extensions", hw.status().message());
      if (!hw->has_value()) return Fail("snp.chip_id", "the VCEK has no hwID extension");
      ByteSpan id = **hw;
      // Some encoders wrap the value in an OCTET STRING (04 len ...).
      if ((id.size() == 66 && id[0] == 0x04 && id[1] == 0x40) ||
          (id.size() == 10 && id[0] == 0x04 && id[1] == 0x08)) {
        id = id.subspan(2);
      }
      const size_t want = turin ? 8 : 64;
      if (id.size() != want) {
        return Fail("snp.chip_id", "the VCEK hwID has " + std::to_string(id.size()) +
                                       " bytes, expected " + std::to_string(want));
      }
      if (!std::equal(id.begin(), id.end(), rep.chip_id.begin())) {
        return Fail("snp.chip_id", "chip_id does not equal the VCEK's hwID");
      }
    }
  }

  // ---- Result -------------------------------------------------------------
  VerifiedEvidence ev;
  ev.kind = EvidenceKind::kSevSnp;
  ev.simulation = false;
  ev.measurement.assign(rep.measurement.begin(), rep.measurement.end());
  std::copy(rep.report_data.begin(), rep.report_data.end(), ev.report_data.begin());
  auto& c = ev.claims;
  c["platform"] = "sev-snp";
  c["measurement"] = Hex(rep.measurement);
  c["report_data"] = Hex(rep.report_data);
  c["snp.version"] = std::to_string(rep.version);
  c["snp.guest_svn"] = std::to_string(rep.guest_svn);
  c["snp.policy"] = Hex64(rep.policy);
  c["snp.debug"] = rep.debug_allowed() ? "true" : "false";
  c["snp.migrate_ma"] = rep.migrate_ma_allowed() ? "true" : "false";
  c["snp.smt"] = (rep.policy & kPolicySmt) ? "true" : "false";
  c["snp.vmpl"] = std::to_string(rep.vmpl);
  c["snp.signing_key"] = is_vlek ? "vlek" : "vcek";
  c["snp.product"] = std::string(ProductName(product));
  c["snp.host_data"] = Hex(rep.host_data);
  c["snp.family_id"] = Hex(rep.family_id);
  c["snp.image_id"] = Hex(rep.image_id);
  c["snp.id_key_digest"] = Hex(rep.id_key_digest);
  c["snp.author_key_digest"] = Hex(rep.author_key_digest);
  c["snp.report_id"] = Hex(rep.report_id);
  c["snp.chip_id"] = Hex(rep.chip_id);
  c["snp.chip_id_masked"] = chip_masked ? "true" : "false";
  c["snp.crl"] = crl_state;
  c["snp.reported_tcb"] = Hex64(rep.reported_tcb);
  c["snp.current_tcb"] = Hex64(rep.current_tcb);
  c["snp.committed_tcb"] = Hex64(rep.committed_tcb);
  c["snp.launch_tcb"] = Hex64(rep.launch_tcb);
  c["snp.platform_info"] = Hex64(rep.platform_info);
  if (turin) c["snp.tcb.fmc"] = std::to_string(reported.fmc);
  c["snp.tcb.boot_loader"] = std::to_string(reported.boot_loader);
  c["snp.tcb.tee"] = std::to_string(reported.tee);
  c["snp.tcb.snp"] = std::to_string(reported.snp);
  c["snp.tcb.microcode"] = std::to_string(reported.microcode);
  return ev;
}

}  // namespace citadel::snp
