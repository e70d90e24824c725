// Citadel collateral bundle: JSON file format, importers for the formats
// found in the wild, and per-evidence views. See collateral.h and
// docs/attestation.md.
#include "citadel/attest/collateral.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include <sys/stat.h>

#include "attest_util.h"
#include "ocsp.h"
#include "intel_internal.h"

namespace citadel {
namespace {

using json = nlohmann::json;
using attest_internal::ParseCertificates;
using attest_internal::SubjectCommonName;

constexpr size_t kMaxBundleBytes = 64u << 20;
constexpr size_t kMaxImportBytes = 16u << 20;

struct CrlFree { void operator()(X509_CRL* c) const { X509_CRL_free(c); } };
using CrlPtr = std::unique_ptr<X509_CRL, CrlFree>;

Status Bad(const std::string& why) { return Status::InvalidArgument("collateral: " + why); }

const std::pair<CollateralType, const char*> kTypeNames[] = {
    {CollateralType::kIntelTcbInfo, "intel.tcb_info"},
    {CollateralType::kIntelQeIdentity, "intel.qe_identity"},
    {CollateralType::kIntelCrl, "intel.crl"},
    {CollateralType::kIntelCerts, "intel.certs"},
    {CollateralType::kSnpVek, "snp.vek"},
    {CollateralType::kSnpChain, "snp.chain"},
    {CollateralType::kNvidiaChain, "nvidia.chain"},
    {CollateralType::kSnpCrl, "snp.crl"},
    {CollateralType::kNvidiaOcsp, "nvidia.ocsp"},
};

bool IsSignedJsonType(CollateralType t) {
  return t == CollateralType::kIntelTcbInfo || t == CollateralType::kIntelQeIdentity;
}

bool LooksLikePem(ByteSpan b) {
  std::string_view s = AsStringView(b);
  size_t i = s.find_first_not_of(" \t\r\n");
  return i != std::string_view::npos && s.substr(i, 10) == "-----BEGIN";
}

std::string Trimmed(ByteSpan b) {
  std::string_view s = AsStringView(b);
  size_t i = s.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return "";
  size_t j = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(i, j - i + 1));
}

Result<std::string> CertPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr || PEM_write_bio_X509(bio, cert) != 1) {
    BIO_free(bio);
    return Status::Internal("PEM encoding failed");
  }
  char* p = nullptr;
  long n = BIO_get_mem_data(bio, &p);
  std::string out(p, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

Result<Bytes> CertDer(X509* cert) {
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  if (n <= 0) return Status::Internal("DER encoding failed");
  Bytes out(der, der + n);
  OPENSSL_free(der);
  return out;
}

// One CRL, DER or PEM. nullptr if the bytes are not a CRL.
CrlPtr ParseCrl(ByteSpan data) {
  X509_CRL* crl = nullptr;
  if (LooksLikePem(data)) {
    BIO* bio = BIO_new_mem_buf(data.data(), static_cast<int>(data.size()));
    if (bio != nullptr) crl = PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
  } else {
    const unsigned char* p = data.data();
    crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(data.size()));
    if (crl != nullptr && p != data.data() + data.size()) {
      // Tolerate trailing NULs only.
      for (const unsigned char* q = p; q < data.data() + data.size(); ++q) {
        if (*q != 0) {
          X509_CRL_free(crl);
          crl = nullptr;
          break;
        }
      }
    }
  }
  ERR_clear_error();
  return CrlPtr(crl);
}

Result<Bytes> CrlDer(X509_CRL* crl) {
  unsigned char* der = nullptr;
  int n = i2d_X509_CRL(crl, &der);
  if (n <= 0) return Status::Internal("DER encoding failed");
  Bytes out(der, der + n);
  OPENSSL_free(der);
  return out;
}

bool ParseTime(const std::string& s, time_t* out) {
  auto t = ParseRfc3339(s);
  if (!t.ok()) return false;
  *out = std::chrono::system_clock::to_time_t(*t);
  return true;
}

