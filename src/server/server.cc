// HTTP routing for the Citadel server. Handlers translate between the wire
// (protocol.h) and the engine/registry; they never let an exception or a
// crash escape, never log payloads, and wipe request bodies when done.
#include "citadel/server.h"

#include <httplib.h>
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "citadel/bytes.h"
#include "citadel/channel.h"
#include "citadel/crypto.h"
#include "citadel/engine.h"
#include "citadel/protocol.h"
#include "citadel/log.h"
#include "model_registry.h"

namespace citadel {
namespace {

using nlohmann::json;

constexpr const char* kSimulationWarning =
    "SIMULATION platform: no hardware protection. The host can read inputs, outputs and model "
    "weights; evidence is signed by a local software key. For development and testing only.";

// Request bodies hold patient data or model weights: wipe them once handled.
// httplib hands handlers a const Request; the body is ours to clear.
void WipeBody(const httplib::Request& req) {
  auto& body = const_cast<std::string&>(req.body);
  if (!body.empty()) SecureZero(body.data(), body.size());
  body.clear();
}

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void ReplyError(httplib::Response& res, const Status& st) {
  res.status = HttpStatusFor(st.code());
  res.set_content(ErrorBody(st), "application/json");
}

json TensorInfoJson(const TensorInfo& t) {
  json j;
  j["name"] = t.name;
  j["datatype"] = std::string(DTypeKServeName(t.dtype));
  j["shape"] = t.shape;
  return j;
}

json ModelJson(const RegisteredModel& m) {
  json j;
  j["name"] = m.name;
  j["id"] = m.id;
  j["version"] = m.version;
  j["versions"] = json::array({std::to_string(m.version)});
  j["platform"] = "onnx";
  j["size_bytes"] = m.size_bytes;
  j["inputs"] = json::array();
  for (const auto& t : m.model->inputs()) j["inputs"].push_back(TensorInfoJson(t));
  j["outputs"] = json::array();
  for (const auto& t : m.model->outputs()) j["outputs"].push_back(TensorInfoJson(t));
  return j;
}

class ServerImpl : public Server {
 public:
  ServerImpl(ServerConfig config, std::unique_ptr<Platform> platform, ServerIdentity identity)
      : config_(config),
        platform_(std::move(platform)),
        identity_(std::move(identity)),
        http_(identity_.certificate.get(), identity_.key.get()),
        registry_(config.max_models) {}

  Status Init(const ServerOptions& options) {
    if (!http_.is_valid()) return Status::Internal("TLS server context could not be created");
    SSL_CTX* ctx = http_.ssl_context();
    // TLS 1.3 only: forward secrecy and no legacy renegotiation.
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
      return Status::Internal("cannot require TLS 1.3");
    }
    http_.set_payload_max_length(std::max(config_.max_upload_bytes, config_.max_request_bytes));
    http_.set_read_timeout(config_.request_timeout_seconds, 0);
    http_.set_write_timeout(config_.request_timeout_seconds, 0);
    http_.set_keep_alive_timeout(30);
    Routes();
    if (options.port == 0) {
      int port = http_.bind_to_any_port(options.listen_host.c_str());
      if (port <= 0) return Status::Unavailable("cannot listen on " + options.listen_host);
      port_ = port;
    } else {
      if (!http_.bind_to_port(options.listen_host.c_str(), options.port)) {
        return Status::Unavailable("cannot listen on " + options.listen_host + ":" + std::to_string(options.port) +
                                   " (address in use or not permitted)");
      }
      port_ = options.port;
    }
    LogInfo("listening on https://" + options.listen_host + ":" + std::to_string(port_) + " (" +
            platform_->Describe() + ")");
    return Status::Ok();
  }

  int port() const override { return port_; }
  const Platform& platform() const override { return *platform_; }

  Status Run() override {
    if (!http_.listen_after_bind()) return Status::Internal("listener stopped unexpectedly");
    return Status::Ok();
  }
  void Stop() override { http_.stop(); }

