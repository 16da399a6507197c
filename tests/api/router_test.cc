#include "api/router.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/credentials.h"
#include "api/http_metrics.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::api {
namespace {

namespace http = boost::beast::http;

// "k=v;k=v" in the multimap's order.
std::string ParamsText(const Target& t) {
  std::string out;
  for (const auto& [k, v] : t.params) out += (out.empty() ? "" : ";") + k + "=" + v;
  return out;
}

// A service with a real (empty) store and one credential.
struct Service {
  Service() {
    REQUIRE_OK(Credentials::Parse(R"([{"org_id": "org1", "api_key": "key-org1"}])", &credentials));
    ctx.store = db.store();
    ctx.credentials = &credentials;
    ctx.http_metrics = &metrics;
  }

  Response Get(const std::string& target, std::string* route = nullptr) {
    Request req{http::verb::get, target, 11};
    std::string ignored;
    return HandleRequest(req, ctx, route ? route : &ignored);
  }

  testing::TestDb db;
  Credentials credentials;
  HttpMetrics metrics;
  ServiceContext ctx;
};

}  // namespace

TEST_CASE("ParseTarget splits and percent-decodes the path and the parameters") {
  struct Case {
    std::string target, path, params;
  };
  const std::vector<Case> cases = {
      {"/healthz", "/healthz", ""},
      {"/", "/", ""},
      {"/a%20b/c%2Fd", "/a b/c/d", ""},
      {"/a+b", "/a+b", ""},  // '+' is a space only in parameters
      {"/r?date_start=2024-01-01&date_end=2024-02-01", "/r", "date_end=2024-02-01;date_start=2024-01-01"},
      {"/r?query=lead_status%3A%22New+Lead%22", "/r", "query=lead_status:\"New Lead\""},
      {"/r?query=a%2Bb+c", "/r", "query=a+b c"},
      {"/r?a=1&a=2", "/r", "a=1;a=2"},
      {"/r?flag", "/r", "flag="},
      {"/r?&&a=1&", "/r", "a=1"},
      {"/r?a=b=c", "/r", "a=b=c"},
      {"/r?k%20ey=v", "/r", "k ey=v"},
      {"/r?a=%e2%82%ac", "/r", "a=\xE2\x82\xAC"},
      {"/r?", "/r", ""},
      {"/r?a=", "/r", "a="},
  };
  for (const auto& c : cases) {
    CAPTURE(c.target);
    Target t;
    t.params.emplace("stale", "x");
    REQUIRE(ParseTarget(c.target, &t));
    CHECK(t.path == c.path);
    CHECK(ParamsText(t) == c.params);
  }
}

TEST_CASE("ParseTarget rejects malformed percent escapes") {
  for (const std::string target : {"/a%zz", "/a%2", "/a%", "/a%%41", "/r?a=%G0", "/r?a=%", "/r?%=1", "/r?a=1&b=%4"}) {
    CAPTURE(target);
    Target t;
    CHECK_FALSE(ParseTarget(target, &t));
  }
}

TEST_CASE("healthz answers 200 while the process runs") {
  Service s;
  std::string route;
  Response res = s.Get("/healthz", &route);
  CHECK(res.result() == http::status::ok);
  CHECK(route == "/healthz");
}

TEST_CASE("readyz answers 503 until the service is ready, then 200") {
  Service s;
  IngestView view;
  view.ready = false;
  view.lag_messages = 1234;
  s.ctx.ingest = [&view] { return view; };
  std::string route;
  Response res = s.Get("/readyz", &route);
  CHECK(res.result() == http::status::service_unavailable);
  CHECK(route == "/readyz");
  CHECK(res.body() == "not ready: catching up, 1234 messages behind\nconsumer: running; lag 1234 messages\n");
  view.ready = true;
  view.lag_messages = 0;
  CHECK(s.Get("/readyz").result() == http::status::ok);
  s.ctx.ingest = nullptr;  // no readiness check: ready
  CHECK(s.Get("/readyz").result() == http::status::ok);
}

TEST_CASE("readyz says why the consumer is not running") {
  Service s;
  IngestView view;
  view.ready = false;
  view.lag_messages = 3;
  view.consumer = "dead_letter_blocked";
  view.reason = "dead-letter topic t.dlq did not take the letter for t[0]@2: Broker: Unknown topic or partition";
  s.ctx.ingest = [&view] { return view; };
  Response res = s.Get("/readyz");
  CHECK(res.result() == http::status::service_unavailable);
  CHECK(res.body().rfind("not ready: consumer dead_letter_blocked: dead-letter topic t.dlq did not take", 0) == 0);
  view.ready = true;  // once caught up, ready stays; the consumer's trouble is still told
  res = s.Get("/readyz");
  CHECK(res.result() == http::status::ok);
  CHECK(res.body().find("consumer: dead_letter_blocked (dead-letter topic") != std::string::npos);
}

