#include "views/not_contacted.h"

#include <doctest/doctest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::testing {
namespace {

using nlohmann::json;
using views::LeadCondition;
using views::NotContactedQuery;
using Op = LeadCondition::Op;

using testing::Ev;

int next_activity = 0;
std::string Lead(const std::string& id, const std::string& at, json owner, json fields) {
  return Ev({{"lead_id", id}, {"status_id", "sa"}, {"owner_id", owner}, {"fields", fields}}, "lead.created", at);
}
std::string Activity(const std::string& lead, int code, const std::string& at, const std::string& name) {
  return Ev({{"lead_id", lead}, {"activity_id", "a" + std::to_string(next_activity++)}, {"activity_event", code},
            {"activity_name", name}},
           "activity.logged", at);
}

// Five leads, two owners, three activities, one deleted lead.
std::vector<std::string> World() {
  return {
      StatusUpserted("sa", "Potential", 1, "2023-01-01T00:00:00Z"),
      StatusUpserted("sb", "Qualified", 2, "2023-01-01T00:00:00Z"),
      Ev({{"user_id", "u1"}, {"fields", {{"FirstName", "Asha"}, {"Role", "Sales"}}}}, "user.upserted", "2023-01-01T00:00:00Z"),
      Ev({{"user_id", "u2"}, {"fields", {{"FirstName", "Ravi"}, {"Role", "Manager"}}}}, "user.upserted", "2023-01-01T00:00:00Z"),
      Lead("l1", "2024-01-01T10:00:00Z", "u1", {{"Source", "web"}, {"City", "Pune"}, {"Score", 10}}),
      Lead("l2", "2024-01-02T10:00:00Z", "u2", {{"Source", "referral"}, {"Score", 20}}),
      Lead("l3", "2024-01-03T10:00:00Z", "u1", {{"Source", "Web"}, {"Score", 5.5}}),
      Lead("l4", "2024-01-04T10:00:00Z", nullptr, {{"Source", "web"}}),
      Lead("l5", "2024-01-05T10:00:00Z", "u1", {{"Source", "web"}}),
      Ev({{"lead_id", "l4"}, {"fields", {{"Score", 7}}}}, "lead.updated", "2024-01-06T00:00:00Z"),
      Ev({{"lead_id", "l4"}, {"fields", {{"Score", nullptr}}}}, "lead.updated", "2024-01-07T00:00:00Z"),
      Changed("l3", "sb", "2024-01-08T00:00:00Z"),
      Ev({{"lead_id", "l5"}}, "lead.deleted", "2024-01-09T00:00:00Z"),
      Activity("l1", 21, "2024-02-10T09:00:00Z", "Inbound call"),
      Activity("l2", 22, "2024-02-15T09:00:00Z", "Outbound call"),
      Activity("l4", 23, "2024-02-20T23:59:59.500Z", "Lead capture"),
  };
}

std::string Ids(const views::NotContactedResult& r) {
  std::string out = std::to_string(r.total_count) + ":";
  for (const auto& row : r.rows) out += " " + row[0].dump();
  return out;
}

views::NotContactedResult Run(TestDb& db, const NotContactedQuery& q) {
  auto snap = db.store()->NewSnapshot();
  views::NotContactedResult r;
  REQUIRE_OK(views::ComputeNotContacted(*snap, "org1", q, &r));
  return r;
}

views::InstantRange Window(const std::string& from, const std::string& to) {
  return {Ms(from), Ms(to) + 999};
}

struct Case {
  const char* name;
  NotContactedQuery query;
  const char* expected;
};

NotContactedQuery Q(std::function<void(NotContactedQuery&)> f) {
  NotContactedQuery q;
  f(q);
  return q;
}

}  // namespace

