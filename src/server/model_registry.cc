#include "model_registry.h"

#include <mutex>

namespace citadel {

Status ModelRegistry::Put(RegisteredModel entry) {
  std::unique_lock lock(mu_);
  if (models_.find(entry.name) == models_.end() && models_.size() >= max_models_) {
    return Status::ResourceExhausted("the server already holds " + std::to_string(max_models_) +
                                     " models (limits.max_models); delete one first");
  }
  models_[entry.name] = std::move(entry);
  return Status::Ok();
}

Result<RegisteredModel> ModelRegistry::Get(const std::string& name) const {
  std::shared_lock lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return Status::NotFound("no model named '" + name + "'");
  return it->second;
}

std::vector<RegisteredModel> ModelRegistry::List() const {
  std::shared_lock lock(mu_);
  std::vector<RegisteredModel> out;
  for (const auto& [_, m] : models_) out.push_back(m);
  return out;
}

Status ModelRegistry::Remove(const std::string& name) {
  std::unique_lock lock(mu_);
  if (models_.erase(name) == 0) return Status::NotFound("no model named '" + name + "'");
  return Status::Ok();
}

}  // namespace citadel
