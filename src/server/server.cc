// HTTP routing for the Citadel server. Handlers translate between the wire
// (protocol.h) and the engine/registry; they never let an exception or a
// crash escape, never log payloads, and wipe request bodies when done.
#include "citadel/server.h"

#include <httplib.h>
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "citadel/bytes.h"
#include "citadel/files.h"
#include "citadel/gpu.h"
#include "citadel/key_release.h"
#include "citadel/channel.h"
#include "citadel/crypto.h"
#include "citadel/engine.h"
#include "citadel/protocol.h"
#include "citadel/log.h"
#include "citadel/owner_key.h"
#include "citadel/package.h"
#include "citadel/proof.h"
#include "audit_log.h"
#include "model_registry.h"
#include "model_store.h"

namespace citadel {
namespace {

using nlohmann::json;

// The admission slot (see ServerImpl::Admit) held by the request this pool
// thread is serving, if any.
thread_local std::atomic<size_t>* t_held_slot = nullptr;

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

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json ModelJson(const RegisteredModel& m) {
  json j;
  j["name"] = m.name;
  j["id"] = m.id;
  j["signer"] = m.signer;
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
  ServerImpl(ServerConfig config, std::unique_ptr<Platform> platform, ServerIdentity identity,
             std::unique_ptr<ModelStore> store, std::unique_ptr<AuditLog> audit)
      : config_(config),
        platform_(std::move(platform)),
        identity_(std::move(identity)),
        http_(identity_.certificate.get(), identity_.key.get()),
        registry_(config.max_models),
        store_(std::move(store)),
        audit_(std::move(audit)) {
    signer_.key = identity_.key.get();
    signer_.spki_der = identity_.spki_der;
    signer_.evidence_envelope = EncodeEvidenceEnvelope(identity_.evidence);
  }

  ~ServerImpl() override { (void)audit_->FlushCounts(); }

  void HoldStateLock(DirectoryLock lock) { state_lock_.emplace(std::move(lock)); }

  Status SetupPackageKey() {
    CITADEL_ASSIGN_OR_RETURN(package_key_, DerivePackageKey(*platform_));
    CITADEL_ASSIGN_OR_RETURN(box_identity_, MakeBoxIdentity(*platform_, package_key_));
    return Status::Ok();
  }

  void LogStart(const std::string& platform, const std::string& measurement) {
    (void)audit_->Append("server_started", {{"platform", platform}, {"measurement", measurement},
                                            {"tls_key_sha256", HexEncode(Sha256(identity_.spki_der))}});
    if (config_.owners.empty()) LogWarning("no model owners configured: uploads are not signature-checked");
    if (config_.users.empty()) LogWarning("no users configured: inference needs no token");
  }

  // Reloads every sealed model; refused files are audited and skipped.
  void RestoreModels() {
    std::vector<std::pair<std::string, Status>> refused;
    for (auto& file : store_->LoadAll(&refused)) {
      LoadOptions load;
      load.threads = config_.threads;
      auto model = Model::Load(file.onnx.span(), load);
      if (!model.ok()) {
        refused.emplace_back(file.header.name + ".cmodel", model.status());
        continue;
      }
      RegisteredModel entry{file.header.name, file.header.id, file.header.version, file.header.signer,
                            file.onnx.size(), std::move(model).value()};
      Status st = registry_.Put(std::move(entry));
      if (!st.ok()) refused.emplace_back(file.header.name + ".cmodel", st);
      else LogInfo("restored model '" + file.header.name + "' v" + std::to_string(file.header.version));
    }
    for (const auto& [file, why] : refused) {
      LogError("stored model " + file + " refused: " + why.ToString());
      (void)audit_->Append("model_load_refused", {{"file", file}, {"reason", why.message()}});
    }
  }

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
    // Limits (issue 9, docs/security.md): worker threads, idle keep-alive
    // connections, and admission before any request body is read.
    http_.new_task_queue = [n = config_.max_connections] { return new httplib::ThreadPool(n); };
    http_.set_keep_alive_timeout(config_.idle_timeout_seconds);
    http_.set_keep_alive_max_count(1000);
    http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      return Admit(req, res) ? httplib::Server::HandlerResponse::Unhandled : httplib::Server::HandlerResponse::Handled;
    });
    http_.set_post_routing_handler([](const httplib::Request&, httplib::Response&) { ReleaseSlot(); });
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

