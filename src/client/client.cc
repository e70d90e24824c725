// The C++ client: attested connection, then KServe v2 calls over it.
#include "citadel/client.h"

#include <httplib.h>

#include <mutex>
#include <optional>

#include "citadel/channel.h"
#include "citadel/crypto.h"
#include "citadel/protocol.h"

namespace citadel {
namespace {

using nlohmann::json;

struct ParsedUrl {
  std::string host;
  int port = 0;
};

Result<ParsedUrl> ParseUrl(const std::string& url) {
  const std::string prefix = "https://";
  if (url.rfind(prefix, 0) != 0) {
    return Status::InvalidArgument("server URL must start with https:// (Citadel only speaks attested TLS): " + url);
  }
  std::string rest = url.substr(prefix.size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) return Status::InvalidArgument("server URL must not have a path: " + url);
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) {
    return Status::InvalidArgument("server URL needs host and port, e.g. https://127.0.0.1:8443");
  }
  ParsedUrl p;
  p.host = rest.substr(0, colon);
  if (p.host.size() > 2 && p.host.front() == '[' && p.host.back() == ']') p.host = p.host.substr(1, p.host.size() - 2);
  const std::string port = rest.substr(colon + 1);
  char* end = nullptr;
  long v = std::strtol(port.c_str(), &end, 10);
  if (*end != '\0' || v < 1 || v > 65535) return Status::InvalidArgument("bad port in server URL: " + port);
  p.port = static_cast<int>(v);
  return p;
}

Result<std::vector<TensorInfo>> TensorInfosFromJson(const json& j) {
  std::vector<TensorInfo> out;
  if (!j.is_array()) return Status::Internal("server sent malformed tensor metadata");
  for (const auto& e : j) {
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || !e.contains("datatype") ||
        !e["datatype"].is_string() || !e.contains("shape") || !e["shape"].is_array()) {
      return Status::Internal("server sent malformed tensor metadata");
    }
    TensorInfo t;
    t.name = e["name"].get<std::string>();
    auto dt = DTypeFromKServeName(e["datatype"].get<std::string>());
    if (!dt) return Status::Internal("server sent unknown datatype");
    t.dtype = *dt;
    for (const auto& d : e["shape"]) {
      if (!d.is_number_integer()) return Status::Internal("server sent malformed shape");
      t.shape.push_back(d.get<int64_t>());
    }
    out.push_back(std::move(t));
  }
  return out;
}

Result<ModelInfo> ModelInfoFromJson(const json& j) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string() || !j.contains("id") || !j["id"].is_string() ||
      !j.contains("version") || !j["version"].is_number_integer()) {
    return Status::Internal("server sent malformed model metadata");
  }
  ModelInfo m;
  m.name = j["name"].get<std::string>();
  m.id = j["id"].get<std::string>();
  m.version = j["version"].get<int64_t>();
  if (j.contains("signer") && j["signer"].is_string()) m.signer = j["signer"].get<std::string>();
  if (j.contains("size_bytes") && j["size_bytes"].is_number_unsigned()) m.size_bytes = j["size_bytes"].get<size_t>();
  if (j.contains("inputs")) {
    CITADEL_ASSIGN_OR_RETURN(m.inputs, TensorInfosFromJson(j["inputs"]));
  }
  if (j.contains("outputs")) {
    CITADEL_ASSIGN_OR_RETURN(m.outputs, TensorInfosFromJson(j["outputs"]));
  }
  return m;
}

class ClientImpl : public Client {
 public:
  ClientImpl(ParsedUrl url, ClientOptions options)
      : url_(std::move(url)),
        options_(std::move(options)),
        config_(MakeConfig(options_)),
        verifier_(std::make_shared<AttestedTlsVerifier>(config_)),
        http_(url_.host, url_.port) {}

  static AttestationConfig MakeConfig(const ClientOptions& o) {
    AttestationConfig c;
    c.policy = o.policy;
    c.collateral = o.collateral;
    c.trust_anchors = o.trust_anchors;
    c.at = o.verify_at;
    return c;
  }

