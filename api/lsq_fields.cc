#include "api/lsq_fields.h"

#include "views/time.h"

namespace leadflow::api {
namespace {

constexpr size_t kMaxQuoted = 64;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads n digits at text[*pos]; false unless all are digits.
bool Digits(std::string_view text, size_t* pos, size_t n, int* out) {
  if (*pos + n > text.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = text[*pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Literal(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

}  // namespace

bool HasPrefixNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsNoCase(s.substr(0, prefix.size()), prefix);
}

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = views::LowerAscii(c);
  return out;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

const nlohmann::json* FindKey(const nlohmann::json& obj, std::string_view name) {
  if (!obj.is_object()) return nullptr;
  const nlohmann::json* found = nullptr;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it.key() == name) {
      found = &it.value();
      break;
    }
    if (!found && EqualsNoCase(it.key(), name)) found = &it.value();
  }
  return found && !found->is_null() ? found : nullptr;
}

bool IsColumnName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(IsDigit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_')) return false;
  }
  return true;
}

std::optional<int64_t> ParseLsqDateTime(std::string_view text) {
  size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!Digits(text, &pos, 4, &y) || !Literal(text, &pos, '-') || !Digits(text, &pos, 2, &mo) ||
      !Literal(text, &pos, '-') || !Digits(text, &pos, 2, &d) || !Literal(text, &pos, ' ') ||
      !Digits(text, &pos, 2, &h) || !Literal(text, &pos, ':') || !Digits(text, &pos, 2, &mi) ||
      !Literal(text, &pos, ':') || !Digits(text, &pos, 2, &s)) {
    return std::nullopt;
  }
  if (pos < text.size()) {
    if (!Literal(text, &pos, '.')) return std::nullopt;
    const size_t digits = text.size() - pos;
    if (digits < 1 || digits > 7) return std::nullopt;
    for (; pos < text.size(); ++pos) {
      if (!IsDigit(text[pos])) return std::nullopt;
    }
  }
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) {
    return std::nullopt;
  }
  const int64_t days = views::DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return days * views::kMsPerDay + (int64_t{h} * 3600 + mi * 60 + s) * 1000;
}

std::string Quoted(std::string_view text) {
  if (text.size() <= kMaxQuoted) return std::string(text);
  return std::string(text.substr(0, kMaxQuoted)) + "...";
}

std::string QuotedValue(const nlohmann::json& value) {
  if (value.is_string()) return Quoted(std::string_view(value.get_ref<const std::string&>()));
  return Quoted(std::string_view(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

}  // namespace leadflow::api
