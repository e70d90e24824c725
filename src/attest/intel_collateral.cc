// Intel DCAP collateral: TCB Info, QE Identity and CRL checks, PCK
// certificate SGX extension parsing, TCB level selection, and importers for
// the collateral formats found in the test vectors.
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

#include "attest_util.h"
#include "citadel/attest/intel_quote.h"
#include "citadel/byte_reader.h"
#include "intel_internal.h"

namespace citadel::intel {
namespace {

using attest_internal::Fail;
using attest_internal::Hex;
using json = nlohmann::json;

struct CrlDeleter { void operator()(X509_CRL* c) const { X509_CRL_free(c); } };
using X509CrlPtr = std::unique_ptr<X509_CRL, CrlDeleter>;
struct BioDeleter { void operator()(BIO* b) const { BIO_free(b); } };

// ---- small helpers -----------------------------------------------------------

// "2025-06-19T10:56:11Z" (optionally with fractional seconds) -> time_t.
bool ParseIsoTime(const std::string& s, time_t* out) {
  int y, mo, d, h, mi, sec;
  char tail[16] = {0};
  if (s.size() < 20 || s.size() > 30) return false;
  int n = std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%15s", &y, &mo, &d, &h, &mi, &sec, tail);
  if (n != 7) return false;
  std::string t(tail);
  if (t != "Z" && !(t.size() >= 3 && t[0] == '.' && t.back() == 'Z')) return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  *out = timegm(&tm);
  return true;
}

bool GetString(const json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

bool GetUnsigned(const json& j, const char* key, uint64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return false;
  *out = it->get<uint64_t>();
  return true;
}

bool HexField(const json& j, const char* key, size_t size, Bytes* out) {
  std::string s;
  if (!GetString(j, key, &s) || s.size() != 2 * size) return false;
  Bytes b = attest_internal::DecodeBinaryOrHexText(AsBytes(s));
  if (b.size() != size) return false;
  *out = std::move(b);
  return true;
}

std::string Lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// Exact bytes of the object value of top-level key `key` in `text`.
Result<std::string> RawObjectValue(std::string_view text, std::string_view key) {
  int depth = 0;
  bool in_string = false;
  size_t string_start = 0;
  std::string_view last_string;
  bool expect_value_for_key = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        last_string = text.substr(string_start, i - string_start);
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      string_start = i + 1;
    } else if (c == ':') {
      expect_value_for_key = depth == 1 && last_string == key;
    } else if (c == '{' || c == '[') {
      if (expect_value_for_key && c == '{') {
        // Find the matching brace.
        int d = 0;
        bool s = false;
        for (size_t k = i; k < text.size(); ++k) {
          char e = text[k];
          if (s) {
            if (e == '\\') ++k;
            else if (e == '"') s = false;
            continue;
          }
          if (e == '"') s = true;
          else if (e == '{' || e == '[') ++d;
          else if (e == '}' || e == ']') {
            if (--d == 0) return std::string(text.substr(i, k - i + 1));
          }
        }
        return Status::InvalidArgument("unterminated JSON object");
      }
      ++depth;
      expect_value_for_key = false;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == ',') {
      expect_value_for_key = false;
    }
  }
  return Status::InvalidArgument("JSON has no object member \"" + std::string(key) + "\"");
}

// ECDSA P-256/SHA-256 with a raw r||s (64 bytes) or DER signature.
bool VerifyP256Any(EVP_PKEY* key, ByteSpan msg, ByteSpan sig) {
  if (sig.size() == 64) {
    return attest_internal::VerifyEcdsaRaw(key, "SHA256", msg, sig.first(32), sig.subspan(32));
  }
  const unsigned char* p = sig.data();
  ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  if (s == nullptr) {
    ERR_clear_error();
    return false;
  }
  std::array<uint8_t, 32> r{}, ss{};
  bool ok = BN_bn2binpad(ECDSA_SIG_get0_r(s), r.data(), 32) == 32 &&
            BN_bn2binpad(ECDSA_SIG_get0_s(s), ss.data(), 32) == 32;
  ECDSA_SIG_free(s);
  ERR_clear_error();
  return ok && attest_internal::VerifyEcdsaRaw(key, "SHA256", msg, r, ss);
}

// ---- DER walking for the PCK SGX extension -------------------------------------

bool ReadTlv(ByteReader& r, uint8_t* tag, ByteReader* content) {
  uint8_t len0 = 0;
  if (!r.ReadU8(tag) || !r.ReadU8(&len0)) return false;
  size_t len = len0;
  if (len0 == 0x81) {
    uint8_t l = 0;
    if (!r.ReadU8(&l) || l < 0x80) return false;
    len = l;
  } else if (len0 == 0x82) {
    uint16_t l = 0;
    if (!r.ReadU16Be(&l) || l < 0x100) return false;
    len = l;
  } else if (len0 > 0x80) {
    return false;
  } else if (len0 == 0x80) {
    return false;  // indefinite length is not DER
  }
  return r.ReadSub(len, content);
}

// OID 1.2.840.113741.1.13.1 content bytes.
constexpr uint8_t kSgxExtOid[] = {0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01};

struct PckTcb {
  std::array<uint8_t, 16> comp_svn{};
  uint64_t pce_svn = 0;
  Bytes cpu_svn;
  Bytes pce_id;
  Bytes fmspc;
  bool have_tcb = false;
};

// The sub-arc after the SGX extension prefix (e.g. {4} for FMSPC, {2,17}).
bool OidSuffix(ByteSpan oid, std::vector<uint8_t>* suffix) {
  if (oid.size() <= sizeof(kSgxExtOid) || !std::equal(std::begin(kSgxExtOid), std::end(kSgxExtOid), oid.begin())) {
    return false;
  }
  suffix->assign(oid.begin() + sizeof(kSgxExtOid), oid.end());
  for (uint8_t b : *suffix) {
    if (b & 0x80) return false;  // multi-byte arcs are not used here
  }
  return true;
}

bool ParseDerUint(ByteSpan content, uint64_t* out) {
  if (content.empty() || content.size() > 8 || (content[0] & 0x80)) return false;
  uint64_t v = 0;
  for (uint8_t b : content) v = (v << 8) | b;
  *out = v;
  return true;
}

Result<PckTcb> ParsePckExtension(X509* pck) {
  auto ext = attest_internal::ExtensionValue(pck, "1.2.840.113741.1.13.1");
  if (!ext.ok()) return ext.status();
  if (!ext->has_value()) return Status::AttestationFailed("the PCK certificate has no SGX extension");
  ByteReader top(**ext);
  uint8_t tag = 0;
  ByteReader seq;
  if (!ReadTlv(top, &tag, &seq) || tag != 0x30 || !top.empty()) {
    return Status::AttestationFailed("malformed SGX extension");
  }
  PckTcb out;
  while (!seq.empty()) {
    ByteReader item, oid_r, value;
    uint8_t t1 = 0, t2 = 0, t3 = 0;
    if (!ReadTlv(seq, &t1, &item) || t1 != 0x30 || !ReadTlv(item, &t2, &oid_r) || t2 != 0x06 ||
        !ReadTlv(item, &t3, &value) || !item.empty()) {
      return Status::AttestationFailed("malformed SGX extension entry");
    }
    std::vector<uint8_t> sfx;
    if (!OidSuffix(oid_r.rest(), &sfx)) return Status::AttestationFailed("unexpected OID in SGX extension");
    if (sfx.size() != 1) continue;
    if (sfx[0] == 3 && t3 == 0x04) {
      out.pce_id.assign(value.rest().begin(), value.rest().end());
    } else if (sfx[0] == 4 && t3 == 0x04) {
      out.fmspc.assign(value.rest().begin(), value.rest().end());
    } else if (sfx[0] == 2 && t3 == 0x30) {
      out.have_tcb = true;
      ByteReader tcb = value;
      int seen = 0;
      while (!tcb.empty()) {
        ByteReader comp, coid, cval;
        uint8_t a = 0, b = 0, c = 0;
        if (!ReadTlv(tcb, &a, &comp) || a != 0x30 || !ReadTlv(comp, &b, &coid) || b != 0x06 ||
            !ReadTlv(comp, &c, &cval) || !comp.empty()) {
          return Status::AttestationFailed("malformed SGX TCB extension");
        }
        std::vector<uint8_t> cs;
        if (!OidSuffix(coid.rest(), &cs) || cs.size() != 2 || cs[0] != 2) {
          return Status::AttestationFailed("unexpected OID in SGX TCB extension");
        }
        uint64_t v = 0;
        if (cs[1] >= 1 && cs[1] <= 16) {
          if (c != 0x02 || !ParseDerUint(cval.rest(), &v) || v > 255) {
            return Status::AttestationFailed("bad SGX TCB component SVN");
          }
          out.comp_svn[cs[1] - 1] = static_cast<uint8_t>(v);
          seen |= 1 << cs[1];
        } else if (cs[1] == 17) {
          if (c != 0x02 || !ParseDerUint(cval.rest(), &v) || v > 0xFFFF) {
            return Status::AttestationFailed("bad PCESVN");
          }
          out.pce_svn = v;
          seen |= 1 << 17;
        } else if (cs[1] == 18 && c == 0x04) {
          out.cpu_svn.assign(cval.rest().begin(), cval.rest().end());
        }
      }
      if ((seen & 0x3FFFE) != 0x3FFFE) return Status::AttestationFailed("incomplete SGX TCB extension");
    }
  }
  if (!out.have_tcb || out.fmspc.size() != 6 || out.pce_id.size() != 2) {
    return Status::AttestationFailed("SGX extension lacks TCB, FMSPC or PCE-ID");
  }
  return out;
}

// ---- signed JSON (TCB Info / QE Identity) -----------------------------------

Result<json> VerifySignedJson(const SignedJson& sj, const char* what, const char* check,
                              const std::vector<X509Ptr>& trusted, time_t now) {
  const std::string w(what);
  auto certs = attest_internal::ParseCertificates(sj.issuer_chain);
  if (!certs.ok()) return Fail(check, w + " issuer chain: " + certs.status().message());
  X509* signer = nullptr;
  X509* root = nullptr;
  for (auto& c : *certs) {
    std::string cn = attest_internal::SubjectCommonName(c.get());
    if (cn == "Intel SGX TCB Signing") signer = c.get();
    if (cn == "Intel SGX Root CA") root = c.get();
  }
  if (signer == nullptr) return Fail(check, w + " issuer chain lacks the Intel SGX TCB Signing certificate");
  if (root == nullptr) {
    for (auto& t : trusted) {
      if (X509_NAME_cmp(X509_get_subject_name(t.get()), X509_get_issuer_name(signer)) == 0) root = t.get();
    }
  }
  if (root == nullptr) return Fail(check, w + " issuer chain lacks the root CA");
  bool anchored = false;
  for (auto& t : trusted) anchored = anchored || attest_internal::SamePublicKey(root, t.get());
  if (!anchored) return Fail(check, w + " signing chain does not end in a trusted Intel root");
  CITADEL_RETURN_IF_ERROR(attest_internal::CheckSignedBy(root, root, check, w + " root CA"));
  CITADEL_RETURN_IF_ERROR(attest_internal::CheckSignedBy(signer, root, check, w + " signing certificate"));
  CITADEL_RETURN_IF_ERROR(attest_internal::CheckValidity(signer, now, check, w + " signing certificate"));
  EVP_PKEY* key = X509_get0_pubkey(signer);
  if (key == nullptr || !VerifyP256Any(key, AsBytes(sj.body), sj.signature)) {
    ERR_clear_error();
    return Fail(check, w + " signature does not verify over its exact body bytes");
  }
  json j = json::parse(sj.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Fail(check, w + " is not a JSON object");
  std::string issue, next;
  time_t ti = 0, tn = 0;
  if (!GetString(j, "issueDate", &issue) || !GetString(j, "nextUpdate", &next) ||
      !ParseIsoTime(issue, &ti) || !ParseIsoTime(next, &tn)) {
    return Fail(check, w + " lacks a valid issueDate/nextUpdate");
  }
  if (now < ti) return Fail(std::string(check) + "_validity", w + " is not yet valid (issued " + issue + ")");
  if (now > tn) return Fail(std::string(check) + "_validity", w + " has expired (nextUpdate " + next + ")");
  return j;
}

// ---- CRLs ----------------------------------------------------------------------

Result<std::vector<X509CrlPtr>> ParseCrls(const std::vector<Bytes>& in) {
  std::vector<X509CrlPtr> out;
  for (const Bytes& b : in) {
    std::string_view text = AsStringView(b);
    if (text.find("-----BEGIN X509 CRL-----") != std::string_view::npos) {
      std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(b.data(), static_cast<int>(b.size())));
      while (true) {
        X509_CRL* c = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr);
        if (c == nullptr) break;
        out.emplace_back(c);
      }
      ERR_clear_error();
    } else {
      const unsigned char* p = b.data();
      X509_CRL* c = d2i_X509_CRL(nullptr, &p, static_cast<long>(b.size()));
      if (c == nullptr) {
        ERR_clear_error();
        return Status::AttestationFailed("a CRL is neither PEM nor DER");
      }
      out.emplace_back(c);
    }
  }
  return out;
}

