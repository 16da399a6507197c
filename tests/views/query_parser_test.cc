#include "views/query_parser.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/status_report_json.h"
#include "tests/testing/check_ok.h"
#include "views/time.h"

namespace leadflow::views {
namespace {

using query::CompareOp;
using query::Span;

// The canonical text of text, or "ERROR: <message>".
std::string Canonical(const std::string& text) {
  Query q;
  Status s = ParseQuery(text, &q);
  return s.ok() ? QueryToString(q) : "ERROR: " + s.message();
}

// The span of `created >= "<literal>"`, or {-1, -1} when it does not parse.
Span SpanOf(const std::string& literal) {
  Query q;
  if (!ParseQuery("created >= \"" + literal + "\"", &q).ok()) return Span{-1, -1};
  return std::get<query::Created>(q.node).span;
}

// The structure of a parsed tree: and(...), or(...), not(...) around the
// names of the field terms (other terms as their canonical text).
std::string Tree(const Query& q) {
  auto list = [](const char* name, const std::vector<Query>& operands) {
    std::string out = std::string(name) + "(";
    for (size_t i = 0; i < operands.size(); ++i) out += (i ? ", " : "") + Tree(operands[i]);
    return out + ")";
  };
  if (auto* n = std::get_if<query::And>(&q.node)) return list("and", n->operands);
  if (auto* n = std::get_if<query::Or>(&q.node)) return list("or", n->operands);
  if (auto* n = std::get_if<query::Not>(&q.node)) return "not(" + Tree(*n->operand) + ")";
  if (auto* n = std::get_if<query::FieldEquals>(&q.node)) return n->name;
  return QueryToString(q);
}

// Parses text, checks the round trip and that the canonical form is a fixed
// point.
void CheckRoundTrip(const std::string& text) {
  CAPTURE(text);
  Query q, again;
  REQUIRE_OK(ParseQuery(text, &q));
  const std::string canonical = QueryToString(q);
  REQUIRE_OK(ParseQuery(canonical, &again));
  CHECK(again == q);
  CHECK(QueryToString(again) == canonical);
}

constexpr int64_t k20240101 = 1704067200000;  // 2024-01-01 00:00:00 UTC

// query text -> canonical text.
const std::vector<std::pair<std::string, std::string>> kCanonical = {
    // The empty query.
    {"", ""},
    {" \t\r\n ", ""},
    // Every term.
    {"lead_status:\"New\"", "lead_status:\"New\""},
    {"lead_status:New", "lead_status:\"New\""},
    {"lead_status(status:\"X\" on:\"2024-01-01 04:59:59\")", "lead_status(status:\"X\" on:\"2024-01-01 04:59:59\")"},
    {"lead_status(on:\"2024-01-01\" status:\"X\")", "lead_status(status:\"X\" on:\"2024-01-01\")"},
    {"lead_status(status:X and on:2024-01-01)", "lead_status(status:\"X\" on:\"2024-01-01\")"},
    {"original_lead_status:\"Won\"", "original_lead_status:\"Won\""},
    {"created >= \"2024-01-01 05:00:00\"", "created >= \"2024-01-01 05:00:00\""},
    {"created<=\"2024-01-01\"", "created <= \"2024-01-01\""},
    {"created > \"2024-01-01 04:59:59.999\"", "created > \"2024-01-01 04:59:59.999\""},
    {"created<2024-01-01", "created < \"2024-01-01\""},
    {"lead_status_change()", "lead_status_change()"},
    {"lead_status_change(old_status:\"A\" new_status:\"B\")", "lead_status_change(old_status:\"A\" new_status:\"B\")"},
    {"lead_status_change(new_status:B and old_status:A)", "lead_status_change(old_status:\"A\" new_status:\"B\")"},
    {"lead_status_change(date >= \"2024-01-01\" date < \"2024-02-01\")",
     "lead_status_change(date >= \"2024-01-01\" and date < \"2024-02-01\")"},
    {"lead_status_change(date > \"2024-01-01\" and old_status:A)",
     "lead_status_change(old_status:\"A\" and date > \"2024-01-01\")"},
    {"Source:web", "Source:\"web\""},
    {"\"Lead Source\":\"Web site\"", "\"Lead Source\":\"Web site\""},
    {"owner_id:\"user_1\"", "owner_id:\"user_1\""},
    {"LEAD_ID:lead_1", "LEAD_ID:\"lead_1\""},
    {"\"lead_status\":\"x\"", "\"lead_status\":\"x\""},
    {"\"Name\":\"\"", "\"Name\":\"\""},
    {"a.b-c!:x@y.com", "a.b-c!:\"x@y.com\""},
    {"\"EngagementScore\" >= 10", "\"EngagementScore\" >= 10"},
    {"Score<-1.5e3", "Score < -1500"},
    {"\"x\" > 0.1", "\"x\" > 0.1"},
    {"\"x\" <= 1E300", "\"x\" <= 1e+300"},
    {"in:\"save_x\"", "in:\"save_x\""},
    {"IN:save_x", "in:\"save_x\""},
    // Keywords in any case.
    {"LEAD_STATUS:\"a\" OR Original_Lead_Status:\"b\" AND NOT Created > \"2024-01-01\"",
     "lead_status:\"a\" or original_lead_status:\"b\" and not created > \"2024-01-01\""},
    {"Lead_Status( STATUS : \"X\"  ON : \"2024-01-01T00:00:00Z\" )",
     "lead_status(status:\"X\" on:\"2024-01-01 00:00:00\")"},
    {"LEAD_STATUS_CHANGE(OLD_STATUS:\"A\" AND DATE >= \"2024-01-01\")",
     "lead_status_change(old_status:\"A\" and date >= \"2024-01-01\")"},
    // Parentheses only where precedence needs them (the structure is in kTrees).
    {"a:1 or b:2 and c:3", "a:\"1\" or b:\"2\" and c:\"3\""},
    {"(a:1 and b:2) or c:3", "a:\"1\" and b:\"2\" or c:\"3\""},
    {"not (a:1 or b:2)", "not (a:\"1\" or b:\"2\")"},
    {"not (a:1 b:2)", "not (a:\"1\" and b:\"2\")"},
    {"(a:1 or b:2) c:3", "(a:\"1\" or b:\"2\") and c:\"3\""},
    {"((a:1))", "a:\"1\""},
    {"not(not(a:1))", "not not a:\"1\""},
    // Escapes, and bytes that stand for themselves.
    {"lead_status:\"Qualifi\\\"ed\"", "lead_status:\"Qualifi\\\"ed\""},
    {"lead_status:\"back\\\\slash\"", "lead_status:\"back\\\\slash\""},
    {"\"a\\\"b\":\"c\\\\d\"", "\"a\\\"b\":\"c\\\\d\""},
    {"lead_status:\"Qualifié (new)\tlead\"", "lead_status:\"Qualifié (new)\tlead\""},
    // Time literals in every accepted form, written back in UTC.
    {"created >= \"2024-01-01T05:00:00+05:00\"", "created >= \"2024-01-01 00:00:00\""},
    {"created >= \"2024-01-01t00:00:00.123-0130\"", "created >= \"2024-01-01 01:30:00.123\""},
    {"created >= \"2024-01-01T00:00:00.000+0000\"", "created >= \"2024-01-01 00:00:00.000\""},
    {"created >= \"2024-01-01 00:00:00z\"", "created >= \"2024-01-01 00:00:00\""},
};

// query text -> the tree's structure (Tree()).
const std::vector<std::pair<std::string, std::string>> kTrees = {
    {"a:1 or b:2 and c:3", "or(a, and(b, c))"},
    {"a:1 and b:2 or c:3", "or(and(a, b), c)"},
    {"a:1 b:2 or c:3 d:4", "or(and(a, b), and(c, d))"},
    {"not a:1 and b:2", "and(not(a), b)"},
    {"not a:1 b:2", "and(not(a), b)"},
    {"not a:1 or b:2", "or(not(a), b)"},
    {"not (a:1 or b:2)", "not(or(a, b))"},
    {"(a:1 or b:2) c:3", "and(or(a, b), c)"},
    {"a:1 (b:2 or c:3) d:4", "and(a, or(b, c), d)"},
    {"a:1 and (b:2 and c:3)", "and(a, b, c)"},
    {"(a:1 or b:2) or (c:3 or d:4)", "or(a, b, c, d)"},
    {"((a:1 or b:2) and c:3) or d:4", "or(and(or(a, b), c), d)"},
    {"not not a:1", "not(not(a))"},
    {"a:1(b:2)", "and(a, b)"},
    {"a:1 AND b:2 OR NOT c:3", "or(and(a, b), not(c))"},
};

// query text -> the exact error message.
const std::vector<std::pair<std::string, std::string>> kErrors = {
    {"(", "position 2: unexpected end of query, expected a term"},
    {"not", "position 4: unexpected end of query, expected a term"},
    {"a:1 and", "position 8: unexpected end of query, expected a term"},
    {"a:1 or ", "position 8: unexpected end of query, expected a term"},
    {"and a:1", "position 1: expected a term"},
    {"a:1 or or b:2", "position 8: expected a term"},
    {")", "position 1: expected a term"},
    {"()", "position 2: expected a term"},
    {"a:1 :", "position 5: expected a term"},
    {"a:1)", "position 4: unexpected ')' without a matching '('"},
    {"(a:1", "position 5: unexpected end of query, expected ')' to close the '(' at position 1"},
    {"lead_status", "position 12: unexpected end of query, expected ':' or '(' after lead_status"},
    {"lead_status \"x\"", "position 13: expected ':' or '(' after lead_status"},
    {"lead_status:", "position 13: unexpected end of query, expected a status label after lead_status:"},
    {"lead_status:and", "position 13: expected a status label after lead_status:"},
    {"lead_status(status:\"X\" on:\"2024-01-01\" foo", "position 40: expected ')' after lead_status(...)"},
    {"lead_status()", "position 13: expected status:\"<label>\" and on:\"<time>\" in lead_status(...)"},
    {"lead_status(and status:X)", "position 13: expected status:\"<label>\" and on:\"<time>\" in lead_status(...)"},
    {"lead_status(status:\"X\")", "position 23: expected on:\"<time>\" in lead_status(...)"},
    {"lead_status(status:\"X\" and)", "position 27: expected on:\"<time>\" in lead_status(...)"},
    {"lead_status(on:\"2024-01-01\")", "position 28: expected status:\"<label>\" in lead_status(...)"},
    {"lead_status(status:X", "position 21: unexpected end of query, expected on:\"<time>\" in lead_status(...)"},
    {"lead_status(status:\"X\" status:\"Y\")", "position 24: status: given twice in lead_status(...)"},
    {"lead_status(on:2024-01-01 ON:2024-01-02)", "position 27: on: given twice in lead_status(...)"},
    {"lead_status(status \"X\")", "position 20: expected ':' after status"},
    {"lead_status(status:\"X\" on:\"2024-13-01 00:00:00\")",
     "position 27: \"2024-13-01 00:00:00\" is not a valid time"},
    {"original_lead_status \"X\"", "position 22: expected ':' after original_lead_status"},
    {"created \"2024-01-01\"", "position 9: expected >=, <=, > or < after created"},
    {"created >=", "position 11: unexpected end of query, expected a time after created >="},
    {"created >= now", "position 12: now is not a valid time"},
    {"created >= \"" + std::string(50, 'x') + "\"",
     "position 12: \"" + std::string(39, 'x') + "... is not a valid time"},
    {"lead_status_change", "position 19: unexpected end of query, expected '(' after lead_status_change"},
    {"lead_status_change:\"x\"", "position 19: expected '(' after lead_status_change"},
    {"lead_status_change(foo)",
     "position 20: expected old_status:, new_status:, date or ')' in lead_status_change(...)"},
    {"lead_status_change(and old_status:A)",
     "position 20: expected old_status:, new_status:, date or ')' in lead_status_change(...)"},
    {"lead_status_change(old_status:\"A\"",
     "position 34: unexpected end of query, expected old_status:, new_status:, date or ')' in "
     "lead_status_change(...)"},
    {"lead_status_change(old_status:\"A\" and)",
     "position 38: expected old_status:, new_status: or date after and in lead_status_change(...)"},
    {"lead_status_change(old_status:A old_status:B)",
     "position 33: old_status: given twice in lead_status_change(...)"},
    {"lead_status_change(new_status:A NEW_STATUS:B)",
     "position 33: new_status: given twice in lead_status_change(...)"},
    {"lead_status_change(old_status \"A\")", "position 31: expected ':' after old_status"},
    {"lead_status_change(date \"2024-01-01\")", "position 25: expected >=, <=, > or < after date"},
    {"lead_status_change(date >= \"x\")", "position 28: \"x\" is not a valid time"},
    {"in \"save_x\"", "position 4: expected ':' after in"},
    {"in:", "position 4: unexpected end of query, expected a Smart View id after in:"},
    {"foo", "position 4: unexpected end of query, expected ':' or a comparison operator after foo"},
    {"foo bar", "position 5: expected ':' or a comparison operator after foo"},
    {"\"Lead Source\"",
     "position 14: unexpected end of query, expected ':' or a comparison operator after \"Lead Source\""},
    {"Source:", "position 8: unexpected end of query, expected a value after Source:"},
    {"Source:(", "position 8: expected a value after Source:"},
    {"Source:not", "position 8: expected a value after Source:"},
    {"\"Score\" >= \"10\"", "position 12: expected a number after \"Score\" >="},
    {"\"Score\" >=", "position 11: unexpected end of query, expected a number after \"Score\" >="},
    {"\"Score\" > ten", "position 11: ten is not a valid number"},
    {"a:\"abc", "position 3: unterminated string"},
    {"a:\"ab\\", "position 3: unterminated string"},
    {"a:\"a\\n\"", "position 5: invalid escape in string; only \\\" and \\\\ are allowed"},
    {"a = 1", "position 3: unexpected '='"},
    {"a:1 \\ b:2", "position 5: unexpected '\\'"},
    {"a:1 \x01", "position 5: unexpected control character 0x01"},
    {"a:1 \x7f", "position 5: unexpected control character 0x7F"},
    // Positions count characters, not bytes.
    {"\"é\":\"ü\" )", "position 9: unexpected ')' without a matching '('"},
};

}  // namespace

TEST_CASE("a query parses to its canonical text, and the canonical text parses to the same query") {
  for (const auto& [text, canonical] : kCanonical) {
    CAPTURE(text);
    CHECK(Canonical(text) == canonical);
    CheckRoundTrip(text);
  }
}

TEST_CASE("a query binds not before and before or, with juxtaposition as and") {
  for (const auto& [text, tree] : kTrees) {
    CAPTURE(text);
    Query q;
    REQUIRE_OK(ParseQuery(text, &q));
    CHECK(Tree(q) == tree);
    CheckRoundTrip(text);
  }
}

TEST_CASE("a query that does not parse is refused with its position and what was expected") {
  for (const auto& [text, message] : kErrors) {
    CAPTURE(text);
    Query q{query::LeadStatus{"untouched"}};
    Status s = ParseQuery(text, &q);
    CHECK(s.IsInvalidArgument());
    CHECK(s.message() == message);
    CHECK(q == Query{query::LeadStatus{"untouched"}});
  }
}

TEST_CASE("query terms parse to the documented nodes") {
  Query q;
  REQUIRE_OK(ParseQuery("lead_status(status:\"X\" on:\"2024-01-01 00:00:00\") \"Owner_Id\":u owner_id:v", &q));
  query::And expected;
  expected.operands.push_back(Query{query::LeadStatusOn{"X", Span{k20240101, k20240101 + 999}}});
  expected.operands.push_back(Query{query::FieldEquals{"Owner_Id", "u", true}});
  expected.operands.push_back(Query{query::FieldEquals{"owner_id", "v", false}});
  CHECK(q == Query{expected});

  REQUIRE_OK(ParseQuery("not lead_status_change(new_status:\"B\" date < \"2024-01-01\")", &q));
  query::StatusChange change{std::nullopt, "B", {{CompareOp::kLt, Span{k20240101, k20240101 + kMsPerDay - 1}}}};
  CHECK(q == Query{query::Not{query::Box<Query>(Query{change})}});

  REQUIRE_OK(ParseQuery("\"Score\" > -2.5 or in:save_1", &q));
  query::Or either;
  either.operands.push_back(Query{query::FieldCompare{"Score", CompareOp::kGt, -2.5, true}});
  either.operands.push_back(Query{query::InView{"save_1"}});
  CHECK(q == Query{either});

  REQUIRE_OK(ParseQuery("  ", &q));
  CHECK(q == Query{query::All{}});
}

TEST_CASE("a query's time literal names a second, a millisecond or a UTC day, with exact bounds") {
  const std::vector<std::pair<std::string, Span>> cases = {
      {"2024-01-01", {k20240101, k20240101 + kMsPerDay - 1}},
      {"2024-01-01 00:00:00", {k20240101, k20240101 + 999}},
      {"2024-01-01 00:00:00.000", {k20240101, k20240101}},
      {"2024-01-01 04:59:59.999", {k20240101 + 17'999'999, k20240101 + 17'999'999}},
      {"2024-01-01T05:00:00+05:00", {k20240101, k20240101 + 999}},
      {"2024-01-01T00:00:00.123-0130", {k20240101 + 5'400'123, k20240101 + 5'400'123}},
      {"2024-02-29", {1709164800000, 1709164800000 + kMsPerDay - 1}},
      {"1969-12-31 23:59:59", {-1000, -1}},
      {"0001-01-01 00:00:00", {-62135596800000, -62135596799001}},
      {"9999-12-31", {253402214400000, 253402300799999}},
  };
  for (const auto& [literal, span] : cases) {
    CAPTURE(literal);
    const Span got = SpanOf(literal);
    CHECK(got.start_ms == span.start_ms);
    CHECK(got.end_ms == span.end_ms);
  }
  const std::vector<std::string> invalid = {
      "2024-02-30", "2023-02-29", "2024-13-01", "2024-00-01", "2024-1-01", " 2024-01-01", "2024-01-01 ",
      "2024-01-01Z", "0000-01-01", "2024-01-01 24:00:00", "2024-01-01 23:60:00", "2024-01-01 23:59:60",
      "2024-01-01 00:00", "2024-01-01 00:00:00.12", "2024-01-01 00:00:00.1234", "2024-01-01 00:00:00.",
      "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00+0a00", "2024-01-01T00:00:00+01", "2024-01-01T00:00:00 Z",
      "2024-01-01X00:00:00", "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01", ""};
  for (const std::string& literal : invalid) {
    CAPTURE(literal);
    CHECK(Canonical("created >= \"" + literal + "\"") == "ERROR: position 12: \"" + literal + "\" is not a valid time");
  }
}

TEST_CASE("a query's number is a plain decimal within the range of a double") {
  for (const std::string bad : {".5", "1.", "+1", "inf", "nan", "0x10", "1e", "1e+", "--1", "1e999", "1,5"}) {
    CAPTURE(bad);
    CHECK(Canonical("\"n\" > " + bad) == "ERROR: position 7: " + bad + " is not a valid number");
  }
  for (const std::string good : {"0", "-0", "007", "1.25", "-1e-5", "1E+3", "123456789012345678", "5e-324"}) {
    CheckRoundTrip("\"n\" > " + good);
  }
}

TEST_CASE("a query longer than 64 KiB or nested deeper than 100 levels is refused") {
  const std::string fits = "a:\"" + std::string(kMaxQueryBytes - 4, 'x') + "\"";
  CHECK(Canonical(fits) == fits);
  CHECK(Canonical(fits + " ") == "ERROR: query is 65537 bytes long; the limit is 65536");

  const auto nested = [](int levels, const std::string& open, const std::string& close) {
    std::string s;
    for (int i = 0; i < levels; ++i) s += open;
    s += "a:1";
    for (int i = 0; i < levels; ++i) s += close;
    return s;
  };
  CHECK(Canonical(nested(100, "(", ")")) == "a:\"1\"");
  CHECK(Canonical(nested(101, "(", ")")) == "ERROR: position 101: nesting deeper than 100 levels");
  CHECK(Canonical(nested(100, "not ", "")) == nested(100, "not ", "").replace(400, 3, "a:\"1\""));
  CHECK(Canonical(nested(101, "not ", "")) == "ERROR: position 401: nesting deeper than 100 levels");
  CHECK(Canonical(nested(50, "not (", ")")) == nested(50, "not ", "").replace(200, 3, "a:\"1\""));
  CHECK(Canonical(nested(51, "not (", ")")) == "ERROR: position 251: nesting deeper than 100 levels");
  CHECK(Canonical(nested(30000, "(", ")")) == "ERROR: position 101: nesting deeper than 100 levels");
  // The canonical text of a query at the limit is within it too.
  CheckRoundTrip(nested(99, "not ", "") + "(a:1 b:2 or c:3)");
}

TEST_CASE("every query the status report writes parses, and without a filter it is canonical") {
  views::StatusReport report;
  const std::vector<std::string> labels = {"New", "Qualifi\"ed", "back\\slash", "Ünïcode (x)"};
  for (size_t i = 0; i < labels.size(); ++i) {
    report.rows.push_back(StatusRow{StatusRef{"stat_" + std::to_string(i), labels[i], false}});
  }
  report.transitions.push_back(TransitionRow{std::nullopt, StatusRef{"stat_0", labels[0], false}, 1});
  report.transitions.push_back(
      TransitionRow{StatusRef{"stat_1", labels[1], false}, StatusRef{"stat_2", labels[2], false}, 1});
  report.summary = report.transitions;

  const std::vector<api::ReportFilter> filters = {
      {api::ReportFilter::Kind::kNone, ""},
      {api::ReportFilter::Kind::kQuery, "Source:web or \"Score\" >= 3"},
      {api::ReportFilter::Kind::kSmartView, "save_abc"},
  };
  const std::vector<std::optional<Period>> periods = {
      std::nullopt,  // the overall report
      Period{k20240101 + 18'000'000, k20240101 + 31 * kMsPerDay + 18'000'000},
      Period{k20240101 + 18'000'123, k20240101 + 31 * kMsPerDay + 18'000'457},
  };
  int checked = 0;
  for (const auto& period : periods) {
    report.period = period;
    for (const auto& filter : filters) {
      const auto json = nlohmann::json::parse(api::RenderStatusReport(report, filter));
      std::vector<std::pair<std::string, std::string>> queries;  // key, text
      for (const auto& row : json["status_overview"]) {
        for (const auto& [key, value] : row["_queries"].items()) queries.emplace_back(key, value);
      }
      for (const char* list : {"status_transitions", "status_transitions_summary"}) {
        if (!json.contains(list)) continue;
        for (const auto& t : json[list]) queries.emplace_back(list, t["_query"]);
      }
      for (const auto& [key, text] : queries) {
        CAPTURE(text);
        CheckRoundTrip(text);
        // The period `entered` is `(... and ...) or ...`: canonical without the parentheses.
        if (filter.kind == api::ReportFilter::Kind::kNone && !(period && key == "entered")) {
          CHECK(Canonical(text) == text);
        }
        ++checked;
      }
    }
  }
  CHECK(checked == 3 * (4 * 3 + 2) + 6 * (4 * 6 + 2 + 2));
}

TEST_CASE("a report query's spans select exactly the period [T0, T1)") {
  for (const Period period : {Period{k20240101 + 18'000'000, k20240101 + 86'400'000},
                              Period{k20240101 + 18'000'123, k20240101 + 86'400'457}}) {
    views::StatusReport report;
    report.period = period;
    report.rows.push_back(StatusRow{StatusRef{"stat_0", "New", false}});
    const auto json = nlohmann::json::parse(api::RenderStatusReport(report, api::ReportFilter{}));
    const auto& queries = json["status_overview"][0]["_queries"];
    Query q;
    // started: status at the end of L0, the last span before T0.
    REQUIRE_OK(ParseQuery(queries["started"].get<std::string>(), &q));
    CHECK(std::get<query::LeadStatusOn>(q.node).span.end_ms == period.start_ms - 1);
    REQUIRE_OK(ParseQuery(queries["ended"].get<std::string>(), &q));
    CHECK(std::get<query::LeadStatusOn>(q.node).span.end_ms == period.end_ms - 1);
    // left: date >= T0 compares with T0's start, date <= L1 with L1's end.
    REQUIRE_OK(ParseQuery(queries["left"].get<std::string>(), &q));
    const auto& dates = std::get<query::StatusChange>(q.node).dates;
    REQUIRE(dates.size() == 2);
    CHECK((dates[0].op == CompareOp::kGe && dates[0].span.start_ms == period.start_ms));
    CHECK((dates[1].op == CompareOp::kLe && dates[1].span.end_ms == period.end_ms - 1));
  }
}

}  // namespace leadflow::views
