// The lexical layer of the query language (views/query_parser.h has the
// grammar): tokens, quoted strings, numbers and time literals, and their
// canonical spellings.
//
// Errors are thrown as QuerySyntaxError and caught by ParseQuery; nothing
// here throws past views/query_parser.cc.
//
// Thread safety: a QueryLexer belongs to one thread; the free functions are
// pure.
#ifndef LEADFLOW_VIEWS_DETAIL_QUERY_LEXER_H_
#define LEADFLOW_VIEWS_DETAIL_QUERY_LEXER_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "views/query.h"

namespace leadflow::views::detail {

// A syntax error at byte offset byte_pos of the query text.
struct QuerySyntaxError {
  size_t byte_pos = 0;
  std::string message;  // without the "position N: " prefix
};

enum class TokenKind { kEnd, kLParen, kRParen, kColon, kOp, kString, kWord };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t pos = 0;                               // byte offset of the token's first byte (kEnd: text size)
  std::string text;                             // kString: unescaped contents; kWord: the word as written
  query::CompareOp op = query::CompareOp::kGe;  // kOp only
};

// Splits a query text into tokens on demand, with one token of lookahead.
// Not copyable; text must outlive the lexer.
class QueryLexer {
 public:
  explicit QueryLexer(std::string_view text) : text_(text) {}
  QueryLexer(const QueryLexer&) = delete;
  QueryLexer& operator=(const QueryLexer&) = delete;

  // The next token, left in place. Throws QuerySyntaxError for an
  // unterminated string, an escape other than \" or \\, or a byte that
  // starts no token ('=', '\', a control character).
  const Token& Peek();
  // The next token, consumed. Throws as Peek().
  Token Take();

 private:
  Token Lex();

  std::string_view text_;
  size_t pos_ = 0;
  std::optional<Token> peeked_;
};

// True for the bytes a bare word is made of.
bool IsWordByte(unsigned char c);

// True when t is a word equal to keyword ignoring ASCII case. keyword is
// lower case.
bool IsKeyword(const Token& t, std::string_view keyword);

// s in double quotes, with " and \ escaped by a backslash.
std::string QuoteString(std::string_view s);

// s shortened to at most 40 bytes (on a UTF-8 boundary, "..." appended) for
// an error message.
std::string Excerpt(std::string_view s);

// The 1-based character position of byte offset byte_pos in text: one plus
// the number of bytes before it that are not UTF-8 continuation bytes.
size_t CharPosition(std::string_view text, size_t byte_pos);

// Reads a number (grammar in views/query_parser.h). nullopt when malformed
// or not representable as a finite double.
std::optional<double> ParseNumber(std::string_view s);
// The shortest text that ParseNumber reads back as exactly n (n finite).
std::string FormatNumber(double n);

// Reads a time literal (views/query.h, "Spans") into its span; nullopt
// when malformed or outside years 0001-9999 (UTC, after the zone offset).
std::optional<query::Span> ParseTimeLiteral(std::string_view s);
// The shortest literal naming span, without quotes: a UTC day, second or
// millisecond as its bounds say; any other span as the millisecond of its
// start.
std::string SpanLiteral(const query::Span& span);

const char* CompareOpText(query::CompareOp op);

}  // namespace leadflow::views::detail

#endif  // LEADFLOW_VIEWS_DETAIL_QUERY_LEXER_H_
