// The 400 messages of api/lsq_request.h: each names the problem.
#include "api/lsq_request.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace leadflow::api {
namespace {

using nlohmann::json;

struct Case {
  std::string body, error;
};

void CheckErrors(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    CAPTURE(c.body);
    views::NotContactedQuery q;
    std::string error;
    CHECK_FALSE(ParseNotContactedRequest(json::parse(c.body), &q, &error));
    CHECK(error == c.error);
  }
}

std::string Lead(const std::string& entry) { return R"({"ReportFilter":{"LeadFilters":[)" + entry + "]}}"; }
std::string User(const std::string& condition) {
  return R"({"ReportFilter":{"UserFilter":{"GroupConditions":[{"Condition":[)" + condition + "]}]}}}";
}
std::string Activity(const std::string& filters) { return R"({"ReportFilter":{"ActivityFilters":)" + filters + "}}"; }
std::string Date(const std::string& from, const std::string& to, const std::string& field = "LeadCreatedOn") {
  return R"({"DateFilter":{"DateField":")" + field + R"(","FromDate":")" + from + R"(","ToDate":")" + to + "\"}}";
}

}  // namespace

TEST_CASE("a body that is not an object, or nodes of the wrong type, are named") {
  CheckErrors({
      {"[]", "The request body must be a JSON object"},
      {"\"x\"", "The request body must be a JSON object"},
      {R"({"ReportFilter":[]})", "ReportFilter must be an object"},
      {R"({"ReportFilter":{"UserFilter":"x"}})", "UserFilter must be an object"},
      {R"({"ReportFilter":{"LeadFilters":"x"}})", "LeadFilters must be an array"},
      {R"({"ReportFilter":{"ActivityFilters":21}})", "ActivityFilters must be an array"},
      {R"({"DateFilter":"2024-01-01"})", "DateFilter must be an object or an array"},
      {R"({"DateFilter":["x"]})", "Each DateFilter entry must be an object"},
      {R"({"Output":"List"})", "Output must be an object"},
      {R"({"Sorting":"FirstName"})", "Sorting must be an object"},
      {R"({"Paging":5})", "Paging must be an object"},
  });
}

TEST_CASE("every invalid column name is a 400 naming the name and where it was") {
  CheckErrors({
      {R"({"Output":{"IncludeCSV":"ProspectID,First Name"}})", "Invalid column name 'First Name' in IncludeCSV"},
      {R"({"Output":{"IncludeCSV":"ProspectID;DROP"}})", "Invalid column name 'ProspectID;DROP' in IncludeCSV"},
      {R"({"Output":{"IncludeCSV":"Prénom"}})", "Invalid column name 'Prénom' in IncludeCSV"},
      {R"({"Output":{"IncludeCSV":["ok",5]}})", "Invalid column name '5' in IncludeCSV"},
      {R"({"Output":{"IncludeCSV":5}})", "IncludeCSV must be a comma-separated string of column names"},
      {Lead(R"({"LookUpName":"Lead Source","LookUpValues":["a"],"SqlOperator":"="})"),
       "Invalid column name 'Lead Source' in LeadFilters"},
      {Lead(R"({"LookUpName":"","LookUpValues":["a"],"SqlOperator":"="})"), "Invalid column name '' in LeadFilters"},
      {R"({"Output":{"Type":"Aggregate","GroupBy":"Owner-Id","AggregateFunction":"Count"}})",
       "Invalid column name 'Owner-Id' in GroupBy"},
      {R"({"Output":{"Type":"Aggregate","AggregateFunction":"Sum","AggregateField":"Score%"}})",
       "Invalid column name 'Score%' in AggregateField"},
      {R"({"Sorting":{"ColumnName":"First.Name","Direction":"1"}})", "Invalid column name 'First.Name' in Sorting"},
      {Date("2024-01-01 00:00:00", "2024-01-02 00:00:00", "Created On"), "Invalid column name 'Created On' in DateFilter"},
      {User(R"({"LookupName":"User ID","Operator":"eq","LookupValue":"u1"})"),
       "Invalid column name 'User ID' in UserFilter"},
  });
}

