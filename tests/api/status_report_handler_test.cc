#include "api/status_report_handler.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/credentials.h"
#include "api/report_stream.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::api {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;
using testing::Changed;
using testing::Created;
using testing::StatusUpserted;

using testing::Base64;

const std::string kReport = "/api/v1/report/statuses/lead/";
const std::string kBasic1 = "Basic " + Base64("key-org1:");

// Two orgs in a real store; org1 has two leads, org2 only a status.
struct Service {
  Service() {
    REQUIRE_OK(Credentials::Parse(R"([{"org_id": "org1", "api_key": "key-org1"},
                                      {"org_id": "org2", "api_key": "key-org2"}])",
                                  &credentials));
    const std::string t = "2023-06-01T00:00:00Z";
    REQUIRE(db.Ingest({StatusUpserted("sa", "Potential", 1, t), StatusUpserted("sb", "Qualified", 2, t),
                       StatusUpserted("sx", "Other", 1, t, "org2"), Created("l1", "sa", "2023-12-01T00:00:00Z"),
                       Changed("l1", "sb", "2024-01-10T00:00:00Z"), Created("l2", "sa", "2024-01-05T12:00:00Z")}) ==
            0);
    ctx.store = db.store();
    ctx.credentials = &credentials;
    ctx.now_ms = [] { return testing::Ms("2024-03-01T00:00:00.500Z"); };
  }

  // An empty tz sends no x-tz-offset header.
  Response Send(http::verb verb, const std::string& target, const std::optional<std::string>& authorization,
                const std::string& tz = "") {
    Request req{verb, target, 11};
    if (authorization) req.set(http::field::authorization, *authorization);
    if (!tz.empty()) req.set("x-tz-offset", tz);
    std::string route;
    return HandleRequest(req, ctx, &route);
  }
  Response Get(const std::string& target, const std::optional<std::string>& authorization = kBasic1,
               const std::string& tz = "") {
    return Send(http::verb::get, target, authorization, tz);
  }

  testing::TestDb db;
  Credentials credentials;
  ServiceContext ctx;
};

// "Potential ended=1 entered=2, Qualified ..." from a rendered report.
std::string Rows(const json& report, const std::vector<std::string>& fields) {
  std::string out;
  for (const auto& row : report["status_overview"]) {
    if (!out.empty()) out += ", ";
    out += row["status_label"].get<std::string>();
    for (const auto& f : fields) out += " " + f + "=" + row[f].dump();
  }
  return out;
}

}  // namespace

TEST_CASE("a report request without valid credentials is a 401") {
  Service s;
  for (const std::optional<std::string>& auth : std::vector<std::optional<std::string>>{
           std::nullopt, "", "Bearer wrong", "Basic " + Base64("wrong:"), "Basic " + Base64("key-org:"),
           "Basic " + Base64("key-org1x:"), "Bearer KEY-ORG1", "Token key-org1", "key-org1",
           // The right key with a password, and malformed base64 around the right key.
           "Basic " + Base64("key-org1:password"), "Basic " + Base64("key-org1: "), "Basic " + Base64("key-org1::"),
           "Basic " + Base64("key-org1:") + "!", "Basic " + Base64("key-org1:") + "="}) {
    CAPTURE(auth.value_or("(none)"));
    Response res = s.Get(kReport + "org1/", auth);
    CHECK(res.result() == http::status::unauthorized);
    CHECK(json::parse(res.body()) == json{{"error", "Unauthorized"}});
  }
}

TEST_CASE("the key as Basic user name with an empty password, or without a colon, or as Bearer, reads the report") {
  Service s;
  for (const std::string& auth : {"Basic " + Base64("key-org1:"), "Basic " + Base64("key-org1"),
                                  std::string("Bearer key-org1")}) {
    CAPTURE(auth);
    CHECK(s.Get(kReport + "org1/", auth).result() == http::status::ok);
  }
}

TEST_CASE("credentials are checked before the org and the parameters") {
  Service s;
  // Nothing about the org or the request is revealed without a valid key.
  CHECK(s.Get(kReport + "org9/", std::nullopt).result() == http::status::unauthorized);
  CHECK(s.Get(kReport + "org1/?date_start=bad", std::nullopt).result() == http::status::unauthorized);
  // A valid key for another org: 404 before the bad date is looked at.
  CHECK(s.Get(kReport + "org2/?date_start=bad").result() == http::status::not_found);
}