// Finds the CRL issued by `issuer`, checks its signature and window.
// Returns nullptr (OK) if none was supplied.
Result<X509_CRL*> FindCrl(std::vector<X509CrlPtr>& crls, X509* issuer, time_t now, const char* check,
                          const std::string& what) {
  for (auto& c : crls) {
    if (X509_NAME_cmp(X509_CRL_get_issuer(c.get()), X509_get_subject_name(issuer)) != 0) continue;
    EVP_PKEY* key = X509_get0_pubkey(issuer);
    if (key == nullptr || X509_CRL_verify(c.get(), key) != 1) {
      ERR_clear_error();
      return Fail(check, what + " signature does not verify");
    }
    time_t t = now;
    const ASN1_TIME* last = X509_CRL_get0_lastUpdate(c.get());
    const ASN1_TIME* next = X509_CRL_get0_nextUpdate(c.get());
    if (last == nullptr || next == nullptr) return Fail(check, what + " lacks thisUpdate/nextUpdate");
    if (X509_cmp_time(last, &t) > 0) return Fail(std::string(check) + "_validity", what + " is not yet valid");
    if (X509_cmp_time(next, &t) < 0) return Fail(std::string(check) + "_validity", what + " has expired");
    return c.get();
  }
  return static_cast<X509_CRL*>(nullptr);
}