  // Run and Stop may race (Stop right after Create, before the listener
  // runs): httplib's stop() is a no-op until listening has begun, so Stop
  // waits for that, and Run does not start once a stop was requested.
  Status Run() override {
    run_started_ = true;
    if (stop_requested_) {
      run_done_ = true;
      return Status::Ok();
    }
    bool ok = http_.listen_after_bind();
    run_done_ = true;
    if (!ok && !stop_requested_) return Status::Internal("listener stopped unexpectedly");
    return Status::Ok();
  }
  void Stop() override {
    stop_requested_ = true;
    if (run_started_) {
      while (!http_.is_running() && !run_done_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    http_.stop();
    (void)audit_->FlushCounts();
  }

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
    http_.Get("/v2/models", [this](const httplib::Request& req, httplib::Response& res) {
      if (!Authenticate(req, res, config_.users)) return;
      ListModels(res);
    });
    http_.Post("/v2/repository/index", [this](const httplib::Request& req, httplib::Response& res) {
      WipeBody(req);
      if (!Authenticate(req, res, config_.users)) return;
      ListModels(res);
    });
    http_.Get("/v2/audit", [this](const httplib::Request& req, httplib::Response& res) { Audit(req, res); });
    http_.Get(R"(/v2/models/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!Authenticate(req, res, config_.users)) return;
      auto m = registry_.Get(req.matches[1]);
      if (!m.ok()) return ReplyError(res, m.status());
      Reply(res, 200, ModelJson(*m));
    });
    http_.Get(R"(/v2/models/([^/]+)/ready)", [this](const httplib::Request& req, httplib::Response& res) {
      auto m = registry_.Get(req.matches[1]);
      if (!m.ok()) return ReplyError(res, m.status());
      Reply(res, 200, {{"name", m->name}, {"ready", true}});
    });
    http_.Post(R"(/v2/models/([^/]+)/infer)", WithBody([this](const httplib::Request& req, httplib::Response& res) {
      Infer(req, res);
    }));
    http_.Put(R"(/v2/repository/models/([^/]+))", WithBody([this](const httplib::Request& req, httplib::Response& res) {
      Upload(req, res);
    }));
    http_.Put("/v2/repository/packages", WithBody([this](const httplib::Request& req, httplib::Response& res) {
      InstallPackage(req, res);
    }));
    http_.Get("/v2/package-key", [this](const httplib::Request&, httplib::Response& res) {
      Reply(res, 200, BoxIdentityToJson(box_identity_));
    });
    http_.Delete(R"(/v2/repository/models/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      Delete(req, res);
    });
  }

  // Wraps a handler that needs the request body: reads it here, under
  // limits.body_timeout_seconds for the whole body (httplib's own timeout is
  // per read, so a trickling client could hold a worker indefinitely), into
  // a buffer reserved once from the Content-Length that Admit already
  // checked (no reallocation leaves unwiped copies of patient data behind),
  // then runs the handler and wipes the body.
  httplib::Server::HandlerWithContentReader WithBody(std::function<void(const httplib::Request&, httplib::Response&)> handler) {
    return [this, handler = std::move(handler)](const httplib::Request& req, httplib::Response& res,
                                                const httplib::ContentReader& reader) {
      auto& body = const_cast<std::string&>(req.body);
      const size_t declared = static_cast<size_t>(req.get_header_value<uint64_t>("Content-Length"));
      body.reserve(std::min(declared, std::max(config_.max_upload_bytes, config_.max_request_bytes)));
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(config_.body_timeout_seconds);
      bool late = false;
      const bool complete = reader([&](const char* data, size_t n) {
        if (std::chrono::steady_clock::now() > deadline) {
          late = true;
          return false;
        }
        if (body.size() + n > body.capacity()) return false;  // more than declared: never grow
        body.append(data, n);
        return true;
      });
      if (complete && !late) handler(req, res);
      WipeBody(req);
      if (!complete || late) {
        // The rest of the body is still in the socket: close the connection.
        res.set_header("Connection", "close");
        if (late) {
          ReplyError(res, Status::Unavailable("request body not received within limits.body_timeout_seconds (" +
                                                   std::to_string(config_.body_timeout_seconds) + " s)"));
          res.status = 408;
        } else {
          ReplyError(res, Status::InvalidArgument("request body could not be read completely"));
        }
      }
    };
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
    // Public limits, so that clients refuse an oversize body before sending
    // it (the server answers 413 from the headers, but a client that writes
    // the whole body first only sees the connection close).
    j["limits"] = {{"max_upload_bytes", config_.max_upload_bytes},
                   {"max_request_bytes", config_.max_request_bytes},
                   {"max_tensor_elements", config_.max_tensor_elements},
                   {"max_tensor_bytes", config_.max_tensor_bytes},
                   {"max_models", config_.max_models}};
    j["access"] = {{"uploads", config_.owners.empty() ? "open (no owners configured)" : "owner-signed"},
                   {"inference", config_.users.empty() ? "open (no users configured)" : "token"},
                   {"audit", config_.auditors.empty() ? "open (no auditors configured)" : "token"}};
    return j;
  }

  // Bearer-token check against `allowed` (SHA-256 of tokens). An empty list
  // means the endpoint is open. On failure replies 401 without detail.
  // Returns the principal's name ("anonymous" when open).
  std::optional<std::string> Authenticate(const httplib::Request& req, httplib::Response& res,
                                          const std::vector<Principal>& allowed) {
    if (allowed.empty()) return std::string("anonymous");
    const std::string header = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    std::optional<std::string> who;
    if (header.size() > prefix.size() && header.compare(0, prefix.size(), prefix) == 0) {
      Sha256Digest digest = Sha256(AsBytes(std::string_view(header).substr(prefix.size())));
      // Compare against every entry, whatever matches, so timing says nothing.
      for (const auto& p : allowed) {
        if (ConstantTimeEquals(digest, p.credential) && !who) who = p.name;
      }
    }
    if (!who) ReplyError(res, Status::Unauthenticated("unauthenticated"));
    return who;
  }

  // Checks an owner signature carried in headers over `statement`. Returns
  // the owner key id, "" in open mode (no owners configured).
  Result<std::string> VerifyOwner(const httplib::Request& req, const std::string& statement) {
    OwnerApproval approval;
    approval.key_id = req.get_header_value("Citadel-Owner-Key");
    approval.signature_b64 = req.get_header_value("Citadel-Signature");
    return VerifyOwnerApproval(approval, statement);
  }

  static Result<int64_t> IntHeader(const httplib::Request& req, const char* name, bool required) {
    if (!req.has_header(name)) {
      if (required) return Status::InvalidArgument(std::string("header ") + name + " is required");
      return int64_t{0};
    }
    const std::string v = req.get_header_value(name);
    char* end = nullptr;
    long long parsed = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || parsed < 0) {
      return Status::InvalidArgument(std::string("header ") + name + " must be a non-negative integer");
    }
    return static_cast<int64_t>(parsed);
  }

  void Audit(const httplib::Request& req, httplib::Response& res) {
    auto who = Authenticate(req, res, config_.auditors);
    if (!who) return;
    (void)audit_->FlushCounts();
    (void)audit_->Append("audit_read", {{"auditor", *who}});
    auto entries = audit_->Entries();
    json checkpoint_payload = {{"seq", entries.back()["seq"]},
                               {"head_hash", entries.back()["hash"]},
                               {"time", NowSeconds()},
                               {"evidence_sha256", HexEncode(Sha256(signer_.evidence_envelope))}};
    auto checkpoint = SignStatement(signer_, "audit-checkpoint", checkpoint_payload);
    if (!checkpoint.ok()) return ReplyError(res, checkpoint.status());
    Reply(res, 200, {{"entries", entries}, {"checkpoint", *checkpoint}});
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
    (void)audit_->Append("attestation_requested", {{"nonce_sha256", HexEncode(Sha256(*nonce))}});
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

  // With owners configured, model changes without a signature are
  // unauthenticated: say so before looking at anything else.
  bool RequireOwnerHeaders(const httplib::Request& req, httplib::Response& res) {
    if (config_.owners.empty()) return true;
    if (req.has_header("Citadel-Signature") && req.has_header("Citadel-Owner-Key")) return true;
    ReplyError(res, Status::Unauthenticated("unauthenticated"));
    return false;
  }

  // What the owner signed (or nothing, in open mode).
  struct OwnerApproval {
    std::string key_id;
    std::string signature_b64;
    int64_t signed_at = 0;
    bool allow_downgrade = false;
  };

  // Checks an owner signature over `statement`. Returns the owner key id,
  // "" in open mode (no owners configured).
  Result<std::string> VerifyOwnerApproval(const OwnerApproval& approval, const std::string& statement) {
    if (config_.owners.empty()) return std::string();
    if (approval.key_id.empty() || approval.signature_b64.empty()) return Status::Unauthenticated("unauthenticated");
    auto sig = Base64Decode(approval.signature_b64);
    if (!sig.ok()) return Status::InvalidArgument("owner signature is not base64");
    for (const auto& owner : config_.owners) {
      if (HexEncode(Sha256(owner.credential)) == approval.key_id) {
        CITADEL_RETURN_IF_ERROR(VerifyOwnerSignature(owner.credential, statement, *sig));
        return approval.key_id;
      }
    }
    return Status::PermissionDenied("key " + approval.key_id.substr(0, 16) + "... is not a model owner of this server");
  }

  // ---- Admission control (limits) ----
  // Runs after the request line and headers are read and before httplib
  // reads the body. Bodies must declare their length (no chunked or
  // compressed bodies: httplib would not bound them), within the route's
  // limit; then the request takes one of max_concurrent_requests slots, or
  // gets 503. Health checks need no slot. A request runs on one pool thread
  // from start to end, so the slot is tracked per thread and given back by
  // the post-routing handler (or, should that not run, when the thread
  // starts its next request).
  bool Admit(const httplib::Request& req, httplib::Response& res) {
    ReleaseSlot();
    auto refuse = [&](int http_status, const Status& st) {
      ReplyError(res, st);
      res.status = http_status;
      res.set_header("Connection", "close");
      return false;
    };
    const bool body_method = req.method == "POST" || req.method == "PUT" || req.method == "PATCH" ||
                             req.method == "DELETE";
    if (body_method) {
      if (req.has_header("Transfer-Encoding")) {
        return refuse(411, Status::InvalidArgument("chunked request bodies are not accepted; send Content-Length"));
      }
      const std::string encoding = req.get_header_value("Content-Encoding");
      if (!encoding.empty() && encoding != "identity") {
        return refuse(415, Status::InvalidArgument("compressed request bodies are not accepted"));
      }
      if (!req.has_header("Content-Length")) {
        if (req.method != "DELETE") return refuse(411, Status::InvalidArgument("request body needs a Content-Length"));
      } else {
        const std::string declared = req.get_header_value("Content-Length");
        const bool upload = req.method == "PUT";
        const size_t limit = upload ? config_.max_upload_bytes : config_.max_request_bytes;
        uint64_t length = 0;
        bool valid = !declared.empty() && declared.size() <= 19;
        for (char c : declared) {
          if (c < '0' || c > '9') valid = false;
          else length = length * 10 + static_cast<uint64_t>(c - '0');
        }
        if (!valid) return refuse(400, Status::InvalidArgument("bad Content-Length"));
        if (length > limit) {
          return refuse(413, Status::ResourceExhausted(
                                 std::string("request body of ") + std::to_string(length) + " bytes exceeds limits." +
                                 (upload ? "max_upload_bytes" : "max_request_bytes") + " (" + std::to_string(limit) +
                                 ")"));
        }
      }
    }
    if (req.path.rfind("/v2/health/", 0) == 0) return true;
    if (inflight_.fetch_add(1) + 1 > config_.max_concurrent_requests) {
      inflight_.fetch_sub(1);
      ReplyError(res, Status::Unavailable("server busy: limits.max_concurrent_requests (" +
                                          std::to_string(config_.max_concurrent_requests) +
                                          ") requests in progress; retry later"));
      res.set_header("Retry-After", "1");
      return false;
    }
    t_held_slot = &inflight_;
    return true;
  }
  static void ReleaseSlot() {
    if (t_held_slot) {
      t_held_slot->fetch_sub(1);
      t_held_slot = nullptr;
    }
  }

  // models per server and the memory budget for loaded models, counting
  // `name` as replaced by `size` bytes.
  Status CheckModelCapacity(const std::string& name, size_t size) {
    size_t total = size, others = 0;
    for (const auto& m : registry_.List()) {
      if (m.name == name) continue;
      total += m.size_bytes;
      ++others;
    }
    if (others + 1 > config_.max_models) {
      return Status::ResourceExhausted("the server holds limits.max_models (" + std::to_string(config_.max_models) +
                                       ") models; delete one first");
    }
    if (total > config_.max_model_memory_bytes) {
      return Status::ResourceExhausted("loading this model would exceed limits.max_model_memory_bytes (" +
                                       std::to_string(config_.max_model_memory_bytes) + ")");
    }
    return Status::Ok();
  }

  // The one path by which a model enters the server (direct upload or
  // package): owner check, anti-rollback, validation, sealed store, registry,
  // audit. `version` < 1 means "next" (open mode only).
  Result<RegisteredModel> InstallModel(const std::string& name, int64_t version, ByteSpan bytes,
                                       const OwnerApproval& approval, const char* via) {
    CITADEL_RETURN_IF_ERROR(ValidateModelName(name));
    if (bytes.empty()) return Status::InvalidArgument("model is empty; send the ONNX model bytes");
    const std::string id = HexEncode(Sha256(bytes));
    if (version < 1 && !config_.owners.empty()) {
      return Status::InvalidArgument("signed uploads must name their version (?version=N)");
    }
    auto refuse = [&](const Status& why) {
      (void)audit_->Append("model_upload_refused", {{"name", name}, {"version", version}, {"id", id}, {"via", via},
                                                    {"reason", why.message()}});
      return why;
    };
    std::string signer;
    if (version >= 1) {
      auto verified = VerifyOwnerApproval(
          approval, UploadStatement(name, version, id, approval.signed_at, approval.allow_downgrade));
      if (!verified.ok()) return refuse(verified.status());
      signer = *verified;
    }
    if (Status cap = CheckModelCapacity(name, bytes.size()); !cap.ok()) return refuse(cap);
    LoadOptions load;
    load.max_model_bytes = config_.max_upload_bytes;
    load.threads = config_.threads;
    auto model = Model::Load(bytes, load);
    if (!model.ok()) {
      LogInfo("upload of '" + name + "' refused: " + model.status().ToString());
      return refuse(model.status().WithContext("model rejected"));
    }
    std::lock_guard lock(upload_mu_);
    if (Status cap = CheckModelCapacity(name, bytes.size()); !cap.ok()) return refuse(cap);
    const int64_t highest = store_->HighestVersion(name);
    if (version < 1) version = highest + 1;
    // Anti-rollback: versions only go up unless the owner signed a downgrade.
    if (version <= highest && !(approval.allow_downgrade && !config_.owners.empty())) {
      return refuse(Status::FailedPrecondition("model '" + name + "' has reached version " + std::to_string(highest) +
                                               "; version " + std::to_string(version) +
                                               " would roll it back (an owner-signed downgrade is required)"));
    }
    StoredModelHeader header;
    header.name = name;
    header.version = version;
    header.id = id;
    header.signer = signer;
    header.signed_at = approval.signed_at;
    header.stored_at = NowSeconds();
    header.signature = signer.empty() ? "" : approval.signature_b64;
    // Seal to disk first: if that fails (disk full), nothing changes.
    Status st = store_->Save(header, bytes);
    if (st.ok()) st = store_->RecordVersion(name, version);
    if (!st.ok()) {
      LogError("cannot store model '" + name + "': " + st.ToString());
      // The client learns what kind of failure it was, never server paths.
      if (st.code() == Code::kResourceExhausted || st.message().find("File too large") != std::string::npos) {
        return Status::ResourceExhausted("the server's storage is full: model '" + name + "' was not stored");
      }
      return Status::Internal("model '" + name + "' could not be stored (storage error; see the server log)");
    }
    RegisteredModel entry{name, id, version, signer, bytes.size(), std::move(model).value()};
    st = registry_.Put(entry);
    if (!st.ok()) {
      (void)store_->Remove(name);
      return st;
    }
    LogInfo("model '" + name + "' v" + std::to_string(version) + " loaded via " + via + ", id " + id);
    (void)audit_->Append("model_uploaded", {{"name", name}, {"version", version}, {"id", id}, {"via", via},
                                            {"signer", signer}, {"size_bytes", bytes.size()}});
    return entry;
  }

  void Upload(const httplib::Request& req, httplib::Response& res) {
    if (!RequireOwnerHeaders(req, res)) return;
    std::string name = req.matches[1];
    if (req.body.size() > config_.max_upload_bytes) {
      return ReplyError(res, Status::ResourceExhausted("model upload exceeds limits.max_upload_bytes (" +
                                                       std::to_string(config_.max_upload_bytes) + ")"));
    }
    int64_t version = 0;
    if (req.has_param("version")) {
      const std::string v = req.get_param_value("version");
      char* end = nullptr;
      long long parsed = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || parsed < 1) {
        return ReplyError(res, Status::InvalidArgument("version must be a positive integer"));
      }
      version = parsed;
    }
    OwnerApproval approval;
    auto signed_at = IntHeader(req, "Citadel-Signed-At", !config_.owners.empty());
    if (!signed_at.ok()) return ReplyError(res, signed_at.status());
    auto downgrade = IntHeader(req, "Citadel-Allow-Downgrade", false);
    if (!downgrade.ok()) return ReplyError(res, downgrade.status());
    approval.signed_at = *signed_at;
    approval.allow_downgrade = *downgrade == 1;
    approval.key_id = req.get_header_value("Citadel-Owner-Key");
    approval.signature_b64 = req.get_header_value("Citadel-Signature");
    auto installed = InstallModel(name, version, AsBytes(req.body), approval, "upload");
    if (!installed.ok()) return ReplyError(res, installed.status());
    Reply(res, 200, ModelJson(*installed));
  }

  // PUT /v2/repository/packages: a box-bound package (docs/model-protection.md).
  void InstallPackage(const httplib::Request& req, httplib::Response& res) {
    if (req.body.size() > config_.max_upload_bytes) {
      return ReplyError(res, Status::ResourceExhausted("package exceeds limits.max_upload_bytes"));
    }
    auto opened = OpenPackage(AsBytes(req.body), package_key_);
    if (!opened.ok()) {
      (void)audit_->Append("package_refused", {{"reason", opened.status().message()}});
      return ReplyError(res, opened.status());
    }
    OwnerApproval approval;
    approval.key_id = opened->header.signer;
    approval.signature_b64 = opened->header.signature;
    approval.signed_at = opened->header.signed_at;
    auto installed = InstallModel(opened->header.name, opened->header.version, opened->onnx.span(), approval, "package");
    if (!installed.ok()) return ReplyError(res, installed.status());
    Reply(res, 200, ModelJson(*installed));
  }

  void Delete(const httplib::Request& req, httplib::Response& res) {
    if (!RequireOwnerHeaders(req, res)) return;
    std::string name = req.matches[1];
    auto m = registry_.Get(name);
    if (!m.ok()) return ReplyError(res, m.status());
    auto signed_at = IntHeader(req, "Citadel-Signed-At", !config_.owners.empty());
    if (!signed_at.ok()) return ReplyError(res, signed_at.status());
    auto signer = VerifyOwner(req, DeleteStatement(name, m->version, *signed_at));
    if (!signer.ok()) return ReplyError(res, signer.status());
    std::lock_guard lock(upload_mu_);
    Status st = store_->Remove(name);
    if (st.ok()) st = registry_.Remove(name);
    if (!st.ok()) return ReplyError(res, st);
    LogInfo("model '" + name + "' deleted");
    (void)audit_->Append("model_deleted", {{"name", name}, {"version", m->version}, {"id", m->id}, {"signer", *signer}});
    Reply(res, 200, {{"name", name}, {"deleted", true}});
  }

  void Infer(const httplib::Request& req, httplib::Response& res) {
    auto user = Authenticate(req, res, config_.users);
    if (!user) return;
    auto m = registry_.Get(req.matches[1]);
    if (!m.ok()) return ReplyError(res, m.status());
    if (req.body.size() > config_.max_request_bytes) {
      return ReplyError(res, Status::ResourceExhausted("request exceeds limits.max_request_bytes (" +
                                                       std::to_string(config_.max_request_bytes) + ")"));
    }
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
    size_t input_bytes = 0;
    for (const auto& t : *inputs) {
      if (t.tensor.dtype() == DType::kString) {
        for (const auto& v : t.tensor.strings()) input_bytes += v.size();
      } else {
        input_bytes += t.tensor.byte_size();
      }
    }
    if (input_bytes > config_.max_tensor_bytes) {
      return ReplyError(res, Status::ResourceExhausted("inputs exceed limits.max_tensor_bytes (" +
                                                       std::to_string(config_.max_tensor_bytes) + ")"));
    }
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
    bool want_receipt = false;
    if (body->contains("parameters")) {
      const json& params = (*body)["parameters"];
      if (!params.is_object()) return ReplyError(res, Status::InvalidArgument("'parameters' must be an object"));
      if (params.contains("receipt")) {
        if (!params["receipt"].is_boolean()) return ReplyError(res, Status::InvalidArgument("parameters.receipt must be true or false"));
        want_receipt = params["receipt"].get<bool>();
      }
    }
    int64_t request_time = NowSeconds();
    auto outputs = m->model->Run(*inputs);
    audit_->CountInference(m->name, *user, outputs.ok());
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
    if (want_receipt) {
      auto receipt = MakeReceipt(*m, *inputs, selected, request_time);
      if (!receipt.ok()) return ReplyError(res, receipt.status());
      j["receipt"] = std::move(receipt).value();
    }
    Reply(res, 200, j);
  }

  Result<json> MakeReceipt(const RegisteredModel& m, const TensorList& inputs, const TensorList& outputs,
                           int64_t request_time) {
    json payload;
    payload["model_name"] = m.name;
    payload["model_id"] = m.id;
    payload["model_version"] = m.version;
    payload["model_signer"] = m.signer;
    payload["inputs"] = json::array();
    for (const auto& t : inputs) payload["inputs"].push_back({{"name", t.name}, {"sha256", TensorDigestHex(t)}});
    payload["outputs"] = json::array();
    for (const auto& t : outputs) payload["outputs"].push_back({{"name", t.name}, {"sha256", TensorDigestHex(t)}});
    payload["request_time"] = request_time;
    payload["platform"] = std::string(platform_->name());
    payload["simulation"] = platform_->is_simulation();
    payload["evidence_sha256"] = HexEncode(Sha256(signer_.evidence_envelope));
    {
      std::lock_guard lock(counter_mu_);
      CITADEL_ASSIGN_OR_RETURN(uint64_t counter, NextReceiptCounter());
      payload["counter"] = counter;
    }
    return SignStatement(signer_, "receipt", payload);
  }

  // A per-server monotonic counter, sealed on disk so that it survives
  // restarts and a changed file is noticed.
  Result<uint64_t> NextReceiptCounter() {
    if (!counter_loaded_) {
      auto file = ReadFileBytes(counter_path_, 4096);
      if (file.ok()) {
        auto opened = AeadOpen(counter_key_.span(), *file, AsBytes("citadel/receipt-counter/v1"));
        if (!opened.ok() || opened->size() != 8) {
          return Status::DataLoss("the sealed receipt counter was changed; refusing to issue receipts");
        }
        for (int i = 0; i < 8; ++i) counter_ |= static_cast<uint64_t>(opened->data()[i]) << (8 * i);
      } else if (file.status().code() != Code::kNotFound) {
        return file.status();
      }
      counter_loaded_ = true;
    }
    uint64_t next = counter_ + 1;
    uint8_t raw[8];
    for (int i = 0; i < 8; ++i) raw[i] = static_cast<uint8_t>(next >> (8 * i));
    CITADEL_ASSIGN_OR_RETURN(Bytes sealed, AeadSeal(counter_key_.span(), raw, AsBytes("citadel/receipt-counter/v1")));
    CITADEL_RETURN_IF_ERROR(WriteFileAtomic(counter_path_, sealed, 0600));
    counter_ = next;
    return next;
  }

 public:
  void SetCounterStore(std::string path, SecretBytes key) {
    counter_path_ = std::move(path);
    counter_key_ = std::move(key);
  }

 private:

  ServerConfig config_;
  std::unique_ptr<Platform> platform_;
  ServerIdentity identity_;
  httplib::SSLServer http_;
  ModelRegistry registry_;
  std::unique_ptr<ModelStore> store_;
  std::unique_ptr<AuditLog> audit_;
  StatementSigner signer_;
  HpkeKeyPair package_key_;
  BoxIdentity box_identity_;
  std::mutex evidence_mu_;
  std::mutex upload_mu_;
  std::mutex counter_mu_;
  std::string counter_path_;
  SecretBytes counter_key_;
  uint64_t counter_ = 0;
  bool counter_loaded_ = false;
  int port_ = 0;
  std::atomic<bool> run_started_{false};
  std::atomic<bool> run_done_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<size_t> inflight_{0};  // admitted requests (Admit)
  std::optional<DirectoryLock> state_lock_;  // released last, after every member above
};

