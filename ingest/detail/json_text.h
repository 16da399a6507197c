// JSON text where simdjson gives no answer DecodeEvent can use: the reasons
// for malformed JSON, worked out from the input once simdjson has refused it
// (simdjson says what went wrong but not where, and decode.h promises the
// byte), and the tokens simdjson does not read the way nlohmann::json did
// (literals, numbers past its fast paths). Each function reads only the token
// or text it is given, once.
//
// The byte named is the one where nlohmann::json, the parser decode.cc used
// before, stopped on the same input, wherever that can be told from where
// simdjson stopped: in "not valid JSON at byte N", N counts from 1, and an
// error at or past the end is "not valid JSON: unexpected end of input".
//
// Thread safety: pure functions.
#ifndef LEADFLOW_INGEST_DETAIL_JSON_TEXT_H_
#define LEADFLOW_INGEST_DETAIL_JSON_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace leadflow::ingest::detail {

// "not valid JSON at byte <offset + 1>", or the end-of-input reason when
// offset is past text.
std::string SyntaxErrorAt(std::string_view text, size_t offset);

// The reason for text that simdjson's first pass refused (invalid UTF-8, an
// unescaped control character, an unclosed string, no JSON at all), parsing
// from offset start (past a byte order mark): the first byte outside a string
// that is not ASCII, the first control character or invalid UTF-8 in a string,
// else the end of input.
std::string EncodingErrorReason(std::string_view text, size_t start);

// The reason for the token at offset where the structure wanted another (a
// key, a colon, a comma, a value): a token that starts like a number, true,
// false or null is blamed at the first byte that cannot continue it, or at
// its start when it is whole; any other token at its start.
std::string UnexpectedTokenReason(std::string_view text, size_t offset);

// Checks the value at offset that starts like true, false or null: "" when it
// is that literal whole, followed by the end of its token; else the syntax
// error at the first byte after the longest prefix of the literal.
std::string CheckLiteral(std::string_view text, size_t offset);

// Reads the number at offset the way nlohmann::json did (its longest prefix
// by the JSON grammar, as a double), for the numbers simdjson refused: past
// a double's range, malformed, or integers past 64 bits. "" with *out set
// when the token is a number within a double's range; else
// "number out of range: <its text cut to 40 bytes>" or the syntax error.
std::string ReadNumberSlowly(std::string_view text, size_t offset, double* out);

// The reason for the string whose opening quote is at offset and whose
// escapes simdjson refused: the byte of the first bad escape (a lone
// surrogate, a \u without 4 hex digits, an unknown escape).
std::string InvalidEscapeReason(std::string_view text, size_t offset);

}  // namespace leadflow::ingest::detail

#endif  // LEADFLOW_INGEST_DETAIL_JSON_TEXT_H_
