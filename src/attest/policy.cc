// Client policy: parsing (strict) and evaluation. See docs/policy.md.

#include <nlohmann/json.hpp>

#include <set>
#include <vector>

#include <algorithm>
#include <optional>

#include "citadel/attest.h"
#include "citadel/attest/collateral.h"
#include "citadel/attest/nvidia_rim.h"

namespace citadel {
namespace {

using nlohmann::json;

constexpr size_t kMaxPolicyFileBytes = 1 << 20;

// The folder relative paths in a policy (nvidia.rim_file) are resolved
// against: the policy file's folder while LoadFile parses it, else the
// working directory.
thread_local std::string g_policy_base_dir;

Status Bad(const std::string& why) { return Status::InvalidArgument("policy: " + why); }

Result<bool> GetBool(const json& obj, const char* key, bool def) {
  auto it = obj.find(key);
  if (it == obj.end()) return def;
  if (!it->is_boolean()) return Bad(std::string("\"") + key + "\" must be true or false");
  return it->get<bool>();
}

// Parses an array of hex strings whose decoded lengths are in `sizes`.
Result<std::vector<Bytes>> GetHexList(const json& obj, const char* key,
                                      std::initializer_list<size_t> sizes,
                                      const char* size_text) {
  std::vector<Bytes> out;
  auto it = obj.find(key);
  if (it == obj.end()) return out;
  if (!it->is_array()) return Bad(std::string("\"") + key + "\" must be an array of hex strings");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& v = (*it)[i];
    std::string where = std::string(key) + "[" + std::to_string(i) + "]";
    if (!v.is_string()) return Bad(where + " must be a hex string");
    auto bytes = HexDecode(v.get_ref<const std::string&>());
    if (!bytes.ok()) return Bad(where + " is not valid hex");
    bool size_ok = false;
    for (size_t s : sizes) size_ok = size_ok || bytes->size() == s;
    if (!size_ok) {
      return Bad(where + " must be " + size_text + " bytes, got " +
                 std::to_string(bytes->size()));
    }
    out.push_back(std::move(bytes).value());
  }
  return out;
}

bool ContainsCt(const std::vector<Bytes>& list, ByteSpan value) {
  bool found = false;
  for (const Bytes& b : list) found = ConstantTimeEquals(b, value) || found;  // no early exit
  return found;
}


// ---- hardware sections ---------------------------------------------------------

Status CheckKeys(const json& obj, const std::string& where, const std::set<std::string>& known) {
  if (!obj.is_object()) return Bad("\"" + where + "\" must be an object");
  for (const auto& item : obj.items()) {
    if (known.count(item.key()) == 0) return Bad("unknown key \"" + where + "." + item.key() + "\"");
  }
  return Status::Ok();
}

template <typename T>
Result<std::optional<T>> GetUint(const json& obj, const char* key, uint64_t max, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::optional<T>();
  if (!it->is_number_unsigned() || it->get<uint64_t>() > max) {
    return Bad("\"" + where + "." + key + "\" must be an integer 0.." + std::to_string(max));
  }
  return std::optional<T>(static_cast<T>(it->get<uint64_t>()));
}

// A 64-bit value written as a hex string ("0x..." optional, big-endian digits, as in the claims).
Result<uint64_t> GetHex64(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return uint64_t{0};
  std::string w = "\"" + where + "." + key + "\"";
  if (!it->is_string()) return Bad(w + " must be a hex string");
  std::string v = it->get<std::string>();
  if (v.rfind("0x", 0) == 0 || v.rfind("0X", 0) == 0) v = v.substr(2);
  if (v.empty() || v.size() > 16) return Bad(w + " must be 1 to 16 hex digits");
  uint64_t out = 0;
  for (char c : v) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (d < 0) return Bad(w + " is not hex");
    out = (out << 4) | static_cast<uint64_t>(d);
  }
  return out;
}

Result<std::vector<Bytes>> GetHexListIn(const json& obj, const char* key, size_t size, const std::string& where) {
  auto r = GetHexList(obj, key, {size}, std::to_string(size).c_str());
  if (!r.ok()) {
    std::string m = r.status().message();
    // Name the section in the message: "policy: mrtd[0] ..." -> "policy: tdx.mrtd[0] ...".
    const std::string prefix = "policy: ";
    if (m.rfind(prefix, 0) == 0) m = prefix + where + "." + m.substr(prefix.size());
    return Status::InvalidArgument(m);
  }
  return r;
}