  Status Init() {
    if (!http_.is_valid()) return Status::Internal("TLS client context could not be created");
    // httplib's own verification would demand a CA chain and, worse, reset
    // the verify mode; Citadel's verifier replaces it entirely.
    http_.enable_server_certificate_verification(false);
    CITADEL_RETURN_IF_ERROR(verifier_->Install(http_.ssl_context()));
    auto t = options_.timeout.count();
    http_.set_connection_timeout(std::min<long>(t, 30), 0);
    http_.set_read_timeout(t, 0);
    http_.set_write_timeout(t, 0);
    http_.set_keep_alive(true);

    // The first request triggers the handshake; the verifier runs inside it,
    // so this GET is only sent once the server's evidence was accepted.
    CITADEL_ASSIGN_OR_RETURN(json live, Call("GET", "/v2/health/live", ""));
    (void)live;
    auto verified = verifier_->verified();
    if (!verified) return Status::Internal("handshake completed without attestation");
    attestation_ = verified->evidence;
    pinned_key_ = verified->spki_der;

    // Liveness: fresh evidence over our own random nonce, bound to the same key.
    Bytes nonce(32);
    CITADEL_RETURN_IF_ERROR(RandomBytes(nonce));
    CITADEL_ASSIGN_OR_RETURN(VerifiedEvidence fresh, Attest(nonce));
    (void)fresh;
    return Status::Ok();
  }

  const VerifiedEvidence& attestation() const override { return attestation_; }
  const Bytes& pinned_key() const override { return pinned_key_; }

  Result<Evidence> FetchEvidence(ByteSpan nonce) override {
    CITADEL_ASSIGN_OR_RETURN(json j, Call("GET", "/v2/attestation?nonce=" + HexEncode(nonce), ""));
    if (!j.is_object() || !j.contains("evidence") || !j["evidence"].is_string()) {
      return Status::AttestationFailed("server sent a malformed attestation response");
    }
    auto raw = Base64Decode(j["evidence"].get<std::string>());
    if (!raw.ok()) return Status::AttestationFailed("attestation response: evidence is not base64");
    return DecodeEvidenceEnvelope(*raw);
  }

  Result<VerifiedEvidence> Attest(ByteSpan nonce) override {
    if (nonce.size() < 16 || nonce.size() > 64) return Status::InvalidArgument("nonce must be 16 to 64 bytes");
    CITADEL_ASSIGN_OR_RETURN(Evidence evidence, FetchEvidence(nonce));
    return VerifyFreshEvidence(evidence, options_.policy, pinned_key_, nonce, config_.Options());
  }

  Result<ModelInfo> UploadModel(const std::string& name, ByteSpan onnx_bytes, const UploadOptions& options) override {
    CITADEL_RETURN_IF_ERROR(ValidateModelName(name));
    std::optional<int64_t> version = options.version;
    httplib::Headers headers;
    if (options.owner) {
      if (!version) {
        // The version is part of what the owner signs: take the next one.
        auto current = GetModel(name);
        if (current.ok()) version = current->version + 1;
        else if (current.status().code() == Code::kNotFound) version = 1;
        else return current.status();
      }
      int64_t signed_at = NowSeconds();
      std::string statement =
          UploadStatement(name, *version, HexEncode(Sha256(onnx_bytes)), signed_at, options.allow_downgrade);
      CITADEL_ASSIGN_OR_RETURN(Bytes sig, options.owner->Sign(statement));
      headers.emplace("Citadel-Owner-Key", options.owner->key_id());
      headers.emplace("Citadel-Signature", Base64Encode(sig));
      headers.emplace("Citadel-Signed-At", std::to_string(signed_at));
      if (options.allow_downgrade) headers.emplace("Citadel-Allow-Downgrade", "1");
    }
    std::string path = "/v2/repository/models/" + name;
    if (version) path += "?version=" + std::to_string(*version);
    CITADEL_ASSIGN_OR_RETURN(json j, Call("PUT", path, AsStringView(onnx_bytes), "application/octet-stream", headers,
                                          options.progress));
    return ModelInfoFromJson(j);
  }

  Result<ModelInfo> GetModel(const std::string& name) override {
    CITADEL_RETURN_IF_ERROR(ValidateModelName(name));
    CITADEL_ASSIGN_OR_RETURN(json j, Call("GET", "/v2/models/" + name, ""));
    return ModelInfoFromJson(j);
  }

  Result<std::vector<ModelInfo>> ListModels() override {
    CITADEL_ASSIGN_OR_RETURN(json j, Call("GET", "/v2/models", ""));
    if (!j.is_object() || !j.contains("models") || !j["models"].is_array()) {
      return Status::Internal("server sent a malformed model list");
    }
    std::vector<ModelInfo> out;
    for (const auto& m : j["models"]) {
      CITADEL_ASSIGN_OR_RETURN(ModelInfo info, ModelInfoFromJson(m));
      out.push_back(std::move(info));
    }
    return out;
  }