bool IsRevoked(X509_CRL* crl, X509* cert) {
  X509_REVOKED* rev = nullptr;
  int r = X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(cert));
  ERR_clear_error();
  return r == 1;
}

// ---- TCB level selection ---------------------------------------------------------

struct LevelResult {
  std::string status;
  std::vector<std::string> advisories;
  std::string tcb_date;
};

bool LevelSgxComponents(const json& tcb, uint64_t version, std::array<uint64_t, 16>* comps,
                        uint64_t* pcesvn) {
  if (!GetUnsigned(tcb, "pcesvn", pcesvn)) return false;
  if (version == 2) {
    for (int i = 0; i < 16; ++i) {
      char key[24];
      std::snprintf(key, sizeof(key), "sgxtcbcomp%02dsvn", i + 1);
      if (!GetUnsigned(tcb, key, &(*comps)[i])) return false;
    }
    return true;
  }
  auto it = tcb.find("sgxtcbcomponents");
  if (it == tcb.end() || !it->is_array() || it->size() != 16) return false;
  for (size_t i = 0; i < 16; ++i) {
    if (!(*it)[i].is_object() || !GetUnsigned((*it)[i], "svn", &(*comps)[i])) return false;
  }
  return true;
}

Result<LevelResult> SelectTcbLevel(const json& info, uint64_t version, const PckTcb& pck,
                                   const Quote& q) {
  auto levels = info.find("tcbLevels");
  if (levels == info.end() || !levels->is_array()) return Fail("intel.tcb_info", "TCB Info has no tcbLevels");
  for (const json& level : *levels) {
    if (!level.is_object()) return Fail("intel.tcb_info", "malformed TCB level");
    auto tcb = level.find("tcb");
    if (tcb == level.end() || !tcb->is_object()) return Fail("intel.tcb_info", "TCB level lacks tcb");
    std::array<uint64_t, 16> comps{};
    uint64_t pcesvn = 0;
    if (!LevelSgxComponents(*tcb, version, &comps, &pcesvn)) {
      return Fail("intel.tcb_info", "malformed SGX TCB components in a TCB level");
    }
    bool match = pcesvn <= pck.pce_svn;
    for (size_t i = 0; i < 16 && match; ++i) match = comps[i] <= pck.comp_svn[i];
    if (match && q.is_tdx()) {
      auto tdx = tcb->find("tdxtcbcomponents");
      if (tdx == tcb->end() || !tdx->is_array() || tdx->size() != 16) {
        return Fail("intel.tcb_info", "TDX TCB level lacks tdxtcbcomponents");
      }
      for (size_t i = 0; i < 16 && match; ++i) {
        uint64_t svn = 0;
        if (!(*tdx)[i].is_object() || !GetUnsigned((*tdx)[i], "svn", &svn)) {
          return Fail("intel.tcb_info", "malformed tdxtcbcomponents");
        }
        match = svn <= q.td.tee_tcb_svn[i];
      }
    }
    if (!match) continue;
    LevelResult r;
    if (!GetString(level, "tcbStatus", &r.status)) return Fail("intel.tcb_info", "TCB level lacks tcbStatus");
    GetString(level, "tcbDate", &r.tcb_date);
    auto adv = level.find("advisoryIDs");
    if (adv != level.end()) {
      if (!adv->is_array()) return Fail("intel.tcb_info", "advisoryIDs is not an array");
      for (const json& a : *adv) {
        if (!a.is_string()) return Fail("intel.tcb_info", "advisory ID is not a string");
        r.advisories.push_back(a.get<std::string>());
      }
    }
    return r;
  }
  return Fail("intel.tcb_no_match",
              "no TCB level in the TCB Info matches the platform's TCB (PCK certificate SVNs" +
                  std::string(q.is_tdx() ? " and TEE TCB SVN" : "") + "): the platform is not supported");
}

