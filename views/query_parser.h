// Query parser: the text of a Close lead search query (contract section 2a)
// to a Query (views/query.h), and a Query back to canonical text.
//
// Grammar (keywords ASCII case-insensitive; whitespace between tokens free):
//
//   query    := <blank> | or
//   or       := and ("or" and)*
//   and      := not (["and"] not)*            juxtaposition means and
//   not      := "not" not | "(" or ")" | term
//   term     := "lead_status" ":" value
//             | "lead_status" "(" on_part (["and"] on_part)* ")"
//             | "original_lead_status" ":" value
//             | "created" OP time
//             | "lead_status_change" "(" [chg_part (["and"] chg_part)*] ")"
//             | "in" ":" value
//             | name ":" value               FieldEquals
//             | name OP number               FieldCompare
//   on_part  := "status" ":" value | "on" ":" time     each exactly once
//   chg_part := "old_status" ":" value | "new_status" ":" value   at most once
//             | "date" OP time                               any number
//   OP       := ">=" | "<=" | ">" | "<"
//   name     := word | string     a word may not be and, or, not or one of
//                                 the term keywords above (quote it instead)
//   value    := string | word     (a bare and, or or not must be quoted)
//   time     := value holding a time literal (views/query.h, "Spans"):
//               YYYY-MM-DD, or YYYY-MM-DD HH:MM:SS with an optional .mmm
//               (exactly three digits); 'T'/'t' may replace the space, and a
//               zone Z, z, +HH:MM, -HH:MM, +HHMM or -HHMM may follow (the
//               instant is converted to UTC). Years 0001-9999, seconds 00-59.
//   number   := -?D+(.D+)?([eE][+-]?D+)? within the range of a double
//   string   := '"' ... '"' where \" and \\ are the only escapes; any other
//               byte (UTF-8 or not, control characters too) stands for itself
//   word     := a run of bytes that are not ASCII whitespace, not control
//               characters and none of ( ) " : < > = and backslash
//
// Thread safety: pure functions, callable from any thread.
#ifndef LEADFLOW_VIEWS_QUERY_PARSER_H_
#define LEADFLOW_VIEWS_QUERY_PARSER_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "state/status.h"
#include "views/query.h"

namespace leadflow::views {

// Longest query text ParseQuery accepts, in bytes.
constexpr size_t kMaxQueryBytes = 64 * 1024;
// Deepest nesting ParseQuery accepts: each "(" and each "not" enclosing a
// term is one level. Bounds the parser's (and a tree walker's) recursion.
constexpr int kMaxQueryDepth = 100;

// Parses text into *out. An empty or all-blank text is query::All.
//
// On success returns OK and sets *out. Parenthesized groups are flattened
// (`a and (b and c)` is one And of three), `(a)` is a, and `not not a` is
// kept as two Nots.
//
// Returns InvalidArgument, leaving *out unchanged, when text does not parse.
// The message is "position N: <what went wrong>", N the 1-based position of
// the offending character counted in Unicode code points (UTF-8; a byte that
// is not a continuation byte counts as one), e.g.
//   position 17: expected ')' after lead_status(...)
//   position 5: unexpected end of query, expected a term
//   position 23: "2024-13-01 00:00:00" is not a valid time
// At the end of the text N is the length in characters plus one. A text
// longer than kMaxQueryBytes is refused before parsing, with a message
// naming its length and the limit.
//
// REQUIRES: out != nullptr.
Status ParseQuery(std::string_view text, Query* out);

// The canonical text of q: keywords in lower case, one space around
// operators, every value quoted (only " and \ escaped), labels written in
// the order old_status, new_status, dates; spans written in their shortest
// form ("YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS" or with ".mmm", UTC);
// parentheses only where precedence needs them (`(a or b) and c`,
// `not (a and b)`); All is "".
//
// Round trip: for every q that ParseQuery produced, ParseQuery(
// QueryToString(q)) yields a Query equal to q, provided the canonical text
// is within kMaxQueryBytes (it may be up to about twice as long as the text
// that was parsed, e.g. `a:b c:d` becomes `a:"b" and c:"d"`), and it never
// nests deeper than that text. Of the queries api/status_report_json.cc
// writes without a filter, all but the period report's `entered` are
// canonical (its `(... and ...) or ...` loses the parentheses precedence
// does not need).
//
// A hand-built Query prints too, but the round trip is promised only for
// trees of the parser's shape (And/Or with two or more operands, All only at
// the root, spans of one of the three literal shapes; another span prints
// as the millisecond of its start).
std::string QueryToString(const Query& q);

// A query string literal: s in double quotes, with `"` and `\` escaped by `\`
// (what the parser reads back as s).
std::string QuoteQueryString(std::string_view s);

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_QUERY_PARSER_H_
