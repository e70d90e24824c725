#include <nlohmann/json.hpp>

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
        else if (lk == "request_timeout_seconds") c.request_timeout_seconds = static_cast<int>(std::min<uint64_t>(v, 86400));
        else return Status::InvalidArgument("server config: unknown limit '" + lk + "'");
      }
    } else {
      return Status::InvalidArgument("server config: unknown key '" + key + "'");
    }
  }
  return c;
}

}  // namespace citadel
