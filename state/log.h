// Log: one line per message to stderr, as text
//   2026-11-24T05:53:48.123Z INFO message key=value ...
// or, with --log-format json, as one JSON object
//   {"ts":"2026-11-24T05:53:48.123Z","level":"info","msg":"message","key":"value"}
// Levels below the configured one (--log-level, default info) are skipped.
// librdkafka's own lines come through here too (ingest/detail/kafka_client.h),
// with their level and fields logger=librdkafka, client, facility.
// Never pass a secret to these functions.
//
// Thread safety: callable from any thread; lines are not interleaved.
// ConfigureLog is called once, by main(), before other threads start.
#ifndef LEADFLOW_STATE_LOG_H_
#define LEADFLOW_STATE_LOG_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace leadflow {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kText, kJson };

void ConfigureLog(LogFormat format, LogLevel min_level);
// "debug", "info", "warn" or "error".
std::optional<LogLevel> ParseLogLevel(std::string_view name);
// Whether a line of this level is written (to skip building one that is not).
bool LogEnabled(LogLevel level);

struct LogField {
  std::string_view key;
  std::string_view value;
};
void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});
// The line Log writes (without the newline), for tests; ts is the timestamp.
std::string FormatLogLine(LogFormat format, std::string_view ts, LogLevel level, std::string_view message,
                          std::initializer_list<LogField> fields);

inline void LogDebug(std::string_view m) { Log(LogLevel::kDebug, m); }
inline void LogInfo(std::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarn(std::string_view m) { Log(LogLevel::kWarn, m); }
inline void LogError(std::string_view m) { Log(LogLevel::kError, m); }

}  // namespace leadflow

#endif  // LEADFLOW_STATE_LOG_H_
