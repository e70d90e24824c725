// The Citadel server: Open Inference Protocol (KServe v2) over attested TLS.
//
// Endpoints (docs/protocol.md):
//   GET    /v2                                 server metadata (platform, SIMULATION flag)
//   GET    /v2/health/live, /v2/health/ready
//   GET    /v2/attestation?nonce=HEX           fresh evidence over a client nonce
//   GET    /v2/models                          list models (also POST /v2/repository/index)
//   GET    /v2/models/{name}                   model metadata
//   POST   /v2/models/{name}/infer             KServe v2 JSON inference
//   PUT    /v2/repository/models/{name}        upload ONNX bytes (?version=N)
//   DELETE /v2/repository/models/{name}        unload and delete
// Every error is JSON {"error": message, "code": stable_code}; no handler
// failure takes the server down.
#ifndef CITADEL_SERVER_H_
#define CITADEL_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "citadel/bytes.h"
#include "citadel/status.h"
#include "citadel/tee.h"

namespace citadel {

// Configuration file (JSON, strict; its exact bytes are part of the
// measurement, so clients know the limits a server runs with):
// {
//   "version": 1,
//   "limits": {"max_upload_bytes": N, "max_request_bytes": N, "max_models": N,
//              "max_tensor_elements": N, "request_timeout_seconds": N},
//   "threads": N,
//   "owners":   [{"name": "acme", "public_key": "<base64 SPKI DER>"}],
//   "users":    [{"name": "clinic-a", "token_sha256": "<hex SHA-256 of the token>"}],
//   "auditors": [{"name": "dpo", "token_sha256": "<hex>"}]
// }
// With no owners, uploads need no signature; with no users, inference needs
// no token; with no auditors, the audit log is readable by anyone. Each
// such open mode is logged and reported in /v2 metadata, and, because the
// config is measured, visible to every client that checks the measurement.
struct Principal {
  std::string name;
  Bytes credential;  // owners: SPKI DER; users/auditors: SHA-256 of the token
};

struct ServerConfig {
  size_t max_upload_bytes = size_t{512} << 20;
  size_t max_request_bytes = size_t{256} << 20;
  size_t max_models = 32;
  size_t max_tensor_elements = size_t{64} << 20;
  int request_timeout_seconds = 60;
  int threads = 0;  // engine intra-op threads, 0 = all cores
  std::vector<Principal> owners;
  std::vector<Principal> users;
  std::vector<Principal> auditors;

  static Result<ServerConfig> FromJson(std::string_view json);
};

struct ServerOptions {
  std::string listen_host = "127.0.0.1";
  int port = 0;                 // 0 = pick a free port (see Server::port())
  std::string state_dir;        // platform state, sealed data
  std::string platform = "sim";
  std::string config_path;      // "" = defaults (measured as empty config)
  std::string binary_path;      // "" = /proc/self/exe (what the measurement covers)
};

class Server {
 public:
  virtual ~Server() = default;

  // Opens the platform, creates the attested TLS identity and binds the
  // listening socket. Fails with a precise Status (bad config, port in use...).
  static Result<std::unique_ptr<Server>> Create(const ServerOptions& options);

  virtual int port() const = 0;
  virtual const Platform& platform() const = 0;
  // Serves until Stop(); returns when the listener has shut down.
  virtual Status Run() = 0;
  virtual void Stop() = 0;
};

}  // namespace citadel

#endif  // CITADEL_SERVER_H_