// One key-release exchange with the broker (a few attempts: at boot the
// broker or the network may not be up yet).
Result<SecretBytes> ObtainReleasedRoot(Platform& platform, const ServerConfig& config) {
  Status last = Status::Unavailable("no attempt made");
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::seconds(1));
    CITADEL_ASSIGN_OR_RETURN(KeyReleaseRequest request, BeginKeyRelease(platform));
    httplib::Client http(config.key_broker_url);
    http.set_connection_timeout(10, 0);
    http.set_read_timeout(30, 0);
    auto res = http.Post("/v1/key-release", request.ToJson().dump(), "application/json");
    if (!res) {
      last = Status::Unavailable("cannot reach the key broker: " + httplib::to_string(res.error()));
      continue;
    }
    auto answer = ParseJson(res->body);
    if (!answer.ok()) return Status::InvalidArgument("the key broker's answer is not JSON (HTTP " +
                                                     std::to_string(res->status) + ")");
    // A refusal (policy, evidence) is final; retrying would not change it.
    return FinishKeyRelease(request, *answer, config.key_broker_public_key);
  }
  return last;
}

// Attaches NVIDIA GPU evidence per config.gpu_attestation (server.h).
// "auto" tolerates no GPU or GPUs outside CC mode (logged), never a GPU in CC
// mode that fails to attest: that is a broken or tampered machine.
Result<std::unique_ptr<Platform>> AttachGpuEvidence(std::unique_ptr<Platform> platform, const ServerConfig& config) {
  if (config.gpu_attestation == "off") return platform;
  NvmlOptions nvml;
  nvml.library = config.nvml_library;
  auto gpus = OpenNvmlAttester(nvml);
  if (!gpus.ok()) {
    const bool absent = gpus.status().code() == Code::kNotFound || gpus.status().code() == Code::kFailedPrecondition;
    if (config.gpu_attestation == "auto" && absent) {
      LogInfo("GPU attestation: none attached (" + gpus.status().message() + ")");
      return platform;
    }
    return gpus.status().WithContext("GPU attestation (gpu.attestation = \"" + config.gpu_attestation + "\")");
  }
  std::shared_ptr<GpuAttester> attester = std::move(gpus).value();
  // One probe now, so that a GPU that cannot attest stops the start rather
  // than every client's handshake.
  ReportData probe{};
  const auto nonce = DeviceNonceForReportData(probe);
  for (size_t i = 0; i < attester->device_count(); ++i) {
    auto evidence = attester->Attest(i, nonce);
    if (!evidence.ok()) return evidence.status().WithContext("GPU attestation probe");
  }
  LogInfo("GPU attestation: " + attester->Describe());
  return WithGpuEvidence(std::move(platform), std::move(attester));
}

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
  // Platform: auto|sim|sgx|tdx|snp (docs/platforms.md). "auto" never falls
  // back to simulation: without a TEE the operator must say --platform sim.
  PlatformOptions platform_options = options.platform_for_tests.value_or(PlatformOptions{});
  platform_options.name = options.platform;
  platform_options.state_dir = options.state_dir;
  platform_options.binary_path = options.binary_path;
  platform_options.config_bytes = config_bytes;
  auto opened = OpenPlatform(platform_options);
  if (!opened.ok()) return opened.status().WithContext("platform '" + options.platform + "'");
  std::unique_ptr<Platform> platform = std::move(opened).value();
  // One server per state directory, held until the server is destroyed: two
  // would interleave the audit log, the receipt counter and the model files,
  // and the clean-up of interrupted writes below must not race a writer.
  std::error_code dir_error;
  std::filesystem::create_directories(options.state_dir, dir_error);
  CITADEL_ASSIGN_OR_RETURN(DirectoryLock state_lock, DirectoryLock::Acquire(options.state_dir));
  // Composite attestation: GPU reports ride along with every CPU evidence
  // (before key release, so that the broker sees them too).
  CITADEL_ASSIGN_OR_RETURN(platform, AttachGpuEvidence(std::move(platform), config));
  // Attested key release: the sealing root comes from the owner's broker,
  // after it has checked this platform's evidence (docs/key-release.md).
  if (!config.key_broker_url.empty()) {
    auto root = ObtainReleasedRoot(*platform, config);
    if (!root.ok()) return root.status().WithContext("attested key release from " + config.key_broker_url);
    platform = WithReleasedSealingRoot(std::move(platform), std::move(root).value());
    LogInfo("sealing keys released by the key broker at " + config.key_broker_url);
  }
  // The model store needs a sealing key. TDX has none in hardware: without
  // attested key release, refuse to start rather than store models
  // unprotected.
  if (auto probe = platform->SealingKey("model-store/v1"); !probe.ok()) {
    return probe.status().WithContext("platform '" + std::string(platform->name()) +
                                      "' cannot seal the model store; refusing to start");
  }
  if (platform->is_simulation()) LogWarning(kSimulationWarning);
  CITADEL_ASSIGN_OR_RETURN(ServerIdentity identity, CreateServerIdentity(*platform, "citadel"));
  CITADEL_ASSIGN_OR_RETURN(SecretBytes store_key, platform->SealingKey("model-store/v1"));
  CITADEL_ASSIGN_OR_RETURN(std::unique_ptr<ModelStore> store, ModelStore::Open(options.state_dir, std::move(store_key)));
  CITADEL_ASSIGN_OR_RETURN(SecretBytes counter_key, platform->SealingKey("receipt-counter/v1"));
  CITADEL_ASSIGN_OR_RETURN(std::unique_ptr<AuditLog> audit, AuditLog::Open(options.state_dir + "/audit.jsonl"));
  const std::string measurement = HexEncode(platform->measurement());
  const std::string platform_name(platform->name());
  auto server = std::make_unique<ServerImpl>(config, std::move(platform), std::move(identity), std::move(store),
                                             std::move(audit));
  server->HoldStateLock(std::move(state_lock));
  server->SetCounterStore(options.state_dir + "/receipt-counter.sealed", std::move(counter_key));
  CITADEL_RETURN_IF_ERROR(server->SetupPackageKey());
  server->LogStart(platform_name, measurement);
  server->RestoreModels();
  CITADEL_RETURN_IF_ERROR(server->Init(options));
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace citadel
