#include "api/smart_view_handler.h"

#include <doctest/doctest.h>

#include <optional>
#include <regex>
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
using testing::StatusUpserted;

const std::string kViews = "/api/v1/saved_search/";
const std::string kReport = "/api/v1/report/statuses/lead/org1/";
const std::string kBearer1 = "Bearer key-org1";
const std::string kBearer2 = "Bearer key-org2";

// org1: l1 and l2 Potential -> Qualified in January 2024, l3 stays Potential.
struct Service {
  Service() {
    REQUIRE_OK(Credentials::Parse(R"([{"org_id": "org1", "api_key": "key-org1"},
                                      {"org_id": "org2", "api_key": "key-org2"}])",
                                  &credentials));
    const std::string t = "2023-06-01T00:00:00Z";
    REQUIRE(db.Ingest({StatusUpserted("sa", "Potential", 1, t), StatusUpserted("sb", "Qualified", 2, t),
                       Created("l1", "sa", "2023-12-01T00:00:00Z"), Created("l2", "sa", "2023-12-02T00:00:00Z"),
                       Created("l3", "sa", "2023-12-03T00:00:00Z"), Changed("l1", "sb", "2024-01-10T00:00:00Z"),
                       Changed("l2", "sb", "2024-01-11T00:00:00Z")}) == 0);
    ctx.store = db.store();
    ctx.credentials = &credentials;
    ctx.now_ms = [this] { return now_ms; };
  }

  Response Send(http::verb verb, const std::string& target, const std::string& body = "",
                const std::optional<std::string>& authorization = kBearer1) {
    Request req{verb, target, 11};
    if (authorization) req.set(http::field::authorization, *authorization);
    req.body() = body;
    req.prepare_payload();
    std::string route;
    return HandleRequest(req, ctx, &route);
  }
  // POSTs a view; REQUIREs success and returns the answer.
  json Create(const std::string& name, const std::string& query, const std::string& authorization = kBearer1) {
    Response res = Send(http::verb::post, kViews, json{{"name", name}, {"query", query}}.dump(), authorization);
    REQUIRE_MESSAGE(res.result() == http::status::ok, res.body());
    return json::parse(res.body());
  }

  int64_t now_ms = testing::Ms("2024-03-01T12:00:00.250Z");
  testing::TestDb db;
  Credentials credentials;
  ServiceContext ctx;
};

// "Potential started=.. ended=.., Qualified ..." of a rendered report.
std::string Counts(const json& report) {
  std::string out;
  for (const auto& row : report["status_overview"]) {
    out += (out.empty() ? "" : ", ") + row["status_label"].get<std::string>() + " started=" + row["started"].dump() +
           " ended=" + row["ended"].dump();
  }
  return out;
}

}  // namespace

TEST_CASE("smart views need the Close API key") {
  Service s;
  for (const auto& target : {kViews, kViews + "save_x/"}) {
    Response res = s.Send(http::verb::get, target, "", std::nullopt);
    CHECK(res.result() == http::status::unauthorized);
    CHECK(res.body() == R"({"error":"Unauthorized"})");
    CHECK(s.Send(http::verb::post, target, "{}", "Bearer wrong").result() == http::status::unauthorized);
  }
  CHECK(s.Send(http::verb::get, kViews, "", "Basic a2V5LW9yZzE6").result() == http::status::ok);  // key-org1:
}

TEST_CASE("a smart view is created, read, listed, replaced and deleted over HTTP") {
  Service s;
  const json created = s.Create("Qualified", "lead_status:\"Qualified\"");
  const std::string id = created["id"];
  CHECK(std::regex_match(id, std::regex("save_[0-9a-f]{32}")));
  CHECK(created == json{{"id", id},
                        {"name", "Qualified"},
                        {"query", "lead_status:\"Qualified\""},
                        {"type", "lead"},
                        {"organization_id", "org1"},
                        {"date_created", "2024-03-01T12:00:00.250Z"},
                        {"date_updated", "2024-03-01T12:00:00.250Z"}});
  Response got = s.Send(http::verb::get, kViews + id + "/");
  REQUIRE(got.result() == http::status::ok);
  CHECK(json::parse(got.body()) == created);
  CHECK(s.Send(http::verb::get, kViews + id).result() == http::status::ok);  // no trailing slash

  s.now_ms += 1000;
  Response put = s.Send(http::verb::put, kViews + id + "/", R"({"name": "Renamed"})");
  REQUIRE(put.result() == http::status::ok);
  json replaced = json::parse(put.body());
  CHECK(replaced["name"] == "Renamed");
  CHECK(replaced["query"] == "lead_status:\"Qualified\"");
  CHECK(replaced["date_created"] == "2024-03-01T12:00:00.250Z");
  CHECK(replaced["date_updated"] == "2024-03-01T12:00:01.250Z");
  put = s.Send(http::verb::put, kViews + id + "/", R"({"name": "Both", "query": ""})");
  CHECK(json::parse(put.body())["query"] == "");

  const json listed = json::parse(s.Send(http::verb::get, kViews).body());
  CHECK(listed["has_more"] == false);
  REQUIRE(listed["data"].size() == 1);
  CHECK(listed["data"][0]["name"] == "Both");

  Response del = s.Send(http::verb::delete_, kViews + id + "/");
  CHECK(del.result() == http::status::ok);
  CHECK(del.body() == "{}");
  for (http::verb verb : {http::verb::get, http::verb::put, http::verb::delete_}) {
    Response gone = s.Send(verb, kViews + id + "/", R"({"name": "x"})");
    CHECK(gone.result() == http::status::not_found);
    CHECK(gone.body() == R"({"error":"Not found"})");
  }
  CHECK(json::parse(s.Send(http::verb::get, kViews).body())["data"] == json::array());
}

