#include <algorithm>

#include <nlohmann/json.hpp>

#include "citadel/crypto.h"
#include "citadel/server.h"

namespace citadel {

Result<ServerConfig> ServerConfig::FromJson(std::string_view text) {
  using nlohmann::json;
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("server config is not a JSON object");
  ServerConfig c;
  for (const auto& [key, value] : j.items()) {
    if (key == "version") {
      if (!value.is_number_integer() || value.get<int64_t>() != 1) {
        return Status::InvalidArgument("server config: unsupported version (expected 1)");
      }
    } else if (key == "threads") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 1024) {
        return Status::InvalidArgument("server config: 'threads' must be an integer in [0, 1024]");
      }
      c.threads = value.get<int>();
    } else if (key == "limits") {
      if (!value.is_object()) return Status::InvalidArgument("server config: 'limits' must be an object");
      for (const auto& [lk, lv] : value.items()) {
        if (!lv.is_number_unsigned() || lv.get<uint64_t>() == 0) {
          return Status::InvalidArgument("server config: limits." + lk + " must be a positive integer");
        }
        uint64_t v = lv.get<uint64_t>();
        if (lk == "max_upload_bytes") c.max_upload_bytes = v;
        else if (lk == "max_request_bytes") c.max_request_bytes = v;
        else if (lk == "max_models") c.max_models = v;
        else if (lk == "max_tensor_elements") c.max_tensor_elements = v;
        else if (lk == "max_tensor_bytes") c.max_tensor_bytes = v;
        else if (lk == "max_model_memory_bytes") c.max_model_memory_bytes = v;
        else if (lk == "max_concurrent_requests") c.max_concurrent_requests = std::min<uint64_t>(v, 4096);
        else if (lk == "max_connections") c.max_connections = std::min<uint64_t>(v, 4096);
        else if (lk == "request_timeout_seconds") c.request_timeout_seconds = static_cast<int>(std::min<uint64_t>(v, 86400));
        else if (lk == "idle_timeout_seconds") c.idle_timeout_seconds = static_cast<int>(std::min<uint64_t>(v, 3600));
        else if (lk == "body_timeout_seconds") c.body_timeout_seconds = static_cast<int>(std::min<uint64_t>(v, 86400));
        else return Status::InvalidArgument("server config: unknown limit '" + lk + "'");
      }
    } else if (key == "owners" || key == "users" || key == "auditors") {
      if (!value.is_array()) return Status::InvalidArgument("server config: '" + key + "' must be an array");
      std::vector<Principal>& list = key == "owners" ? c.owners : key == "users" ? c.users : c.auditors;
      const std::string cred_field = key == "owners" ? "public_key" : "token_sha256";
      for (size_t i = 0; i < value.size(); ++i) {
        const json& e = value[i];
        const std::string where = "server config: " + key + "[" + std::to_string(i) + "]";
        if (!e.is_object() || e.size() != 2 || !e.contains("name") || !e["name"].is_string() ||
            !e.contains(cred_field) || !e[cred_field].is_string()) {
          return Status::InvalidArgument(where + " must be {\"name\": ..., \"" + cred_field + "\": ...}");
        }
        Principal p;
        p.name = e["name"].get<std::string>();
        if (p.name.empty() || p.name.size() > 128) return Status::InvalidArgument(where + ".name must be 1 to 128 characters");
        const std::string cred = e[cred_field].get<std::string>();
        auto decoded = key == "owners" ? Base64Decode(cred) : HexDecode(cred);
        if (!decoded.ok()) return decoded.status().WithContext(where + "." + cred_field);
        if (key == "owners") {
          auto parsed = ParsePublicKeySpkiDer(*decoded);
          if (!parsed.ok()) return Status::InvalidArgument(where + ".public_key is not a public key (base64 SPKI DER)");
        } else if (decoded->size() != 32) {
          return Status::InvalidArgument(where + ".token_sha256 must be 32 bytes of hex");
        }
        p.credential = std::move(decoded).value();
        list.push_back(std::move(p));
      }
    } else if (key == "key_release") {
      if (!value.is_object() || value.size() != 2 || !value.contains("broker") || !value["broker"].is_string() ||
          !value.contains("broker_public_key") || !value["broker_public_key"].is_string()) {
        return Status::InvalidArgument(
            "server config: 'key_release' must be {\"broker\": \"http://HOST:PORT\", \"broker_public_key\": \"<base64 SPKI>\"}");
      }
      c.key_broker_url = value["broker"].get<std::string>();
      if (c.key_broker_url.rfind("http://", 0) != 0 && c.key_broker_url.rfind("https://", 0) != 0) {
        return Status::InvalidArgument("server config: key_release.broker must be an http:// or https:// URL");
      }
      auto spki = Base64Decode(value["broker_public_key"].get<std::string>());
      if (!spki.ok() || !ParsePublicKeySpkiDer(*spki).ok()) {
        return Status::InvalidArgument("server config: key_release.broker_public_key is not a public key (base64 SPKI DER)");
      }
      c.key_broker_public_key = std::move(spki).value();
    } else if (key == "gpu") {
      if (!value.is_object()) {
        return Status::InvalidArgument(
            "server config: 'gpu' must be {\"attestation\": \"auto|required|off\", \"nvml_library\": \"PATH\"}");
      }
      for (const auto& [gkey, gvalue] : value.items()) {
        if (gkey == "attestation") {
          if (!gvalue.is_string() || (gvalue != "auto" && gvalue != "required" && gvalue != "off")) {
            return Status::InvalidArgument("server config: gpu.attestation must be \"auto\", \"required\" or \"off\"");
          }
          c.gpu_attestation = gvalue.get<std::string>();
        } else if (gkey == "nvml_library") {
          if (!gvalue.is_string() || gvalue.get<std::string>().empty()) {
            return Status::InvalidArgument("server config: gpu.nvml_library must be a non-empty string");
          }
          c.nvml_library = gvalue.get<std::string>();
        } else {
          return Status::InvalidArgument("server config: unknown key 'gpu." + gkey + "'");
        }
      }
    } else {
      return Status::InvalidArgument("server config: unknown key '" + key + "'");
    }
  }
  return c;
}

}  // namespace citadel