TEST_CASE("Leads Not Contacted selects exactly the leads of every filter and activity rule") {
  TestDb db;
  db.Ingest(World());
  const std::vector<Case> cases = {
      {"a lead with no activity of any code qualifies, a deleted lead never does", Q([](auto&) {}), "1: \"l3\""},
      {"only the listed codes disqualify", Q([](auto& q) { q.activity_codes = {21}; }), "3: \"l2\" \"l3\" \"l4\""},
      {"activities outside the window do not disqualify", Q([](auto& q) {
         q.activity_codes = {21, 22};
         q.activity_window = Window("2024-02-01T00:00:00Z", "2024-02-12T00:00:00Z");
       }),
       "3: \"l2\" \"l3\" \"l4\""},
      {"ToDate includes its whole second", Q([](auto& q) {
         q.activity_window = Window("2024-02-20T00:00:00Z", "2024-02-20T23:59:59Z");
       }),
       "3: \"l1\" \"l2\" \"l3\""},
      {"one second earlier the activity is outside", Q([](auto& q) {
         q.activity_window = Window("2024-02-20T00:00:00Z", "2024-02-20T23:59:58Z");
       }),
       "4: \"l1\" \"l2\" \"l3\" \"l4\""},
      {"= is case-sensitive", Q([](auto& q) { q.activity_codes = {999}; q.lead_filters = {{"Source", Op::kEq, {"web"}}}; }),
       "2: \"l1\" \"l4\""},
      {"like without % matches the whole value, case-insensitively",
       Q([](auto& q) { q.activity_codes = {999}; q.lead_filters = {{"source", Op::kLike, {"WEB"}}}; }),
       "3: \"l1\" \"l3\" \"l4\""},
      {"like with % matches inside", Q([](auto& q) { q.activity_codes = {999}; q.lead_filters = {{"Source", Op::kLike, {"%fer%"}}}; }),
       "1: \"l2\""},
      {"<> excludes leads without the field and keeps other values",
       Q([](auto& q) { q.activity_codes = {999}; q.lead_filters = {{"City", Op::kNeq, {"Mumbai"}}}; }), "1: \"l1\""},
      {"not in is case-sensitive", Q([](auto& q) { q.activity_codes = {999}; q.lead_filters = {{"Source", Op::kNotIn, {"web", "referral"}}}; }),
       "1: \"l3\""},
      {"numbers compare as numbers", Q([](auto& q) { q.activity_codes = {999}; q.lead_filters = {{"Score", Op::kGt, {"6"}}}; }),
       "2: \"l1\" \"l2\""},
      {"between is inclusive", Q([](auto& q) { q.activity_codes = {999}; q.lead_filters = {{"Score", Op::kBetween, {5.5, 10}}}; }),
       "2: \"l1\" \"l3\""},
      {"a removed field matches no operator", Q([](auto& q) { q.activity_codes = {999}; q.lead_filters = {{"Score", Op::kLe, {100}}}; }),
       "3: \"l1\" \"l2\" \"l3\""},
      {"ProspectStage is the current status label", Q([](auto& q) { q.activity_codes = {999}; q.lead_filters = {{"ProspectStage", Op::kEq, {"Qualified"}}}; }),
       "1: \"l3\""},
      {"ProspectID selects one lead", Q([](auto& q) { q.activity_codes = {999}; q.lead_filters = {{"ProspectID", Op::kIn, {"l2", "l9"}}}; }),
       "1: \"l2\""},
      {"CreatedOn dates compare as instants", Q([](auto& q) {
         q.activity_codes = {999};
         q.lead_filters = {{"CreatedOn", Op::kGe, {"2024-01-02 10:00:00"}}, {"CreatedOn", Op::kLt, {"2024-01-04 10:00:00"}}};
       }),
       "2: \"l2\" \"l3\""},
      {"a DateFilter on LeadCreatedOn narrows the leads", Q([](auto& q) {
         q.activity_codes = {999};
         q.lead_date_filters = {{"CreatedOn", Window("2024-01-02T00:00:00Z", "2024-01-03T23:59:59Z")}};
       }),
       "2: \"l2\" \"l3\""},
      {"UserFilter eq keeps the owner's leads", Q([](auto& q) {
         q.activity_codes = {999};
         q.user_filter = views::UserFilter{{{{{"FirstName", views::UserCondition::Op::kEq, "Asha"}}, true}}, true};
       }),
       "2: \"l1\" \"l3\""},
      {"UserFilter lik is a case-insensitive contains; OR groups unite", Q([](auto& q) {
         q.activity_codes = {999};
         q.user_filter = views::UserFilter{{{{{"Role", views::UserCondition::Op::kLike, "MANAG"}}, true},
                                            {{{"UserID", views::UserCondition::Op::kEq, "u9, u1"}}, true}},
                                           false};
       }),
       "3: \"l1\" \"l2\" \"l3\""},
      {"paging returns the second page in CreatedOn order", Q([](auto& q) {
         q.activity_codes = {999};
         q.page_size = 3;
         q.page_index = 2;
       }),
       "4: \"l4\""},
      {"Sorting by a column descending, ties by ProspectID", Q([](auto& q) {
         q.activity_codes = {999};
         q.sort_column = "Score";
         q.sort_descending = true;
       }),
       "4: \"l2\" \"l1\" \"l3\" \"l4\""},
  };
  for (const auto& c : cases) {
    SUBCASE(c.name) {
      CHECK(Ids(Run(db, c.query)) == c.expected);
    }
  }
}

