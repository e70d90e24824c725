#include "citadel/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace citadel {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_mu;

void Write(LogLevel level, const char* tag, std::string_view message) {
  if (static_cast<int>(level) < g_level.load()) return;
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::lock_guard lock(g_mu);
  std::fprintf(stderr, "%s citadel %s %.*s\n", stamp, tag, static_cast<int>(message.size()), message.data());
}
}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
void LogDebug(std::string_view m) { Write(LogLevel::kDebug, "DEBUG", m); }
void LogInfo(std::string_view m) { Write(LogLevel::kInfo, "INFO", m); }
void LogWarning(std::string_view m) { Write(LogLevel::kWarning, "WARNING", m); }
void LogError(std::string_view m) { Write(LogLevel::kError, "ERROR", m); }

}  // namespace citadel
