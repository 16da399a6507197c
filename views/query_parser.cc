// The parser and its inverse, QueryToString, share this file (hence its
// length): both follow the grammar in query_parser.h, and side by side they
// are easier to keep in step.
#include "views/query_parser.h"

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "views/detail/query_lexer.h"

namespace leadflow::views {
namespace {

using detail::IsKeyword;
using detail::QuerySyntaxError;
using detail::Token;
using detail::TokenKind;

// Words that begin a term of their own; as field names they must be quoted.
constexpr std::string_view kReservedWords[] = {
    "and", "or", "not", "lead_status", "original_lead_status", "created", "lead_status_change", "in"};

bool IsReserved(const Token& t) {
  for (std::string_view w : kReservedWords) {
    if (IsKeyword(t, w)) return true;
  }
  return false;
}

// A token as an error message shows it.
std::string Shown(const Token& t) {
  return t.kind == TokenKind::kString ? detail::Excerpt(detail::QuoteString(t.text)) : detail::Excerpt(t.text);
}

// Recursive descent over QueryLexer (grammar in query_parser.h). Errors are
// thrown as QuerySyntaxError, which ParseQuery turns into a Status: it keeps
// every production a plain function of its input.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text), lex_(text) {}

  Query ParseAll() {
    if (lex_.Peek().kind == TokenKind::kEnd) return Query{query::All{}};
    Query q = ParseOr();
    // ParseOr stops only at the end or at a ')'.
    const Token& t = lex_.Peek();
    if (t.kind != TokenKind::kEnd) throw QuerySyntaxError{t.pos, "unexpected ')' without a matching '('"};
    return q;
  }

 private:
  // Counts one nesting level for as long as it lives.
  class Level {
   public:
    Level(Parser* p, size_t pos) : p_(p) {
      if (++p_->depth_ > kMaxQueryDepth) {
        throw QuerySyntaxError{pos, "nesting deeper than " + std::to_string(kMaxQueryDepth) + " levels"};
      }
    }
    ~Level() { --p_->depth_; }
    Level(const Level&) = delete;
    Level& operator=(const Level&) = delete;

   private:
    Parser* p_;
  };

  [[noreturn]] static void Expected(const Token& t, const std::string& what) {
    throw QuerySyntaxError{
        t.pos, t.kind == TokenKind::kEnd ? "unexpected end of query, expected " + what : "expected " + what};
  }

  // Operands of the same kind as Combined are spliced in: a flat n-ary node.
  template <typename Combined>
  static Query Combine(std::vector<Query> operands) {
    if (operands.size() == 1) return std::move(operands[0]);
    Combined out;
    for (Query& q : operands) {
      if (auto* same = std::get_if<Combined>(&q.node)) {
        for (Query& inner : same->operands) out.operands.push_back(std::move(inner));
      } else {
        out.operands.push_back(std::move(q));
      }
    }
    return Query{std::move(out)};
  }

  Query ParseOr() {
    std::vector<Query> operands;
    operands.push_back(ParseAnd());
    while (IsKeyword(lex_.Peek(), "or")) {
      lex_.Take();
      operands.push_back(ParseAnd());
    }
    return Combine<query::Or>(std::move(operands));
  }

  Query ParseAnd() {
    std::vector<Query> operands;
    operands.push_back(ParseNot());
    for (;;) {
      const Token& t = lex_.Peek();
      if (t.kind == TokenKind::kEnd || t.kind == TokenKind::kRParen || IsKeyword(t, "or")) break;
      if (IsKeyword(t, "and")) lex_.Take();
      operands.push_back(ParseNot());  // anything else is a juxtaposed term
    }
    return Combine<query::And>(std::move(operands));
  }

  Query ParseNot() {
    if (!IsKeyword(lex_.Peek(), "not")) return ParsePrimary();
    const Token t = lex_.Take();
    Level level(this, t.pos);
    return Query{query::Not{query::Box<Query>(ParseNot())}};
  }

  Query ParsePrimary() {
    Token t = lex_.Take();
    if (t.kind == TokenKind::kLParen) {
      Level level(this, t.pos);
      Query q = ParseOr();
      const Token close = lex_.Take();
      if (close.kind != TokenKind::kRParen) {
        Expected(close, "')' to close the '(' at position " + std::to_string(CharPos(t.pos)));
      }
      return q;
    }
    if (t.kind == TokenKind::kString) return ParseField(t);
    if (t.kind != TokenKind::kWord || IsKeyword(t, "and") || IsKeyword(t, "or")) Expected(t, "a term");
    if (IsKeyword(t, "lead_status")) {
      const Token next = lex_.Take();
      if (next.kind == TokenKind::kColon)
        return Query{query::LeadStatus{ParseValue("a status label after lead_status:")}};
      if (next.kind == TokenKind::kLParen) return ParseStatusOn();
      Expected(next, "':' or '(' after lead_status");
    }
    if (IsKeyword(t, "original_lead_status")) {
      ExpectColon("original_lead_status");
      return Query{query::OriginalStatus{ParseValue("a status label after original_lead_status:")}};
    }
    if (IsKeyword(t, "created")) {
      query::Created c;
      c.op = ExpectOp("created");
      c.span = ParseTime(std::string("a time after created ") + detail::CompareOpText(c.op));
      return Query{c};
    }
    if (IsKeyword(t, "lead_status_change")) {
      const Token open = lex_.Take();
      if (open.kind != TokenKind::kLParen) Expected(open, "'(' after lead_status_change");
      return ParseStatusChange();
    }
    if (IsKeyword(t, "in")) {
      ExpectColon("in");
      return Query{query::InView{ParseValue("a Smart View id after in:")}};
    }
    return ParseField(t);
  }