const char* kKnownStatuses[] = {"UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
                                "ConfigurationAndSWHardeningNeeded", "OutOfDate",
                                "OutOfDateConfigurationNeeded", "Revoked"};

bool KnownStatus(const std::string& s) {
  return std::find(std::begin(kKnownStatuses), std::end(kKnownStatuses), s) != std::end(kKnownStatuses);
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ",";
    out += s;
  }
  return out;
}

bool MaskedEqual(ByteSpan value, ByteSpan expected, ByteSpan mask) {
  if (value.size() != expected.size() || mask.size() != expected.size()) return false;
  for (size_t i = 0; i < value.size(); ++i) {
    if ((value[i] & mask[i]) != (expected[i] & mask[i])) return false;
  }
  return true;
}

Status CheckTdxModule(const json& info, const Quote& q, std::map<std::string, std::string>* claims) {
  auto mod = info.find("tdxModule");
  if (mod == info.end()) return Status::Ok();
  Bytes mrsigner, attrs, mask;
  if (!mod->is_object() || !HexField(*mod, "mrsigner", 48, &mrsigner) ||
      !HexField(*mod, "attributes", 8, &attrs) || !HexField(*mod, "attributesMask", 8, &mask)) {
    return Fail("intel.tcb_info", "malformed tdxModule");
  }
  if (!std::equal(mrsigner.begin(), mrsigner.end(), q.td.mr_signer_seam.begin())) {
    return Fail("intel.tdx_module", "mr_signer_seam does not match the TCB Info's TDX module signer");
  }
  std::array<uint8_t, 8> seam{};
  for (int i = 0; i < 8; ++i) seam[i] = static_cast<uint8_t>(q.td.seam_attributes >> (8 * i));
  if (!MaskedEqual(seam, attrs, mask)) {
    return Fail("intel.tdx_module", "SEAM attributes do not match the TCB Info's TDX module");
  }
  auto ids = info.find("tdxModuleIdentities");
  if (ids == info.end()) return Status::Ok();
  if (!ids->is_array()) return Fail("intel.tcb_info", "malformed tdxModuleIdentities");
  char want[16];
  std::snprintf(want, sizeof(want), "TDX_%02X", q.td.tee_tcb_svn[1]);
  for (const json& id : *ids) {
    std::string name;
    if (!id.is_object() || !GetString(id, "id", &name)) return Fail("intel.tcb_info", "malformed TDX module identity");
    if (name != want) continue;
    Bytes m, a, am;
    if (!HexField(id, "mrsigner", 48, &m) || !HexField(id, "attributes", 8, &a) ||
        !HexField(id, "attributesMask", 8, &am)) {
      return Fail("intel.tcb_info", "malformed TDX module identity");
    }
    if (!std::equal(m.begin(), m.end(), q.td.mr_signer_seam.begin()) || !MaskedEqual(seam, a, am)) {
      return Fail("intel.tdx_module", std::string("the TDX module does not match identity ") + want);
    }
    auto levels = id.find("tcbLevels");
    if (levels == id.end() || !levels->is_array()) return Fail("intel.tcb_info", "TDX module identity lacks tcbLevels");
    for (const json& l : *levels) {
      uint64_t isvsvn = 0;
      std::string status;
      auto t = l.find("tcb");
      if (!l.is_object() || t == l.end() || !t->is_object() || !GetUnsigned(*t, "isvsvn", &isvsvn) ||
          !GetString(l, "tcbStatus", &status)) {
        return Fail("intel.tcb_info", "malformed TDX module TCB level");
      }
      if (isvsvn <= q.td.tee_tcb_svn[0]) {
        (*claims)["tdx.module_tcb_status"] = status;
        if (status == "Revoked") return Fail("intel.tdx_module", "the TDX module TCB is revoked");
        return Status::Ok();
      }
    }
    return Fail("intel.tdx_module_no_match", std::string("no TCB level of TDX module identity ") + want +
                                                 " matches the module's SVN");
  }
  // tee_tcb_svn[1] == 0 (TDX 1.0 modules) need no identity entry.
  if (q.td.tee_tcb_svn[1] != 0) {
    return Fail("intel.tdx_module_no_match", std::string("the TCB Info has no TDX module identity ") + want);
  }
  return Status::Ok();
}