  Status DeleteModel(const std::string& name, const OwnerKey* owner) override {
    CITADEL_RETURN_IF_ERROR(ValidateModelName(name));
    httplib::Headers headers;
    if (owner) {
      // The statement names the version being deleted, so a replayed
      // signature cannot remove a later upload of the same name.
      CITADEL_ASSIGN_OR_RETURN(ModelInfo current, GetModel(name));
      int64_t signed_at = NowSeconds();
      CITADEL_ASSIGN_OR_RETURN(Bytes sig, owner->Sign(DeleteStatement(name, current.version, signed_at)));
      headers.emplace("Citadel-Owner-Key", owner->key_id());
      headers.emplace("Citadel-Signature", Base64Encode(sig));
      headers.emplace("Citadel-Signed-At", std::to_string(signed_at));
    }
    auto r = Call("DELETE", "/v2/repository/models/" + name, "", "application/json", headers);
    return r.ok() ? Status::Ok() : r.status();
  }

  Result<TensorList> Infer(const std::string& model, const TensorList& inputs) override {
    CITADEL_ASSIGN_OR_RETURN(json response, InferCall(model, inputs, false));
    return ParseOutputs(response);
  }

  Result<InferResult> InferWithReceipt(const std::string& model, const TensorList& inputs) override {
    CITADEL_ASSIGN_OR_RETURN(json response, InferCall(model, inputs, true));
    InferResult out;
    CITADEL_ASSIGN_OR_RETURN(out.outputs, ParseOutputs(response));
    if (!response.contains("receipt")) return Status::AttestationFailed("server returned no receipt");
    ReceiptCheck check;
    check.policy = &options_.policy;
    check.inputs = inputs;
    check.outputs = out.outputs;
    CITADEL_ASSIGN_OR_RETURN(VerifiedStatement v, VerifyReceipt(response["receipt"], check, config_.Options()));
    if (!ConstantTimeEquals(v.spki_der, pinned_key_)) {
      return Status::AttestationFailed("receipt was signed by a key other than the attested server's");
    }
    out.receipt = std::move(response["receipt"]);
    return out;
  }

  Result<AuditExport> GetAudit() override {
    CITADEL_ASSIGN_OR_RETURN(json j, Call("GET", "/v2/audit", ""));
    if (!j.is_object() || !j.contains("entries") || !j["entries"].is_array() || !j.contains("checkpoint")) {
      return Status::Internal("server sent a malformed audit export");
    }
    AuditExport out;
    for (auto& e : j["entries"]) out.entries.push_back(std::move(e));
    out.checkpoint = std::move(j["checkpoint"]);
    CITADEL_ASSIGN_OR_RETURN(out.verification, VerifyAuditLog(out.entries, &out.checkpoint, &options_.policy, config_.Options()));
    return out;
  }

  Result<BoxIdentity> GetBoxIdentity() override {
    CITADEL_ASSIGN_OR_RETURN(json j, Call("GET", "/v2/package-key", ""));
    CITADEL_ASSIGN_OR_RETURN(BoxIdentity box, BoxIdentityFromJson(j));
    CITADEL_RETURN_IF_ERROR(VerifyBoxIdentity(box, options_.policy, config_.Options()).status());
    return box;
  }

  Result<ModelInfo> InstallPackage(ByteSpan package) override {
    CITADEL_ASSIGN_OR_RETURN(json j, Call("PUT", "/v2/repository/packages", AsStringView(package),
                                          "application/vnd.citadel.package"));
    return ModelInfoFromJson(j);
  }

 private:
  static int64_t NowSeconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  Result<json> InferCall(const std::string& model, const TensorList& inputs, bool receipt) {
    CITADEL_RETURN_IF_ERROR(ValidateModelName(model));
    json req;
    req["inputs"] = TensorListToJson(inputs);
    if (receipt) req["parameters"] = {{"receipt", true}};
    std::string body = req.dump();
    auto r = Call("POST", "/v2/models/" + model + "/infer", body, "application/json");
    SecureZero(body.data(), body.size());
    if (!r.ok()) return r.status();
    if (!r->is_object() || !r->contains("outputs")) return Status::Internal("server sent a malformed inference response");
    return r;
  }

