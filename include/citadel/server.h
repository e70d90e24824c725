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
#include <optional>
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
//              "max_tensor_elements": N, "max_tensor_bytes": N,
//              "max_model_memory_bytes": N, "max_concurrent_requests": N,
//              "max_connections": N, "request_timeout_seconds": N,
//              "idle_timeout_seconds": N, "body_timeout_seconds": N},
//   "threads": N,
//   "owners":   [{"name": "acme", "public_key": "<base64 SPKI DER>"}],
//   "users":    [{"name": "clinic-a", "token_sha256": "<hex SHA-256 of the token>"}],
//   "auditors": [{"name": "dpo", "token_sha256": "<hex>"}],
//   "key_release": {"broker": "http://HOST:PORT",
//                   "broker_public_key": "<base64 SPKI DER>"},
//   "gpu": {"attestation": "auto" | "required" | "off",
//           "nvml_library": "libnvidia-ml.so.1"}
// }
// With no owners, uploads need no signature; with no users, inference needs
// no token; with no auditors, the audit log is readable by anyone. Each
// such open mode is logged and reported in /v2 metadata, and, because the
// config is measured, visible to every client that checks the measurement.
struct Principal {
  std::string name;
  Bytes credential;  // owners: SPKI DER; users/auditors: SHA-256 of the token
};

// Limits (docs/security.md): every one has a safe default, and every refusal
// is a JSON error with a stable code (resource_exhausted 413 for sizes and
// counts, unavailable 503 when busy) whose message names the limit.
struct ServerConfig {
  // Request bodies, enforced on the bytes received: a declared
  // Content-Length above the limit is refused before the body is read, and
  // bodies without one (chunked, compressed) are refused.
  size_t max_upload_bytes = size_t{512} << 20;   // PUT /v2/repository/models/{name}
  size_t max_request_bytes = size_t{256} << 20;  // every other request body
  size_t max_models = 32;
  size_t max_tensor_elements = size_t{64} << 20;  // per infer request, all inputs
  size_t max_tensor_bytes = size_t{256} << 20;    // per infer request, all inputs
  // Sum of the ONNX sizes of the loaded models (weights dominate memory).
  size_t max_model_memory_bytes = size_t{4} << 30;
  // Requests being read or handled at once (health checks excepted); beyond
  // it, 503. Bounds the request bodies in memory to this many.
  size_t max_concurrent_requests = 32;
  // Worker threads, i.e. connections served at once (idle keep-alive
  // connections hold one until idle_timeout_seconds).
  size_t max_connections = 64;
  int request_timeout_seconds = 60;  // socket read/write inactivity
  int idle_timeout_seconds = 10;     // keep-alive connection idle time
  // Whole request body, however slowly it trickles in: a client that sends a
  // byte just before every request_timeout_seconds would otherwise hold a
  // worker for as long as it likes (slowloris). 408 beyond it.
  int body_timeout_seconds = 300;
  int threads = 0;  // engine intra-op threads, 0 = all cores
  // Attested key release (docs/key-release.md): when set, every sealing key
  // derives from a root that this broker releases after checking the
  // server's evidence against its policy; the broker's key is pinned here
  // (and so covered by the measurement where the config is measured). TDX
  // has no hardware sealing key and cannot start without it.
  std::string key_broker_url;  // "http://host:port"
  Bytes key_broker_public_key;  // SPKI DER
  // Composite attestation (docs/platforms.md, include/citadel/gpu.h):
  //   "auto"     attach evidence of every NVIDIA GPU in confidential-computing
  //              mode when NVML finds one; CPU evidence only when there is no
  //              GPU or CC is off (logged);
  //   "required" refuse to start unless every GPU attests;
  //   "off"      never attach GPU evidence.
  std::string gpu_attestation = "auto";
  std::string nvml_library = "libnvidia-ml.so.1";
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
  // Tests only: the PlatformOptions to start from (a fake tree's root, a
  // fake /dev/sev-guest, the configfs-tsm hook), so that the real backends
  // run against test hardware. name, state_dir, binary_path and
  // config_bytes still come from the fields above. Never set in production.
  std::optional<PlatformOptions> platform_for_tests;
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
