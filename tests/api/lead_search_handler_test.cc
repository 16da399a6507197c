#include "api/lead_search_handler.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/credentials.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::api {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;
using testing::Changed;
using testing::Created;
using testing::Deleted;
using testing::StatusUpserted;

const std::string kBearer1 = "Bearer key-org1";
const std::string kBearer2 = "Bearer key-org2";

using testing::Ev;

// org1: l1 Pune (Potential -> Qualified), l2 Mumbai (Qualified -> Won), l3
// without owner or city, l4 deleted; org2: one lead.
struct Service {
  Service() {
    REQUIRE_OK(Credentials::Parse(R"([{"org_id": "org1", "api_key": "key-org1"},
                                      {"org_id": "org2", "api_key": "key-org2"}])",
                                  &credentials));
    const std::string t = "2023-06-01T00:00:00Z";
    REQUIRE(
        db.Ingest({StatusUpserted("sa", "Potential", 1, t), StatusUpserted("sb", "Qualified", 2, t),
                   StatusUpserted("sc", "Won", 3, t), StatusUpserted("sa", "Potential", 1, t, "org2"),
                   Ev({{"lead_id", "l1"},
                       {"status_id", "sa"},
                       {"owner_id", "u1"},
                       {"fields", {{"City", "Pune"}, {"Score", 10}}}},
                      "lead.created", "2024-01-02T10:00:00.123Z"),
                   Ev({{"lead_id", "l2"}, {"status_id", "sb"}, {"owner_id", "u2"}, {"fields", {{"City", "Mumbai"}}}},
                      "lead.created", "2024-01-03T09:00:00Z"),
                   Created("l3", "sa", "2024-01-03T11:00:00Z"), Created("l4", "sa", "2024-01-04T00:00:00Z"),
                   Deleted("l4", "2024-01-04T01:00:00Z"), Changed("l1", "sb", "2024-01-05T00:00:00Z"),
                   Changed("l2", "sc", "2024-01-10T00:00:00Z"),
                   Ev({{"lead_id", "l3"}, {"fields", {{"Score", 3}}}}, "lead.updated", "2024-01-20T00:00:00Z"),
                   Created("x1", "sa", "2024-01-02T00:00:00Z", "org2")}) == 0);
    ctx.store = db.store();
    ctx.credentials = &credentials;
    ctx.now_ms = [] { return testing::Ms("2024-03-01T00:00:00Z"); };
  }

  Response Send(http::verb verb, const std::string& target, const std::optional<std::string>& authorization) {
    Request req{verb, target, 11};
    if (authorization) req.set(http::field::authorization, *authorization);
    std::string route;
    return HandleRequest(req, ctx, &route);
  }
  Response Get(const std::string& target, const std::optional<std::string>& authorization = kBearer1) {
    return Send(http::verb::get, target, authorization);
  }
  // The body of a 200 lead search.
  json Search(const std::string& params, const std::string& authorization = kBearer1) {
    Response res = Get("/api/v1/lead/?" + params, authorization);
    REQUIRE_MESSAGE(res.result() == http::status::ok, res.body());
    return json::parse(res.body());
  }

  testing::TestDb db;
  Credentials credentials;
  ServiceContext ctx;
};

// "total has_more: id id ..." of a lead search answer.
std::string Ids(const json& j) {
  std::string out = j["total_results"].dump() + " " + j["has_more"].dump() + ":";
  for (const auto& item : j["data"]) out += " " + item["id"].get<std::string>();
  return out;
}

}  // namespace

TEST_CASE("lead search needs the org's Close API key, Basic or Bearer, and only GET") {
  Service s;
  CHECK(s.Get("/api/v1/lead/", std::nullopt).result() == http::status::unauthorized);
  CHECK(s.Get("/api/v1/lead/", std::nullopt).body() == R"({"error":"Unauthorized"})");
  CHECK(s.Get("/api/v1/lead/", "Bearer wrong").result() == http::status::unauthorized);
  CHECK(s.Get("/api/v1/lead/", "Basic a2V5LW9yZzE6").result() == http::status::ok);  // key-org1:
  CHECK(s.Get("/api/v1/lead", kBearer1).result() == http::status::ok);
  CHECK(s.Send(http::verb::post, "/api/v1/lead/", kBearer1).result() == http::status::method_not_allowed);
  CHECK(s.Send(http::verb::post, "/api/v1/lead/", std::nullopt).result() == http::status::unauthorized);
}

TEST_CASE("lead search answers Close's lead items in creation order, live leads of the key's org only") {
  Service s;
  const json j = s.Search("");
  CHECK(Ids(j) == "3 false: l1 l2 l3");
  CHECK(j["data"][0] == json::parse(R"({"id": "l1", "status_id": "sb", "status_label": "Qualified",
      "owner_id": "u1", "date_created": "2024-01-02T10:00:00.123Z", "date_updated": "2024-01-05T00:00:00.000Z",
      "fields": {"City": "Pune", "Score": 10}})"));
  CHECK(j["data"][2]["owner_id"].is_null());
  CHECK(j["data"][2]["date_updated"] == "2024-01-20T00:00:00.000Z");
  CHECK(Ids(s.Search("", kBearer2)) == "1 false: x1");
}

