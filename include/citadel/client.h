// The C++ client SDK. Connect() attests the server before any request is
// sent: the TLS handshake verifies the evidence in the server's certificate
// against the policy and pins its key, then fresh evidence over a random
// nonce proves liveness. Every later call travels over the pinned channel.
#ifndef CITADEL_CLIENT_H_
#define CITADEL_CLIENT_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "citadel/attest.h"
#include "citadel/engine.h"
#include "citadel/status.h"
#include "citadel/tensor.h"

namespace citadel {

struct ClientOptions {
  Policy policy;
  std::chrono::seconds timeout{120};
};

struct ModelInfo {
  std::string name;
  std::string id;        // SHA-256 of the ONNX bytes, hex
  int64_t version = 0;
  size_t size_bytes = 0;
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
};

class Client {
 public:
  virtual ~Client() = default;

  // url: "https://host:port". Fails with AttestationFailed / PolicyRejected
  // (with the reason) if the server cannot prove what it is, Unavailable if
  // it cannot be reached.
  static Result<std::unique_ptr<Client>> Connect(const std::string& url, const ClientOptions& options);

  // What the server proved at connect time.
  virtual const VerifiedEvidence& attestation() const = 0;
  // SPKI (DER) of the pinned TLS key.
  virtual const Bytes& pinned_key() const = 0;

  // Asks for fresh evidence over `nonce` (16..64 bytes) and verifies it.
  virtual Result<VerifiedEvidence> Attest(ByteSpan nonce) = 0;
  // Raw fresh evidence, unverified (for tools and tests).
  virtual Result<Evidence> FetchEvidence(ByteSpan nonce) = 0;

  virtual Result<ModelInfo> UploadModel(const std::string& name, ByteSpan onnx_bytes,
                                        std::optional<int64_t> version = std::nullopt) = 0;
  virtual Result<ModelInfo> GetModel(const std::string& name) = 0;
  virtual Result<std::vector<ModelInfo>> ListModels() = 0;
  virtual Status DeleteModel(const std::string& name) = 0;
  virtual Result<TensorList> Infer(const std::string& model, const TensorList& inputs) = 0;
};

}  // namespace citadel

#endif  // CITADEL_CLIENT_H_
