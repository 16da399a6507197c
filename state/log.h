// Log: one-line structured messages to stderr ("2026-11-24T05:53:48.123Z
// level message"). Never pass a secret to these functions.
//
// Thread safety: callable from any thread; lines are not interleaved.
#ifndef LEADFLOW_STATE_LOG_H_
#define LEADFLOW_STATE_LOG_H_

#include <string_view>

namespace leadflow {

enum class LogLevel { kInfo, kWarn, kError };
void Log(LogLevel level, std::string_view message);
inline void LogInfo(std::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarn(std::string_view m) { Log(LogLevel::kWarn, m); }
inline void LogError(std::string_view m) { Log(LogLevel::kError, m); }

}  // namespace leadflow

#endif  // LEADFLOW_STATE_LOG_H_
