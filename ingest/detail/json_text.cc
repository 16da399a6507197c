#include "ingest/detail/json_text.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <system_error>

namespace leadflow::ingest::detail {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Where simdjson ends a number's or a literal's token: at JSON whitespace or
// a structural character.
bool EndsToken(char c) { return std::string_view(" \t\n\r,:[]{}").find(c) != std::string_view::npos; }

// The bytes of the valid UTF-8 character at text[i], or 0 with *bad set to
// the first byte that breaks it (by the Unicode Standard's table of
// well-formed UTF-8: no overlong forms, surrogates or code points past
// U+10FFFF), as nlohmann::json checked strings.
size_t Utf8CharAt(std::string_view text, size_t i, size_t* bad) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    *bad = i;
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    const auto b = i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0;
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) {
      *bad = i + k;
      return 0;
    }
  }
  return len;
}

// The literal that a token starting with c would be, or "".
std::string_view LiteralFor(char c) {
  switch (c) {
    case 't': return "true";
    case 'f': return "false";
    case 'n': return "null";
    default: return "";
  }
}

// The length of the longest prefix of literal found at text[offset].
size_t MatchedLength(std::string_view text, size_t offset, std::string_view literal) {
  size_t n = 0;
  while (n < literal.size() && offset + n < text.size() && text[offset + n] == literal[n]) ++n;
  return n;
}

// The end of the longest prefix of text from offset that follows the JSON
// number grammar; *complete tells whether that prefix is a number.
size_t NumberPrefix(std::string_view text, size_t offset, bool* complete) {
  size_t i = offset;
  auto at = [&](std::string_view chars) { return i < text.size() && chars.find(text[i]) != std::string_view::npos; };
  auto digits = [&] {
    const size_t first = i;
    while (at("0123456789")) ++i;
    return i > first;
  };
  *complete = false;
  if (at("-")) ++i;
  if (at("0")) {
    ++i;
  } else if (!digits()) {
    return i;
  }
  if (at(".") && (++i, !digits())) return i;
  if (at("eE")) {
    ++i;
    if (at("+-")) ++i;
    if (!digits()) return i;
  }
  *complete = true;
  return i;
}

// Whether the JSON number s is at least 1 in magnitude: std::from_chars
// calls both a double's overflow and its underflow to 0 out of range.
bool AtLeastOne(std::string_view s) {
  size_t i = s[0] == '-' ? 1 : 0;
  int64_t magnitude = 0;  // decimal digits of the integer part, after leading zeros
  bool significant = false;
  for (; i < s.size() && IsDigit(s[i]); ++i) {
    significant = significant || s[i] != '0';
    if (significant) ++magnitude;
  }
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && IsDigit(s[i]); ++i) {
      if (!significant && s[i] == '0') --magnitude;
      significant = significant || s[i] != '0';
    }
  }
  if (!significant) return false;  // zero
  int64_t exponent = 0;
  if (i < s.size()) {  // 'e' or 'E'
    const bool negative = s[++i] == '-';
    if (s[i] == '-' || s[i] == '+') ++i;
    // Saturates: no double needs an exponent of even 400.
    for (; i < s.size(); ++i) exponent = std::min<int64_t>(exponent * 10 + (s[i] - '0'), int64_t{1} << 40);
    if (negative) exponent = -exponent;
  }
  return magnitude + exponent > 0;
}

// The value of the hex digit c, or -1.
int HexDigit(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The 4 hex digits at text[at] as *code_point; false with *bad at the first
// byte that is not one.
bool Hex4(std::string_view text, size_t at, uint32_t* code_point, size_t* bad) {
  *code_point = 0;
  for (size_t k = at; k < at + 4; ++k) {
    const int digit = k < text.size() ? HexDigit(text[k]) : -1;
    if (digit < 0) {
      *bad = k;
      return false;
    }
    *code_point = *code_point * 16 + static_cast<uint32_t>(digit);
  }
  return true;
}

}  // namespace

std::string SyntaxErrorAt(std::string_view text, size_t offset) {
  if (offset >= text.size()) return "not valid JSON: unexpected end of input";
  return "not valid JSON at byte " + std::to_string(offset + 1);
}

