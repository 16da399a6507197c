#include "api/lsq_request.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/testing/harness.h"

namespace leadflow::api {
namespace {

using nlohmann::json;
using views::NotContactedQuery;
using testing::Ms;

// Parses body, which must be valid.
NotContactedQuery Parse(const std::string& body) {
  NotContactedQuery q;
  std::string error;
  const bool ok = ParseNotContactedRequest(json::parse(body), &q, &error);
  REQUIRE_MESSAGE(ok, error);
  return q;
}

}  // namespace

TEST_CASE("an empty body asks for every lead as a list of ProspectID, page 1 of 100") {
  const NotContactedQuery q = Parse("{}");
  CHECK(q.output == NotContactedQuery::Output::kList);
  CHECK(q.columns == std::vector<std::string>{"ProspectID"});
  CHECK_FALSE(q.user_filter.has_value());
  CHECK(q.lead_filters.empty());
  CHECK(q.activity_codes.empty());
  CHECK_FALSE(q.activity_window.has_value());
  CHECK(q.lead_date_filters.empty());
  CHECK_FALSE(q.sort_column.has_value());
  CHECK(q.page_index == 1);
  CHECK(q.page_size == 100);
  // Null members count as absent.
  const NotContactedQuery nulls = Parse(
      R"({"ReportFilter":null,"DateFilter":null,"Output":{"Type":null,"IncludeCSV":null},"Sorting":null,"Paging":null})");
  CHECK(nulls.columns == std::vector<std::string>{"ProspectID"});
  CHECK(nulls.page_size == 100);
}

TEST_CASE("DateFilter may be an object or an array; ToDate includes its whole second") {
  const std::string entry = R"({"DateField":"LeadCreatedOn","FromDate":"2024-05-01 00:00:00",
                                 "ToDate":"2024-05-31 23:59:59"})";
  for (const std::string& filter : {entry, "[" + entry + "]"}) {
    CAPTURE(filter);
    const NotContactedQuery q = Parse(R"({"DateFilter":)" + filter + "}");
    REQUIRE(q.lead_date_filters.size() == 1);
    CHECK(q.lead_date_filters[0].first == "CreatedOn");
    CHECK(q.lead_date_filters[0].second.from_ms == Ms("2024-05-01T00:00:00Z"));
    CHECK(q.lead_date_filters[0].second.to_ms == Ms("2024-05-31T23:59:59.999Z"));
    CHECK_FALSE(q.activity_window.has_value());
  }
}

TEST_CASE("a date fraction is accepted and ignored: dates compare at whole seconds") {
  const NotContactedQuery q = Parse(
      R"({"DateFilter":{"DateField":"ActivityDate","FromDate":"2024-05-01 10:00:00.750","ToDate":"2024-05-01 10:00:00.000"}})");
  REQUIRE(q.activity_window.has_value());
  CHECK(q.activity_window->from_ms == Ms("2024-05-01T10:00:00Z"));
  CHECK(q.activity_window->to_ms == Ms("2024-05-01T10:00:00.999Z"));
}

TEST_CASE("DateField names map to lead columns, and ActivityDate sets the activity window") {
  struct Case {
    std::string field, column;  // empty column: the activity window
  };
  const std::vector<Case> cases = {
      {"LeadCreatedOn", "CreatedOn"},   {"leadcreatedon", "CreatedOn"},   {"CreatedOn", "CreatedOn"},
      {"LeadModifiedOn", "ModifiedOn"}, {"MODIFIEDON", "ModifiedOn"},     {"ModifiedOn", "ModifiedOn"},
      {"mx_Visit_Date", "mx_Visit_Date"}, {"ProspectActivityDate_Max", "ProspectActivityDate_Max"},
      {"ActivityDate", ""},             {"activitydate", ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.field);
    const NotContactedQuery q = Parse(R"({"DateFilter":[{"DateField":")" + c.field +
                                      R"(","FromDate":"2024-01-01 00:00:00","ToDate":"2024-01-02 00:00:00"}]})");
    if (c.column.empty()) {
      CHECK(q.lead_date_filters.empty());
      REQUIRE(q.activity_window.has_value());
      CHECK(q.activity_window->from_ms == Ms("2024-01-01T00:00:00Z"));
    } else {
      CHECK_FALSE(q.activity_window.has_value());
      REQUIRE(q.lead_date_filters.size() == 1);
      CHECK(q.lead_date_filters[0].first == c.column);
    }
  }
}