Result<std::vector<std::string>> GetStringList(const json& obj, const char* key) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end()) return out;
  if (!it->is_array()) return Bad(std::string("\"") + key + "\" must be an array of strings");
  for (const json& v : *it) {
    if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
      return Bad(std::string("\"") + key + "\" must be an array of non-empty strings");
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

const std::set<std::string> kIntelStatuses = {
    "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
    "OutOfDate", "OutOfDateConfigurationNeeded"};

Status ParseHardwareSections(const json& doc, Policy* p) {
  if (auto it = doc.find("sgx"); it != doc.end()) {
    CITADEL_RETURN_IF_ERROR(CheckKeys(*it, "sgx", {"mrenclave", "mrsigner", "isv_prod_id", "min_isv_svn",
                                                   "allow_debug", "attributes", "attributes_mask", "xfrm",
                                                   "xfrm_mask", "misc_select", "misc_select_mask"}));
    SgxPolicy s;
    CITADEL_ASSIGN_OR_RETURN(s.mrenclave, GetHexListIn(*it, "mrenclave", 32, "sgx"));
    CITADEL_ASSIGN_OR_RETURN(s.mrsigner, GetHexListIn(*it, "mrsigner", 32, "sgx"));
    CITADEL_ASSIGN_OR_RETURN(s.isv_prod_id, GetUint<uint16_t>(*it, "isv_prod_id", 0xFFFF, "sgx"));
    CITADEL_ASSIGN_OR_RETURN(s.min_isv_svn, GetUint<uint16_t>(*it, "min_isv_svn", 0xFFFF, "sgx"));
    CITADEL_ASSIGN_OR_RETURN(s.allow_debug, GetBool(*it, "allow_debug", false));
    CITADEL_ASSIGN_OR_RETURN(s.attributes, GetHex64(*it, "attributes", "sgx"));
    CITADEL_ASSIGN_OR_RETURN(s.attributes_mask, GetHex64(*it, "attributes_mask", "sgx"));
    CITADEL_ASSIGN_OR_RETURN(s.xfrm, GetHex64(*it, "xfrm", "sgx"));
    CITADEL_ASSIGN_OR_RETURN(s.xfrm_mask, GetHex64(*it, "xfrm_mask", "sgx"));
    CITADEL_ASSIGN_OR_RETURN(s.misc_select, GetUint<uint32_t>(*it, "misc_select", 0xFFFFFFFF, "sgx"));
    CITADEL_ASSIGN_OR_RETURN(s.misc_select_mask, GetUint<uint32_t>(*it, "misc_select_mask", 0xFFFFFFFF, "sgx"));
    if (s.misc_select.has_value() != s.misc_select_mask.has_value()) {
      return Bad("\"sgx.misc_select\" and \"sgx.misc_select_mask\" go together");
    }
    if (!s.mrsigner.empty() && s.mrenclave.empty() && !s.isv_prod_id.has_value()) {
      return Bad("\"sgx.mrsigner\" without \"sgx.mrenclave\" needs \"sgx.isv_prod_id\" "
                 "(any enclave of that signer would be accepted)");
    }
    p->sgx = std::move(s);
  }
  if (auto it = doc.find("tdx"); it != doc.end()) {
    CITADEL_RETURN_IF_ERROR(CheckKeys(*it, "tdx", {"mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mrconfigid",
                                                   "mrowner", "allow_debug", "td_attributes",
                                                   "td_attributes_mask", "xfam", "xfam_mask"}));
    TdxPolicy t;
    CITADEL_ASSIGN_OR_RETURN(t.mrtd, GetHexListIn(*it, "mrtd", 48, "tdx"));
    for (int i = 0; i < 4; ++i) {
      std::string k = "rtmr" + std::to_string(i);
      CITADEL_ASSIGN_OR_RETURN(t.rtmr[i], GetHexListIn(*it, k.c_str(), 48, "tdx"));
    }
    CITADEL_ASSIGN_OR_RETURN(t.mrconfigid, GetHexListIn(*it, "mrconfigid", 48, "tdx"));
    CITADEL_ASSIGN_OR_RETURN(t.mrowner, GetHexListIn(*it, "mrowner", 48, "tdx"));
    CITADEL_ASSIGN_OR_RETURN(t.allow_debug, GetBool(*it, "allow_debug", false));
    CITADEL_ASSIGN_OR_RETURN(t.td_attributes, GetHex64(*it, "td_attributes", "tdx"));
    CITADEL_ASSIGN_OR_RETURN(t.td_attributes_mask, GetHex64(*it, "td_attributes_mask", "tdx"));
    CITADEL_ASSIGN_OR_RETURN(t.xfam, GetHex64(*it, "xfam", "tdx"));
    CITADEL_ASSIGN_OR_RETURN(t.xfam_mask, GetHex64(*it, "xfam_mask", "tdx"));
    p->tdx = std::move(t);
  }
  if (auto it = doc.find("snp"); it != doc.end()) {
    CITADEL_RETURN_IF_ERROR(CheckKeys(*it, "snp", {"measurement", "host_data", "id_key_digest", "allow_debug",
                                                   "allow_migrate_ma", "allow_smt", "min_tcb", "max_vmpl",
                                                   "min_guest_svn", "allow_vlek"}));
    SnpPolicy s;
    CITADEL_ASSIGN_OR_RETURN(s.measurement, GetHexListIn(*it, "measurement", 48, "snp"));
    CITADEL_ASSIGN_OR_RETURN(s.host_data, GetHexListIn(*it, "host_data", 32, "snp"));
    CITADEL_ASSIGN_OR_RETURN(s.id_key_digest, GetHexListIn(*it, "id_key_digest", 48, "snp"));
    CITADEL_ASSIGN_OR_RETURN(s.allow_debug, GetBool(*it, "allow_debug", false));
    CITADEL_ASSIGN_OR_RETURN(s.allow_migrate_ma, GetBool(*it, "allow_migrate_ma", false));
    CITADEL_ASSIGN_OR_RETURN(s.allow_smt, GetBool(*it, "allow_smt", true));
    CITADEL_ASSIGN_OR_RETURN(s.allow_vlek, GetBool(*it, "allow_vlek", true));
    CITADEL_ASSIGN_OR_RETURN(s.max_vmpl, GetUint<uint32_t>(*it, "max_vmpl", 3, "snp"));
    CITADEL_ASSIGN_OR_RETURN(s.min_guest_svn, GetUint<uint32_t>(*it, "min_guest_svn", 0xFFFFFFFF, "snp"));
    if (auto mt = it->find("min_tcb"); mt != it->end()) {
      CITADEL_RETURN_IF_ERROR(CheckKeys(*mt, "snp.min_tcb", {"boot_loader", "tee", "snp", "microcode", "fmc"}));
      SnpTcbMinimum m;
      const char* names[] = {"boot_loader", "tee", "snp", "microcode", "fmc"};
      uint8_t* fields[] = {&m.boot_loader, &m.tee, &m.snp, &m.microcode, &m.fmc};
      for (int i = 0; i < 5; ++i) {
        CITADEL_ASSIGN_OR_RETURN(std::optional<uint8_t> v, GetUint<uint8_t>(*mt, names[i], 255, "snp.min_tcb"));
        *fields[i] = v.value_or(0);
      }
      s.min_tcb = m;
    }
    p->snp = std::move(s);
  }
  if (auto it = doc.find("nvidia"); it != doc.end()) {
    CITADEL_RETURN_IF_ERROR(CheckKeys(*it, "nvidia", {"measurements", "rim_file", "rim_chain", "require_nonce", "require_ocsp"}));
    NvidiaPolicy n;
    if (auto m = it->find("measurements"); m != it->end()) {
      if (!m->is_object()) return Bad("\"nvidia.measurements\" must be an object {\"index\": [\"hex\", ...]}");
      for (const auto& kv : m->items()) {
        uint64_t idx = 0;
        const std::string& k = kv.key();
        if (k.empty() || k.size() > 3 || k.find_first_not_of("0123456789") != std::string::npos ||
            (idx = std::stoull(k)) > 255) {
          return Bad("\"nvidia.measurements\" keys must be block indices 0..255, got \"" + k + "\"");
        }
        json wrapper = {{"m", kv.value()}};
        CITADEL_ASSIGN_OR_RETURN(n.measurements[static_cast<uint32_t>(idx)],
                                 GetHexListIn(wrapper, "m", 48, "nvidia.measurements." + k));
      }
    }
    if (auto r = it->find("rim_file"); r != it->end()) {
      // One path (a combined RIM) or several (driver + VBIOS). The files are
      // read now so that a missing file is a policy error; their signatures
      // are checked at each appraisal (AppraiseEvidence), at its instant.
      std::vector<std::string> paths;
      if (r->is_string()) {
        paths.push_back(r->get<std::string>());
      } else if (r->is_array() && !r->empty()) {
        for (size_t i = 0; i < r->size(); ++i) {
          if (!(*r)[i].is_string()) return Bad("nvidia.rim_file[" + std::to_string(i) + "] must be a path");
          paths.push_back((*r)[i].get<std::string>());
        }
      } else {
        return Bad("\"nvidia.rim_file\" must be a path or a non-empty array of paths");
      }
      for (size_t i = 0; i < paths.size(); ++i) {
        if (paths[i].empty()) return Bad("nvidia.rim_file[" + std::to_string(i) + "] is empty");
        std::string full = paths[i];
        if (full[0] != '/' && !g_policy_base_dir.empty()) full = g_policy_base_dir + "/" + full;
        auto bytes = ReadFileBytes(full, nvidia::kMaxRimBytes);
        if (!bytes.ok()) return Bad("nvidia.rim_file \"" + paths[i] + "\": " + bytes.status().message());
        n.rim_files.push_back(paths[i]);
        n.rims.push_back(std::move(bytes).value());
      }
    }
    if (auto c = it->find("rim_chain"); c != it->end()) {
      if (!c->is_string() || c->get<std::string>().empty()) return Bad("\"nvidia.rim_chain\" must be a path");
      if (n.rims.empty()) return Bad("\"nvidia.rim_chain\" needs \"nvidia.rim_file\"");
      std::string full = c->get<std::string>();
      if (full[0] != '/' && !g_policy_base_dir.empty()) full = g_policy_base_dir + "/" + full;
      auto bytes = ReadFileBytes(full, size_t{1} << 20);
      if (!bytes.ok()) return Bad("nvidia.rim_chain \"" + c->get<std::string>() + "\": " + bytes.status().message());
      n.rim_chain = std::move(bytes).value();
    }
    CITADEL_ASSIGN_OR_RETURN(n.require_nonce, GetBool(*it, "require_nonce", true));
    CITADEL_ASSIGN_OR_RETURN(n.require_ocsp, GetBool(*it, "require_ocsp", false));
    p->nvidia = std::move(n);
  }
  if (doc.contains("tcb_statuses")) {
    CITADEL_ASSIGN_OR_RETURN(p->tcb_statuses, GetStringList(doc, "tcb_statuses"));
    for (const auto& st : p->tcb_statuses) {
      if (!kIntelStatuses.count(st)) return Bad("tcb_statuses: unknown TCB status \"" + st + "\"");
    }
  }
  if (doc.contains("qe_tcb_statuses")) {
    CITADEL_ASSIGN_OR_RETURN(p->qe_tcb_statuses, GetStringList(doc, "qe_tcb_statuses"));
    for (const auto& st : p->qe_tcb_statuses) {
      if (!kIntelStatuses.count(st)) return Bad("qe_tcb_statuses: unknown TCB status \"" + st + "\"");
    }
  }
  if (doc.contains("allowed_advisory_ids")) {
    CITADEL_ASSIGN_OR_RETURN(auto ids, GetStringList(doc, "allowed_advisory_ids"));
    p->allowed_advisory_ids = std::move(ids);
  }
  if (doc.contains("max_collateral_age_seconds") && doc.contains("max_collateral_age_days")) {
    return Bad("give one of \"max_collateral_age_seconds\", \"max_collateral_age_days\"");
  }
  CITADEL_ASSIGN_OR_RETURN(auto secs, GetUint<int64_t>(doc, "max_collateral_age_seconds", uint64_t{1} << 40, "policy"));
  CITADEL_ASSIGN_OR_RETURN(auto days, GetUint<int64_t>(doc, "max_collateral_age_days", 100000, "policy"));
  if (secs) p->max_collateral_age_seconds = *secs;
  if (days) p->max_collateral_age_seconds = *days * 86400;
  return Status::Ok();
}

bool HasSectionIdentity(const Policy& p) {
  return (p.sgx && (!p.sgx->mrenclave.empty() || !p.sgx->mrsigner.empty())) ||
         (p.tdx && !p.tdx->mrtd.empty()) || (p.snp && !p.snp->measurement.empty()) ||
         (p.nvidia && (!p.nvidia->measurements.empty() || !p.nvidia->rims.empty()));
}

// ---- evaluation ------------------------------------------------------------------

class Evaluator {
 public:
  Evaluator(const VerifiedEvidence& e, std::vector<std::string>* out) : e_(e), out_(out) {}

  void Fail(const std::string& check, const std::string& detail) { out_->push_back(check + ": " + detail); }

  const std::string* Claim(const std::string& k) const {
    auto it = e_.claims.find(k);
    return it == e_.claims.end() ? nullptr : &it->second;
  }
  // Hex claim (lower case) in list; `field` names it. Empty list: no constraint.
  // Returns true when the list is non-empty and matched.
  bool InList(const std::string& check, const std::string& claim, const std::vector<Bytes>& list) {
    if (list.empty()) return false;
    const std::string* v = Claim(claim);
    auto bytes = v ? HexDecode(*v) : Result<Bytes>(Status::NotFound(""));
    if (!bytes.ok() || !ContainsCt(list, *bytes)) {
      Fail(check, claim + " " + (v ? *v : "(absent)") + " is not one of the policy's values");
      return false;
    }
    return true;
  }
  bool Flag(const std::string& claim) const {
    const std::string* v = Claim(claim);
    return v != nullptr && *v == "true";
  }
  std::optional<uint64_t> Uint(const std::string& claim) const {
    const std::string* v = Claim(claim);
    if (v == nullptr || v->empty() || v->size() > 19 || v->find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    return std::stoull(*v);
  }
  std::optional<uint64_t> Hex64(const std::string& claim) const {
    const std::string* v = Claim(claim);
    if (v == nullptr || v->empty() || v->size() > 16 ||
        v->find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      return std::nullopt;
    }
    return std::stoull(*v, nullptr, 16);
  }
  void Masked(const std::string& check, const std::string& claim, uint64_t mask, uint64_t want) {
    if (mask == 0) return;
    auto v = Hex64(claim);
    if (!v || (*v & mask) != (want & mask)) {
      Fail(check, claim + " does not match the policy's value under its mask");
    }
  }

 private:
  const VerifiedEvidence& e_;
  std::vector<std::string>* out_;
};

void EvaluateIntelTcb(Evaluator& ev, const Policy& p, std::chrono::system_clock::time_point now) {
  const std::string* st = ev.Claim("intel.tcb_status");
  auto allowed = [](const std::vector<std::string>& list, const std::string& s) {
    return std::find(list.begin(), list.end(), s) != list.end();
  };
  if (st == nullptr || *st == "not_evaluated") {
    ev.Fail("policy.tcb_status", "the platform TCB was not evaluated: no TCB Info / QE Identity collateral was given (pass --collateral)");
  } else if (!allowed(p.tcb_statuses, *st)) {
    ev.Fail("policy.tcb_status", "platform TCB status " + *st + " is not accepted by the policy");
  }
  if (const std::string* qe = ev.Claim("intel.qe_tcb_status")) {
    if (!allowed(p.qe_tcb_statuses, *qe)) {
      ev.Fail("policy.qe_tcb_status", "QE TCB status " + *qe + " is not accepted by the policy");
    }
  } else if (st != nullptr && *st != "not_evaluated") {
    ev.Fail("policy.qe_tcb_status", "the QE TCB status is missing");
  }
  if (const std::string* mod = ev.Claim("tdx.module_tcb_status")) {
    if (!allowed(p.tcb_statuses, *mod)) {
      ev.Fail("policy.tdx_module_tcb_status", "TDX module TCB status " + *mod + " is not accepted by the policy");
    }
  }
  if (p.allowed_advisory_ids) {
    if (const std::string* adv = ev.Claim("intel.advisory_ids"); adv && !adv->empty()) {
      size_t start = 0;
      while (start <= adv->size()) {
        size_t comma = adv->find(',', start);
        std::string id = adv->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!id.empty() && !allowed(*p.allowed_advisory_ids, id)) {
          ev.Fail("policy.advisory_ids", "advisory " + id + " is not in the policy's allowed_advisory_ids");
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
  }
  if (p.max_collateral_age_seconds) {
    const std::string* issued = ev.Claim("intel.tcb_info_issue_date");
    auto t = issued ? ParseRfc3339(*issued) : Result<std::chrono::system_clock::time_point>(Status::NotFound(""));
    if (!t.ok()) {
      ev.Fail("policy.collateral_age", "the collateral's issue date is unknown");
    } else {
      auto age = std::chrono::duration_cast<std::chrono::seconds>(now - *t).count();
      if (age > *p.max_collateral_age_seconds) {
        ev.Fail("policy.collateral_age", "the TCB Info was issued " + *issued + ", " + std::to_string(age) +
                                             " s before now; the policy allows " +
                                             std::to_string(*p.max_collateral_age_seconds) + " s");
      }
    }
  }
}

}  // namespace

Result<Policy> Policy::FromJson(std::string_view text) {
  // nlohmann keeps the last of duplicate keys; a policy with two
  // "allow_simulation" entries is ambiguous, so detect and refuse them.
  std::vector<std::set<std::string>> seen;
  std::string duplicate;
  json::parser_callback_t cb = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      seen.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      if (!seen.empty()) seen.pop_back();
    } else if (event == json::parse_event_t::key && !seen.empty()) {
      const std::string& k = parsed.get_ref<const std::string&>();
      if (!seen.back().insert(k).second && duplicate.empty()) duplicate = k;
    }
    return true;
  };
  json doc = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Bad("not valid JSON");
  if (!duplicate.empty()) return Bad("duplicate key \"" + duplicate + "\"");
  if (!doc.is_object()) return Bad("must be a JSON object");

  static const std::set<std::string> kKnown = {
      "version", "allow_simulation", "measurements", "accept_any_measurement", "sim_signer_keys",
      "sgx", "tdx", "snp", "nvidia", "tcb_statuses", "qe_tcb_statuses", "allowed_advisory_ids",
      "max_collateral_age_seconds", "max_collateral_age_days"};
  for (const auto& item : doc.items()) {
    if (kKnown.count(item.key()) == 0) return Bad("unknown key \"" + item.key() + "\"");
  }

  auto version = doc.find("version");
  if (version == doc.end()) return Bad("\"version\" is required (1)");
  if (!version->is_number_unsigned() || version->get<uint64_t>() != 1) {
    return Bad("unsupported \"version\" (supported: 1)");
  }

  Policy p;
  CITADEL_ASSIGN_OR_RETURN(p.allow_simulation, GetBool(doc, "allow_simulation", false));
  CITADEL_ASSIGN_OR_RETURN(p.accept_any_measurement,
                           GetBool(doc, "accept_any_measurement", false));
  CITADEL_ASSIGN_OR_RETURN(p.measurements,
                           GetHexList(doc, "measurements", {32, 48, 64}, "32, 48 or 64"));
  CITADEL_ASSIGN_OR_RETURN(p.sim_signer_keys, GetHexList(doc, "sim_signer_keys", {32}, "32"));

  CITADEL_RETURN_IF_ERROR(ParseHardwareSections(doc, &p));

  if (p.accept_any_measurement && !p.measurements.empty()) {
    return Bad("\"accept_any_measurement\" is true but \"measurements\" are listed; "
               "remove one of them");
  }
  if (!p.accept_any_measurement && p.measurements.empty() && !HasSectionIdentity(p)) {
    return Bad("at least one entry in \"measurements\" (or an identity in a platform section: "
               "sgx.mrenclave/mrsigner, tdx.mrtd, snp.measurement, nvidia.measurements/rim_file) "
               "is required (or \"accept_any_measurement\": true, for development only)");
  }
  return p;
}

Result<Policy> Policy::LoadFile(const std::string& path) {
  auto bytes = ReadFileBytes(path, kMaxPolicyFileBytes);
  if (!bytes.ok()) return bytes.status().WithContext("policy file " + path);
  size_t slash = path.rfind('/');
  g_policy_base_dir = slash == std::string::npos ? std::string() : path.substr(0, slash == 0 ? 1 : slash);
  auto policy = FromJson(AsStringView(*bytes));
  g_policy_base_dir.clear();
  if (!policy.ok()) return policy.status().WithContext(path);
  return policy;
}

Status CheckPolicy(const VerifiedEvidence& evidence, const Policy& policy) {
  return CheckPolicy(evidence, policy, std::chrono::system_clock::now());
}

Status CheckPolicy(const VerifiedEvidence& evidence, const Policy& policy,
                   std::chrono::system_clock::time_point now) {
  std::vector<std::string> failures = EvaluatePolicy(evidence, policy, now);
  if (failures.empty()) return Status::Ok();
  // The first failure is the headline; mention how many more there are.
  std::string msg = failures.front();
  if (failures.size() > 1) msg += " (and " + std::to_string(failures.size() - 1) + " more policy failures)";
  return Status::PolicyRejected(msg);
}

// Composite evidence (docs/platforms.md): the "nvidia" section judges every
// GPU attached to CPU evidence exactly as it judges GPU evidence on its own
// (the GPU's identity comes from that section only, not from the global
// "measurements"), and a policy with an "nvidia" section requires at least
// one GPU: a server that drops its GPU evidence must not pass.
static void EvaluateDevices(const VerifiedEvidence& evidence, const Policy& policy,
                     std::chrono::system_clock::time_point now, Evaluator* ev, std::vector<std::string>* out) {
  if (evidence.kind == EvidenceKind::kNvidiaGpu) return;
  if (policy.nvidia && evidence.devices.empty()) {
    ev->Fail("policy.nvidia.missing",
             "the policy has an \"nvidia\" section but the server attached no GPU evidence (a CPU-only "
             "server, or GPU attestation is off in its config)");
  }
  Policy device_policy;
  device_policy.nvidia = policy.nvidia;
  device_policy.accept_any_measurement = true;
  for (size_t i = 0; i < evidence.devices.size(); ++i) {
    for (const std::string& f : EvaluatePolicy(evidence.devices[i], device_policy, now)) {
      const size_t colon = f.find(": ");
      const std::string which = "GPU " + std::to_string(i) + ": ";
      out->push_back(colon == std::string::npos ? which + f : f.substr(0, colon + 2) + which + f.substr(colon + 2));
    }
  }
}

std::vector<std::string> EvaluatePolicy(const VerifiedEvidence& evidence, const Policy& policy,
                                        std::chrono::system_clock::time_point now) {
  std::vector<std::string> out;
  Evaluator ev(evidence, &out);
  // Treat sim-kind evidence as simulation even if a caller cleared the flag.
  bool simulation = evidence.simulation || evidence.kind == EvidenceKind::kSim;
  if (simulation && !policy.allow_simulation) {
    ev.Fail("policy.simulation",
            "the server runs on the SIMULATION platform (no TEE: it protects nothing) and this "
            "policy does not allow simulation; set \"allow_simulation\": true only for development");
    return out;
  }
  if (evidence.measurement.empty()) {
    ev.Fail("policy.measurement", "the evidence carries no measurement");
    return out;
  }
  const bool in_global = ContainsCt(policy.measurements, evidence.measurement);
  bool section_identity = false;  // a platform section named this evidence's identity and it matched

  switch (evidence.kind) {
    case EvidenceKind::kSim:
      break;
    case EvidenceKind::kSgxDcap: {
      SgxPolicy def;
      const SgxPolicy& s = policy.sgx ? *policy.sgx : def;
      size_t before = out.size();
      bool enclave = ev.InList("policy.sgx.mrenclave", "sgx.mr_enclave", s.mrenclave);
      bool signer = ev.InList("policy.sgx.mrsigner", "sgx.mr_signer", s.mrsigner);
      section_identity = (enclave || signer) && out.size() == before;
      if (!s.allow_debug && ev.Flag("sgx.debug")) ev.Fail("policy.sgx.debug", "the enclave runs in DEBUG mode");
      if (s.isv_prod_id && ev.Uint("sgx.isv_prod_id") != std::optional<uint64_t>(*s.isv_prod_id)) {
        ev.Fail("policy.sgx.isv_prod_id", "ISV product ID is not " + std::to_string(*s.isv_prod_id));
      }
      if (s.min_isv_svn) {
        auto svn = ev.Uint("sgx.isv_svn");
        if (!svn || *svn < *s.min_isv_svn) {
          ev.Fail("policy.sgx.min_isv_svn", "ISV SVN is below " + std::to_string(*s.min_isv_svn));
        }
      }
      ev.Masked("policy.sgx.attributes", "sgx.attributes", s.attributes_mask, s.attributes);
      ev.Masked("policy.sgx.xfrm", "sgx.xfrm", s.xfrm_mask, s.xfrm);
      if (s.misc_select_mask) {
        auto v = ev.Uint("sgx.misc_select");
        if (!v || (*v & *s.misc_select_mask) != (*s.misc_select & *s.misc_select_mask)) {
          ev.Fail("policy.sgx.misc_select", "MISCSELECT does not match the policy under its mask");
        }
      }
      EvaluateIntelTcb(ev, policy, now);
      break;
    }
    case EvidenceKind::kTdx: {
      TdxPolicy def;
      const TdxPolicy& t = policy.tdx ? *policy.tdx : def;
      size_t before = out.size();
      bool mrtd = ev.InList("policy.tdx.mrtd", "tdx.mr_td", t.mrtd);
      for (int i = 0; i < 4; ++i) {
        ev.InList("policy.tdx.rtmr" + std::to_string(i), "tdx.rtmr" + std::to_string(i), t.rtmr[i]);
      }
      ev.InList("policy.tdx.mrconfigid", "tdx.mr_config_id", t.mrconfigid);
      ev.InList("policy.tdx.mrowner", "tdx.mr_owner", t.mrowner);
      section_identity = mrtd && out.size() == before;
      if (!t.allow_debug && ev.Flag("tdx.debug")) ev.Fail("policy.tdx.debug", "the TD runs in DEBUG mode");
      ev.Masked("policy.tdx.td_attributes", "tdx.td_attributes", t.td_attributes_mask, t.td_attributes);
      ev.Masked("policy.tdx.xfam", "tdx.xfam", t.xfam_mask, t.xfam);
      EvaluateIntelTcb(ev, policy, now);
      break;
    }
    case EvidenceKind::kSevSnp: {
      SnpPolicy def;
      const SnpPolicy& s = policy.snp ? *policy.snp : def;
      size_t before = out.size();
      bool m = ev.InList("policy.snp.measurement", "measurement", s.measurement);
      ev.InList("policy.snp.host_data", "snp.host_data", s.host_data);
      ev.InList("policy.snp.id_key_digest", "snp.id_key_digest", s.id_key_digest);
      section_identity = m && out.size() == before;
      if (!s.allow_debug && ev.Flag("snp.debug")) {
        ev.Fail("policy.snp.debug", "the guest policy allows DEBUG (the hypervisor can read guest memory)");
      }
      if (!s.allow_migrate_ma && ev.Flag("snp.migrate_ma")) {
        ev.Fail("policy.snp.migrate_ma", "the guest policy allows a migration agent");
      }
      if (!s.allow_smt && ev.Flag("snp.smt")) ev.Fail("policy.snp.smt", "the guest policy allows SMT");
      if (!s.allow_vlek) {
        const std::string* k = ev.Claim("snp.signing_key");
        if (k && *k == "vlek") ev.Fail("policy.snp.signing_key", "the report is signed by a VLEK");
      }
      if (s.max_vmpl) {
        auto v = ev.Uint("snp.vmpl");
        if (!v || *v > *s.max_vmpl) ev.Fail("policy.snp.vmpl", "VMPL is above " + std::to_string(*s.max_vmpl));
      }
      if (s.min_guest_svn) {
        auto v = ev.Uint("snp.guest_svn");
        if (!v || *v < *s.min_guest_svn) {
          ev.Fail("policy.snp.min_guest_svn", "guest SVN is below " + std::to_string(*s.min_guest_svn));
        }
      }
      if (s.min_tcb) {
        const std::pair<const char*, uint8_t> parts[] = {{"boot_loader", s.min_tcb->boot_loader},
                                                         {"tee", s.min_tcb->tee},
                                                         {"snp", s.min_tcb->snp},
                                                         {"microcode", s.min_tcb->microcode},
                                                         {"fmc", s.min_tcb->fmc}};
        for (const auto& [name, min] : parts) {
          if (min == 0) continue;
          auto v = ev.Uint(std::string("snp.tcb.") + name);
          if (!v || *v < min) {
            ev.Fail("policy.snp.min_tcb", std::string("reported TCB ") + name + " is below " + std::to_string(min));
          }
        }
      }
      break;
    }
    case EvidenceKind::kNvidiaGpu: {
      NvidiaPolicy def;
      const NvidiaPolicy& n = policy.nvidia ? *policy.nvidia : def;
      size_t before = out.size();
      for (const auto& [index, list] : n.measurements) {
        ev.InList("policy.nvidia.measurements", "nvidia.measurement." + std::to_string(index), list);
      }
      if (!n.rims.empty()) {
        const std::string* rim = ev.Claim("nvidia.rim");
        if (rim == nullptr || *rim != "verified") {
          ev.Fail("policy.nvidia.rim", "the policy's RIMs were not verified for this evidence "
                                       "(AppraiseEvidence verifies them; EvaluatePolicy alone cannot)");
        } else {
          for (auto& f : nvidia::CompareWithRimReferences(evidence.claims)) out.push_back(std::move(f));
        }
      }
      section_identity = (!n.measurements.empty() || !n.rims.empty()) && out.size() == before;
      if (n.require_nonce && !ev.Flag("nvidia.nonce_checked")) {
        ev.Fail("policy.nvidia.nonce", "the report's nonce was not checked against a verifier nonce");
      }
      if (n.require_ocsp) {
        const std::string* ocsp = ev.Claim("nvidia.ocsp");
        if (ocsp == nullptr || *ocsp != "checked") {
          ev.Fail("policy.nvidia.ocsp", "the policy requires current OCSP responses for every device certificate; "
                                        "revocation state: " + (ocsp == nullptr ? std::string("absent") : *ocsp));
        }
      }
      break;
    }
  }

  if (!policy.accept_any_measurement && !in_global && !section_identity) {
    ev.Fail("policy.measurement", "measurement " + HexEncode(evidence.measurement) +
                                      " is not in the policy's accepted measurements");
  }
  if (simulation && !policy.sim_signer_keys.empty()) {
    const std::string* signer = ev.Claim("signer");
    if (signer == nullptr) {
      ev.Fail("policy.sim_signer", "simulation evidence names no signer, but the policy pins sim_signer_keys");
    } else {
      auto key = HexDecode(*signer);
      if (!key.ok() || !ContainsCt(policy.sim_signer_keys, *key)) {
        ev.Fail("policy.sim_signer", "simulation signer " + *signer + " is not in the policy's sim_signer_keys");
      }
    }
  }
  EvaluateDevices(evidence, policy, now, &ev, &out);
  return out;
}

}  // namespace citadel