TEST_CASE("LeadFilters errors name the operator, the column or the operand count") {
  CheckErrors({
      {Lead(R"({"LookUpName":"Source","LookUpValues":["a"],"SqlOperator":"like2"})"),
       "Unsupported SqlOperator 'like2' in LeadFilters"},
      {Lead(R"({"LookUpName":"Source","LookUpValues":["a"],"SqlOperator":"!="})"),
       "Unsupported SqlOperator '!=' in LeadFilters"},
      {Lead(R"({"LookUpName":"Source","LookUpValues":["a"],"SqlOperator":5})"),
       "Unsupported SqlOperator '5' in LeadFilters"},
      {Lead(R"({"LookUpName":"Source","LookUpValues":["a"]})"), "SqlOperator is required for 'Source' in LeadFilters"},
      {Lead(R"({"LookUpValues":["a"],"SqlOperator":"="})"), "LookUpName is required in LeadFilters"},
      {Lead(R"({"LookUpName":"Source","SqlOperator":"="})"), "LookUpValues is required for 'Source' in LeadFilters"},
      {Lead(R"("Source")"), "Each LeadFilters entry must be an object"},
      {Lead(R"({"LookUpName":"Source","LookUpValues":[null],"SqlOperator":"="})"),
       "LookUpValues of 'Source' in LeadFilters must be strings or numbers"},
      {Lead(R"({"LookUpName":"Source","LookUpValues":[true],"SqlOperator":"in"})"),
       "LookUpValues of 'Source' in LeadFilters must be strings or numbers"},
      {Lead(R"({"LookUpName":"Score","LookUpValues":[1],"SqlOperator":"between"})"),
       "SqlOperator 'between' in LeadFilters takes exactly 2 values for 'Score', got 1"},
      {Lead(R"({"LookUpName":"Score","LookUpValues":[1,2,3],"SqlOperator":"between"})"),
       "SqlOperator 'between' in LeadFilters takes exactly 2 values for 'Score', got 3"},
      {Lead(R"({"LookUpName":"Source","LookUpValues":["a","b"],"SqlOperator":"="})"),
       "SqlOperator '=' in LeadFilters takes exactly 1 value for 'Source', got 2"},
      {Lead(R"({"LookUpName":"Source","LookUpValues":[],"SqlOperator":"<>"})"),
       "SqlOperator '<>' in LeadFilters takes exactly 1 value for 'Source', got 0"},
      {Lead(R"({"LookUpName":"Source","LookUpValues":["a","b"],"SqlOperator":"like"})"),
       "SqlOperator 'like' in LeadFilters takes exactly 1 value for 'Source', got 2"},
      {Lead(R"({"LookUpName":"Score","LookUpValues":[1,2],"SqlOperator":"<"})"),
       "SqlOperator '<' in LeadFilters takes exactly 1 value for 'Score', got 2"},
      {Lead(R"({"LookUpName":"Score","LookUpValues":[1,2],"SqlOperator":"<="})"),
       "SqlOperator '<=' in LeadFilters takes exactly 1 value for 'Score', got 2"},
      {Lead(R"({"LookUpName":"Score","LookUpValues":[1,2],"SqlOperator":">"})"),
       "SqlOperator '>' in LeadFilters takes exactly 1 value for 'Score', got 2"},
      {Lead(R"({"LookUpName":"Score","LookUpValues":[],"SqlOperator":">="})"),
       "SqlOperator '>=' in LeadFilters takes exactly 1 value for 'Score', got 0"},
      {Lead(R"({"LookUpName":"Source","LookUpValues":[],"SqlOperator":"in"})"),
       "SqlOperator 'in' in LeadFilters takes at least 1 value for 'Source', got 0"},
      {Lead(R"({"LookUpName":"Source","LookUpValues":[],"SqlOperator":"not in"})"),
       "SqlOperator 'not in' in LeadFilters takes at least 1 value for 'Source', got 0"},
  });
}

TEST_CASE("UserFilter errors name the operator or the missing part") {
  CheckErrors({
      {User(R"({"LookupName":"UserID","Operator":"like","LookupValue":"u1"})"),
       "Unsupported Operator 'like' in UserFilter"},
      {User(R"({"LookupName":"UserID","Operator":"gt","LookupValue":"u1"})"), "Unsupported Operator 'gt' in UserFilter"},
      {User(R"({"LookupName":"UserID","LookupValue":"u1"})"), "Operator is required in UserFilter"},
      {User(R"({"Operator":"eq","LookupValue":"u1"})"), "LookupName is required in UserFilter"},
      {User(R"({"LookupName":"UserID","Operator":"eq"})"), "LookupValue is required in UserFilter"},
      {User(R"({"LookupName":"UserID","Operator":"eq","LookupValue":["u1"]})"),
       "LookupValue must be a string or a number in UserFilter"},
      {User(R"({"LookupName":"UserID","Operator":"eq","LookupValue":"u1","ConditionOperator":"XOR"})"),
       "Unsupported ConditionOperator 'XOR' in UserFilter"},
      {User(R"({"LookupName":"UserID","Operator":"eq","LookupValue":"u1","ConditionOperator":"AND"},
               {"LookupName":"Role","Operator":"eq","LookupValue":"x","ConditionOperator":"OR"})"),
       "ConditionOperator values disagree in UserFilter: use one of AND or OR"},
      {R"({"ReportFilter":{"UserFilter":{"GroupConditions":[{"Condition":[]}],"GroupOperator":"NAND"}}})",
       "Unsupported GroupOperator 'NAND' in UserFilter"},
      {R"({"ReportFilter":{"UserFilter":{"GroupConditions":[{"Condition":[],"GroupOperator":"AND"}],
                                         "GroupOperator":"OR"}}})",
       "GroupOperator values disagree in UserFilter: use one of AND or OR"},
      {R"({"ReportFilter":{"UserFilter":{"GroupConditions":["x"]}}})",
       "Each of GroupConditions in UserFilter must be an object"},
      {User(R"("x")"), "Each Condition in UserFilter must be an object"},
  });
}