TEST_CASE("list columns carry the lead's current values, times as yyyy-MM-dd HH:mm:ss") {
  TestDb db;
  db.Ingest(World());
  NotContactedQuery q;
  q.activity_codes = {999};
  q.columns = {"ProspectID", "ProspectStage", "OwnerId", "CreatedOn", "ModifiedOn", "ProspectActivityDate_Max",
               "ProspectActivityName_Max", "score", "Missing"};
  auto r = Run(db, q);
  REQUIRE(r.rows.size() == 4);
  CHECK(json(r.rows[0]).dump() ==
        R"(["l1","Potential","u1","2024-01-01 10:00:00","2024-02-10 09:00:00","2024-02-10 09:00:00","Inbound call",10,null])");
  CHECK(json(r.rows[2]).dump() ==
        R"(["l3","Qualified","u1","2024-01-03 10:00:00","2024-01-08 00:00:00",null,null,5.5,null])");
  CHECK(json(r.rows[3]).dump() ==
        R"(["l4","Potential",null,"2024-01-04 10:00:00","2024-02-20 23:59:59","2024-02-20 23:59:59","Lead capture",null,null])");
}

TEST_CASE("aggregates group by key with the null key first; Average skips leads without a value") {
  TestDb db;
  db.Ingest(World());
  NotContactedQuery q;
  q.activity_codes = {999};
  q.output = NotContactedQuery::Output::kAggregate;
  q.group_by = "OwnerId";
  auto count = Run(db, q);
  CHECK(json(count.columns).dump() == R"(["OwnerId","Count"])");
  CHECK(json(count.rows).dump() == R"([[null,1],["u1",2],["u2",1]])");
  CHECK(count.total_count == 3);
  q.function = NotContactedQuery::Function::kSum;
  q.aggregate_column = "Score";
  CHECK(json(Run(db, q).rows).dump() == R"([[null,0],["u1",15.5],["u2",20]])");
  q.function = NotContactedQuery::Function::kAverage;
  CHECK(json(Run(db, q).rows).dump() == R"([[null,null],["u1",7.75],["u2",20.0]])");
  q.group_by = "";
  CHECK(json(Run(db, q).rows).dump() == R"([[11.833333333333334]])");
  q.group_by = "ProspectStage";
  q.function = NotContactedQuery::Function::kCount;
  CHECK(json(Run(db, q).rows).dump() == R"([["Potential",3],["Qualified",1]])");
  q.page_size = 1;
  q.page_index = 2;
  auto paged = Run(db, q);
  CHECK(paged.total_count == 2);
  CHECK(json(paged.rows).dump() == R"([["Qualified",1]])");
}

TEST_CASE("an activity before the lead's creation still counts as an activity") {
  TestDb db;
  auto events = World();
  events.push_back(Activity("l3", 21, "2023-12-01T00:00:00Z", "early call"));
  db.Ingest(events);
  NotContactedQuery q;
  q.activity_codes = {21};
  CHECK(Ids(Run(db, q)) == "2: \"l2\" \"l4\"");
}

}  // namespace leadflow::testing