  static Result<TensorList> ParseOutputs(const json& response) {
    TensorLimits limits;
    limits.max_tensors = 4096;
    limits.max_elements_per_tensor = size_t{1} << 32;
    limits.max_total_elements = size_t{1} << 32;
    auto outputs = TensorListFromJson(response["outputs"], "outputs", limits);
    if (!outputs.ok()) return outputs.status().WithContext("server response");
    return outputs;
  }

  // Refuses a body larger than the server's published limit before a byte of
  // it is sent: the server would answer 413 from the headers, but httplib
  // writes the whole body before reading, so the user would only see the
  // connection drop. The limits come from GET /v2 (once); a server that does
  // not publish them is left to enforce its own.
  Status CheckBodyFitsServerLimits(const std::string& method, size_t bytes) {
    const char* key = method == "PUT" ? "max_upload_bytes" : "max_request_bytes";
    std::optional<uint64_t> limit;
    {
      std::lock_guard lock(limits_mu_);
      if (!limits_) {
        auto meta = Call("GET", "/v2", "");
        if (!meta.ok()) return Status::Ok();  // the real request will report the problem
        limits_ = meta->contains("limits") && (*meta)["limits"].is_object() ? (*meta)["limits"] : json::object();
      }
      if (limits_->contains(key) && (*limits_)[key].is_number_unsigned()) limit = (*limits_)[key].get<uint64_t>();
    }
    if (limit && bytes > *limit) {
      return Status::ResourceExhausted("request body of " + std::to_string(bytes) + " bytes exceeds the server's limits." +
                                       key + " (" + std::to_string(*limit) + "); not sent");
    }
    return Status::Ok();
  }

  Result<json> Call(const std::string& method, const std::string& path, std::string_view body,
                    const char* content_type = "application/json", httplib::Headers headers = {},
                    const std::function<void(size_t, size_t)>& progress = nullptr) {
    if (!body.empty()) CITADEL_RETURN_IF_ERROR(CheckBodyFitsServerLimits(method, body.size()));
    std::lock_guard lock(mu_);
    if (!options_.token.empty()) headers.emplace("Authorization", "Bearer " + options_.token);
    httplib::Result res(nullptr, httplib::Error::Unknown);
    if (method == "GET") {
      res = http_.Get(path.c_str(), headers);
    } else if (method == "DELETE") {
      res = http_.Delete(path.c_str(), headers);
    } else if (method == "PUT" && progress) {
      // Stream in 1 MiB chunks so that long uploads can report progress.
      const size_t total = body.size();
      res = http_.Put(
          path.c_str(), headers, total,
          [&](size_t offset, size_t length, httplib::DataSink& sink) {
            size_t n = std::min<size_t>(length, size_t{1} << 20);
            if (!sink.write(body.data() + offset, n)) return false;
            progress(offset + n, total);
            return true;
          },
          content_type);
    } else if (method == "PUT") {
      res = http_.Put(path.c_str(), headers, body.data(), body.size(), content_type);
    } else {
      res = http_.Post(path.c_str(), headers, body.data(), body.size(), content_type);
    }
    if (!res) {
      // A refused handshake is the verifier's doing: report its reason.
      Status why = verifier_->last_error();
      if (!why.ok()) return why;
      return Status::Unavailable("cannot reach https://" + url_.host + ":" + std::to_string(url_.port) + ": " +
                                 httplib::to_string(res.error()));
    }
    if (res->status < 200 || res->status >= 300) return StatusFromErrorBody(res->status, res->body);
    auto j = ParseJson(res->body);
    if (!j.ok()) return Status::Internal("server sent a response that is not JSON");
    return j;
  }

  std::mutex limits_mu_;
  std::optional<json> limits_;  // the server's "limits" from GET /v2
  ParsedUrl url_;
  ClientOptions options_;
  AttestationConfig config_;  // owns the collateral the verifier's options point into
  std::shared_ptr<AttestedTlsVerifier> verifier_;
  httplib::SSLClient http_;
  std::mutex mu_;
  VerifiedEvidence attestation_;
  Bytes pinned_key_;
};

}  // namespace

Result<std::unique_ptr<Client>> Client::Connect(const std::string& url, const ClientOptions& options) {
  CITADEL_ASSIGN_OR_RETURN(ParsedUrl parsed, ParseUrl(url));
  auto client = std::make_unique<ClientImpl>(parsed, options);
  CITADEL_RETURN_IF_ERROR(client->Init());
  return std::unique_ptr<Client>(std::move(client));
}

}  // namespace citadel