TEST_CASE("the list is in creation order and paged with _skip and _limit") {
  Service s;
  for (const char* name : {"one", "two", "three"}) {
    s.Create(name, "");
    s.now_ms += 1;
  }
  auto names = [&](const std::string& params) {
    Response res = s.Send(http::verb::get, kViews + "?" + params);
    REQUIRE_MESSAGE(res.result() == http::status::ok, res.body());
    const json j = json::parse(res.body());
    std::string out;
    for (const auto& v : j["data"]) out += v["name"].get<std::string>() + " ";
    return out + (j["has_more"].get<bool>() ? "+" : ".");
  };
  CHECK(names("") == "one two three .");
  CHECK(names("_limit=2") == "one two +");
  CHECK(names("_skip=2&_limit=2") == "three .");
  CHECK(names("_skip=5") == ".");
  for (const char* bad : {"_limit=201", "_skip=-1", "_limit=x"}) {
    CAPTURE(bad);
    CHECK(s.Send(http::verb::get, kViews + "?" + bad).result() == http::status::bad_request);
  }
}

TEST_CASE("another org's view is a 404 and is not listed") {
  Service s;
  const std::string id = s.Create("Mine", "")["id"];
  for (http::verb verb : {http::verb::get, http::verb::put, http::verb::delete_}) {
    Response res = s.Send(verb, kViews + id + "/", R"({"name": "Theirs now"})", kBearer2);
    CHECK(res.result() == http::status::not_found);
    CHECK(res.body() == R"({"error":"Not found"})");
  }
  CHECK(json::parse(s.Send(http::verb::get, kViews, "", kBearer2).body())["data"] == json::array());
  CHECK(json::parse(s.Send(http::verb::get, kViews + id + "/").body())["name"] == "Mine");
  Response report = s.Send(http::verb::get, "/api/v1/report/statuses/lead/org2/?smart_view_id=" + id, "", kBearer2);
  CHECK(report.result() == http::status::not_found);
}

TEST_CASE("a bad create or replace body is a 400 naming the field, and stores nothing") {
  Service s;
  const std::string id = s.Create("Kept", "lead_status:\"Potential\"")["id"];
  struct Case {
    std::string body, field;  // field empty: a general error
  };
  const std::vector<Case> creates = {
      {"not json", ""},
      {"[1]", ""},
      {R"({"query": ""})", "name"},
      {R"({"name": "n"})", "query"},
      {R"({"name": 5, "query": ""})", "name"},
      {R"({"name": "", "query": ""})", "name"},
      {R"({"name": "n", "query": "lead_status:"})", "query"},
      {R"({"name": "n", "query": "", "type": "contact"})", "type"},
  };
  for (const auto& c : creates) {
    CAPTURE(c.body);
    Response res = s.Send(http::verb::post, kViews, c.body);
    CHECK(res.result() == http::status::bad_request);
    const json j = json::parse(res.body());
    if (c.field.empty()) {
      CHECK(j["error"] == "The request contains invalid JSON.");
    } else {
      CHECK(j["field-errors"].contains(c.field));
    }
  }
  Response parse_error = s.Send(http::verb::put, kViews + id + "/", R"j({"query": "lead_status:\"A\" )"})j");
  CHECK(parse_error.result() == http::status::bad_request);
  CHECK(json::parse(parse_error.body())["field-errors"]["query"].get<std::string>().rfind("position 17: ", 0) == 0);
  CHECK(s.Send(http::verb::put, kViews + id + "/", "{}").result() == http::status::bad_request);
  CHECK(s.Send(http::verb::post, kViews + id + "/", "{}").result() == http::status::method_not_allowed);

  const json listed = json::parse(s.Send(http::verb::get, kViews).body());
  REQUIRE(listed["data"].size() == 1);
  CHECK(listed["data"][0]["query"] == "lead_status:\"Potential\"");
}