Status CheckQeIdentity(const json& qi, const Quote& q, std::map<std::string, std::string>* claims) {
  std::string id;
  uint64_t version = 0, prodid = 0;
  if (!GetString(qi, "id", &id) || !GetUnsigned(qi, "version", &version) ||
      !GetUnsigned(qi, "isvprodid", &prodid)) {
    return Fail("intel.qe_identity", "QE Identity lacks id/version/isvprodid");
  }
  if (version != 2) return Fail("intel.qe_identity", "unsupported QE Identity version " + std::to_string(version));
  const char* want = q.is_tdx() ? "TD_QE" : "QE";
  if (id != want) return Fail("intel.qe_identity", "QE Identity is for \"" + id + "\", the quote needs " + want);
  Bytes mrsigner, misc, misc_mask, attrs, attrs_mask;
  if (!HexField(qi, "mrsigner", 32, &mrsigner) || !HexField(qi, "miscselect", 4, &misc) ||
      !HexField(qi, "miscselectMask", 4, &misc_mask) || !HexField(qi, "attributes", 16, &attrs) ||
      !HexField(qi, "attributesMask", 16, &attrs_mask)) {
    return Fail("intel.qe_identity", "malformed QE Identity fields");
  }
  const SgxReportBody& qe = q.qe_report;
  if (!std::equal(mrsigner.begin(), mrsigner.end(), qe.mr_signer.begin())) {
    return Fail("intel.qe_identity_mismatch", "the QE's MRSIGNER is not the one in the QE Identity");
  }
  if (qe.isv_prod_id != prodid) {
    return Fail("intel.qe_identity_mismatch", "the QE's ISV product ID is not the one in the QE Identity");
  }
  // miscselect is a big-endian hex string of the u32 value.
  std::array<uint8_t, 4> misc_be{};
  for (int i = 0; i < 4; ++i) misc_be[i] = static_cast<uint8_t>(qe.misc_select >> (8 * (3 - i)));
  if (!MaskedEqual(misc_be, misc, misc_mask)) {
    return Fail("intel.qe_identity_mismatch", "the QE's MISCSELECT does not match the QE Identity");
  }
  std::array<uint8_t, 16> attr{};
  for (int i = 0; i < 8; ++i) {
    attr[i] = static_cast<uint8_t>(qe.attributes_flags >> (8 * i));
    attr[8 + i] = static_cast<uint8_t>(qe.attributes_xfrm >> (8 * i));
  }
  if (!MaskedEqual(attr, attrs, attrs_mask)) {
    return Fail("intel.qe_identity_mismatch", "the QE's attributes do not match the QE Identity");
  }
  auto levels = qi.find("tcbLevels");
  if (levels == qi.end() || !levels->is_array()) return Fail("intel.qe_identity", "QE Identity lacks tcbLevels");
  for (const json& l : *levels) {
    uint64_t isvsvn = 0;
    std::string status;
    auto t = l.find("tcb");
    if (!l.is_object() || t == l.end() || !t->is_object() || !GetUnsigned(*t, "isvsvn", &isvsvn) ||
        !GetString(l, "tcbStatus", &status)) {
      return Fail("intel.qe_identity", "malformed QE Identity TCB level");
    }
    if (isvsvn <= qe.isv_svn) {
      (*claims)["intel.qe_tcb_status"] = status;
      if (status == "Revoked") return Fail("intel.qe_revoked", "the QE's TCB level is revoked");
      return Status::Ok();
    }
  }
  return Fail("intel.qe_tcb_no_match", "no QE Identity TCB level matches the QE's ISV SVN");
}

}  // namespace

