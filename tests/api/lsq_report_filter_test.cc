#include "api/lsq_report_filter.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace leadflow::api {
namespace {

using nlohmann::json;
using views::LeadCondition;
using views::NotContactedQuery;

const char* OpName(LeadCondition::Op op) {
  switch (op) {
    case LeadCondition::Op::kEq: return "=";
    case LeadCondition::Op::kNeq: return "<>";
    case LeadCondition::Op::kIn: return "in";
    case LeadCondition::Op::kNotIn: return "not in";
    case LeadCondition::Op::kLike: return "like";
    case LeadCondition::Op::kLt: return "<";
    case LeadCondition::Op::kLe: return "<=";
    case LeadCondition::Op::kGt: return ">";
    case LeadCondition::Op::kGe: return ">=";
    case LeadCondition::Op::kBetween: return "between";
  }
  return "?";
}

// "Score between [1,5]; Source in ["a","b"]".
std::string LeadFiltersText(const NotContactedQuery& q) {
  std::string out;
  for (const auto& c : q.lead_filters) {
    if (!out.empty()) out += "; ";
    out += c.column + " " + OpName(c.op) + " " + json(c.values).dump();
  }
  return out;
}

// "AND(OR(UserID eq 'a', Role lik 'x'), ...)".
std::string UserFilterText(const NotContactedQuery& q) {
  if (!q.user_filter) return "none";
  std::string out = q.user_filter->groups_and ? "AND(" : "OR(";
  for (size_t g = 0; g < q.user_filter->groups.size(); ++g) {
    const auto& group = q.user_filter->groups[g];
    out += std::string(g ? ", " : "") + (group.conditions_and ? "AND(" : "OR(");
    for (size_t c = 0; c < group.conditions.size(); ++c) {
      const auto& cond = group.conditions[c];
      const char* op = cond.op == views::UserCondition::Op::kEq    ? "eq"
                       : cond.op == views::UserCondition::Op::kNeq ? "neq"
                                                                    : "lik";
      out += std::string(c ? ", " : "") + cond.attribute + " " + op + " '" + cond.value + "'";
    }
    out += ")";
  }
  return out + ")";
}

std::string CodesText(const NotContactedQuery& q) { return json(q.activity_codes).dump(); }

// Parses a ReportFilter node, which must be valid.
NotContactedQuery Parse(const std::string& report_filter) {
  NotContactedQuery q;
  std::string error;
  const bool ok = ParseReportFilter(json::parse(report_filter), &q, &error);
  REQUIRE_MESSAGE(ok, error);
  return q;
}

std::string LeadFilter(const std::string& entry) { return R"({"LeadFilters":[)" + entry + "]}"; }

}  // namespace

TEST_CASE("every SqlOperator of LeadFilters is understood, in any case and spacing") {
  struct Case {
    std::string entry, expected;
  };
  const std::vector<Case> cases = {
      {R"({"LookUpName":"Source","LookUpValues":["web"],"SqlOperator":"="})", R"(Source = ["web"])"},
      {R"({"LookUpName":"Source","LookUpValues":["web"],"SqlOperator":"<>"})", R"(Source <> ["web"])"},
      {R"({"LookUpName":"Source","LookUpValues":["a","b"],"SqlOperator":"in"})", R"(Source in ["a","b"])"},
      {R"({"LookUpName":"Source","LookUpValues":["a"],"SqlOperator":"IN"})", R"(Source in ["a"])"},
      {R"({"LookUpName":"Source","LookUpValues":["a","b"],"SqlOperator":"not in"})", R"(Source not in ["a","b"])"},
      {R"({"LookUpName":"Source","LookUpValues":["a"],"SqlOperator":" Not  In "})", R"(Source not in ["a"])"},
      {R"({"LookUpName":"City","LookUpValues":["%pu%"],"SqlOperator":"like"})", R"(City like ["%pu%"])"},
      {R"({"LookUpName":"City","LookUpValues":["pune"],"SqlOperator":"LIKE"})", R"(City like ["pune"])"},
      {R"({"LookUpName":"Score","LookUpValues":[10],"SqlOperator":"<"})", "Score < [10]"},
      {R"({"LookUpName":"Score","LookUpValues":[10],"SqlOperator":"<="})", "Score <= [10]"},
      {R"({"LookUpName":"Score","LookUpValues":[10.5],"SqlOperator":">"})", "Score > [10.5]"},
      {R"({"LookUpName":"Score","LookUpValues":["10"],"SqlOperator":">="})", R"(Score >= ["10"])"},
      {R"({"LookUpName":"Score","LookUpValues":[1,5],"SqlOperator":"between"})", "Score between [1,5]"},
      {R"({"LookUpName":"Score","LookUpValues":[1,5],"SqlOperator":"BETWEEN"})", "Score between [1,5]"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.entry);
    CHECK(LeadFiltersText(Parse(LeadFilter(c.entry))) == c.expected);
  }
}