TEST_CASE("the report's smart_view_id and query narrow the counts and wrap every _queries value") {
  Service s;
  const std::string id = s.Create("First two", "lead_id:\"l1\" or lead_id:\"l2\"")["id"];
  const std::string period = "&date_start=2024-01-01&date_end=2024-02-01";

  Response all = s.Send(http::verb::get, kReport + "?" + period.substr(1));
  REQUIRE(all.result() == http::status::ok);
  CHECK(Counts(json::parse(all.body())) == "Potential started=3 ended=1, Qualified started=0 ended=2");

  Response by_view = s.Send(http::verb::get, kReport + "?smart_view_id=" + id + period);
  REQUIRE_MESSAGE(by_view.result() == http::status::ok, by_view.body());
  const json view_report = json::parse(by_view.body());
  CHECK(Counts(view_report) == "Potential started=2 ended=0, Qualified started=0 ended=2");
  CHECK(view_report["status_overview"][1]["_queries"]["ended"] ==
        "in:\"" + id + "\" and (lead_status(status:\"Qualified\" on:\"2024-01-31 23:59:59\"))");

  const std::string query = "not lead_id:\"l1\"";
  Response by_query = s.Send(http::verb::get, kReport + "?query=" + testing::PercentEncode(query) + period);
  REQUIRE_MESSAGE(by_query.result() == http::status::ok, by_query.body());
  const json query_report = json::parse(by_query.body());
  CHECK(Counts(query_report) == "Potential started=2 ended=1, Qualified started=0 ended=1");
  CHECK(query_report["status_overview"][0]["_queries"]["started"] ==
        "(not lead_id:\"l1\") and (lead_status(status:\"Potential\" on:\"2023-12-31 23:59:59\"))");
  for (const auto& t : query_report["status_transitions"]) {
    CHECK(t["_query"].get<std::string>().rfind("(not lead_id:\"l1\") and (", 0) == 0);
  }

  // A query naming the view narrows the same way.
  Response in_view = s.Send(http::verb::get, kReport + "?query=" + testing::PercentEncode("in:\"" + id + "\"") + period);
  REQUIRE(in_view.result() == http::status::ok);
  CHECK(Counts(json::parse(in_view.body())) == Counts(view_report));
}

TEST_CASE("report filters that cannot be evaluated: a deleted or unknown view is a 404, a bad query a 400") {
  Service s;
  const std::string id = s.Create("Soon gone", "lead_status:\"Qualified\"")["id"];
  REQUIRE(s.Send(http::verb::get, kReport + "?smart_view_id=" + id).result() == http::status::ok);
  REQUIRE(s.Send(http::verb::delete_, kViews + id + "/").result() == http::status::ok);

  Response deleted = s.Send(http::verb::get, kReport + "?smart_view_id=" + id);
  CHECK(deleted.result() == http::status::not_found);
  CHECK(deleted.body() == R"({"error":"Not found"})");
  CHECK(s.Send(http::verb::get, kReport + "?smart_view_id=save_unknown").result() == http::status::not_found);

  Response in_deleted = s.Send(http::verb::get, kReport + "?query=" + testing::PercentEncode("in:\"" + id + "\""));
  CHECK(in_deleted.result() == http::status::bad_request);
  CHECK(json::parse(in_deleted.body())["field-errors"]["query"].get<std::string>().find(id) != std::string::npos);

  // A view whose query names a view that is gone: 400 on smart_view_id.
  const std::string outer = s.Create("Outer", "in:\"" + id + "\"")["id"];
  Response nested = s.Send(http::verb::get, kReport + "?smart_view_id=" + outer);
  CHECK(nested.result() == http::status::bad_request);
  CHECK(json::parse(nested.body())["field-errors"].contains("smart_view_id"));

  Response bad = s.Send(http::verb::get, kReport + "?query=" + testing::PercentEncode("lead_status:\"A\" or"));
  CHECK(bad.result() == http::status::bad_request);
  const std::string message = json::parse(bad.body())["field-errors"]["query"].get<std::string>();
  CHECK(message.rfind("position 19: ", 0) == 0);

  Response not_utf8 = s.Send(http::verb::get, kReport + "?query=%22a%22%3A%22%C3%28%22");
  CHECK(not_utf8.result() == http::status::bad_request);
  CHECK(json::parse(not_utf8.body())["field-errors"].contains("query"));
}

TEST_CASE("a blank report query counts every lead and renders the unfiltered queries") {
  Service s;
  Response res = s.Send(http::verb::get, kReport + "?query=%20%20&date_start=2024-01-01&date_end=2024-02-01");
  REQUIRE(res.result() == http::status::ok);
  const json j = json::parse(res.body());
  CHECK(Counts(j) == "Potential started=3 ended=1, Qualified started=0 ended=2");
  CHECK(j["status_overview"][0]["_queries"]["started"] ==
        "lead_status(status:\"Potential\" on:\"2023-12-31 23:59:59\")");
}

}  // namespace leadflow::api