// issueDate/nextUpdate window of a signed JSON body; false if unreadable.
bool Window(const std::string& body, time_t* issue, time_t* next) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return false;
  auto i = j.find("issueDate");
  auto n = j.find("nextUpdate");
  if (i == j.end() || n == j.end() || !i->is_string() || !n->is_string()) return false;
  return ParseTime(i->get<std::string>(), issue) && ParseTime(n->get<std::string>(), next);
}

std::string JsonString(const std::string& body, const char* key) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

CollateralItem MakeItem(CollateralType type, const std::string& origin, const std::string& fetched) {
  CollateralItem it;
  it.type = type;
  it.origin = origin;
  it.fetched_at = fetched;
  return it;
}

CollateralItem SignedItem(CollateralType type, intel::SignedJson sj, const std::string& origin,
                          const std::string& fetched) {
  CollateralItem it = MakeItem(type, origin, fetched);
  it.signed_json = std::move(sj);
  return it;
}

// Certificates of a file, split by what they are.
Status ImportCertificates(ByteSpan data, const std::string& origin, const std::string& fetched,
                          std::vector<CollateralItem>* out) {
  auto certs = ParseCertificates(data);
  if (!certs.ok()) return Bad("not a recognised collateral file: " + certs.status().message());
  std::string intel_pem, amd_pem, nvidia_pem;
  for (auto& c : *certs) {
    std::string cn = SubjectCommonName(c.get());
    std::string issuer = attest_internal::IssuerCommonName(c.get());
    CITADEL_ASSIGN_OR_RETURN(std::string pem, CertPem(c.get()));
    if (cn == "SEV-VCEK" || cn == "SEV-VLEK") {
      CollateralItem it = MakeItem(CollateralType::kSnpVek, origin, fetched);
      CITADEL_ASSIGN_OR_RETURN(it.data, CertDer(c.get()));
      out->push_back(std::move(it));
    } else if (cn.rfind("ARK-", 0) == 0 || cn.rfind("SEV-", 0) == 0) {
      amd_pem += pem;
    } else if (cn.rfind("Intel SGX", 0) == 0 || issuer.rfind("Intel SGX", 0) == 0) {
      intel_pem += pem;
    } else if (cn.find("NVIDIA") != std::string::npos || cn.find("GH100") != std::string::npos ||
               issuer.find("NVIDIA") != std::string::npos || issuer.find("GH100") != std::string::npos) {
      nvidia_pem += pem;
    } else {
      return Bad("certificate \"" + cn + "\" is not Intel, AMD or NVIDIA attestation collateral");
    }
  }
  auto add = [&](CollateralType t, const std::string& pem) {
    if (pem.empty()) return;
    CollateralItem it = MakeItem(t, origin, fetched);
    it.data.assign(pem.begin(), pem.end());
    out->push_back(std::move(it));
  };
  add(CollateralType::kIntelCerts, intel_pem);
  add(CollateralType::kSnpChain, amd_pem);
  add(CollateralType::kNvidiaChain, nvidia_pem);
  return Status::Ok();
}

Status ImportCrl(ByteSpan data, const std::string& origin, const std::string& fetched,
                 std::vector<CollateralItem>* out) {
  CrlPtr crl = ParseCrl(data);
  if (!crl) return Bad("not a CRL");
  // AMD's KDS CRLs are issued by an ARK ("ARK-Milan", ...); every other CRL
  // here is Intel's.
  X509_NAME* issuer = X509_CRL_get_issuer(crl.get());
  char cn[256] = {0};
  const bool amd = issuer != nullptr && X509_NAME_get_text_by_NID(issuer, NID_commonName, cn, sizeof(cn)) > 0 &&
                   std::string_view(cn).rfind("ARK-", 0) == 0;
  ERR_clear_error();
  CollateralItem it = MakeItem(amd ? CollateralType::kSnpCrl : CollateralType::kIntelCrl, origin, fetched);
  CITADEL_ASSIGN_OR_RETURN(it.data, CrlDer(crl.get()));
  out->push_back(std::move(it));
  return Status::Ok();
}