TEST_CASE("LookUpValues may be an array or a scalar; a string splits at commas only for in, not in and between") {
  struct Case {
    std::string entry, expected;
  };
  const std::vector<Case> cases = {
      {R"({"LookUpName":"Source","LookUpValue":"web","SqlOperator":"="})", R"(Source = ["web"])"},
      {R"({"LookUpName":"Source","LookUpValues":"web","SqlOperator":"="})", R"(Source = ["web"])"},
      {R"({"LookUpName":"Name","LookUpValues":"Doe, Jane","SqlOperator":"="})", R"(Name = ["Doe, Jane"])"},
      {R"({"LookUpName":"Score","LookUpValue":7,"SqlOperator":"="})", "Score = [7]"},
      {R"({"LookUpName":"Source","LookUpValues":"web, referral","SqlOperator":"in"})", R"(Source in ["web","referral"])"},
      {R"({"LookUpName":"Source","LookUpValues":"web","SqlOperator":"not in"})", R"(Source not in ["web"])"},
      {R"({"LookUpName":"Score","LookUpValues":"1,5","SqlOperator":"between"})", R"(Score between ["1","5"])"},
      // Both given: LookUpValues wins.
      {R"({"LookUpName":"Source","LookUpValues":["a"],"LookUpValue":"b","SqlOperator":"="})", R"(Source = ["a"])"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.entry);
    CHECK(LeadFiltersText(Parse(LeadFilter(c.entry))) == c.expected);
  }
}

TEST_CASE("several LeadFilters entries are kept in order (the evaluation ANDs them)") {
  const NotContactedQuery q = Parse(LeadFilter(
      R"({"LookUpName":"ProspectStage","LookUpValues":["Prospect"],"SqlOperator":"in"},
         {"LookUpName":"mx_City","LookUpValues":["Pune"],"SqlOperator":"="})"));
  CHECK(LeadFiltersText(q) == R"(ProspectStage in ["Prospect"]; mx_City = ["Pune"])");
}

TEST_CASE("UserFilter groups and conditions keep their operators, AND by default") {
  struct Case {
    std::string user_filter, expected;
  };
  const std::vector<Case> cases = {
      {R"({"GroupConditions":[{"Condition":[{"LookupName":"UserID","Operator":"eq","LookupValue":"u1,u2"}]}]})",
       "AND(AND(UserID eq 'u1,u2'))"},
      {R"({"GroupConditions":[{"Condition":[
            {"LookupName":"UserID","Operator":"EQ","LookupValue":"u1","ConditionOperator":"OR"},
            {"LookupName":"Role","Operator":"Lik","LookupValue":"sal","ConditionOperator":null}],
          "GroupOperator":null}],"GroupOperator":null})",
       "AND(OR(UserID eq 'u1', Role lik 'sal'))"},
      {R"({"GroupConditions":[
            {"Condition":[{"LookupName":"Role","Operator":"neq","LookupValue":"Manager"}],"GroupOperator":"or"},
            {"Condition":[{"LookupName":"TeamId","Operator":"eq","LookupValue":7}]}]})",
       "OR(AND(Role neq 'Manager'), AND(TeamId eq '7'))"},
      {R"({"GroupConditions":[{"Condition":[{"LookupName":"Role","Operator":"eq","LookupValue":"x"}]},
                              {"Condition":[{"LookupName":"Role","Operator":"eq","LookupValue":"y"}]}],
           "GroupOperator":"OR"})",
       "OR(AND(Role eq 'x'), AND(Role eq 'y'))"},
      {R"({"GroupConditions":[{"Condition":[{"LookupName":"Role","Operator":"eq","LookupValue":"x",
                                              "ConditionOperator":"and"}]}]})",
       "AND(AND(Role eq 'x'))"},
      // A single group or condition may be an object instead of an array.
      {R"({"GroupConditions":{"Condition":{"LookupName":"UserID","Operator":"eq","LookupValue":"u1"}}})",
       "AND(AND(UserID eq 'u1'))"},
      // No conditions at all: no user filter.
      {R"({})", "none"},
      {R"({"GroupConditions":[]})", "none"},
      {R"({"GroupConditions":[{"Condition":[]}]})", "none"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.user_filter);
    CHECK(UserFilterText(Parse(R"({"UserFilter":)" + c.user_filter + "}")) == c.expected);
  }
}