TEST_CASE("several DateFilter entries AND: ActivityDate windows intersect, lead dates accumulate") {
  const NotContactedQuery q = Parse(R"({"DateFilter":[
      {"DateField":"ActivityDate","FromDate":"2024-01-01 00:00:00","ToDate":"2024-01-31 00:00:00"},
      {"DateField":"LeadCreatedOn","FromDate":"2023-01-01 00:00:00","ToDate":"2023-12-31 23:59:59"},
      {"DateField":"ActivityDate","FromDate":"2024-01-10 00:00:00","ToDate":"2024-02-28 00:00:00"},
      {"DateField":"ModifiedOn","FromDate":"2024-01-01 00:00:00","ToDate":"2024-01-01 00:00:00"}]})");
  REQUIRE(q.activity_window.has_value());
  CHECK(q.activity_window->from_ms == Ms("2024-01-10T00:00:00Z"));
  CHECK(q.activity_window->to_ms == Ms("2024-01-31T00:00:00.999Z"));
  REQUIRE(q.lead_date_filters.size() == 2);
  CHECK(q.lead_date_filters[0].first == "CreatedOn");
  CHECK(q.lead_date_filters[1].first == "ModifiedOn");
  CHECK(q.lead_date_filters[1].second.to_ms - q.lead_date_filters[1].second.from_ms == 999);

  // Windows that do not overlap leave an empty window (from after to).
  const NotContactedQuery empty = Parse(R"({"DateFilter":[
      {"DateField":"ActivityDate","FromDate":"2024-01-01 00:00:00","ToDate":"2024-01-02 00:00:00"},
      {"DateField":"ActivityDate","FromDate":"2024-03-01 00:00:00","ToDate":"2024-03-02 00:00:00"}]})");
  REQUIRE(empty.activity_window.has_value());
  CHECK(empty.activity_window->from_ms > empty.activity_window->to_ms);
}

TEST_CASE("Output List takes the trimmed IncludeCSV names, ProspectID when empty") {
  struct Case {
    std::string output;
    std::vector<std::string> columns;
  };
  const std::vector<Case> cases = {
      {R"({"Type":"List","IncludeCSV":"ProspectID,FirstName,ProspectStage"})", {"ProspectID", "FirstName", "ProspectStage"}},
      {R"({"Type":"list","IncludeCSV":" CreatedOn, FirstName ,ProspectID "})", {"CreatedOn", "FirstName", "ProspectID"}},
      {R"({"Type":"LIST","IncludeCSV":""})", {"ProspectID"}},
      {R"({"IncludeCSV":" , ,"})", {"ProspectID"}},
      {R"({"IncludeCSV":"FirstName,,FirstName,mx_City"})", {"FirstName", "mx_City"}},
      {R"({"Include_CSV":"FirstName"})", {"FirstName"}},
      {R"({"includecsv":["OwnerId"," ModifiedOn"]})", {"OwnerId", "ModifiedOn"}},
      {R"({})", {"ProspectID"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.output);
    const NotContactedQuery q = Parse(R"({"Output":)" + c.output + "}");
    CHECK(q.output == NotContactedQuery::Output::kList);
    CHECK(q.columns == c.columns);
  }
}

TEST_CASE("Output Aggregate takes GroupBy, the function and its field") {
  struct Case {
    std::string output;
    std::string group_by;
    NotContactedQuery::Function function;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"({"Type":"Aggregate","GroupBy":"OwnerId","AggregateFunction":"Count"})", "OwnerId",
       NotContactedQuery::Function::kCount, ""},
      {R"({"Type":"aggregate","AggregateFunction":"count"})", "", NotContactedQuery::Function::kCount, ""},
      {R"({"Type":"AGGREGATE","GroupBy":"","AggregateFunction":"COUNT"})", "", NotContactedQuery::Function::kCount, ""},
      {R"({"Type":"Aggregate","GroupBy":"ProspectStage","AggregateFunction":"Sum","AggregateField":"Score"})",
       "ProspectStage", NotContactedQuery::Function::kSum, "Score"},
      {R"({"Type":"Aggregate","GroupBy":"OwnerId","AggregateFunction":"average","AggregateField":"EngagementScore"})",
       "OwnerId", NotContactedQuery::Function::kAverage, "EngagementScore"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.output);
    const NotContactedQuery q = Parse(R"({"Output":)" + c.output + "}");
    CHECK(q.output == NotContactedQuery::Output::kAggregate);
    CHECK(q.group_by == c.group_by);
    CHECK(q.function == c.function);
    CHECK(q.aggregate_column == c.field);
  }
}