Status ImportJson(std::string_view text, const std::string& origin, const std::string& fetched,
                  CollateralBundle* bundle) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Bad("JSON file is not an object");
  std::vector<CollateralItem> items;
  if (j.contains("format")) {
    CITADEL_ASSIGN_OR_RETURN(CollateralBundle b, CollateralBundle::FromJson(text));
    bundle->Merge(b);
    return Status::Ok();
  }
  if (j.contains("tcb_info") && j.contains("qe_identity")) {
    CITADEL_ASSIGN_OR_RETURN(intel::IntelCollateral c, intel::ImportDcapQvlCollateral(text));
    const std::string o = origin + " (dcap-qvl collateral)";
    items.push_back(SignedItem(CollateralType::kIntelTcbInfo, *c.tcb_info, o, fetched));
    items.push_back(SignedItem(CollateralType::kIntelQeIdentity, *c.qe_identity, o, fetched));
    for (const Bytes& crl : c.crls) CITADEL_RETURN_IF_ERROR(ImportCrl(crl, o, fetched, &items));
    std::string pck_chain;
    auto it = j.find("pck_crl_issuer_chain");
    if (it != j.end() && it->is_string()) pck_chain = it->get<std::string>();
    if (!pck_chain.empty()) {
      CollateralItem ci = MakeItem(CollateralType::kIntelCerts, o, fetched);
      ci.data.assign(pck_chain.begin(), pck_chain.end());
      items.push_back(std::move(ci));
    }
  } else if (j.contains("tcbInfo") || j.contains("enclaveIdentity")) {
    CITADEL_ASSIGN_OR_RETURN(intel::SignedJson sj, intel::ImportPcsSignedJson(text));
    bool tcb = j.contains("tcbInfo");
    items.push_back(SignedItem(tcb ? CollateralType::kIntelTcbInfo : CollateralType::kIntelQeIdentity,
                               std::move(sj), origin + " (Intel PCS response)", fetched));
  } else if (j.contains("raw_tcb_info") || j.contains("raw_enclave_identity")) {
    CITADEL_ASSIGN_OR_RETURN(intel::SignedJson sj, intel::ImportFortanixSignedJson(text));
    bool tcb = j.contains("raw_tcb_info");
    items.push_back(SignedItem(tcb ? CollateralType::kIntelTcbInfo : CollateralType::kIntelQeIdentity,
                               std::move(sj), origin + " (Fortanix wrapper)", fetched));
  } else if (j.contains("crl") && j["crl"].is_string()) {
    std::string pem = j["crl"].get<std::string>();
    CITADEL_RETURN_IF_ERROR(ImportCrl(AsBytes(pem), origin + " (Fortanix CRL wrapper)", fetched, &items));
  } else {
    return Bad("unrecognised JSON collateral (expected a Citadel bundle, dcap-qvl collateral, an Intel "
               "PCS TCB Info / QE Identity response or a Fortanix wrapper)");
  }
  for (auto& i : items) bundle->items.push_back(std::move(i));
  return Status::Ok();
}

std::string FileTime(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return FormatRfc3339(std::chrono::system_clock::from_time_t(st.st_mtime));
}

}  // namespace

std::string_view CollateralTypeName(CollateralType t) {
  for (const auto& [type, name] : kTypeNames) {
    if (type == t) return name;
  }
  return "unknown";
}

