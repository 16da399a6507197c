#include "views/detail/query_lexer.h"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <system_error>

#include "views/ascii.h"
#include "views/time.h"

namespace leadflow::views::detail {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads n digits at s[pos..pos+n) into *out.
bool Digits(std::string_view s, size_t pos, size_t n, int64_t* out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!IsDigit(s[i])) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

unsigned DaysInMonth(int64_t y, int64_t m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// The instants of years 0001-9999 (UTC).
const int64_t kMinMs = DaysFromCivil(1, 1, 1) * kMsPerDay;
const int64_t kMaxMs = DaysFromCivil(10000, 1, 1) * kMsPerDay - 1;

// Reads a zone designator that is all of s: Z, z, +HH:MM, -HH:MM, +HHMM or
// -HHMM. *offset_ms is east of UTC.
bool ParseZone(std::string_view s, int64_t* offset_ms) {
  if (s == "Z" || s == "z") {
    *offset_ms = 0;
    return true;
  }
  if (s.size() != 5 && s.size() != 6) return false;
  if (s[0] != '+' && s[0] != '-') return false;
  int64_t hh, mm;
  const size_t min_pos = s.size() == 6 ? 4 : 3;
  if (!Digits(s, 1, 2, &hh) || (s.size() == 6 && s[3] != ':') || !Digits(s, min_pos, 2, &mm)) return false;
  if (hh > 23 || mm > 59) return false;
  *offset_ms = (hh * 60 + mm) * 60'000 * (s[0] == '-' ? -1 : 1);
  return true;
}

}  // namespace

bool IsWordByte(unsigned char c) {
  if (c >= 0x80) return true;
  if (c <= 0x20 || c == 0x7f) return false;
  switch (c) {
    case '(':
    case ')':
    case '"':
    case ':':
    case '<':
    case '>':
    case '=':
    case '\\': return false;
    default: return true;
  }
}

const Token& QueryLexer::Peek() {
  if (!peeked_) peeked_ = Lex();
  return *peeked_;
}

Token QueryLexer::Take() {
  Peek();
  Token t = std::move(*peeked_);
  peeked_.reset();
  return t;
}

Token QueryLexer::Lex() {
  while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  Token t;
  t.pos = pos_;
  if (pos_ == text_.size()) return t;
  const char c = text_[pos_];
  auto single = [&](TokenKind kind) {
    t.kind = kind;
    ++pos_;
    return t;
  };
  switch (c) {
    case '(': return single(TokenKind::kLParen);
    case ')': return single(TokenKind::kRParen);
    case ':': return single(TokenKind::kColon);
    case '<':
    case '>': {
      const bool eq = pos_ + 1 < text_.size() && text_[pos_ + 1] == '=';
      t.kind = TokenKind::kOp;
      t.op = c == '<' ? (eq ? query::CompareOp::kLe : query::CompareOp::kLt)
                      : (eq ? query::CompareOp::kGe : query::CompareOp::kGt);
      pos_ += eq ? 2 : 1;
      return t;
    }
    case '"': {
      t.kind = TokenKind::kString;
      for (size_t i = pos_ + 1; i < text_.size(); ++i) {
        if (text_[i] == '"') {
          pos_ = i + 1;
          return t;
        }
        if (text_[i] == '\\') {
          if (i + 1 == text_.size()) break;
          const char e = text_[i + 1];
          if (e != '"' && e != '\\') {
            throw QuerySyntaxError{i, "invalid escape in string; only \\\" and \\\\ are allowed"};
          }
          ++i;
        }
        t.text.push_back(text_[i]);
      }
      throw QuerySyntaxError{pos_, "unterminated string"};
    }
    default: break;
  }
  const auto uc = static_cast<unsigned char>(c);
  if (!IsWordByte(uc)) {
    if (uc < 0x20 || uc == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02X", uc);
      throw QuerySyntaxError{pos_, std::string("unexpected control character ") + hex};
    }
    throw QuerySyntaxError{pos_, std::string("unexpected '") + c + "'"};
  }
  t.kind = TokenKind::kWord;
  const size_t start = pos_;
  while (pos_ < text_.size() && IsWordByte(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  t.text.assign(text_.substr(start, pos_ - start));
  return t;
}

bool IsKeyword(const Token& t, std::string_view keyword) {
  return t.kind == TokenKind::kWord && EqualsNoCase(t.text, keyword);
}

std::string QuoteString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 40;
  if (s.size() <= kMax) return std::string(s);
  size_t end = kMax;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return std::string(s.substr(0, end)) + "...";
}

size_t CharPosition(std::string_view text, size_t byte_pos) {
  size_t n = 1;
  for (size_t i = 0; i < byte_pos && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::optional<double> ParseNumber(std::string_view s) {
  // Check the grammar first: from_chars also takes "inf", "nan", hex, ".5".
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (!digits()) return std::nullopt;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return std::nullopt;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  double value = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return value;
}

std::string FormatNumber(double n) {
  char buf[64];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  return ec == std::errc() ? std::string(buf, ptr) : std::string("0");
}

std::optional<query::Span> ParseTimeLiteral(std::string_view s) {
  int64_t y, mo, d;
  if (s.size() < 10 || !Digits(s, 0, 4, &y) || s[4] != '-' || !Digits(s, 5, 2, &mo) || s[7] != '-' ||
      !Digits(s, 8, 2, &d)) {
    return std::nullopt;
  }
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo)) return std::nullopt;
  const int64_t day_ms = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * kMsPerDay;
  if (s.size() == 10) return query::Span{day_ms, day_ms + kMsPerDay - 1};

  int64_t hh, mm, ss;
  if (s.size() < 19 || (s[10] != ' ' && s[10] != 'T' && s[10] != 't') || !Digits(s, 11, 2, &hh) || s[13] != ':' ||
      !Digits(s, 14, 2, &mm) || s[16] != ':' || !Digits(s, 17, 2, &ss)) {
    return std::nullopt;
  }
  if (hh > 23 || mm > 59 || ss > 59) return std::nullopt;
  int64_t start = day_ms + ((hh * 60 + mm) * 60 + ss) * 1000;
  int64_t length = 1000;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    int64_t millis;
    if (!Digits(s, pos + 1, 3, &millis)) return std::nullopt;
    start += millis;
    length = 1;
    pos += 4;
  }
  int64_t offset_ms = 0;
  if (pos < s.size() && !ParseZone(s.substr(pos), &offset_ms)) return std::nullopt;
  start -= offset_ms;
  const query::Span span{start, start + length - 1};
  if (span.start_ms < kMinMs || span.end_ms > kMaxMs) return std::nullopt;
  return span;
}

std::string SpanLiteral(const query::Span& span) {
  const int64_t length = span.end_ms - span.start_ms + 1;
  if (length == kMsPerDay && span.start_ms % kMsPerDay == 0) {
    return FormatSpanLiteral(span.start_ms, false).substr(0, 10);
  }
  if (length == 1000 && span.start_ms % 1000 == 0) return FormatSpanLiteral(span.start_ms, false);
  return FormatSpanLiteral(span.start_ms, true);
}

const char* CompareOpText(query::CompareOp op) {
  switch (op) {
    case query::CompareOp::kGe: return ">=";
    case query::CompareOp::kLe: return "<=";
    case query::CompareOp::kGt: return ">";
    case query::CompareOp::kLt: return "<";
  }
  return "?";
}

}  // namespace leadflow::views::detail