namespace internal {

Result<std::string> PckFmspcHex(X509* pck_leaf) {
  auto pck = ParsePckExtension(pck_leaf);
  if (!pck.ok()) return pck.status();
  return Hex(pck->fmspc);
}

Status EvaluateCollateral(const Quote& q, X509* pck_leaf, X509* pck_ca, X509* root,
                          const std::vector<X509Ptr>& trusted, const IntelCollateral& col,
                          time_t now, std::map<std::string, std::string>* claims) {
  try {
    // ---- 6. TCB Info and QE Identity signatures and windows ----
    CITADEL_ASSIGN_OR_RETURN(json info, VerifySignedJson(*col.tcb_info, "TCB Info", "intel.tcb_info", trusted, now));
    if (!col.qe_identity.has_value()) return Fail("intel.qe_identity", "no QE Identity was supplied");
    CITADEL_ASSIGN_OR_RETURN(json qi, VerifySignedJson(*col.qe_identity, "QE Identity", "intel.qe_identity", trusted, now));

    // ---- 7. CRLs ----
    auto crls = ParseCrls(col.crls);
    if (!crls.ok()) return Fail("intel.crl", crls.status().message());
    CITADEL_ASSIGN_OR_RETURN(X509_CRL* pck_crl, FindCrl(*crls, pck_ca, now, "intel.pck_crl", "PCK CA CRL"));
    if (pck_crl == nullptr) {
      return Fail("intel.pck_crl", "no CRL issued by \"" + attest_internal::SubjectCommonName(pck_ca) +
                                       "\" was supplied");
    }
    if (IsRevoked(pck_crl, pck_leaf)) return Fail("intel.pck_revoked", "the PCK certificate is revoked");
    CITADEL_ASSIGN_OR_RETURN(X509_CRL* root_crl, FindCrl(*crls, root, now, "intel.root_crl", "Root CA CRL"));
    if (root_crl != nullptr) {
      if (IsRevoked(root_crl, pck_ca)) return Fail("intel.pck_revoked", "the PCK CA certificate is revoked");
      // The TCB Signing certificate is the root's other child: a revoked one
      // must not vouch for TCB Info or QE Identity.
      for (const SignedJson* sj : {&*col.tcb_info, &*col.qe_identity}) {
        auto certs = attest_internal::ParseCertificates(sj->issuer_chain);
        if (!certs.ok()) return Fail("intel.crl", "TCB Signing chain: " + certs.status().message());
        for (auto& c : *certs) {
          if (attest_internal::SubjectCommonName(c.get()) != "Intel SGX TCB Signing") continue;
          if (IsRevoked(root_crl, c.get())) {
            return Fail("intel.tcb_signing_revoked", std::string("the TCB Signing certificate that signed the ") +
                                                         (sj == &*col.tcb_info ? "TCB Info" : "QE Identity") +
                                                         " is revoked by the Root CA CRL");
          }
        }
      }
      (*claims)["intel.root_crl"] = "checked";
    } else {
      (*claims)["intel.root_crl"] = "absent";
    }

    // ---- 8. PCK extension vs TCB Info ----
    auto pck = ParsePckExtension(pck_leaf);
    if (!pck.ok()) return Fail("intel.pck_extension", pck.status().message());
    std::string id = "SGX", fmspc, pce_id;
    uint64_t version = 0;
    if (!GetUnsigned(info, "version", &version) || (version != 2 && version != 3)) {
      return Fail("intel.tcb_info", "unsupported TCB Info version");
    }
    if (version == 3 && !GetString(info, "id", &id)) return Fail("intel.tcb_info", "TCB Info v3 lacks id");
    if (id != (q.is_tdx() ? "TDX" : "SGX")) {
      return Fail("intel.tcb_info_mismatch", "TCB Info is for " + id + ", the quote is " + (q.is_tdx() ? "TDX" : "SGX"));
    }
    if (q.is_tdx() && version != 3) return Fail("intel.tcb_info", "TDX needs TCB Info version 3");
    if (!GetString(info, "fmspc", &fmspc) || !GetString(info, "pceId", &pce_id)) {
      return Fail("intel.tcb_info", "TCB Info lacks fmspc/pceId");
    }
    if (Lower(fmspc) != Hex(pck->fmspc)) {
      return Fail("intel.tcb_info_mismatch", "TCB Info FMSPC " + fmspc + " is not the PCK certificate's " + Hex(pck->fmspc));
    }
    if (Lower(pce_id) != Hex(pck->pce_id)) {
      return Fail("intel.tcb_info_mismatch", "TCB Info PCE ID is not the PCK certificate's");
    }

    // ---- 9. TCB level ----
    CITADEL_ASSIGN_OR_RETURN(LevelResult level, SelectTcbLevel(info, version, *pck, q));
    if (!KnownStatus(level.status)) return Fail("intel.tcb_info", "unknown TCB status \"" + level.status + "\"");
    if (level.status == "Revoked") return Fail("intel.tcb_revoked", "the platform's TCB level is revoked");

    // ---- 10. TDX module ----
    if (q.is_tdx()) CITADEL_RETURN_IF_ERROR(CheckTdxModule(info, q, claims));

    // ---- 11. QE Identity ----
    CITADEL_RETURN_IF_ERROR(CheckQeIdentity(qi, q, claims));

    (*claims)["intel.tcb_status"] = level.status;
    (*claims)["intel.advisory_ids"] = Join(level.advisories);
    (*claims)["intel.tcb_date"] = level.tcb_date;
    (*claims)["intel.fmspc"] = Hex(pck->fmspc);
    uint64_t eval = 0;
    if (GetUnsigned(info, "tcbEvaluationDataNumber", &eval)) {
      (*claims)["intel.tcb_evaluation_data_number"] = std::to_string(eval);
    }
    std::string issue;
    GetString(info, "issueDate", &issue);
    (*claims)["intel.tcb_info_issue_date"] = issue;
    return Status::Ok();
  } catch (const std::exception&) {
    // nlohmann::json accessors are all guarded above; this is a safety net.
    return Fail("intel.tcb_info", "malformed collateral JSON");
  }
}

}  // namespace internal