TEST_CASE("a key may read only its own org: any other org is a 404") {
  Service s;
  for (const std::string org : {"org2", "org9", "ORG1", "org1x"}) {
    CAPTURE(org);
    Response res = s.Get(kReport + org + "/");
    CHECK(res.result() == http::status::not_found);
    CHECK(json::parse(res.body()) == json{{"error", "Not found"}});
  }
  CHECK(s.Get(kReport + "org1/", "Bearer key-org2").result() == http::status::not_found);
}

TEST_CASE("the right key, Basic or Bearer, gets the overall report of its org") {
  Service s;
  for (const std::string& auth : {kBasic1, std::string("Bearer key-org1"), "basic " + Base64("key-org1:")}) {
    CAPTURE(auth);
    Response res = s.Get(kReport + "org1/", auth);
    REQUIRE(res.result() == http::status::ok);
    CHECK(std::string(res[http::field::content_type]) == "application/json");
    const json j = json::parse(res.body());
    CHECK(Rows(j, {"ended", "entered", "left"}) ==
          "Potential ended=1 entered=2 left=1, Qualified ended=1 entered=1 left=0");
    CHECK(j["status_transitions"].size() == 2);
    CHECK_FALSE(j.contains("status_transitions_summary"));
  }
  // org2's key sees org2 only.
  const json other = json::parse(s.Get(kReport + "org2/", "Bearer key-org2").body());
  CHECK(Rows(other, {"ended"}) == "Other ended=0");
}

TEST_CASE("a period report reads its dates at the x-tz-offset") {
  Service s;
  Response res = s.Get(kReport + "org1/?date_start=2024-01-01&date_end=2024-02-01", kBasic1, "-8");
  REQUIRE(res.result() == http::status::ok);
  const json j = json::parse(res.body());
  CHECK(Rows(j, {"started", "ended", "gained", "lost", "entered", "left"}) ==
        "Potential started=1 ended=1 gained=1 lost=1 entered=1 left=1, "
        "Qualified started=0 ended=1 gained=1 lost=0 entered=1 left=0");
  CHECK(j["status_overview"][0]["_queries"]["started"] ==
        R"(lead_status(status:"Potential" on:"2024-01-01 07:59:59"))");
  CHECK(j["status_overview"][0]["_queries"]["ended"] == R"(lead_status(status:"Potential" on:"2024-02-01 07:59:59"))");
  CHECK(j["status_transitions_summary"].size() == 2);
}

TEST_CASE("a report with only date_start ends at the request time") {
  Service s;
  Response res = s.Get(kReport + "org1/?date_start=2024-01-06");
  REQUIRE(res.result() == http::status::ok);
  const json j = json::parse(res.body());
  // now is 2024-03-01T00:00:00.500Z: the last span before it is that millisecond .499.
  CHECK(j["status_overview"][0]["_queries"]["ended"] ==
        R"(lead_status(status:"Potential" on:"2024-03-01 00:00:00.499"))");
  CHECK(Rows(j, {"started", "ended"}) == "Potential started=2 ended=1, Qualified started=0 ended=1");
}

TEST_CASE("bad report parameters are a 400 in Close's error shape") {
  Service s;
  struct Case {
    std::string target;
    std::string tz;  // empty: no header
    std::string field;  // empty: a general error
  };
  const std::vector<Case> cases = {
      {"org1/?date_start=2024-13-01", "", "date_start"},
      {"org1/?date_start=2024-01-01&date_end=soon", "", "date_end"},
      {"org1/?date_end=2024-01-01", "", "date_start"},
      {"org1/?date_start=2024-02-01&date_end=2024-01-01", "", ""},
      {"org1/?date_start=2024-01-01&date_end=2024-02-01", "abc", ""},
      {"org1/?query=lead_status%3A%22New%22&smart_view_id=save_x", "", ""},
      {"org1/?query=(((", "", ""},
      {"org1/?query=%FF%FE", "", ""},  // not UTF-8: never echoed into a JSON body
      {"org1/?smart_view_id=%FF", "", ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.target);
    Response res = s.Get(kReport + c.target, kBasic1, c.tz);
    CHECK(res.result() == http::status::bad_request);
    const json j = json::parse(res.body());
    CHECK(j.contains("errors"));
    CHECK(j.contains("field-errors"));
    CHECK((j["errors"].size() + j["field-errors"].size()) > 0);
    if (!c.field.empty()) CHECK(j["field-errors"].contains(c.field));
  }
}