TEST_CASE("ActivityFilters in every accepted form give the union of the codes") {
  struct Case {
    std::string filters, expected;
  };
  const std::vector<Case> cases = {
      {R"([{"ActivityEvent": 21}])", "[21]"},
      {R"([{"ActivityEvent": "22"}])", "[22]"},
      {R"([{"ActivityEvent": 22}, {"ActivityEvent": "21"}, {"ActivityEvent": 22}])", "[21,22]"},
      {R"([{"LookUpName":"ActivityEvent","LookUpValues":["21","22"],"SqlOperator":"in"}])", "[21,22]"},
      {R"([{"lookupname":"activityevent","lookupvalues":[21],"sqloperator":"IN"}])", "[21]"},
      {R"([{"LookUpName":"ActivityEvent","LookUpValue":"23","SqlOperator":"="}])", "[23]"},
      {R"([{"LookUpName":"ActivityEvent","LookUpValues":"21, 22"}])", "[21,22]"},
      {R"([{"ActivityEvent": [0, "10002"]}, 12002])", "[0,10002,12002]"},
      {R"({"ActivityEvent": 21})", "[21]"},
      {R"([])", "[]"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.filters);
    CHECK(CodesText(Parse(R"({"ActivityFilters":)" + c.filters + "}")) == c.expected);
  }
}

TEST_CASE("ReportFilter key names match case-insensitively") {
  for (const std::string& filter : {
           std::string(R"({"LEADFILTERS":[{"LOOKUPNAME":"Source","LOOKUPVALUES":["web"],"SQLOPERATOR":"="}],
               "ACTIVITYFILTERS":[{"ACTIVITYEVENT":21}],
               "USERFILTER":{"GROUPCONDITIONS":[{"CONDITION":[{"LOOKUPNAME":"UserID","OPERATOR":"eq",
                                                                "LOOKUPVALUE":"u1"}]}]}})"),
           std::string(R"({"leadfilters":[{"lookupname":"Source","lookupvalues":["web"],"sqloperator":"="}],
               "activityfilters":[{"activityevent":21}],
               "userfilter":{"groupconditions":[{"condition":[{"lookupname":"UserID","operator":"eq",
                                                                "lookupvalue":"u1"}]}]}})")}) {
    CAPTURE(filter);
    const NotContactedQuery q = Parse(filter);
    CHECK(LeadFiltersText(q) == R"(Source = ["web"])");
    CHECK(CodesText(q) == "[21]");
    CHECK(UserFilterText(q) == "AND(AND(UserID eq 'u1'))");
  }
  // LookupName (UserFilter's spelling) works in LeadFilters too.
  CHECK(LeadFiltersText(Parse(LeadFilter(R"({"LookupName":"Source","LookupValues":["a"],"SqlOperator":"="})"))) ==
        R"(Source = ["a"])");
}

TEST_CASE("a later ReportFilter replaces the filters of an earlier one") {
  NotContactedQuery q = Parse(R"({"LeadFilters":[{"LookUpName":"A","LookUpValues":["1"],"SqlOperator":"="}],
                                  "ActivityFilters":[21]})");
  std::string error;
  REQUIRE(ParseReportFilter(json::parse("{}"), &q, &error));
  CHECK(q.lead_filters.empty());
  CHECK(q.activity_codes.empty());
  CHECK_FALSE(q.user_filter.has_value());
}

}  // namespace leadflow::api