TEST_CASE("Sorting takes a column and a direction, 1 descending and 0 ascending") {
  struct Case {
    std::string sorting, column;
    bool descending;
  };
  const std::vector<Case> cases = {
      {R"({"ColumnName":"FirstName","Direction":"1"})", "FirstName", true},
      {R"({"ColumnName":"FirstName","Direction":"0"})", "FirstName", false},
      {R"({"ColumnName":"Score","Direction":1})", "Score", true},
      {R"({"ColumnName":"Score","Direction":0})", "Score", false},
      {R"({"columnname":"CreatedOn"})", "CreatedOn", false},
      {R"([{"ColumnName":"CreatedOn","Direction":"1"}])", "CreatedOn", true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.sorting);
    const NotContactedQuery q = Parse(R"({"Sorting":)" + c.sorting + "}");
    REQUIRE(q.sort_column.has_value());
    CHECK(*q.sort_column == c.column);
    CHECK(q.sort_descending == c.descending);
  }
  CHECK_FALSE(Parse(R"({"Sorting":[]})").sort_column.has_value());
}

TEST_CASE("Paging takes PageIndex and PageSize as integers or numeric strings, within bounds") {
  struct Case {
    std::string paging;
    int64_t index, size;
  };
  const std::vector<Case> cases = {
      {R"({"PageIndex":1,"PageSize":100})", 1, 100},   {R"({"PageIndex":3,"PageSize":10000})", 3, 10000},
      {R"({"PageIndex":"2","PageSize":"1"})", 2, 1},   {R"({"PageSize":25})", 1, 25},
      {R"({"pageindex":7})", 7, 100},                  {R"({"PageIndex":1000000000})", 1000000000, 100},
  };
  for (const auto& c : cases) {
    CAPTURE(c.paging);
    const NotContactedQuery q = Parse(R"({"Paging":)" + c.paging + "}");
    CHECK(q.page_index == c.index);
    CHECK(q.page_size == c.size);
  }
}

TEST_CASE("key names match case-insensitively at every level") {
  const NotContactedQuery upper = Parse(R"({"REPORTFILTER":{"LEADFILTERS":[{"LOOKUPNAME":"Source",
      "LOOKUPVALUES":["web"],"SQLOPERATOR":"="}],"ACTIVITYFILTERS":[{"ACTIVITYEVENT":21}],
      "USERFILTER":{"GROUPCONDITIONS":[{"CONDITION":[{"LOOKUPNAME":"UserID","OPERATOR":"eq","LOOKUPVALUE":"u1"}]}]}},
      "DATEFILTER":{"DATEFIELD":"ActivityDate","FROMDATE":"2024-01-01 00:00:00","TODATE":"2024-01-02 00:00:00"},
      "OUTPUT":{"TYPE":"List","INCLUDECSV":"FirstName"},"SORTING":{"COLUMNNAME":"FirstName","DIRECTION":"1"},
      "PAGING":{"PAGEINDEX":2,"PAGESIZE":5}})");
  const NotContactedQuery lower = Parse(R"({"reportfilter":{"leadfilters":[{"lookupname":"Source",
      "lookupvalues":["web"],"sqloperator":"="}],"activityfilters":[{"activityevent":21}],
      "userfilter":{"groupconditions":[{"condition":[{"lookupname":"UserID","operator":"eq","lookupvalue":"u1"}]}]}},
      "datefilter":{"datefield":"ActivityDate","fromdate":"2024-01-01 00:00:00","todate":"2024-01-02 00:00:00"},
      "output":{"type":"List","includecsv":"FirstName"},"sorting":{"columnname":"FirstName","direction":"1"},
      "paging":{"pageindex":2,"pagesize":5}})");
  for (const NotContactedQuery* q : {&upper, &lower}) {
    // api/lsq_report_filter_test.cc checks the filters in detail.
    CHECK(q->lead_filters.size() == 1);
    CHECK(q->activity_codes == std::vector<int64_t>{21});
    CHECK(q->user_filter.has_value());
    REQUIRE(q->activity_window.has_value());
    CHECK(q->activity_window->from_ms == Ms("2024-01-01T00:00:00Z"));
    CHECK(q->columns == std::vector<std::string>{"FirstName"});
    CHECK(q->sort_column == std::optional<std::string>("FirstName"));
    CHECK(q->sort_descending);
    CHECK(q->page_index == 2);
    CHECK(q->page_size == 5);
  }
}

TEST_CASE("a failed parse leaves the query untouched") {
  NotContactedQuery q;
  q.page_size = 42;
  std::string error;
  CHECK_FALSE(ParseNotContactedRequest(json::parse(R"({"Output":{"IncludeCSV":"ProspectID"},"Paging":{"PageSize":0}})"),
                                       &q, &error));
  CHECK(q.page_size == 42);
  CHECK(q.columns == std::vector<std::string>{"ProspectID"});
}

}  // namespace leadflow::api
