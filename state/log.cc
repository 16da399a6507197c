#include "state/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <mutex>

namespace leadflow {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};
std::atomic<LogLevel> g_min_level{LogLevel::kInfo};

// Each level's name in a text line and in a JSON line, by LogLevel.
struct LevelName {
  const char* text;
  const char* json;
};
constexpr LevelName kLevelNames[] = {{"DEBUG", "debug"}, {"INFO", "info"}, {"WARN", "warn"}, {"ERROR", "error"}};
static_assert(std::size(kLevelNames) == static_cast<size_t>(LogLevel::kError) + 1, "a name for every LogLevel");

const LevelName& NameOf(LogLevel level) { return kLevelNames[static_cast<int>(level)]; }

// s as the inside of a JSON string: quote, backslash and control characters
// escaped; other bytes (UTF-8 or not) as they are.
void AppendJsonEscaped(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '\r') {
      *out += "\\r";
    } else if (c == '\t') {
      *out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      *out += "\\u00";
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 15]);
    } else {
      out->push_back(c);
    }
  }
}

// A text line stays one line: newlines in a message are shown as \n.
void AppendOneLine(std::string* out, std::string_view s) {
  for (char c : s) {
    if (c == '\n') {
      *out += "\\n";
    } else if (c == '\r') {
      *out += "\\r";
    } else {
      out->push_back(c);
    }
  }
}

}  // namespace

void ConfigureLog(LogFormat format, LogLevel min_level) {
  g_format.store(format);
  g_min_level.store(min_level);
}

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  for (int i = 0; i < static_cast<int>(std::size(kLevelNames)); ++i) {
    if (name == kLevelNames[i].json) return static_cast<LogLevel>(i);
  }
  return std::nullopt;
}

bool LogEnabled(LogLevel level) { return level >= g_min_level.load(std::memory_order_relaxed); }

std::string FormatLogLine(LogFormat format, std::string_view ts, LogLevel level, std::string_view message,
                          std::initializer_list<LogField> fields) {
  std::string line;
  line.reserve(ts.size() + message.size() + 32);
  if (format == LogFormat::kJson) {
    line += "{\"ts\":\"";
    line += ts;
    line += "\",\"level\":\"";
    line += NameOf(level).json;
    line += "\",\"msg\":\"";
    AppendJsonEscaped(&line, message);
    line += '"';
    for (const LogField& f : fields) {
      line += ",\"";
      AppendJsonEscaped(&line, f.key);
      line += "\":\"";
      AppendJsonEscaped(&line, f.value);
      line += '"';
    }
    line += '}';
    return line;
  }
  line += ts;
  line += ' ';
  line += NameOf(level).text;
  line += ' ';
  AppendOneLine(&line, message);
  for (const LogField& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    AppendOneLine(&line, f.value);
  }
  return line;
}

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  static std::mutex mu;
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm;
  gmtime_r(&secs, &tm);
  char ts[40];
  const size_t n = std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(ts + n, sizeof(ts) - n, ".%03dZ", static_cast<int>(ms));
  std::string line = FormatLogLine(g_format.load(std::memory_order_relaxed), ts, level, message, fields);
  line += '\n';
  std::lock_guard<std::mutex> lock(mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace leadflow