TEST_CASE("metrics is Prometheus text with the request histogram and the other metrics") {
  Service s;
  s.ctx.append_metrics = [](std::string* out) { out->append("leadflow_events_applied_total 5\n"); };
  s.metrics.Observe("/healthz", 200, 0.003);
  s.metrics.Observe("/healthz", 200, 0.2);
  std::string route;
  Response res = s.Get("/metrics", &route);
  CHECK(res.result() == http::status::ok);
  CHECK(route == "/metrics");
  CHECK(std::string(res[http::field::content_type]).rfind("text/plain", 0) == 0);
  const std::string& body = res.body();
  CHECK(body.find("leadflow_events_applied_total 5\n") != std::string::npos);
  CHECK(body.find("# TYPE leadflow_http_request_duration_seconds histogram") != std::string::npos);
  CHECK(body.find(R"(leadflow_http_request_duration_seconds_bucket{route="/healthz",status="200",le="0.005"} 1)") !=
        std::string::npos);
  CHECK(body.find(R"(leadflow_http_request_duration_seconds_bucket{route="/healthz",status="200",le="0.25"} 2)") !=
        std::string::npos);
  CHECK(body.find(R"(leadflow_http_request_duration_seconds_bucket{route="/healthz",status="200",le="+Inf"} 2)") !=
        std::string::npos);
  CHECK(body.find(R"(leadflow_http_request_duration_seconds_count{route="/healthz",status="200"} 2)") !=
        std::string::npos);
}

TEST_CASE("an unknown path is a 404 with Close's error body") {
  Service s;
  for (const std::string target : {"/nope", "/lsqx", "/assetsx", "/api/v1/report/statuses/opportunity/org1/", "/healthz/x",
                                   "/api/v1/report/statuses/lead/"}) {
    CAPTURE(target);
    Response res = s.Get(target);
    CHECK(res.result() == http::status::not_found);
    CHECK(nlohmann::json::parse(res.body()) == nlohmann::json{{"error", "Not found"}});
    CHECK(std::string(res[http::field::content_type]) == "application/json");
  }
}

TEST_CASE("a target with a bad escape is a 400") {
  Service s;
  Response res = s.Get("/api/v1/report/statuses/lead/org1/?date_start=%zz");
  CHECK(res.result() == http::status::bad_request);
  auto body = nlohmann::json::parse(res.body());
  CHECK(body.contains("errors"));
  CHECK(body.contains("field-errors"));
}

TEST_CASE("the report route label does not carry the org id") {
  Service s;
  std::string a, b;
  s.Get("/api/v1/report/statuses/lead/org1/", &a);
  s.Get("/api/v1/report/statuses/lead/org2/", &b);
  CHECK(a == b);
  CHECK(a.find("org1") == std::string::npos);
  std::string other;
  s.Get("/x/org1", &other);
  CHECK(other.find("org1") == std::string::npos);
}

TEST_CASE("API answers say how fresh the state they come from is; health routes do not") {
  Service s;
  IngestView view;
  view.ready = false;
  view.lag_messages = 4321;
  view.consumer = "restarting";
  s.ctx.ingest = [&view] { return view; };
  Request req{http::verb::get, "/api/v1/report/statuses/lead/org1/", 11};
  req.set(http::field::authorization, "Bearer key-org1");
  std::string route;
  Response res = HandleRequest(req, s.ctx, &route);
  CHECK(res.result() == http::status::ok);
  CHECK(res["Leadflow-Ready"] == "false");
  CHECK(res["Leadflow-Lag-Messages"] == "4321");
  CHECK(res["Leadflow-Consumer"] == "restarting");
  Request unauthorized{http::verb::get, "/api/v1/lead/", 11};
  CHECK(HandleRequest(unauthorized, s.ctx, &route)["Leadflow-Lag-Messages"] == "4321");
  view.ready = true;
  view.lag_messages = 0;
  view.consumer = "running";
  res = HandleRequest(req, s.ctx, &route);
  CHECK(res["Leadflow-Ready"] == "true");
  CHECK(res["Leadflow-Lag-Messages"] == "0");
  for (const char* health : {"/healthz", "/readyz", "/metrics"}) {
    CHECK(s.Get(health).count("Leadflow-Lag-Messages") == 0);
  }
}

