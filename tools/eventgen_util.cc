#include "tools/eventgen_util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>

namespace leadflow::tools {

double Rng::Exponential(double mean) { return -mean * std::log1p(-Uniform()); }

int64_t Rng::Poisson(double mean) {
  if (mean <= 0) return 0;
  if (mean > 30) {
    // Box-Muller normal approximation.
    double u1 = 1.0 - Uniform();
    double u2 = Uniform();
    double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
    return std::max<int64_t>(0, std::llround(mean + z * std::sqrt(mean)));
  }
  double limit = std::exp(-mean);
  double p = Uniform();
  int64_t k = 0;
  while (p > limit) {
    p *= Uniform();
    ++k;
  }
  return k;
}

double Rng::Pareto(double mean, double alpha, double cap) {
  double xm = mean * (alpha - 1) / alpha;
  double x = xm / std::pow(1.0 - Uniform(), 1.0 / alpha);
  return std::min(x, cap * mean);
}

size_t Rng::Weighted(const double* weights, size_t n) {
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += weights[i];
  double r = Uniform() * total;
  for (size_t i = 0; i < n; ++i) {
    if (r < weights[i]) return i;
    r -= weights[i];
  }
  return n - 1;
}

uint64_t MixSeed(uint64_t a, uint64_t b) {
  Rng rng(a ^ (b * 0xD1B54A32D192ED03ULL) ^ (b >> 7));
  rng.NextU64();
  return rng.NextU64();
}

void JsonWriter::Key(std::string_view key) {
  if (!first_) out_->push_back(',');
  first_ = false;
  out_->push_back('"');
  out_->append(key);
  out_->append("\":");
}

JsonWriter& JsonWriter::Str(std::string_view key, std::string_view value) {
  Key(key);
  AppendJsonString(out_, value);
  return *this;
}

JsonWriter& JsonWriter::Int(std::string_view key, int64_t value) {
  Key(key);
  out_->append(std::to_string(value));
  return *this;
}

JsonWriter& JsonWriter::Num(std::string_view key, double value) {
  Key(key);
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.15g", value);
  out_->append(buf, static_cast<size_t>(n));
  return *this;
}

JsonWriter& JsonWriter::Bool(std::string_view key, bool value) {
  Key(key);
  out_->append(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null(std::string_view key) {
  Key(key);
  out_->append("null");
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view key, std::string_view json) {
  Key(key);
  out_->append(json);
  return *this;
}

JsonWriter& JsonWriter::Time(std::string_view key, int64_t ms) {
  Key(key);
  out_->push_back('"');
  AppendRfc3339Ms(out_, ms);
  out_->push_back('"');
  return *this;
}

JsonWriter& JsonWriter::BeginObject(std::string_view key) {
  Key(key);
  out_->push_back('{');
  first_ = true;
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  out_->push_back('}');
  first_ = false;
  return *this;
}

void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 15]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  // H. Hinnant's algorithm.
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

void AppendDigits(std::string* out, int64_t v, int width) {
  char buf[24];
  int n = 0;
  for (; n < width || v > 0; ++n, v /= 10) buf[n] = static_cast<char>('0' + v % 10);
  while (n > 0) out->push_back(buf[--n]);
}

// Reads exactly n digits at text[*pos]; false if not all digits.
bool ReadDigits(std::string_view text, size_t* pos, int n, int* value) {
  if (*pos + static_cast<size_t>(n) > text.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = text[*pos + static_cast<size_t>(i)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += static_cast<size_t>(n);
  *value = v;
  return true;
}

bool Expect(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400);
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int WeekdayOfDay(int64_t days) {
  // 1970-01-01 was a Thursday (3 when Monday = 0).
  return static_cast<int>(days + 3 - FloorDiv(days + 3, 7) * 7);
}

void AppendRfc3339Ms(std::string* out, int64_t ms) {
  int64_t days = FloorDiv(ms, 86'400'000);
  int64_t rem = ms - days * 86'400'000;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  AppendDigits(out, y, 4);
  out->push_back('-');
  AppendDigits(out, m, 2);
  out->push_back('-');
  AppendDigits(out, d, 2);
  out->push_back('T');
  AppendDigits(out, rem / 3'600'000, 2);
  out->push_back(':');
  AppendDigits(out, rem / 60'000 % 60, 2);
  out->push_back(':');
  AppendDigits(out, rem / 1000 % 60, 2);
  out->push_back('.');
  AppendDigits(out, rem % 1000, 3);
  out->push_back('Z');
}

std::string FormatRfc3339Ms(int64_t ms) {
  std::string s;
  AppendRfc3339Ms(&s, ms);
  return s;
}

std::string FormatSqlDateTime(int64_t ms) {
  std::string s = FormatRfc3339Ms(ms);
  s.resize(19);
  s[10] = ' ';
  return s;
}

std::optional<int64_t> ParseRfc3339Ms(std::string_view text) {
  size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
  if (!ReadDigits(text, &pos, 4, &y) || !Expect(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &mo) || !Expect(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31) {
    return std::nullopt;
  }
  int64_t offset_min = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return std::nullopt;
    ++pos;
    if (!ReadDigits(text, &pos, 2, &h) || !Expect(text, &pos, ':') ||
        !ReadDigits(text, &pos, 2, &mi) || !Expect(text, &pos, ':') ||
        !ReadDigits(text, &pos, 2, &s) || h > 23 || mi > 59 || s > 60) {
      return std::nullopt;
    }
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      int digits = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (digits < 3) ms = ms * 10 + (text[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0) return std::nullopt;
      for (int i = digits; i < 3; ++i) ms *= 10;
    }
    if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
      ++pos;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
      int sign = text[pos] == '-' ? -1 : 1;
      ++pos;
      int oh, om;
      if (!ReadDigits(text, &pos, 2, &oh) || !Expect(text, &pos, ':') ||
          !ReadDigits(text, &pos, 2, &om)) {
        return std::nullopt;
      }
      offset_min = sign * (oh * 60 + om);
    } else {
      return std::nullopt;
    }
    if (pos != text.size()) return std::nullopt;
  }
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return days * 86'400'000 + ((h * 60 + mi - offset_min) * 60 + s) * 1000LL + ms;
}

}  // namespace leadflow::tools
