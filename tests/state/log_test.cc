#include "state/log.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

// The log line in both formats: one line whatever the message holds, and in
// JSON a valid object with the fields given.

namespace leadflow {
namespace {

TEST_CASE("a text log line: timestamp, level, message, fields; always one line") {
  CHECK(FormatLogLine(LogFormat::kText, "2026-12-02T10:00:00.000Z", LogLevel::kWarn, "broker down", {}) ==
        "2026-12-02T10:00:00.000Z WARN broker down");
  CHECK(FormatLogLine(LogFormat::kText, "T", LogLevel::kInfo, "two\nlines",
                      {{"logger", "librdkafka"}, {"facility", "FAIL"}}) ==
        "T INFO two\\nlines logger=librdkafka facility=FAIL");
}

TEST_CASE("a JSON log line is one valid object with ts, level, msg and the fields") {
  const std::string message = "quote \" backslash \\ newline \n tab \t bell \x07 utf8 \xc3\xa9";
  const std::string line = FormatLogLine(LogFormat::kJson, "2026-12-02T10:00:00.123Z", LogLevel::kError, message,
                                         {{"logger", "librdkafka"}, {"client", "consumer"}});
  CHECK(line.find('\n') == std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(line);
  CHECK(j["ts"] == "2026-12-02T10:00:00.123Z");
  CHECK(j["level"] == "error");
  CHECK(j["msg"] == message);
  CHECK(j["logger"] == "librdkafka");
  CHECK(j["client"] == "consumer");
  CHECK(j.size() == 5);
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn}) {
    CHECK(nlohmann::json::parse(FormatLogLine(LogFormat::kJson, "T", level, "m", {}))["level"].is_string());
  }
}

TEST_CASE("log levels: names parse, and lines below the configured level are skipped") {
  CHECK(ParseLogLevel("debug") == LogLevel::kDebug);
  CHECK(ParseLogLevel("warn") == LogLevel::kWarn);
  CHECK(!ParseLogLevel("WARNING"));
  ConfigureLog(LogFormat::kText, LogLevel::kWarn);
  CHECK(!LogEnabled(LogLevel::kInfo));
  CHECK(LogEnabled(LogLevel::kWarn));
  CHECK(LogEnabled(LogLevel::kError));
  ConfigureLog(LogFormat::kText, LogLevel::kInfo);
  CHECK(LogEnabled(LogLevel::kInfo));
  CHECK(!LogEnabled(LogLevel::kDebug));
}

}  // namespace
}  // namespace leadflow
