// The server's audit log: append-only JSON lines, hash-chained (see
// include/citadel/proof.h for the entry format). Events name models, users,
// sizes and digests; never payloads, never tokens.
#ifndef CITADEL_SERVER_AUDIT_LOG_H_
#define CITADEL_SERVER_AUDIT_LOG_H_

#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "citadel/status.h"

namespace citadel {

class AuditLog {
 public:
  // Opens (or creates) `path`, verifies the existing chain and continues it.
  // A broken chain is moved aside to <path>.broken-<time> and a new chain
  // starts with an "audit_chain_reset" event naming why.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();

  // Appends and flushes (fsync) one event.
  Status Append(const std::string& event, nlohmann::json data);
  // Inference counts are aggregated in memory per (model, user) and written
  // as one "inference_counts" event by FlushCounts (every 100 inferences, on
  // audit reads and at shutdown).
  void CountInference(const std::string& model, const std::string& user, bool ok);
  Status FlushCounts();

  std::vector<nlohmann::json> Entries() const;
  std::string head_hash() const;
  int64_t head_seq() const;

 private:
  explicit AuditLog(std::string path) : path_(std::move(path)) {}
  Status AppendLocked(const std::string& event, nlohmann::json data);
  Status FlushCountsLocked();

  std::string path_;
  std::FILE* file_ = nullptr;
  mutable std::mutex mu_;
  std::vector<nlohmann::json> entries_;
  std::string head_ = std::string(64, '0');
  int64_t next_seq_ = 0;
  std::map<std::pair<std::string, std::string>, std::pair<uint64_t, uint64_t>> counts_;  // ok, failed
  uint64_t pending_ = 0;
};

}  // namespace citadel

#endif  // CITADEL_SERVER_AUDIT_LOG_H_