// Regression: a HEAD answer carried the GET answer's content, which a client
// keeping the connection alive then read as the start of the next answer.
TEST_CASE("a HEAD answer has no content, and the Content-Length of the content left out") {
  Service s;
  for (const std::string target : {"/healthz", "/readyz", "/metrics", "/api/v1/lead/", "/nope", "/Leads/NotContacted"}) {
    CAPTURE(target);
    Request get{http::verb::get, target, 11};
    Request head{http::verb::head, target, 11};
    for (Request* req : {&get, &head}) req->set(http::field::authorization, "Bearer key-org1");
    std::string route;
    const Response full = HandleRequest(get, s.ctx, &route);
    const Response res = HandleRequest(head, s.ctx, &route);
    CHECK(res.body().empty());
    if (target.rfind("/api/", 0) == 0 || target.rfind("/Leads/", 0) == 0) {
      CHECK(res.result() == http::status::method_not_allowed);  // the APIs serve GET or POST only
    } else {
      CHECK(res.result() == full.result());
      CHECK(std::string(res[http::field::content_type]) == std::string(full[http::field::content_type]));
    }
    REQUIRE(res.has_content_length());
    CHECK(std::stoul(std::string(res[http::field::content_length])) > 0);
  }
  Request head{http::verb::head, "/healthz", 11};
  std::string route;
  const Response res = HandleRequest(head, s.ctx, &route);
  CHECK(std::string(res[http::field::content_length]) == "3");  // "ok\n"
}

TEST_CASE("JsonResponse answers JSON and keeps the connection as the request asks") {
  Request req{http::verb::get, "/", 11};
  req.keep_alive(false);
  Response res = JsonResponse(req, http::status::ok, R"({"a":1})");
  CHECK(res.result() == http::status::ok);
  CHECK(res.body() == R"({"a":1})");
  CHECK(std::string(res[http::field::content_type]) == "application/json");
  CHECK_FALSE(res.keep_alive());
  req.keep_alive(true);
  CHECK(JsonResponse(req, http::status::ok, "{}").keep_alive());
  CHECK(JsonResponse(req, http::status::ok, "{}").has_content_length());
}

}  // namespace leadflow::api

namespace leadflow::api {
namespace {

// The challenges of a 401, in order.
std::vector<std::string> Challenges(const Response& res) {
  std::vector<std::string> out;
  for (auto it = res.find(http::field::www_authenticate); it != res.end() && it->name() == http::field::www_authenticate;
       ++it) {
    out.emplace_back(it->value());
  }
  return out;
}

TEST_CASE("a 401 names how to authenticate; other answers carry no challenge") {
  Service s;
  const std::vector<std::string> close = {R"(Basic realm="leadflow", charset="UTF-8")", R"(Bearer realm="leadflow")"};
  for (const std::string target : {"/api/v1/report/statuses/lead/org1/?date_start=2024-01-01&date_end=2024-01-02",
                                   "/api/v1/lead/?query=", "/api/v1/saved_search/"}) {
    CAPTURE(target);
    const Response res = s.Get(target);
    CHECK(res.result() == http::status::unauthorized);
    CHECK(Challenges(res) == close);
  }
  Request lsq{http::verb::post, "/Leads/NotContacted?accessKey=a&secretKey=b", 11};
  std::string route;
  const Response res = HandleRequest(lsq, s.ctx, &route);
  CHECK(res.result() == http::status::unauthorized);
  CHECK(Challenges(res) == std::vector<std::string>{R"(LSQ-Keys realm="leadflow")"});
  // With a key: no challenge (a 404 of an org the key may not read, too).
  Request ok{http::verb::get, "/api/v1/report/statuses/lead/org1/?date_start=2024-01-01&date_end=2024-01-02", 11};
  ok.set(http::field::authorization, "Bearer key-org1");
  CHECK(Challenges(HandleRequest(ok, s.ctx, &route)).empty());
  ok.target("/api/v1/report/statuses/lead/org2/?date_start=2024-01-01&date_end=2024-01-02");
  const Response other = HandleRequest(ok, s.ctx, &route);
  CHECK(other.result() == http::status::not_found);
  CHECK(Challenges(other).empty());
  CHECK(Challenges(s.Get("/healthz")).empty());
}

}  // namespace
}  // namespace leadflow::api

