// Minimal structured logging to stderr. Callers must never pass payloads,
// tensors, keys or tokens: log events, names, sizes and digests only.
#ifndef CITADEL_LOG_H_
#define CITADEL_LOG_H_

#include <string_view>

namespace citadel {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

void SetLogLevel(LogLevel level);
void LogDebug(std::string_view message);
void LogInfo(std::string_view message);
void LogWarning(std::string_view message);
void LogError(std::string_view message);

}  // namespace citadel

#endif  // CITADEL_LOG_H_