// ---- importers ---------------------------------------------------------------------

Result<SignedJson> ImportPcsSignedJson(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("PCS response is not a JSON object");
  const char* key = j.contains("tcbInfo") ? "tcbInfo" : "enclaveIdentity";
  CITADEL_ASSIGN_OR_RETURN(std::string raw, RawObjectValue(body, key));
  std::string sig_hex;
  if (!GetString(j, "signature", &sig_hex)) return Status::InvalidArgument("PCS response lacks signature");
  SignedJson out;
  out.body = std::move(raw);
  out.signature = attest_internal::DecodeBinaryOrHexText(AsBytes(sig_hex));
  if (out.signature.size() != 64) return Status::InvalidArgument("PCS signature is not 64 bytes of hex");
  return out;
}

Result<SignedJson> ImportFortanixSignedJson(std::string_view wrapper) {
  json j = json::parse(wrapper, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("wrapper is not a JSON object");
  SignedJson out;
  if (!GetString(j, "raw_tcb_info", &out.body) && !GetString(j, "raw_enclave_identity", &out.body)) {
    return Status::InvalidArgument("wrapper lacks raw_tcb_info / raw_enclave_identity");
  }
  auto sig = j.find("signature");
  if (sig == j.end() || !sig->is_array()) return Status::InvalidArgument("wrapper lacks signature bytes");
  for (const json& b : *sig) {
    if (!b.is_number_unsigned() || b.get<uint64_t>() > 255) return Status::InvalidArgument("bad signature byte");
    out.signature.push_back(static_cast<uint8_t>(b.get<uint64_t>()));
  }
  auto chain = j.find("ca_chain");
  if (chain != j.end() && chain->is_array()) {
    for (const json& c : *chain) {
      if (!c.is_string()) continue;
      std::string pem = c.get<std::string>();
      out.issuer_chain.insert(out.issuer_chain.end(), pem.begin(), pem.end());
      out.issuer_chain.push_back('\n');
    }
  }
  return out;
}

Result<IntelCollateral> ImportDcapQvlCollateral(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("collateral is not a JSON object");
  auto str = [&j](const char* k, std::string* out) { return GetString(j, k, out); };
  std::string pck_chain, root_crl, pck_crl, tcb_chain, tcb, tcb_sig, qe_chain, qe, qe_sig;
  if (!str("pck_crl_issuer_chain", &pck_chain) || !str("root_ca_crl", &root_crl) ||
      !str("pck_crl", &pck_crl) || !str("tcb_info_issuer_chain", &tcb_chain) ||
      !str("tcb_info", &tcb) || !str("tcb_info_signature", &tcb_sig) ||
      !str("qe_identity_issuer_chain", &qe_chain) || !str("qe_identity", &qe) ||
      !str("qe_identity_signature", &qe_sig)) {
    return Status::InvalidArgument("dcap-qvl collateral lacks a required field");
  }
  IntelCollateral c;
  c.tcb_info = SignedJson{tcb, attest_internal::DecodeBinaryOrHexText(AsBytes(tcb_sig)),
                          Bytes(tcb_chain.begin(), tcb_chain.end())};
  c.qe_identity = SignedJson{qe, attest_internal::DecodeBinaryOrHexText(AsBytes(qe_sig)),
                             Bytes(qe_chain.begin(), qe_chain.end())};
  c.crls.push_back(attest_internal::DecodeBinaryOrHexText(AsBytes(pck_crl)));
  c.crls.push_back(attest_internal::DecodeBinaryOrHexText(AsBytes(root_crl)));
  return c;
}

}  // namespace citadel::intel
