#include "model_registry.h"

#include <mutex>

namespace citadel {

Result<RegisteredModel> ModelRegistry::Put(RegisteredModel entry, bool version_given) {
  std::unique_lock lock(mu_);
  auto it = models_.find(entry.name);
  if (it == models_.end()) {
    if (models_.size() >= max_models_) {
      return Status::ResourceExhausted("the server already holds " + std::to_string(max_models_) +
                                       " models (limits.max_models); delete one first");
    }
    if (!version_given) entry.version = 1;
  } else if (!version_given) {
    entry.version = it->second.version + 1;
  } else if (entry.version <= it->second.version) {
    return Status::FailedPrecondition("model '" + entry.name + "' is at version " +
                                      std::to_string(it->second.version) + "; a new upload must have a higher version");
  }
  models_[entry.name] = entry;
  return entry;
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