std::string EncodingErrorReason(std::string_view text, size_t start) {
  bool in_string = false;
  for (size_t i = start; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"') {
      in_string = !in_string;
      ++i;
    } else if (!in_string) {
      if (c >= 0x80) return SyntaxErrorAt(text, i);
      ++i;
    } else if (c == '\\') {
      // Only an ASCII character may be escaped; which ones is checked later.
      const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0x20;
      if (next < 0x20 || next >= 0x80) return SyntaxErrorAt(text, i + 1);
      i += 2;
    } else if (c < 0x20) {
      return "not valid JSON: unescaped control character in a string at byte " + std::to_string(i + 1);
    } else {
      size_t bad = 0;
      const size_t len = Utf8CharAt(text, i, &bad);
      if (len == 0 && bad >= text.size()) return SyntaxErrorAt(text, bad);
      if (len == 0) return "not valid JSON: invalid UTF-8 in a string at byte " + std::to_string(bad + 1);
      i += len;
    }
  }
  return SyntaxErrorAt(text, text.size());
}

std::string UnexpectedTokenReason(std::string_view text, size_t offset) {
  if (offset < text.size() && (text[offset] == '-' || IsDigit(text[offset]))) {
    bool complete = false;
    const size_t end = NumberPrefix(text, offset, &complete);
    return SyntaxErrorAt(text, complete ? offset : end);
  }
  const std::string_view literal = offset < text.size() ? LiteralFor(text[offset]) : "";
  if (literal.empty()) return SyntaxErrorAt(text, offset);
  const size_t n = MatchedLength(text, offset, literal);
  return SyntaxErrorAt(text, n == literal.size() ? offset : offset + n);
}

std::string CheckLiteral(std::string_view text, size_t offset) {
  const std::string_view literal = offset < text.size() ? LiteralFor(text[offset]) : "";
  const size_t end = offset + MatchedLength(text, offset, literal);
  if (!literal.empty() && end == offset + literal.size() && (end == text.size() || EndsToken(text[end]))) return "";
  return SyntaxErrorAt(text, end);
}

std::string ReadNumberSlowly(std::string_view text, size_t offset, double* out) {
  bool complete = false;
  const size_t i = NumberPrefix(text, offset, &complete);
  if (!complete) return SyntaxErrorAt(text, i);
  const std::string_view number = text.substr(offset, i - offset);
  double value = 0;
  if (std::from_chars(number.data(), number.data() + number.size(), value).ec == std::errc::result_out_of_range) {
    if (AtLeastOne(number)) {
      return "number out of range: " + std::string(number.substr(0, 40)) + (number.size() > 40 ? "..." : "");
    }
    value = number[0] == '-' ? -0.0 : 0.0;
  }
  if (i < text.size() && !EndsToken(text[i])) return SyntaxErrorAt(text, i);
  *out = value;
  return "";
}

std::string InvalidEscapeReason(std::string_view text, size_t offset) {
  size_t i = offset + 1;
  uint32_t code_point = 0;
  size_t bad = 0;
  while (i < text.size() && text[i] != '"') {
    if (text[i++] != '\\') continue;
    if (i < text.size() && text[i] != 'u') {
      if (std::string_view("\"\\/bfnrt").find(text[i]) == std::string_view::npos) return SyntaxErrorAt(text, i);
      ++i;
      continue;
    }
    if (!Hex4(text, i + 1, &code_point, &bad)) return SyntaxErrorAt(text, bad);
    i += 5;
    if (code_point >= 0xDC00 && code_point <= 0xDFFF) return SyntaxErrorAt(text, i - 1);  // a low surrogate alone
    if (code_point < 0xD800 || code_point > 0xDBFF) continue;
    // A high surrogate: a low one must follow.
    if (i >= text.size() || text[i] != '\\') return SyntaxErrorAt(text, i);
    if (i + 1 >= text.size() || text[i + 1] != 'u') return SyntaxErrorAt(text, i + 1);
    if (!Hex4(text, i + 2, &code_point, &bad)) return SyntaxErrorAt(text, bad);
    i += 6;
    if (code_point < 0xDC00 || code_point > 0xDFFF) return SyntaxErrorAt(text, i - 1);
  }
  return SyntaxErrorAt(text, i);
}

}  // namespace leadflow::ingest::detail