TEST_CASE("an ActivityEvent code that is not an integer >= 0 is a 400") {
  CheckErrors({
      {Activity(R"([{"ActivityEvent":"abc"}])"), "Invalid ActivityEvent code 'abc' in ActivityFilters"},
      {Activity(R"([{"ActivityEvent":-1}])"), "Invalid ActivityEvent code '-1' in ActivityFilters"},
      {Activity(R"([{"ActivityEvent":"-1"}])"), "Invalid ActivityEvent code '-1' in ActivityFilters"},
      {Activity(R"([{"ActivityEvent":21.5}])"), "Invalid ActivityEvent code '21.5' in ActivityFilters"},
      {Activity(R"([{"ActivityEvent":true}])"), "Invalid ActivityEvent code 'true' in ActivityFilters"},
      {Activity(R"([{"ActivityEvent":""}])"), "Invalid ActivityEvent code '' in ActivityFilters"},
      {Activity(R"([{"ActivityEvent":"21,x"}])"), "Invalid ActivityEvent code '21,x' in ActivityFilters"},
      {Activity(R"([{"ActivityEvent":"99999999999999999999"}])"),
       "Invalid ActivityEvent code '99999999999999999999' in ActivityFilters"},
      {Activity(R"([{"LookUpName":"ActivityEvent","LookUpValues":["21","x2"],"SqlOperator":"in"}])"),
       "Invalid ActivityEvent code 'x2' in ActivityFilters"},
      {Activity(R"([{"LookUpName":"ActivityEvent","LookUpValues":["21"],"SqlOperator":"not in"}])"),
       "Unsupported SqlOperator 'not in' in ActivityFilters"},
      {Activity(R"([{"LookUpName":"ActivityType","LookUpValues":["21"],"SqlOperator":"in"}])"),
       "Unsupported LookUpName 'ActivityType' in ActivityFilters"},
      {Activity(R"([{"LookUpName":"ActivityEvent","SqlOperator":"in"}])"),
       "LookUpValues is required in ActivityFilters"},
      {Activity(R"([{"LookUpName":"ActivityEvent","LookUpValues":[],"SqlOperator":"in"}])"),
       "An ActivityFilters entry lists no ActivityEvent code"},
      {Activity(R"([{"Code":21}])"), "Each ActivityFilters entry needs ActivityEvent or LookUpName 'ActivityEvent'"},
  });
}

TEST_CASE("a bad or reversed date is a 400 naming the date") {
  CheckErrors({
      {Date("2024-13-01", "2024-12-31 00:00:00"), "Invalid FromDate '2024-13-01' in DateFilter"},
      {Date("2024-13-01 00:00:00", "2024-12-31 00:00:00"), "Invalid FromDate '2024-13-01 00:00:00' in DateFilter"},
      {Date("2024-01-01 00:00:00", "2024-02-30 00:00:00"), "Invalid ToDate '2024-02-30 00:00:00' in DateFilter"},
      {Date("2024-01-01T00:00:00", "2024-02-01 00:00:00"), "Invalid FromDate '2024-01-01T00:00:00' in DateFilter"},
      {Date("2024-01-01 00:00:00", "2024-02-01 24:00:00"), "Invalid ToDate '2024-02-01 24:00:00' in DateFilter"},
      {Date("2024-01-01 00:00:00", "2024-02-01 00:00:00Z"), "Invalid ToDate '2024-02-01 00:00:00Z' in DateFilter"},
      {Date("2024-02-01 00:00:01", "2024-02-01 00:00:00"),
       "FromDate '2024-02-01 00:00:01' is after ToDate '2024-02-01 00:00:00' in DateFilter"},
      {R"({"DateFilter":{"DateField":"LeadCreatedOn","ToDate":"2024-02-01 00:00:00"}})",
       "FromDate is required in DateFilter"},
      {R"({"DateFilter":{"DateField":"LeadCreatedOn","FromDate":"2024-02-01 00:00:00"}})",
       "ToDate is required in DateFilter"},
      {R"({"DateFilter":{"DateField":"LeadCreatedOn","FromDate":20240201,"ToDate":"2024-02-01 00:00:00"}})",
       "Invalid FromDate '20240201' in DateFilter"},
      {R"({"DateFilter":[{"FromDate":"2024-02-01 00:00:00","ToDate":"2024-02-01 00:00:00"}]})",
       "DateField is required in DateFilter"},
  });
}

