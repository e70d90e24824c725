// The set of loaded models, by name. Thread-safe: inference holds a
// shared_ptr to the model, so a concurrent delete never frees a model that
// is running.
#ifndef CITADEL_SERVER_MODEL_REGISTRY_H_
#define CITADEL_SERVER_MODEL_REGISTRY_H_

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "citadel/engine.h"
#include "citadel/protocol.h"

namespace citadel {

struct RegisteredModel {
  std::string name;
  std::string id;  // SHA-256 of the ONNX bytes, hex
  int64_t version = 1;
  std::string signer;  // owner key id (hex SHA-256 of SPKI), "" if unsigned
  size_t size_bytes = 0;
  std::shared_ptr<const Model> model;
};

class ModelRegistry {
 public:
  explicit ModelRegistry(size_t max_models) : max_models_(max_models) {}

  // Adds or replaces `name` (version policy is the caller's: see server.cc).
  // ResourceExhausted when a new name would exceed max_models.
  Status Put(RegisteredModel entry);
  Result<RegisteredModel> Get(const std::string& name) const;
  std::vector<RegisteredModel> List() const;
  Status Remove(const std::string& name);

 private:
  size_t max_models_;
  mutable std::shared_mutex mu_;
  std::map<std::string, RegisteredModel> models_;
};


}  // namespace citadel

#endif  // CITADEL_SERVER_MODEL_REGISTRY_H_