namespace leadflow::api {

TEST_CASE("cluster mode: GET /cluster behind any credential; an org served elsewhere is 503 before any limit") {
  Service s;
  REQUIRE_OK(Credentials::Parse(R"([{"org_id": "org1", "api_key": "key-org1", "lsq_access_key": "a1",
                                     "lsq_secret_key": "s1"},
                                    {"org_id": "org2", "api_key": "key-org2"}])",
                                &s.credentials));
  // Without a cluster: 404, and no org is refused.
  std::string route;
  CHECK(s.Get("/cluster", &route).result() == http::status::not_found);
  CHECK(route == "/cluster");

  s.ctx.cluster = [] { return std::string(R"({"members":[]})"); };
  std::string not_here = "org2";
  s.ctx.serve_org = [&](const std::string& org) -> std::optional<ServiceContext::Unserved> {
    if (org == not_here) return ServiceContext::Unserved{"partition 3 is owned by b at 10.0.0.6:8080", 7};
    return std::nullopt;
  };
  RateLimiter lsq(1, 60);
  s.ctx.lsq_rate_limiter = &lsq;
  CloseRateLimiter close(1, 60);
  s.ctx.close_rate_limiter = &close;

  auto send = [&](http::verb verb, const std::string& target, const std::string& auth) {
    Request req{verb, target, 11};
    if (!auth.empty()) req.set(http::field::authorization, auth);
    req.prepare_payload();
    std::string r;
    return HandleRequest(req, s.ctx, &r);
  };
  CHECK(send(http::verb::get, "/cluster", "").result() == http::status::unauthorized);
  CHECK(send(http::verb::get, "/cluster", "Bearer wrong").result() == http::status::unauthorized);
  Response ok = send(http::verb::get, "/cluster", "Bearer key-org2");
  CHECK(ok.result() == http::status::ok);
  CHECK(ok.body() == R"({"members":[]})");
  CHECK(ok.find("Leadflow-Ready") == ok.end());
  CHECK(send(http::verb::get, "/cluster?accessKey=a1&secretKey=s1", "").result() == http::status::ok);
  CHECK(send(http::verb::post, "/cluster", "Bearer key-org1").result() == http::status::method_not_allowed);

  // org2's key: every Close route is 503 with the reason, twice (no rate
  // limit of 1 counted); a path org that is not the key's is the key's org
  // that decides (the owner answers 404).
  for (const std::string target : {"/api/v1/report/statuses/lead/org2/", "/api/v1/report/statuses/lead/org1/",
                                   "/api/v1/lead/", "/api/v1/saved_search/", "/api/v1/saved_search/save_x/"}) {
    CAPTURE(target);
    for (int i = 0; i < 2; ++i) {
      Response r = send(http::verb::get, target, "Bearer key-org2");
      CHECK(r.result() == http::status::service_unavailable);
      CHECK(r[http::field::retry_after] == "7");  // serve_org's estimate
      auto body = nlohmann::json::parse(r.body());
      CHECK(body["error"] == "Service unavailable");
      CHECK(body["reason"] == "partition 3 is owned by b at 10.0.0.6:8080");
    }
  }
  // Bad credentials are the handler's 401, as the owner's would be.
  CHECK(send(http::verb::get, "/api/v1/report/statuses/lead/org2/", "Bearer nope").result() ==
        http::status::unauthorized);
  // org1 is served here, its rate limit counted here.
  CHECK(send(http::verb::get, "/api/v1/report/statuses/lead/org1/", "Bearer key-org1").result() == http::status::ok);
  CHECK(send(http::verb::get, "/api/v1/report/statuses/lead/org1/", "Bearer key-org1").result() ==
        http::status::too_many_requests);

  // LeadSquared: the pair's org decides; the error keeps the LSQ shape.
  not_here = "org1";
  Request req{http::verb::post, "/Leads/NotContacted?accessKey=a1&secretKey=s1", 11};
  req.body() = "{}";
  req.prepare_payload();
  for (int i = 0; i < 3; ++i) {
    Response r = HandleRequest(req, s.ctx, &route);
    CHECK(r.result() == http::status::service_unavailable);
    CHECK(r[http::field::retry_after] == "7");
    CHECK(r.body().find("\"ExceptionType\":\"MXUnexpectedException\"") != std::string::npos);
  }
  not_here = "";
  CHECK(HandleRequest(req, s.ctx, &route).result() != http::status::service_unavailable);
  CHECK(HandleRequest(req, s.ctx, &route).result() == http::status::too_many_requests);  // the 503s were not counted
}

}  // namespace leadflow::api