TEST_CASE("_skip and _limit page the leads, with has_more and total_results") {
  Service s;
  struct Case {
    std::string params, expected;
  };
  const std::vector<Case> cases = {
      {"_limit=2", "3 true: l1 l2"},       {"_skip=2&_limit=2", "3 false: l3"},
      {"_skip=1&_limit=1", "3 true: l2"},  {"_skip=3", "3 false:"},
      {"_skip=50&_limit=200", "3 false:"}, {"_limit=0", "3 true:"},
      {"_limit=200", "3 false: l1 l2 l3"}, {"_skip=0&_limit=3", "3 false: l1 l2 l3"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.params);
    CHECK(Ids(s.Search(c.params)) == c.expected);
  }
}

TEST_CASE("_fields keeps only the named keys of each lead") {
  Service s;
  const json j = s.Search("_fields=id,status_label,nonexistent&_limit=1");
  CHECK(j["data"][0] == json::parse(R"({"id": "l1", "status_label": "Qualified"})"));
  CHECK(s.Search("_fields=&_limit=1")["data"][0].size() == 7);
}

TEST_CASE("a bad _limit or _skip is a 400 naming the parameter") {
  Service s;
  struct Case {
    std::string params, field;
  };
  const std::vector<Case> cases = {
      {"_limit=201", "_limit"}, {"_limit=-1", "_limit"},
      {"_limit=abc", "_limit"}, {"_limit=", "_limit"},
      {"_limit=1.5", "_limit"}, {"_skip=-1", "_skip"},
      {"_skip=x", "_skip"},     {"_skip=99999999999999999999", "_skip"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.params);
    Response res = s.Get("/api/v1/lead/?" + c.params);
    CHECK(res.result() == http::status::bad_request);
    const json j = json::parse(res.body());
    CHECK(j["errors"] == json::array());
    CHECK(j["field-errors"].contains(c.field));
  }
}

TEST_CASE("a query narrows the leads; an unparsable query or an unknown view is a 400 on query") {
  Service s;
  struct Case {
    std::string query, expected;
  };
  const std::vector<Case> cases = {
      {"lead_status:\"qualified\"", "1 false: l1"},
      {"\"City\":\"pune\" or \"City\":\"Mumbai\"", "2 false: l1 l2"},
      {"not owner_id:\"u1\"", "2 false: l2 l3"},
      {"original_lead_status:\"Potential\" created >= \"2024-01-03\"", "1 false: l3"},
      {"lead_status_change(new_status:\"Won\")", "1 false: l2"},
      {"lead_id:\"l4\"", "0 false:"},
      {"   ", "3 false: l1 l2 l3"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.query);
    CHECK(Ids(s.Search("query=" + testing::PercentEncode(c.query))) == c.expected);
  }

  Response bad = s.Get("/api/v1/lead/?query=" + testing::PercentEncode("lead_status:\"A\" and (created >"));
  CHECK(bad.result() == http::status::bad_request);
  const std::string message = json::parse(bad.body())["field-errors"]["query"].get<std::string>();
  CHECK(message.rfind("position ", 0) == 0);
  CHECK(message.find("expected") != std::string::npos);

  Response unknown = s.Get("/api/v1/lead/?query=" + testing::PercentEncode("in:\"save_nope\""));
  CHECK(unknown.result() == http::status::bad_request);
  CHECK(json::parse(unknown.body())["field-errors"]["query"].get<std::string>().find("save_nope") != std::string::npos);

  Response not_utf8 = s.Get("/api/v1/lead/?query=%22City%22%3A%22%FF%22");
  CHECK(not_utf8.result() == http::status::bad_request);
  CHECK(json::parse(not_utf8.body())["field-errors"].contains("query"));
}

TEST_CASE("every _queries value of a filtered report, given back to lead search, selects the leads its cell counts") {
  Service s;
  for (const std::string& params : {std::string("query=") + testing::PercentEncode("\"City\":\"Pune\" or \"City\":\"Mumbai\"") +
                                        "&date_start=2024-01-03&date_end=2024-01-06",
                                    std::string("query=") + testing::PercentEncode("not lead_id:\"l2\""),
                                    std::string("date_start=2024-01-02T10:00:00.123Z&date_end=2024-01-10")}) {
    CAPTURE(params);
    Response res = s.Get("/api/v1/report/statuses/lead/org1/?" + params);
    REQUIRE_MESSAGE(res.result() == http::status::ok, res.body());
    const json report = json::parse(res.body());
    int checked = 0;
    for (const auto& row : report["status_overview"]) {
      for (const auto& [key, query] : row["_queries"].items()) {
        CAPTURE(query);
        CHECK(s.Search("_limit=0&query=" + testing::PercentEncode(query.get<std::string>()))["total_results"] == row[key]);
        ++checked;
      }
    }
    for (const char* list : {"status_transitions", "status_transitions_summary"}) {
      if (!report.contains(list)) continue;
      for (const auto& t : report[list]) {
        CAPTURE(t["_query"]);
        CHECK(s.Search("_limit=0&query=" + testing::PercentEncode(t["_query"].get<std::string>()))["total_results"] == t["count"]);
        ++checked;
      }
    }
    CHECK(checked > 10);
  }
}

}  // namespace leadflow::api
