// Client policy: parsing (strict) and evaluation. See docs/policy.md.

#include <nlohmann/json.hpp>

#include <set>
#include <vector>

#include "citadel/attest.h"

namespace citadel {
namespace {

using nlohmann::json;

constexpr size_t kMaxPolicyFileBytes = 1 << 20;

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

  static const std::set<std::string> kKnown = {"version", "allow_simulation", "measurements",
                                               "accept_any_measurement", "sim_signer_keys"};
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

  if (p.accept_any_measurement && !p.measurements.empty()) {
    return Bad("\"accept_any_measurement\" is true but \"measurements\" are listed; "
               "remove one of them");
  }
  if (!p.accept_any_measurement && p.measurements.empty()) {
    return Bad("at least one entry in \"measurements\" is required "
               "(or \"accept_any_measurement\": true, for development only)");
  }
  return p;
}

Result<Policy> Policy::LoadFile(const std::string& path) {
  auto bytes = ReadFileBytes(path, kMaxPolicyFileBytes);
  if (!bytes.ok()) return bytes.status().WithContext("policy file " + path);
  auto policy = FromJson(AsStringView(*bytes));
  if (!policy.ok()) return policy.status().WithContext(path);
  return policy;
}

Status CheckPolicy(const VerifiedEvidence& evidence, const Policy& policy) {
  // Treat sim-kind evidence as simulation even if a caller cleared the flag.
  bool simulation = evidence.simulation || evidence.kind == EvidenceKind::kSim;
  if (simulation && !policy.allow_simulation) {
    return Status::PolicyRejected(
        "the server runs on the SIMULATION platform (no TEE: it protects nothing) and this "
        "policy does not allow simulation; set \"allow_simulation\": true only for development");
  }
  if (evidence.measurement.empty()) {
    return Status::PolicyRejected("the evidence carries no measurement");
  }
  if (!policy.accept_any_measurement && !ContainsCt(policy.measurements, evidence.measurement)) {
    return Status::PolicyRejected("measurement " + HexEncode(evidence.measurement) +
                                  " is not in the policy's accepted measurements");
  }
  if (simulation && !policy.sim_signer_keys.empty()) {
    auto it = evidence.claims.find("signer");
    if (it == evidence.claims.end()) {
      return Status::PolicyRejected("simulation evidence names no signer, but the policy pins "
                                    "sim_signer_keys");
    }
    auto signer = HexDecode(it->second);
    if (!signer.ok() || !ContainsCt(policy.sim_signer_keys, *signer)) {
      return Status::PolicyRejected("simulation signer " + it->second +
                                    " is not in the policy's sim_signer_keys");
    }
  }
  return Status::Ok();
}

}  // namespace citadel