TEST_CASE("Output, Sorting and Paging errors name the field") {
  CheckErrors({
      {R"({"Output":{"Type":"Table"}})", "Unsupported Output Type 'Table': use List or Aggregate"},
      {R"({"Output":{"Type":"Aggregate"}})", "AggregateFunction is required when Output Type is Aggregate"},
      {R"({"Output":{"Type":"Aggregate","AggregateFunction":"Max"}})",
       "Unsupported AggregateFunction 'Max': use Count, Sum or Average"},
      {R"({"Output":{"Type":"Aggregate","AggregateFunction":"Sum"}})",
       "AggregateField is required for AggregateFunction 'Sum'"},
      {R"({"Output":{"Type":"Aggregate","AggregateFunction":"Average","AggregateField":""}})",
       "Invalid column name '' in AggregateField"},
      {R"({"Output":{"Type":"Aggregate","AggregateFunction":"average"}})",
       "AggregateField is required for AggregateFunction 'Average'"},
      {R"({"Sorting":{"Direction":"1"}})", "ColumnName is required in Sorting"},
      {R"({"Sorting":{"ColumnName":"FirstName","Direction":"desc"}})",
       R"(Invalid Sorting Direction 'desc': use "1" (descending) or "0" (ascending))"},
      {R"({"Sorting":{"ColumnName":"FirstName","Direction":2}})",
       R"(Invalid Sorting Direction '2': use "1" (descending) or "0" (ascending))"},
      {R"({"Sorting":[{"ColumnName":"A"},{"ColumnName":"B"}]})", "Sorting accepts one column"},
      {R"({"Paging":{"PageIndex":0}})", "PageIndex must be at least 1"},
      {R"({"Paging":{"PageIndex":-3}})", "PageIndex must be at least 1"},
      {R"({"Paging":{"PageIndex":1000000001}})", "PageIndex must be at most 1000000000"},
      {R"({"Paging":{"PageIndex":1.5}})", "PageIndex must be an integer"},
      {R"({"Paging":{"PageIndex":"one"}})", "PageIndex must be an integer"},
      {R"({"Paging":{"PageSize":0}})", "PageSize must be between 1 and 10000"},
      {R"({"Paging":{"PageSize":10001}})", "PageSize must be between 1 and 10000"},
      {R"({"Paging":{"PageSize":"-5"}})", "PageSize must be between 1 and 10000"},
      {R"({"Paging":{"PageSize":18446744073709551615}})", "PageSize must be between 1 and 10000"},
      {R"({"Paging":{"PageSize":true}})", "PageSize must be an integer"},
  });
}

TEST_CASE("client input echoed in a message is cut to 64 bytes") {
  const std::string long_name(100, 'x');
  views::NotContactedQuery q;
  std::string error;
  CHECK_FALSE(ParseNotContactedRequest(json{{"Output", {{"IncludeCSV", long_name + " y"}}}}, &q, &error));
  CHECK(error == "Invalid column name '" + std::string(64, 'x') + "...' in IncludeCSV");
}

TEST_CASE("a body nested more than 64 levels is a 400 and cannot exhaust the stack") {
  // Found by tests/fuzz/lsq_request_fuzz.cc: a deep value where a column
  // name or an operand belongs was quoted (a recursive dump) or copied (a
  // recursive copy), one stack frame per level.
  auto nested = [](size_t levels) { return std::string(levels, '[') + std::string(levels, ']'); };
  const std::string deep_error = "The request body is nested more than 64 levels deep";
  CheckErrors({
      {R"({"Sorting":{"ColumnName":)" + nested(62) + "}}",
       "Invalid column name '" + nested(62).substr(0, 64) + "...' in Sorting"},
      {R"({"Sorting":{"ColumnName":)" + nested(63) + "}}", deep_error},
      {R"({"Sorting":{"ColumnName":)" + nested(500000) + "}}", deep_error},
      {Lead(R"({"LookUpName":"J","SqlOperator":"in","LookUpValues":[)" + nested(500000) + "]}"), deep_error},
  });
}

}  // namespace leadflow::api