 private:
  void Routes() {
    http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      // Never echo internals (exception text may hold paths or data).
      ReplyError(res, Status::Internal("internal error"));
    });
    http_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 413) {
        ReplyError(res, Status::ResourceExhausted("request body exceeds the server's size limit"));
      } else if (res.status == 404) {
        ReplyError(res, Status::NotFound("no such endpoint: " + req.method + " " + req.path));
      } else if (res.status == 400) {
        ReplyError(res, Status::InvalidArgument("malformed HTTP request"));
      } else {
        res.set_content(ErrorBody(Status(Code::kInternal, "HTTP " + std::to_string(res.status))), "application/json");
      }
    });
    http_.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      // Method, path and status only: never bodies or headers (tokens).
      LogInfo(req.method + " " + req.path + " -> " + std::to_string(res.status));
    });

    http_.Get("/v2", [this](const httplib::Request&, httplib::Response& res) { Reply(res, 200, Metadata()); });
    http_.Get("/v2/health/live", [this](const httplib::Request&, httplib::Response& res) {
      Reply(res, 200, {{"live", true}, {"simulation", platform_->is_simulation()}});
    });
    http_.Get("/v2/health/ready", [this](const httplib::Request&, httplib::Response& res) {
      Reply(res, 200, {{"ready", true}, {"simulation", platform_->is_simulation()}});
    });
    http_.Get("/v2/attestation", [this](const httplib::Request& req, httplib::Response& res) { Attestation(req, res); });
    http_.Get("/v2/models", [this](const httplib::Request&, httplib::Response& res) { ListModels(res); });
    http_.Post("/v2/repository/index", [this](const httplib::Request& req, httplib::Response& res) {
      WipeBody(req);
      ListModels(res);
    });
    http_.Get(R"(/v2/models/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      auto m = registry_.Get(req.matches[1]);
      if (!m.ok()) return ReplyError(res, m.status());
      Reply(res, 200, ModelJson(*m));
    });
    http_.Get(R"(/v2/models/([^/]+)/ready)", [this](const httplib::Request& req, httplib::Response& res) {
      auto m = registry_.Get(req.matches[1]);
      if (!m.ok()) return ReplyError(res, m.status());
      Reply(res, 200, {{"name", m->name}, {"ready", true}});
    });
    http_.Post(R"(/v2/models/([^/]+)/infer)", [this](const httplib::Request& req, httplib::Response& res) {
      Infer(req, res);
      WipeBody(req);
    });
    http_.Put(R"(/v2/repository/models/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      Upload(req, res);
      WipeBody(req);
    });
    http_.Delete(R"(/v2/repository/models/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      std::string name = req.matches[1];
      Status st = registry_.Remove(name);
      if (!st.ok()) return ReplyError(res, st);
      LogInfo("model '" + name + "' deleted");
      Reply(res, 200, {{"name", name}, {"deleted", true}});
    });
  }

  json Metadata() const {
    json j;
    j["name"] = "citadel";
    j["version"] = "0.1.0";
    j["extensions"] = json::array({"attestation", "model_repository"});
    j["platform"] = std::string(platform_->name());
    j["simulation"] = platform_->is_simulation();
    j["measurement"] = HexEncode(platform_->measurement());
    if (platform_->is_simulation()) j["warning"] = kSimulationWarning;
    return j;
  }

  void Attestation(const httplib::Request& req, httplib::Response& res) {
    if (!req.has_param("nonce")) {
      return ReplyError(res, Status::InvalidArgument("query parameter 'nonce' (hex, 16 to 64 bytes) is required"));
    }
    auto nonce = HexDecode(req.get_param_value("nonce"));
    if (!nonce.ok()) return ReplyError(res, nonce.status().WithContext("nonce"));
    if (nonce->size() < 16 || nonce->size() > 64) {
      return ReplyError(res, Status::InvalidArgument("nonce must be 16 to 64 bytes"));
    }
    Result<Evidence> evidence = Status::Internal("unset");
    {
      std::lock_guard lock(evidence_mu_);
      evidence = platform_->GetEvidence(ReportDataForNonce(identity_.spki_der, *nonce));
    }
    if (!evidence.ok()) return ReplyError(res, evidence.status().WithContext("platform evidence"));
    json j;
    j["version"] = kProtocolVersion;
    j["platform"] = std::string(platform_->name());
    j["simulation"] = platform_->is_simulation();
    j["evidence"] = Base64Encode(EncodeEvidenceEnvelope(*evidence));
    Reply(res, 200, j);
  }

  void ListModels(httplib::Response& res) {
    json arr = json::array();
    for (const auto& m : registry_.List()) arr.push_back(ModelJson(m));
    Reply(res, 200, {{"models", arr}});
  }

  void Upload(const httplib::Request& req, httplib::Response& res) {
    std::string name = req.matches[1];
    Status st = ValidateModelName(name);
    if (!st.ok()) return ReplyError(res, st);
    if (req.body.size() > config_.max_upload_bytes) {
      return ReplyError(res, Status::ResourceExhausted("model upload exceeds limits.max_upload_bytes (" +
                                                       std::to_string(config_.max_upload_bytes) + ")"));
    }
    bool version_given = req.has_param("version");
    int64_t version = 0;
    if (version_given) {
      const std::string v = req.get_param_value("version");
      char* end = nullptr;
      long long parsed = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || parsed < 1) {
        return ReplyError(res, Status::InvalidArgument("version must be a positive integer"));
      }
      version = parsed;
    }
    ByteSpan bytes = AsBytes(req.body);
    if (bytes.empty()) return ReplyError(res, Status::InvalidArgument("upload body is empty; send the ONNX model bytes"));
    LoadOptions load;
    load.max_model_bytes = config_.max_upload_bytes;
    load.threads = config_.threads;
    auto model = Model::Load(bytes, load);
    if (!model.ok()) {
      LogInfo("upload of '" + name + "' refused: " + model.status().ToString());
      return ReplyError(res, model.status().WithContext("model rejected"));
    }
    RegisteredModel entry;
    entry.name = name;
    entry.id = HexEncode(Sha256(bytes));
    entry.version = version;
    entry.size_bytes = bytes.size();
    entry.model = std::move(model).value();
    auto stored = registry_.Put(std::move(entry), version_given);
    if (!stored.ok()) return ReplyError(res, stored.status());
    LogInfo("model '" + name + "' v" + std::to_string(stored->version) + " loaded, id " + stored->id);
    Reply(res, 200, ModelJson(*stored));
  }

  void Infer(const httplib::Request& req, httplib::Response& res) {
    auto m = registry_.Get(req.matches[1]);
    if (!m.ok()) return ReplyError(res, m.status());
    auto body = ParseJson(req.body);
    if (!body.ok()) return ReplyError(res, body.status());
    if (!body->is_object()) return ReplyError(res, Status::InvalidArgument("request body must be a JSON object"));
    for (const auto& [key, _] : body->items()) {
      if (key != "id" && key != "inputs" && key != "outputs" && key != "parameters") {
        return ReplyError(res, Status::InvalidArgument("unknown request field '" + key + "'"));
      }
    }
    if (!body->contains("inputs")) return ReplyError(res, Status::InvalidArgument("request has no 'inputs'"));
    TensorLimits limits;
    limits.max_elements_per_tensor = config_.max_tensor_elements;
    limits.max_total_elements = config_.max_tensor_elements;
    auto inputs = TensorListFromJson((*body)["inputs"], "inputs", limits);
    if (!inputs.ok()) return ReplyError(res, inputs.status());
    std::vector<std::string> wanted;
    if (body->contains("outputs")) {
      const json& outs = (*body)["outputs"];
      if (!outs.is_array()) return ReplyError(res, Status::InvalidArgument("'outputs' must be an array"));
      for (const auto& o : outs) {
        if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) {
          return ReplyError(res, Status::InvalidArgument("each entry of 'outputs' needs a string 'name'"));
        }
        wanted.push_back(o["name"].get<std::string>());
      }
    }
    auto outputs = m->model->Run(*inputs);
    if (!outputs.ok()) return ReplyError(res, outputs.status());
    TensorList selected;
    if (wanted.empty()) {
      selected = std::move(outputs).value();
    } else {
      for (const auto& w : wanted) {
        bool found = false;
        for (auto& o : *outputs) {
          if (o.name == w) {
            selected.push_back(o);
            found = true;
          }
        }
        if (!found) return ReplyError(res, Status::InvalidArgument("model has no output named '" + w + "'"));
      }
    }
    json j;
    j["model_name"] = m->name;
    j["model_version"] = std::to_string(m->version);
    j["model_id"] = m->id;
    if (body->contains("id") && (*body)["id"].is_string()) j["id"] = (*body)["id"];
    j["outputs"] = TensorListToJson(selected);
    Reply(res, 200, j);
  }

  ServerConfig config_;
  std::unique_ptr<Platform> platform_;
  ServerIdentity identity_;
  httplib::SSLServer http_;
  ModelRegistry registry_;
  std::mutex evidence_mu_;
  int port_ = 0;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::Create(const ServerOptions& options) {
  if (options.state_dir.empty()) return Status::InvalidArgument("--state-dir is required");
  Bytes config_bytes;
  ServerConfig config;
  if (!options.config_path.empty()) {
    auto bytes = ReadFileBytes(options.config_path, 1 << 20);
    if (!bytes.ok()) return bytes.status().WithContext("server config");
    config_bytes = std::move(bytes).value();
    auto parsed = ServerConfig::FromJson(AsStringView(config_bytes));
    if (!parsed.ok()) return parsed.status().WithContext(options.config_path);
    config = *parsed;
  }
  if (options.platform != "sim") {
    return Status::Unsupported("platform '" + options.platform +
                               "' is not available in this build; use --platform sim (SIMULATION, no protection)");
  }
  SimPlatformOptions sim;
  sim.state_dir = options.state_dir;
  sim.binary_path = options.binary_path;
  sim.config_bytes = config_bytes;
  CITADEL_ASSIGN_OR_RETURN(std::unique_ptr<Platform> platform, OpenSimPlatform(sim));
  if (platform->is_simulation()) LogWarning(kSimulationWarning);
  CITADEL_ASSIGN_OR_RETURN(ServerIdentity identity, CreateServerIdentity(*platform, "citadel"));
  auto server = std::make_unique<ServerImpl>(config, std::move(platform), std::move(identity));
  CITADEL_RETURN_IF_ERROR(server->Init(options));
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace citadel