TEST_CASE("POST with x-http-method-override GET reads the parameters from _params") {
  Service s;
  Request req{http::verb::post, kReport + "org1/", 11};
  req.set(http::field::authorization, kBasic1);
  req.set("x-http-method-override", "GET");
  req.body() = R"({"_params": {"date_start": "2024-01-01", "date_end": "2024-02-01"}})";
  std::string route;
  Response res = HandleRequest(req, s.ctx, &route);
  REQUIRE(res.result() == http::status::ok);
  CHECK(json::parse(res.body()).contains("status_transitions_summary"));

  req.body() = "{not json";
  CHECK(HandleRequest(req, s.ctx, &route).result() == http::status::bad_request);

  Request plain{http::verb::post, kReport + "org1/", 11};
  plain.set(http::field::authorization, kBasic1);
  CHECK(HandleRequest(plain, s.ctx, &route).result() == http::status::method_not_allowed);

  // The override names the method exactly (any case); a value that only begins with GET is not it.
  for (const char* other : {"GETX", "GET, DELETE", "DELETE", ""}) {
    CAPTURE(other);
    Request wrong{http::verb::post, kReport + "org1/", 11};
    wrong.set(http::field::authorization, kBasic1);
    wrong.set("x-http-method-override", other);
    wrong.body() = R"({"_params": {"date_start": "2024-01-01"}})";
    CHECK(HandleRequest(wrong, s.ctx, &route).result() == http::status::method_not_allowed);
  }
  Request lower{http::verb::post, kReport + "org1/", 11};
  lower.set(http::field::authorization, kBasic1);
  lower.set("x-http-method-override", "get");
  lower.body() = R"({"_params": {"date_start": "2024-01-01"}})";
  CHECK(HandleRequest(lower, s.ctx, &route).result() == http::status::ok);
  CHECK(s.Send(http::verb::delete_, kReport + "org1/", kBasic1).result() == http::status::method_not_allowed);
}

TEST_CASE("a _params body nested past the limit is a 400 and cannot exhaust the stack") {
  Service s;
  Request req{http::verb::post, kReport + "org1/", 11};
  req.set(http::field::authorization, kBasic1);
  req.set("x-http-method-override", "GET");
  // 400,000 levels in under 1 MiB: dumped recursively, it overflowed the stack.
  req.body() = R"({"_params": {"query": )" + std::string(400000, '[') + std::string(400000, ']') + "}}";
  std::string route;
  Response res = HandleRequest(req, s.ctx, &route);
  CHECK(res.result() == http::status::bad_request);
  CHECK(res.body().find("nests deeper than 64 levels") != std::string::npos);
  // At the limit the body is read (and the query, not a string, is refused as a query).
  std::string ok_depth = R"({"_params": {"date_start": "2024-01-01", "x": )" + std::string(61, '[') + std::string(61, ']') + "}}";
  req.body() = ok_depth;
  CHECK(HandleRequest(req, s.ctx, &route).result() == http::status::ok);
}

TEST_CASE("with a change feed and a report cache, a report is computed once per version of its org's state") {
  Service svc;
  views::ChangeFeed feed;
  ReportCache cache(1 << 20);
  svc.ctx.change_feed = &feed;
  svc.ctx.report_cache = &cache;
  svc.db.set_change_feed(&feed);
  const std::string jan = kReport + "org1/?date_start=2024-01-01&date_end=2024-02-01";
  Response first = svc.Get(jan);
  REQUIRE(first.result() == http::status::ok);
  CHECK(cache.stats().misses == 1);
  Response again = svc.Get(jan);
  CHECK(again.body() == first.body());
  CHECK(cache.stats().hits == 1);
  CHECK(cache.stats().misses == 1);
  // Another period, another org: other entries.
  CHECK(svc.Get(kReport + "org1/").result() == http::status::ok);
  CHECK(cache.stats().misses == 2);

  // An event of org2 changes nothing of org1's: still a hit.
  REQUIRE(svc.db.Ingest({Created("x1", "sx", "2024-01-06T00:00:00Z", "org2")}) == 0);
  CHECK(svc.Get(jan).body() == first.body());
  CHECK(cache.stats().hits == 2);
  // An event of org1 in January: computed again, and it shows.
  REQUIRE(svc.db.Ingest({Created("l3", "sa", "2024-01-07T00:00:00Z")}) == 0);
  Response after = svc.Get(jan);
  CHECK(cache.stats().misses == 3);
  CHECK(after.body() != first.body());
  ServiceContext uncached = svc.ctx;
  uncached.report_cache = nullptr;
  std::string route;
  Request req{http::verb::get, jan, 11};
  req.set(http::field::authorization, kBasic1);
  CHECK(HandleRequest(req, uncached, &route).body() == after.body());  // the cached body is the computed one

  // Errors are not kept, and reports that read Smart Views are not cached.
  CHECK(svc.Get(kReport + "org1/?query=lead_status%3A%28").result() == http::status::bad_request);
  CHECK(svc.Get(kReport + "org1/?query=in%3A%22save_nope%22").result() == http::status::bad_request);
  CHECK(svc.Get(kReport + "org1/?query=lead_status%3A%22Potential%22").result() == http::status::ok);
  CHECK(cache.stats().entries == 4);  // jan (old and new version), overall, the status query
}

}  // namespace leadflow::api

