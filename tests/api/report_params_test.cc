#include "api/report_params.h"

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "views/time.h"

namespace leadflow::api {
namespace {

using Params = std::multimap<std::string, std::string>;

const int64_t kNow = *views::ParseRfc3339Ms("2024-07-15T12:34:56.789Z");

struct Parsed {
  bool ok = false;
  ReportParams params;
  BadRequest bad;
};

Parsed Parse(const Params& params, std::optional<std::string> tz = std::nullopt, int64_t now = kNow) {
  Parsed p;
  p.ok = ParseReportParams(params, tz, now, &p.params, &p.bad);
  return p;
}

// "[start, end)" in RFC 3339 UTC, or "overall".
std::string PeriodText(const std::optional<views::Period>& period) {
  if (!period) return "overall";
  std::string out = "[";
  out += views::FormatRfc3339Ms(period->start_ms);
  out += ", ";
  out += views::FormatRfc3339Ms(period->end_ms);
  out += ")";
  return out;
}

}  // namespace

TEST_CASE("date_start and date_end give a half-open period at the x-tz-offset") {
  struct Case {
    std::string name;
    Params params;
    std::optional<std::string> tz;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"dates without an offset are UTC midnights", {{"date_start", "2024-01-01"}, {"date_end", "2024-02-01"}},
       std::nullopt, "[2024-01-01T00:00:00.000Z, 2024-02-01T00:00:00.000Z)"},
      {"offset -8", {{"date_start", "2014-01-01"}, {"date_end", "2014-06-01"}}, "-8",
       "[2014-01-01T08:00:00.000Z, 2014-06-01T08:00:00.000Z)"},
      {"fractional offset -2.5", {{"date_start", "2024-06-01"}, {"date_end", "2024-06-02"}}, "-2.5",
       "[2024-06-01T02:30:00.000Z, 2024-06-02T02:30:00.000Z)"},
      {"offset +5.5", {{"date_start", "2024-06-01"}, {"date_end", "2024-07-01"}}, "+5.5",
       "[2024-05-31T18:30:00.000Z, 2024-06-30T18:30:00.000Z)"},
      {"offset 5.5 without a sign", {{"date_start", "2024-06-01"}, {"date_end", "2024-07-01"}}, "5.5",
       "[2024-05-31T18:30:00.000Z, 2024-06-30T18:30:00.000Z)"},
      {"offset 0", {{"date_start", "2024-06-01"}, {"date_end", "2024-07-01"}}, "0",
       "[2024-06-01T00:00:00.000Z, 2024-07-01T00:00:00.000Z)"},
      {"date_end is exclusive: it ends at local midnight starting that day",
       {{"date_start", "2024-05-01"}, {"date_end", "2024-06-01"}}, "2",
       "[2024-04-30T22:00:00.000Z, 2024-05-31T22:00:00.000Z)"},
      {"RFC 3339 instants are exact to the millisecond and ignore the offset",
       {{"date_start", "2024-01-01T00:00:00.250Z"}, {"date_end", "2024-02-01T12:00:00+02:00"}}, "-8",
       "[2024-01-01T00:00:00.250Z, 2024-02-01T10:00:00.000Z)"},
      {"a date start with an instant end", {{"date_start", "2024-01-01"}, {"date_end", "2024-01-01T00:00:00.001Z"}},
       std::nullopt, "[2024-01-01T00:00:00.000Z, 2024-01-01T00:00:00.001Z)"},
      {"only date_start: the period ends now", {{"date_start", "2024-07-01"}}, "-4",
       "[2024-07-01T04:00:00.000Z, 2024-07-15T12:34:56.789Z)"},
      {"neither date: the overall report", {}, std::nullopt, "overall"},
      {"neither date with an offset: the overall report", {{"other", "x"}}, "-8", "overall"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    Parsed p = Parse(c.params, c.tz);
    CHECK_MESSAGE(p.ok, p.bad.ToJson());
    CHECK(PeriodText(p.params.period) == c.expected);
    CHECK(p.params.filter.kind == ReportFilter::Kind::kNone);
  }
}

TEST_CASE("a period that is empty or backwards is a 400") {
  for (const Params& params : std::vector<Params>{
           {{"date_start", "2024-06-01"}, {"date_end", "2024-06-01"}},
           {{"date_start", "2024-06-02"}, {"date_end", "2024-06-01"}},
           {{"date_start", "2024-06-01T00:00:00.001Z"}, {"date_end", "2024-06-01"}},
           {{"date_start", "2024-07-15T12:34:56.789Z"}},  // starts now: empty up to now
           {{"date_start", "2025-01-01"}},                // starts in the future
       }) {
    CAPTURE(params.begin()->second);
    Parsed p = Parse(params);
    CHECK_FALSE(p.ok);
    CHECK_FALSE(p.bad.errors.empty());
    CHECK(p.bad.field_errors.empty());
  }
}

TEST_CASE("date_end without date_start is a 400 with a field error") {
  Parsed p = Parse({{"date_end", "2024-06-01"}});
  CHECK_FALSE(p.ok);
  CHECK((p.bad.field_errors.count("date_start") + p.bad.field_errors.count("date_end")) > 0);
}

TEST_CASE("a bad date is a field error naming the parameter") {
  struct Case {
    Params params;
    const char* field;
  };
  const std::vector<Case> cases = {
      {{{"date_start", "2024-13-01"}, {"date_end", "2024-06-01"}}, "date_start"},
      {{{"date_start", "2023-02-29"}}, "date_start"},
      {{{"date_start", "yesterday"}}, "date_start"},
      {{{"date_start", "2024-01-01T00:00:00"}}, "date_start"},  // an instant needs a zone
      {{{"date_start", "01/06/2024"}}, "date_start"},
      {{{"date_start", "2024-01-01"}, {"date_end", "tomorrow"}}, "date_end"},
      {{{"date_start", "2024-01-01"}, {"date_end", "2024-02-30"}}, "date_end"},
      {{{"date_start", "2024-01-01"}, {"date_end", "2024-1-31"}}, "date_end"},
      // Instants the query language cannot name (the report's _queries hold
      // them): before 0001-01-01 or from 10000-01-01 in UTC.
      {{{"date_start", "2024-01-01"}, {"date_end", "9999-12-31T23:59:59-05:00"}}, "date_end"},
      {{{"date_start", "0001-01-01T00:00:00+05:00"}, {"date_end", "2024-01-01"}}, "date_start"},
  };
  for (const auto& c : cases) {
    const std::string field = c.field;
    CAPTURE(field);
    CAPTURE(c.params.rbegin()->second);
    Parsed p = Parse(c.params);
    CHECK_FALSE(p.ok);
    CHECK(p.bad.field_errors.count(c.field) == 1);
    CHECK_FALSE(p.bad.field_errors[c.field].empty());
  }
}

TEST_CASE("the widest period the query language can name is accepted") {
  Parsed p = Parse({{"date_start", "0001-01-01"}, {"date_end", "9999-12-31T23:59:59Z"}});
  CHECK(p.ok);
}

TEST_CASE("a bad x-tz-offset is a 400") {
  for (const char* tz : {"abc", "-25", "25", "24.5", "5h", "nan", "inf", "-inf", "1e400", "0x10", "5,5", "-"}) {
    const std::string tz_text = tz;
    CAPTURE(tz_text);
    Parsed p = Parse({{"date_start", "2024-06-01"}, {"date_end", "2024-07-01"}}, std::string(tz));
    CHECK_FALSE(p.ok);
    CHECK((p.bad.errors.size() + p.bad.field_errors.size()) > 0);
  }
}

TEST_CASE("an x-tz-offset with two signs is a 400, not the second sign's offset") {
  for (const std::string tz : {"+-3", "++3", "+-0.5"}) {
    CAPTURE(tz);
    Parsed p = Parse({{"date_start", "2024-06-01"}, {"date_end", "2024-07-01"}}, tz);
    CHECK_FALSE(p.ok);
    CHECK_FALSE(p.bad.errors.empty());
  }
}

TEST_CASE("query or smart_view_id becomes the filter; both at once is a 400") {
  Parsed q = Parse({{"query", "lead_status:\"New\""}});
  CHECK(q.ok);
  CHECK(q.params.filter.kind == ReportFilter::Kind::kQuery);
  CHECK(q.params.filter.value == "lead_status:\"New\"");
  CHECK_FALSE(q.params.period.has_value());

  Parsed v = Parse({{"smart_view_id", "save_abc"}, {"date_start", "2024-01-01"}, {"date_end", "2024-02-01"}});
  CHECK(v.ok);
  CHECK(v.params.filter.kind == ReportFilter::Kind::kSmartView);
  CHECK(v.params.filter.value == "save_abc");
  CHECK(PeriodText(v.params.period) == "[2024-01-01T00:00:00.000Z, 2024-02-01T00:00:00.000Z)");

  Parsed both = Parse({{"query", "lead_status:\"New\""}, {"smart_view_id", "save_abc"}});
  CHECK_FALSE(both.ok);
  CHECK_FALSE(both.bad.errors.empty());
}

TEST_CASE("BadRequest renders as Close's 400 body") {
  BadRequest empty;
  CHECK(nlohmann::json::parse(empty.ToJson()) == nlohmann::json::parse(R"({"errors":[],"field-errors":{}})"));

  BadRequest bad;
  bad.errors = {"first problem", "second \"quoted\" problem"};
  bad.field_errors = {{"date_start", "Enter a date."}, {"date_end", "Also bad."}};
  CHECK(nlohmann::json::parse(bad.ToJson()) ==
        nlohmann::json::parse(R"({"errors":["first problem","second \"quoted\" problem"],)"
                              R"("field-errors":{"date_start":"Enter a date.","date_end":"Also bad."}})"));

  // What ParseReportParams fills renders in the same shape.
  Parsed p = Parse({{"date_start", "nope"}});
  REQUIRE_FALSE(p.ok);
  auto j = nlohmann::json::parse(p.bad.ToJson());
  CHECK(j["errors"].is_array());
  CHECK(j["field-errors"].is_object());
  CHECK(j["field-errors"]["date_start"].is_string());
}

}  // namespace leadflow::api
