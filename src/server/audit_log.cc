#include "audit_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "citadel/log.h"
#include "citadel/proof.h"

namespace citadel {
namespace {
using nlohmann::json;

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  std::unique_ptr<AuditLog> log(new AuditLog(path));
  std::vector<json> existing;
  Status problem;
  {
    std::ifstream in(path);
    std::string line;
    size_t n = 0;
    while (in && std::getline(in, line)) {
      ++n;
      if (line.empty()) continue;
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded()) {
        problem = Status::DataLoss("line " + std::to_string(n) + " is not JSON (torn write or tampering)");
        break;
      }
      existing.push_back(std::move(j));
    }
  }
  if (problem.ok() && !existing.empty()) {
    auto v = VerifyAuditLog(existing, nullptr, nullptr);
    if (!v.ok()) problem = v.status();
  }
  std::string reset_reason;
  if (!problem.ok()) {
    std::string aside = path + ".broken-" + std::to_string(NowSeconds());
    std::error_code ec;
    std::filesystem::rename(path, aside, ec);
    LogError("audit log " + path + " failed verification (" + problem.message() + "); moved to " + aside);
    reset_reason = problem.message();
    existing.clear();
  }
  for (auto& e : existing) {
    log->head_ = e["hash"].get<std::string>();
    log->next_seq_ = e["seq"].get<int64_t>() + 1;
    log->entries_.push_back(std::move(e));
  }
  log->file_ = std::fopen(path.c_str(), "a");
  if (!log->file_) return Status::Internal("cannot open audit log " + path);
  ::fchmod(fileno(log->file_), 0600);
  if (!reset_reason.empty()) {
    CITADEL_RETURN_IF_ERROR(log->Append("audit_chain_reset", {{"reason", reset_reason}}));
  }
  return log;
}

AuditLog::~AuditLog() {
  (void)FlushCounts();
  if (file_) std::fclose(file_);
}

Status AuditLog::Append(const std::string& event, json data) {
  std::lock_guard lock(mu_);
  return AppendLocked(event, std::move(data));
}

Status AuditLog::AppendLocked(const std::string& event, json data) {
  json e;
  e["seq"] = next_seq_;
  e["time"] = NowSeconds();
  e["event"] = event;
  e["data"] = std::move(data);
  e["prev"] = head_;
  std::string hash = AuditEntryHash(e);
  e["hash"] = hash;
  std::string line = e.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0 ||
      ::fsync(fileno(file_)) != 0) {
    return Status::Internal("cannot append to the audit log");
  }
  head_ = hash;
  ++next_seq_;
  entries_.push_back(std::move(e));
  return Status::Ok();
}

void AuditLog::CountInference(const std::string& model, const std::string& user, bool ok) {
  std::lock_guard lock(mu_);
  auto& c = counts_[{model, user}];
  (ok ? c.first : c.second)++;
  if (++pending_ >= 100) (void)FlushCountsLocked();
}

Status AuditLog::FlushCounts() {
  std::lock_guard lock(mu_);
  return FlushCountsLocked();
}

Status AuditLog::FlushCountsLocked() {
  if (counts_.empty()) return Status::Ok();
  json list = json::array();
  for (const auto& [key, c] : counts_) {
    list.push_back({{"model", key.first}, {"user", key.second}, {"ok", c.first}, {"failed", c.second}});
  }
  counts_.clear();
  pending_ = 0;
  return AppendLocked("inference_counts", {{"counts", list}});
}

std::vector<json> AuditLog::Entries() const {
  std::lock_guard lock(mu_);
  return entries_;
}
std::string AuditLog::head_hash() const {
  std::lock_guard lock(mu_);
  return head_;
}
int64_t AuditLog::head_seq() const {
  std::lock_guard lock(mu_);
  return next_seq_ - 1;
}

}  // namespace citadel