namespace leadflow::api {

std::string Str(const ReportStream::Text& text) { return text ? *text : std::string(); }

TEST_CASE("a report stream sends the report, then only changes of its org that change it") {
  Service svc;
  views::ChangeFeed feed;
  ReportCache cache(1 << 20);
  ReportStreams stats;
  svc.ctx.change_feed = &feed;
  svc.ctx.report_cache = &cache;
  svc.ctx.streams = &stats;
  svc.db.set_change_feed(&feed);
  const std::string jan = "?date_start=2024-01-01&date_end=2024-02-01";
  Request req{http::verb::get, kReport + "org1/stream" + jan, 11};
  req.set(http::field::authorization, kBasic1);
  std::string route;
  std::unique_ptr<ReportStream> stream;
  Response header = HandleRequest(req, svc.ctx, &route, &stream);
  REQUIRE(stream);
  CHECK(route == kReport + "{org_id}/stream");
  CHECK(header.result() == http::status::ok);
  CHECK(header[http::field::content_type] == "text/event-stream; charset=utf-8");
  CHECK(header.body().empty());
  const std::string report = svc.Get(kReport + "org1/" + jan).body();
  const std::string id = ReportStream::BootId() + "-0";  // no change noted yet: version 0
  CHECK(Str(stream->Start()) == "retry: 2000\n\nid: " + id + "\nevent: report\ndata: " + report + "\n\n");
  CHECK(report.find('\n') == std::string::npos);  // one data line
  CHECK_FALSE(stream->Due());

  // Another org's change: not due.
  REQUIRE(svc.db.Ingest({Created("x1", "sx", "2024-01-06T00:00:00Z", "org2")}) == 0);
  CHECK_FALSE(stream->Due());
  // org1's change outside the period: due, and nothing to send.
  REQUIRE(svc.db.Ingest({Created("l4", "sa", "2024-03-07T00:00:00Z")}) == 0);
  CHECK(stream->Due());
  bool end = true;
  std::optional<std::chrono::steady_clock::time_point> retry_at;
  auto next = [&](ReportStream& st, std::chrono::steady_clock::duration interval = {}) {
    return Str(st.Next(std::chrono::steady_clock::now(), interval, &retry_at, &end));
  };
  CHECK(next(*stream).empty());
  CHECK_FALSE(end);
  CHECK_FALSE(stream->Due());
  CHECK(stats.unchanged == 1);
  // org1's change in the period: the new report, under the org's new version.
  REQUIRE(svc.db.Ingest({Created("l3", "sa", "2024-01-07T00:00:00Z")}) == 0);
  CHECK(stream->Due());
  const std::string event = next(*stream);
  const std::string now = svc.Get(kReport + "org1/" + jan).body();
  CHECK(now != report);
  CHECK(event == "id: " + ReportStream::BootId() + "-" + std::to_string(feed.Newest("org1")) +
                     "\nevent: report\ndata: " + now + "\n\n");
  CHECK(stats.events == 2);

  CHECK(stats.computed == 3);  // the first report, the unchanged one, the new one

  // A second stream of the same report takes the first one's computations:
  // opened at the current version, and at the next change.
  std::unique_ptr<ReportStream> second;
  HandleRequest(req, svc.ctx, &route, &second);
  REQUIRE(second);
  CHECK(Str(second->Start()).find(now) != std::string::npos);
  CHECK(stats.computed == 3);
  REQUIRE(svc.db.Ingest({Created("l5", "sb", "2024-01-08T00:00:00Z")}) == 0);
  const std::string changed = next(*stream);
  CHECK(changed.find("event: report") != std::string::npos);
  CHECK(next(*second) == changed);
  CHECK(stats.computed == 4);
  // Another change within the interval: computed only once it has passed.
  REQUIRE(svc.db.Ingest({Created("l6", "sb", "2024-01-09T00:00:00Z")}) == 0);
  CHECK(second->Due());
  CHECK(next(*second, std::chrono::hours(1)).empty());
  REQUIRE(retry_at);
  CHECK(*retry_at > std::chrono::steady_clock::now() + std::chrono::minutes(59));
  CHECK(stats.computed == 4);
  CHECK(next(*second).find("event: report") != std::string::npos);
  CHECK(stats.computed == 5);
  CHECK(next(*stream).find("event: report") != std::string::npos);  // taken, not computed
  CHECK(stats.computed == 5);
  const std::string latest = svc.Get(kReport + "org1/" + jan).body();

  // Resumed at the current id: nothing first; at an old one: the report.
  Request resume = req;
  resume.set("Last-Event-ID", ReportStream::BootId() + "-" + std::to_string(feed.Newest("org1")));
  std::unique_ptr<ReportStream> resumed;
  HandleRequest(resume, svc.ctx, &route, &resumed);
  REQUIRE(resumed);
  CHECK(Str(resumed->Start()) == "retry: 2000\n\n");
  resume.set("Last-Event-ID", id);
  HandleRequest(resume, svc.ctx, &route, &resumed);
  REQUIRE(resumed);
  CHECK(Str(resumed->Start()).find(latest) != std::string::npos);

  // Refusals are the report's.
  Request other = req;
  other.set(http::field::authorization, "Basic " + Base64("key-org2:"));
  std::unique_ptr<ReportStream> none;
  CHECK(HandleRequest(other, svc.ctx, &route, &none).result() == http::status::not_found);
  CHECK_FALSE(none);
  Request post = req;
  post.method(http::verb::post);
  CHECK(HandleRequest(post, svc.ctx, &route, &none).result() == http::status::method_not_allowed);
  Response whole = HandleRequest(req, svc.ctx, &route);  // a caller that cannot stream: the start, whole
  CHECK(whole.result() == http::status::ok);
  CHECK(whole.body() == "retry: 2000\n\nid: " + ReportStream::BootId() + "-" + std::to_string(feed.Newest("org1")) +
                            "\nevent: report\ndata: " + latest + "\n\n");
}

TEST_CASE("a waiting report stream is woken once by its own org's next change, never by another org's") {
  views::ChangeFeed feed;
  ReportStreams streams;
  CHECK_FALSE(streams.following());  // without a feed, sessions poll
  streams.Follow(&feed);
  CHECK(streams.following());
  std::vector<uint64_t> woken;
  auto wake = [&](uint64_t ticket) { woken.push_back(ticket); };
  const std::vector<std::string> org1{"org1"}, org2{"org2"}, other{"org3"};

  feed.Note(org1, 5);
  CHECK(streams.Await("org1", 0, wake) == 0);  // it moved past 0 already: act now, nothing kept
  CHECK(streams.waiting() == 0);
  const uint64_t a = streams.Await("org1", 5, wake);
  const uint64_t b = streams.Await("org1", 5, wake);
  const uint64_t c = streams.Await("org2", 0, wake);
  REQUIRE(a != 0);
  REQUIRE(b != 0);
  REQUIRE(c != 0);
  CHECK(a != b);
  CHECK(streams.waiting() == 3);

  feed.Note(other, 6);
  CHECK(woken.empty());
  streams.Cancel("org1", b);  // b's stream ended
  CHECK(streams.waiting() == 2);
  feed.Note(org1, 7);
  CHECK(woken == std::vector<uint64_t>{a});
  CHECK(streams.waiting() == 1);
  feed.Note(org1, 8);  // a was woken once; it waits again only when it says so
  CHECK(woken == std::vector<uint64_t>{a});
  feed.Note(org2, 9);
  CHECK(woken == std::vector<uint64_t>{a, c});
  CHECK(streams.waiting() == 0);
  streams.Cancel("org2", c);  // a ticket already woken: nothing to do
  CHECK(streams.waiting() == 0);
}

TEST_CASE("a stream's path is the report's with /stream after the org") {
  CHECK(IsReportStreamPath("/api/v1/report/statuses/lead/org1/stream"));
  CHECK(IsReportStreamPath("/api/v1/report/statuses/lead/org1/stream/"));
  CHECK_FALSE(IsReportStreamPath("/api/v1/report/statuses/lead/org1/"));
  CHECK_FALSE(IsReportStreamPath("/api/v1/report/statuses/lead/stream/"));
  CHECK_FALSE(IsReportStreamPath("/api/v1/report/statuses/lead//stream"));
  CHECK_FALSE(IsReportStreamPath("/api/v1/report/statuses/lead/a/b/stream"));
  CHECK_FALSE(IsReportStreamPath("/api/v1/report/statuses/lead/org1/streams"));
}

}  // namespace leadflow::api