Result<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text) {
  std::string s(text);
  int y, mo, d, h, mi, sec;
  char tail[32] = {0};
  if (s.size() < 20 || s.size() > 40) return Status::InvalidArgument("not an RFC 3339 UTC time: " + s);
  int n = std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%31s", &y, &mo, &d, &h, &mi, &sec, tail);
  std::string t(tail);
  bool tail_ok = t == "Z" || (t.size() >= 3 && t[0] == '.' && t.back() == 'Z' &&
                              std::all_of(t.begin() + 1, t.end() - 1, [](char c) { return c >= '0' && c <= '9'; }));
  if (n != 7 || !tail_ok || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || mo < 1 ||
      mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
    return Status::InvalidArgument("not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ): " + s);
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string FormatRfc3339(std::chrono::system_clock::time_point t) {
  time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<CollateralBundle> CollateralBundle::FromJson(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Bad("bundle is not a JSON object");
  static const std::set<std::string> kTop = {"format", "version", "items", "comment"};
  for (const auto& kv : j.items()) {
    if (!kTop.count(kv.key())) return Bad("unknown bundle key \"" + kv.key() + "\"");
  }
  if (!j.contains("format") || j["format"] != "citadel-collateral") {
    return Bad("\"format\" must be \"citadel-collateral\"");
  }
  if (!j.contains("version") || !j["version"].is_number_unsigned() ||
      j["version"].get<uint64_t>() != kCollateralBundleVersion) {
    return Bad("unsupported bundle \"version\" (supported: 1)");
  }
  auto items = j.find("items");
  if (items == j.end() || !items->is_array()) return Bad("\"items\" must be an array");
  CollateralBundle out;
  for (size_t i = 0; i < items->size(); ++i) {
    const json& e = (*items)[i];
    const std::string where = "items[" + std::to_string(i) + "]";
    if (!e.is_object()) return Bad(where + " must be an object");
    static const std::set<std::string> kKeys = {"type", "origin", "fetched_at", "body", "signature",
                                                "issuer_chain", "pem", "der"};
    for (const auto& kv : e.items()) {
      if (!kKeys.count(kv.key())) return Bad(where + ": unknown key \"" + kv.key() + "\"");
      if (!kv.value().is_string()) return Bad(where + "." + kv.key() + " must be a string");
    }
    CollateralItem it;
    std::string type = e.value("type", "");
    bool known = false;
    for (const auto& [t, name] : kTypeNames) {
      if (type == name) {
        it.type = t;
        known = true;
      }
    }
    if (!known) return Bad(where + ": unknown type \"" + type + "\"");
    it.origin = e.value("origin", "");
    it.fetched_at = e.value("fetched_at", "");
    if (!it.fetched_at.empty() && !ParseRfc3339(it.fetched_at).ok()) {
      return Bad(where + ".fetched_at is not an RFC 3339 UTC time");
    }
    if (IsSignedJsonType(it.type)) {
      if (!e.contains("body") || !e.contains("signature")) return Bad(where + " needs body and signature");
      it.signed_json.body = e["body"].get<std::string>();
      auto sig = HexDecode(e["signature"].get<std::string>());
      if (!sig.ok()) return Bad(where + ".signature is not hex");
      it.signed_json.signature = std::move(sig).value();
      std::string chain = e.value("issuer_chain", "");
      it.signed_json.issuer_chain.assign(chain.begin(), chain.end());
    } else {
      if (e.contains("pem") == e.contains("der")) return Bad(where + " needs exactly one of pem, der");
      if (e.contains("pem")) {
        std::string pem = e["pem"].get<std::string>();
        it.data.assign(pem.begin(), pem.end());
      } else {
        auto der = Base64Decode(e["der"].get<std::string>());
        if (!der.ok()) return Bad(where + ".der is not base64");
        it.data = std::move(der).value();
      }
    }
    out.items.push_back(std::move(it));
  }
  return out;
}

Result<CollateralBundle> CollateralBundle::LoadFile(const std::string& path) {
  auto bytes = ReadFileBytes(path, kMaxBundleBytes);
  if (!bytes.ok()) return bytes.status().WithContext("collateral bundle " + path);
  auto b = FromJson(AsStringView(*bytes));
  if (!b.ok()) return b.status().WithContext(path);
  return b;
}

std::string CollateralBundle::ToJson() const {
  json arr = json::array();
  for (const CollateralItem& it : items) {
    json e;
    e["type"] = std::string(CollateralTypeName(it.type));
    e["origin"] = it.origin;
    e["fetched_at"] = it.fetched_at;
    if (IsSignedJsonType(it.type)) {
      e["body"] = it.signed_json.body;
      e["signature"] = HexEncode(it.signed_json.signature);
      e["issuer_chain"] = std::string(AsStringView(it.signed_json.issuer_chain));
    } else if (LooksLikePem(it.data)) {
      e["pem"] = std::string(AsStringView(it.data));
    } else {
      e["der"] = Base64Encode(it.data);
    }
    arr.push_back(std::move(e));
  }
  json doc;
  doc["format"] = "citadel-collateral";
  doc["version"] = kCollateralBundleVersion;
  doc["items"] = std::move(arr);
  return doc.dump(1) + "\n";
}

Status CollateralBundle::ImportBytes(ByteSpan data, const std::string& origin,
                                     const std::string& fetched_at) {
  if (snp::LooksLikeSnpCertTable(data)) {
    // configfs-tsm auxblob / SNP_GET_EXT_REPORT certs buffer: each
    // certificate is classified by its subject like any certificate file.
    auto table = snp::ParseSnpCertTable(data);
    if (!table.ok()) return Bad(table.status().message());
    const std::string o = origin + " (SEV-SNP certificate table)";
    for (const Bytes* c : {&table->vcek, &table->vlek, &table->ask, &table->ark}) {
      if (!c->empty()) CITADEL_RETURN_IF_ERROR(ImportCertificates(*c, o, fetched_at, &items));
    }
    return Status::Ok();
  }
  std::string text = Trimmed(data);
  if (!text.empty() && text[0] == '{') return ImportJson(text, origin, fetched_at, this);
  if (LooksLikePem(data) && text.find("-----BEGIN X509 CRL-----") != std::string::npos) {
    return ImportCrl(data, origin, fetched_at, &items);
  }
  if (!LooksLikePem(data)) {
    if (CrlPtr crl = ParseCrl(data)) return ImportCrl(data, origin, fetched_at, &items);
    if (attest_internal::LooksLikeOcspResponse(data)) {
      // Judged only by the verifier (signature, currency, status): here it
      // is kept as is, like a CRL.
      CollateralItem it = MakeItem(CollateralType::kNvidiaOcsp, origin + " (OCSP response)", fetched_at);
      it.data.assign(data.begin(), data.end());
      items.push_back(std::move(it));
      return Status::Ok();
    }
  }
  return ImportCertificates(data, origin, fetched_at, &items);
}

Status CollateralBundle::ImportFile(const std::string& path) {
  auto bytes = ReadFileBytes(path, kMaxImportBytes);
  if (!bytes.ok()) return bytes.status().WithContext("collateral file " + path);
  std::string name = std::filesystem::path(path).filename().string();
  Status st = ImportBytes(*bytes, "file:" + name, FileTime(path));
  if (!st.ok()) return st.WithContext(path);
  return st;
}

void CollateralBundle::Merge(const CollateralBundle& other) {
  items.insert(items.end(), other.items.begin(), other.items.end());
}

Result<intel::IntelCollateral> CollateralBundle::IntelFor(const intel::Quote& quote, std::string_view fmspc_hex,
                                                          std::chrono::system_clock::time_point now) const {
  const time_t t = std::chrono::system_clock::to_time_t(now);
  const std::string want_tcb_id = quote.is_tdx() ? "TDX" : "SGX";
  const std::string want_qe_id = quote.is_tdx() ? "TD_QE" : "QE";
  const std::string fmspc = Lower(std::string(fmspc_hex));

  // Intel certificates known to the bundle, for filling empty issuer chains
  // and for quotes that do not embed their PCK chain.
  std::string tcb_signing_pem, pck_pem;
  auto take = [&](ByteSpan data) {
    auto certs = ParseCertificates(data);
    if (!certs.ok()) return;
    for (auto& c : *certs) {
      std::string cn = SubjectCommonName(c.get());
      auto pem = CertPem(c.get());
      if (!pem.ok()) continue;
      if (cn == "Intel SGX TCB Signing" || cn == "Intel SGX Root CA") tcb_signing_pem += *pem;
      if (cn.rfind("Intel SGX PCK", 0) == 0 || cn == "Intel SGX Root CA") pck_pem += *pem;
    }
  };
  for (const auto& it : items) {
    if (it.type == CollateralType::kIntelCerts) take(it.data);
    if (IsSignedJsonType(it.type)) take(it.signed_json.issuer_chain);
  }

  // Best candidate: matching id (and FMSPC for TCB Info), current at `now`
  // first, then the most recently issued.
  auto pick = [&](CollateralType type, const std::string& want_id, bool match_fmspc) -> const CollateralItem* {
    const CollateralItem* best = nullptr;
    int best_score = -1;
    time_t best_issue = 0;
    for (const auto& it : items) {
      if (it.type != type) continue;
      std::string id = JsonString(it.signed_json.body, "id");
      if (id.empty() && type == CollateralType::kIntelTcbInfo) id = "SGX";  // TCB Info v2
      int score = 0;
      if (id == want_id) score += 4;
      if (match_fmspc && !fmspc.empty() && Lower(JsonString(it.signed_json.body, "fmspc")) == fmspc) score += 2;
      time_t issue = 0, next = 0;
      bool window = Window(it.signed_json.body, &issue, &next);
      if (window && issue <= t && t <= next) score += 1;
      if (score > best_score || (score == best_score && issue > best_issue)) {
        best = &it;
        best_score = score;
        best_issue = issue;
      }
    }
    return best;
  };

  intel::IntelCollateral out;
  auto fill_chain = [&](intel::SignedJson sj) {
    if (sj.issuer_chain.empty()) sj.issuer_chain.assign(tcb_signing_pem.begin(), tcb_signing_pem.end());
    return sj;
  };
  if (const CollateralItem* tcb = pick(CollateralType::kIntelTcbInfo, want_tcb_id, true)) {
    out.tcb_info = fill_chain(tcb->signed_json);
  }
  if (const CollateralItem* qe = pick(CollateralType::kIntelQeIdentity, want_qe_id, false)) {
    out.qe_identity = fill_chain(qe->signed_json);
  }
  // CRLs: current ones first (the verifier uses the first CRL per issuer).
  std::vector<std::pair<int, Bytes>> crls;
  for (const auto& it : items) {
    if (it.type != CollateralType::kIntelCrl) continue;
    int rank = 1;
    if (CrlPtr crl = ParseCrl(it.data)) {
      const ASN1_TIME* last = X509_CRL_get0_lastUpdate(crl.get());
      const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
      time_t tt = t;
      if (last != nullptr && next != nullptr && X509_cmp_time(last, &tt) <= 0 && X509_cmp_time(next, &tt) >= 0) {
        rank = 0;
      }
    }
    crls.emplace_back(rank, it.data);
  }
  std::stable_sort(crls.begin(), crls.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& c : crls) out.crls.push_back(std::move(c.second));
  out.pck_chain.assign(pck_pem.begin(), pck_pem.end());
  return out;
}

std::vector<Bytes> CollateralBundle::SnpVeks() const {
  std::vector<Bytes> out;
  for (const auto& it : items) {
    if (it.type == CollateralType::kSnpVek) out.push_back(it.data);
  }
  return out;
}

Bytes CollateralBundle::SnpChains() const {
  Bytes out;
  for (const auto& it : items) {
    if (it.type != CollateralType::kSnpChain) continue;
    out.insert(out.end(), it.data.begin(), it.data.end());
    out.push_back('\n');
  }
  return out;
}

std::vector<Bytes> CollateralBundle::SnpCrls() const {
  std::vector<Bytes> out;
  for (const auto& it : items) {
    if (it.type != CollateralType::kSnpCrl) continue;
    // A bundle may hold PEM; the verifier takes DER. Unreadable data is
    // passed on as is so that the verifier names it (snp.crl).
    CrlPtr crl = ParseCrl(it.data);
    auto der = crl ? CrlDer(crl.get()) : Result<Bytes>(it.data);
    out.push_back(der.ok() ? *der : it.data);
  }
  return out;
}

std::vector<Bytes> CollateralBundle::NvidiaOcspResponses() const {
  std::vector<Bytes> out;
  for (const auto& it : items) {
    if (it.type == CollateralType::kNvidiaOcsp) out.push_back(it.data);
  }
  return out;
}

std::vector<Bytes> CollateralBundle::NvidiaChains() const {
  std::vector<Bytes> out;
  for (const auto& it : items) {
    if (it.type == CollateralType::kNvidiaChain) out.push_back(it.data);
  }
  return out;
}

}  // namespace citadel