  // name ":" value | name OP number, after the name.
  Query ParseField(const Token& name) {
    const bool quoted = name.kind == TokenKind::kString;
    const Token t = lex_.Take();
    if (t.kind == TokenKind::kColon) {
      return Query{query::FieldEquals{name.text, ParseValue("a value after " + Shown(name) + ":"), quoted}};
    }
    if (t.kind == TokenKind::kOp) {
      const std::string what = "a number after " + Shown(name) + " " + detail::CompareOpText(t.op);
      const Token n = lex_.Take();
      if (n.kind != TokenKind::kWord) Expected(n, what);
      const std::optional<double> number = detail::ParseNumber(n.text);
      if (!number) throw QuerySyntaxError{n.pos, Shown(n) + " is not a valid number"};
      return Query{query::FieldCompare{name.text, t.op, *number, quoted}};
    }
    Expected(t, "':' or a comparison operator after " + Shown(name));
  }

  // lead_status( ... ), after the '('.
  Query ParseStatusOn() {
    std::optional<std::string> label;
    std::optional<query::Span> span;
    bool after_and = false;
    for (;;) {
      const Token t = lex_.Take();
      if (label && span) {
        if (t.kind != TokenKind::kRParen) Expected(t, "')' after lead_status(...)");
        return Query{query::LeadStatusOn{std::move(*label), *span}};
      }
      if (IsKeyword(t, "and") && (label || span) && !after_and) {
        after_and = true;
        continue;
      }
      after_and = false;
      if (IsKeyword(t, "status")) {
        if (label) throw QuerySyntaxError{t.pos, "status: given twice in lead_status(...)"};
        ExpectColon("status");
        label = ParseValue("a status label after status:");
      } else if (IsKeyword(t, "on")) {
        if (span) throw QuerySyntaxError{t.pos, "on: given twice in lead_status(...)"};
        ExpectColon("on");
        span = ParseTime("a time after on:");
      } else {
        Expected(t, std::string(label  ? "on:\"<time>\""
                                : span ? "status:\"<label>\""
                                       : "status:\"<label>\" and on:\"<time>\"") +
                        " in lead_status(...)");
      }
    }
  }

  // lead_status_change( ... ), after the '('.
  Query ParseStatusChange() {
    query::StatusChange change;
    bool any = false, after_and = false;
    for (;;) {
      const Token t = lex_.Take();
      if (t.kind == TokenKind::kRParen && !after_and) return Query{std::move(change)};
      if (IsKeyword(t, "and") && any && !after_and) {
        after_and = true;
        continue;
      }
      if (IsKeyword(t, "old_status") || IsKeyword(t, "new_status")) {
        const bool old = IsKeyword(t, "old_status");
        std::optional<std::string>& slot = old ? change.old_label : change.new_label;
        const char* key = old ? "old_status" : "new_status";
        if (slot) throw QuerySyntaxError{t.pos, std::string(key) + ": given twice in lead_status_change(...)"};
        ExpectColon(key);
        slot = ParseValue(std::string("a status label after ") + key + ":");
      } else if (IsKeyword(t, "date")) {
        query::DateBound bound;
        bound.op = ExpectOp("date");
        bound.span = ParseTime(std::string("a time after date ") + detail::CompareOpText(bound.op));
        change.dates.push_back(bound);
      } else {
        Expected(t, after_and ? "old_status:, new_status: or date after and in lead_status_change(...)"
                              : "old_status:, new_status:, date or ')' in lead_status_change(...)");
      }
      any = true;
      after_and = false;
    }
  }

  void ExpectColon(const char* after) {
    const Token t = lex_.Take();
    if (t.kind != TokenKind::kColon) Expected(t, std::string("':' after ") + after);
  }

  query::CompareOp ExpectOp(const char* after) {
    const Token t = lex_.Take();
    if (t.kind != TokenKind::kOp) Expected(t, std::string(">=, <=, > or < after ") + after);
    return t.op;
  }

  // A string, or a bare word other than and/or/not.
  std::string ParseValue(const std::string& what) {
    Token t = lex_.Take();
    const bool ok = t.kind == TokenKind::kString ||
                    (t.kind == TokenKind::kWord && !IsKeyword(t, "and") && !IsKeyword(t, "or") && !IsKeyword(t, "not"));
    if (!ok) Expected(t, what);
    return std::move(t.text);
  }

