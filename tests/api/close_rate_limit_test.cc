// Close's rate limits (api/close_rate_limit.h): per API key and endpoint
// group, an org's keys together 3x, fixed windows, RateLimit on every
// counted answer, 429 with Retry-After and Close's legacy body over a
// budget; calls without a credential are not counted.
#include "api/close_rate_limit.h"

#include <doctest/doctest.h>

#include <atomic>
#include <string>

#include <nlohmann/json.hpp>

#include "api/credentials.h"
#include "api/router.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::api {
namespace {

namespace http = boost::beast::http;

TEST_CASE("the Close limiter gives each key its budget per group and window, and an org three keys' worth") {
  int64_t now = 12'345;  // 2.345 s into a 10 s window
  CloseRateLimiter limiter(2, 10, [&now] { return now; });
  auto take = [&](const char* group, const char* key, const char* org) { return limiter.Acquire(group, key, org); };
  CloseRateLimiter::Decision d = take("GET /a", "k1", "o1");
  CHECK(d.admitted);
  CHECK(d.limit == 2);
  CHECK(d.remaining == 1);
  CHECK(d.reset_seconds == 8);  // 7.655 s left, rounded up
  CHECK(take("GET /a", "k1", "o1").remaining == 0);
  d = take("GET /a", "k1", "o1");
  CHECK_FALSE(d.admitted);
  CHECK(d.remaining == 0);
  CHECK_FALSE(d.org_limit);
  CHECK(take("GET /b", "k1", "o1").admitted);   // another group: its own budget
  CHECK(take("POST /a", "k1", "o1").admitted);  // another method too
  // Two more keys of o1: the org's 6 calls to GET /a run out at the 6th.
  CHECK(take("GET /a", "k2", "o1").admitted);
  CHECK(take("GET /a", "k2", "o1").admitted);
  d = take("GET /a", "k3", "o1");
  CHECK(d.admitted);
  CHECK(d.remaining == 1);  // 1 left for the org, 1 for k3
  CHECK(take("GET /a", "k3", "o1").admitted);
  d = take("GET /a", "k4", "o1");
  CHECK_FALSE(d.admitted);  // k4 has its whole budget, the org none
  CHECK(d.org_limit);
  CHECK(d.limit == 6);
  CHECK(d.remaining == 0);
  CHECK(take("GET /a", "k5", "o2").admitted);  // another org
  // Refused calls were not counted: the next window starts afresh.
  now = 20'000;
  d = take("GET /a", "k1", "o1");
  CHECK(d.admitted);
  CHECK(d.remaining == 1);
  CHECK(d.reset_seconds == 10);
  now = 29'999;
  CHECK(take("GET /a", "k1", "o1").reset_seconds == 1);  // at least 1
}

struct Service {
  Service() {
    REQUIRE_OK(Credentials::Parse(R"([
        {"org_id": "org1", "api_key": "key-org1"},
        {"org_id": "org1", "api_key": "key-org1-b"},
        {"org_id": "org2", "api_key": "key-org2"}])",
                                  &credentials));
    REQUIRE(db.Ingest({testing::StatusUpserted("sa", "Potential", 1, "2024-01-01T00:00:00Z")}) == 0);
    ctx.store = db.store();
    ctx.credentials = &credentials;
    ctx.close_rate_limiter = &limiter;
  }
  Response Get(const std::string& target, const std::string& key) {
    Request req{http::verb::get, target, 11};
    if (!key.empty()) req.set(http::field::authorization, "Bearer " + key);
    req.prepare_payload();
    std::string route;
    return HandleRequest(req, ctx, &route);
  }
  testing::TestDb db;
  Credentials credentials;
  std::atomic<int64_t> now_ms{1'000};
  CloseRateLimiter limiter{2, 5, [this] { return now_ms.load(); }};
  ServiceContext ctx;
};

std::string Header(const Response& res, const std::string& name) {
  auto it = res.find(boost::beast::string_view(name.data(), name.size()));
  return it == res.end() ? "" : std::string(it->value());
}

TEST_CASE("Close endpoints answer 429 with RateLimit and Retry-After over a key's budget, counting only credentials") {
  Service s;
  const std::string report = "/api/v1/report/statuses/lead/org1/";
  for (int i = 0; i < 5; ++i) CHECK(s.Get(report, "").result() == http::status::unauthorized);  // not counted
  CHECK(s.Get(report, "wrong-key").result() == http::status::unauthorized);
  Response ok = s.Get(report, "key-org1");
  CHECK(ok.result() == http::status::ok);
  CHECK(Header(ok, "RateLimit") == "limit=2, remaining=1, reset=4");
  // A call for another org's report is the caller's call: counted, 404.
  Response other = s.Get("/api/v1/report/statuses/lead/org2/", "key-org1");
  CHECK(other.result() == http::status::not_found);
  CHECK(Header(other, "RateLimit") == "limit=2, remaining=0, reset=4");
  Response refused = s.Get(report, "key-org1");
  CHECK(refused.result() == http::status::too_many_requests);
  CHECK(Header(refused, "RateLimit") == "limit=2, remaining=0, reset=4");
  CHECK(Header(refused, "Retry-After") == "4");
  const nlohmann::json body = nlohmann::json::parse(refused.body());
  CHECK(body["error"]["rate_reset"] == 4);
  CHECK(body["error"]["rate_limit"] == 2);
  CHECK(body["error"]["rate_window"] == 5);
  CHECK(body["error"]["rate_limit_type"] == "api_key");
  CHECK(body["error"]["message"] == "API call count exceeded for this 5 second window");
  // Lead search is another group; org1's other key has its own budget.
  CHECK(s.Get("/api/v1/lead/", "key-org1").result() == http::status::ok);
  CHECK(s.Get(report, "key-org1-b").result() == http::status::ok);
  CHECK(s.Get(report, "key-org2").result() == http::status::not_found);
  // The next window.
  s.now_ms += 5'000;
  CHECK(s.Get(report, "key-org1").result() == http::status::ok);
  // Endpoints outside Close's are not limited or labelled.
  CHECK(Header(s.Get("/healthz", "key-org1"), "RateLimit").empty());
  // No limiter: no limit, no header.
  s.ctx.close_rate_limiter = nullptr;
  for (int i = 0; i < 5; ++i) {
    Response r = s.Get(report, "key-org1");
    REQUIRE(r.result() == http::status::ok);
    CHECK(Header(r, "RateLimit").empty());
  }
}

}  // namespace
}  // namespace leadflow::api