  query::Span ParseTime(const std::string& what) {
    const Token t = lex_.Peek();
    const std::string text = ParseValue(what);
    const std::optional<query::Span> span = detail::ParseTimeLiteral(text);
    if (!span) throw QuerySyntaxError{t.pos, Shown(t) + " is not a valid time"};
    return *span;
  }

  size_t CharPos(size_t byte_pos) const { return detail::CharPosition(text_, byte_pos); }

  std::string_view text_;
  detail::QueryLexer lex_;
  int depth_ = 0;
};

// How tightly a node binds; an operand printed where a tighter one is needed
// gets parentheses. Only precedence adds parentheses: each one then stands
// for a '(' the parsed text had at that point, so the canonical text never
// nests deeper than the text it came from (kMaxQueryDepth).
enum Strength { kOr = 0, kAnd = 1, kUnary = 2 };

bool IsBareName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!detail::IsWordByte(static_cast<unsigned char>(c))) return false;
  }
  Token t;
  t.kind = TokenKind::kWord;
  t.text = name;
  return !IsReserved(t);
}

std::string Name(const std::string& name, bool quoted) {
  return !quoted && IsBareName(name) ? name : detail::QuoteString(name);
}

std::string Time(const query::Span& span) { return "\"" + detail::SpanLiteral(span) + "\""; }

void Print(const Query& q, Strength needed, std::string* out);

// An n-ary node of the given strength; its operands must bind more tightly.
void PrintOperands(const std::vector<Query>& operands, const char* sep, Strength strength, Strength needed,
                   std::string* out) {
  const bool parens = strength < needed;
  if (parens) out->push_back('(');
  for (size_t i = 0; i < operands.size(); ++i) {
    if (i > 0) out->append(sep);
    Print(operands[i], static_cast<Strength>(strength + 1), out);
  }
  if (parens) out->push_back(')');
}

void Print(const Query& q, Strength needed, std::string* out) {
  using detail::QuoteString;
  std::visit(
      [&](const auto& n) {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, query::All>) {
        } else if constexpr (std::is_same_v<T, query::Or>) {
          PrintOperands(n.operands, " or ", kOr, needed, out);
        } else if constexpr (std::is_same_v<T, query::And>) {
          PrintOperands(n.operands, " and ", kAnd, needed, out);
        } else if constexpr (std::is_same_v<T, query::Not>) {
          out->append("not ");
          Print(*n.operand, kUnary, out);
        } else if constexpr (std::is_same_v<T, query::LeadStatus>) {
          out->append("lead_status:" + QuoteString(n.label));
        } else if constexpr (std::is_same_v<T, query::LeadStatusOn>) {
          out->append("lead_status(status:" + QuoteString(n.label) + " on:" + Time(n.span) + ")");
        } else if constexpr (std::is_same_v<T, query::OriginalStatus>) {
          out->append("original_lead_status:" + QuoteString(n.label));
        } else if constexpr (std::is_same_v<T, query::Created>) {
          out->append(std::string("created ") + detail::CompareOpText(n.op) + " " + Time(n.span));
        } else if constexpr (std::is_same_v<T, query::StatusChange>) {
          std::string parts;
          if (n.old_label) parts = "old_status:" + QuoteString(*n.old_label);
          if (n.new_label) parts += (parts.empty() ? "" : " ") + ("new_status:" + QuoteString(*n.new_label));
          for (const query::DateBound& d : n.dates) {
            parts += (parts.empty() ? "date " : " and date ") + (detail::CompareOpText(d.op) + (" " + Time(d.span)));
          }
          out->append("lead_status_change(" + parts + ")");
        } else if constexpr (std::is_same_v<T, query::FieldEquals>) {
          out->append(Name(n.name, n.name_was_quoted) + ":" + QuoteString(n.value));
        } else if constexpr (std::is_same_v<T, query::FieldCompare>) {
          out->append(Name(n.name, n.name_was_quoted) + " " + detail::CompareOpText(n.op) + " " +
                      detail::FormatNumber(n.number));
        } else {
          static_assert(std::is_same_v<T, query::InView>);
          out->append("in:" + QuoteString(n.view_id));
        }
      },
      q.node);
}

}  // namespace

std::string QueryToString(const Query& q) {
  std::string out;
  Print(q, kOr, &out);
  return out;
}

Status ParseQuery(std::string_view text, Query* out) {
  if (text.size() > kMaxQueryBytes) {
    return Status::InvalidArgument("query is " + std::to_string(text.size()) + " bytes long; the limit is " +
                                   std::to_string(kMaxQueryBytes));
  }
  try {
    Parser parser(text);
    *out = parser.ParseAll();
    return Status::Ok();
  } catch (const QuerySyntaxError& e) {
    return Status::InvalidArgument("position " + std::to_string(detail::CharPosition(text, e.byte_pos)) + ": " +
                                   e.message);
  }
}

std::string QuoteQueryString(std::string_view s) { return detail::QuoteString(s); }

}  // namespace leadflow::views
