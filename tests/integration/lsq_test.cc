// POST /Leads/NotContacted end to end over the real broker and HTTP: the key
// pair decides the org, and the per-org rate limit of a real `leadflow serve`
// (default 25 calls per 5 s).
#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/service.h"
#include "tests/testing/harness.h"

namespace leadflow::it {
namespace {

using nlohmann::json;

const std::string kPath = "/Leads/NotContacted";
// The service's credentials give org X the pair "u$rX" / "s3X"; '$' is %24 in a query string.
std::string QueryKeys(const std::string& org) { return "?accessKey=u%24r" + org + "&secretKey=s3" + org; }
std::map<std::string, std::string> HeaderKeys(const std::string& org) {
  return {{"x-LSQ-AccessKey", "u$r" + org}, {"x-LSQ-SecretKey", "s3" + org}};
}

std::vector<Message> Keyed(const std::vector<std::string>& events) {
  std::vector<Message> out;
  for (const auto& e : events) out.push_back({OrgKey(e), e, {}});
  return out;
}

// The ProspectIDs of a JSON list answer, sorted and space-separated.
std::string ProspectIds(const HttpResult& r) {
  const json body = json::parse(r.body);
  std::set<std::string> ids;
  for (const auto& row : body["Results"]) ids.insert(row["ProspectID"].get<std::string>());
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : " ") + id;
  return out;
}

}  // namespace

TEST_CASE("Leads Not Contacted over HTTP: no key is a 401, and another org's key pair sees only its own org") {
  using namespace leadflow::testing;
  Service svc;
  const std::string t = "2024-01-01T00:00:00Z";
  Produce(svc.topic(), Keyed({StatusUpserted("sa", "Potential", 1, t), StatusUpserted("sx", "Other", 1, t, "org2"),
                              Created("org1-lead-a", "sa", "2024-01-02T00:00:00Z"),
                              Created("org1-lead-b", "sa", "2024-01-03T00:00:00Z"),
                              Created("org1-lead-c", "sa", "2024-01-04T00:00:00Z"),
                              Created("org2-lead-a", "sx", "2024-01-05T00:00:00Z", "org2")}));
  svc.Start();
  REQUIRE_MESSAGE(WaitReady(svc.port(), std::chrono::seconds(60)), svc.Log());
  const std::vector<std::string> org1_leads = {"org1-lead-a", "org1-lead-b", "org1-lead-c"};

  // No key, or a wrong one: 401 in the LSQ error shape, JSON even when CSV was asked.
  for (const std::string& target :
       {kPath, kPath + "?responseformat=CSV", kPath + "?accessKey=u%24rorg1&secretKey=no"}) {
    CAPTURE(target);
    HttpResult none = HttpPost(svc.port(), target, "{}");
    CHECK(none.status == 401);
    CHECK(none.headers["Content-Type"] == "application/json");
    const json body = json::parse(none.body);
    CHECK(body["Status"] == "Error");
    CHECK(body["ExceptionType"] == "MXUnAuthorizedAccessException");
  }

  // org1's keys list org1's leads.
  HttpResult own = HttpPost(svc.port(), kPath + QueryKeys("org1"), "{}");
  REQUIRE_MESSAGE(own.status == 200, own.body);
  CHECK_MESSAGE(ProspectIds(own) == "org1-lead-a org1-lead-b org1-lead-c", own.body);
  CHECK(json::parse(own.body)["TotalCount"] == "3");

  // org2's keys, in the query or in the headers, answer for org2: 200, never org1's leads.
  for (const HttpResult& other :
       {HttpPost(svc.port(), kPath + QueryKeys("org2"), "{}"),
        HttpPost(svc.port(), kPath, R"({"Output":{"IncludeCSV":"ProspectID,OwnerId"}})", HeaderKeys("org2"))}) {
    REQUIRE_MESSAGE(other.status == 200, other.body);
    const std::string ids = ProspectIds(other);
    for (const auto& id : org1_leads) CHECK(ids.find(id) == std::string::npos);
    CHECK(ids == "org2-lead-a");
  }

  // CSV: an attachment with a header row.
  HttpResult csv = HttpPost(svc.port(), kPath + QueryKeys("org1") + "&responseformat=csv",
                            R"({"Output":{"Type":"List","IncludeCSV":"ProspectID"}})");
  REQUIRE(csv.status == 200);
  CHECK(csv.headers["Content-Type"] == "text/csv; charset=utf-8");
  CHECK(csv.headers["Content-Disposition"] == "attachment; filename=\"LeadsNotContacted.csv\"");
  CHECK(csv.body == "ProspectID\r\norg1-lead-a\r\norg1-lead-b\r\norg1-lead-c\r\n");
  svc.Stop();
}

TEST_CASE("Leads Not Contacted over HTTP: the 26th call of an org within 5 s is a 429; after the window calls pass") {
  Service svc(1);
  svc.Start();
  REQUIRE_MESSAGE(WaitReady(svc.port(), std::chrono::seconds(60)), svc.Log());

  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 25; ++i) {
    CAPTURE(i);
    // Query and header keys share the org's budget.
    HttpResult r = i % 2 ? HttpPost(svc.port(), kPath + QueryKeys("org1"), "{}")
                         : HttpPost(svc.port(), kPath, "{}", HeaderKeys("org1"));
    REQUIRE_MESSAGE(r.status == 200, r.body);
  }
  HttpResult refused = HttpPost(svc.port(), kPath + QueryKeys("org1"), "{}");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE_MESSAGE(elapsed < std::chrono::milliseconds(4500), "26 calls took too long to test a 5 s window");
  CHECK(refused.status == 429);
  CHECK(refused.headers["Content-Type"] == "application/json");
  CHECK(refused.body ==
        R"({"Status":"Error","ExceptionType":"MXAPIRateLimitExceededException",)"
        R"x("ExceptionMessage":"API calls exceeded the limit of 25 in 5 second(s)"})x");
  REQUIRE(refused.headers.count("Retry-After") == 1);
  const int retry_after = std::stoi(refused.headers["Retry-After"]);
  CHECK(retry_after >= 1);
  CHECK(retry_after <= 5);

  // Another org is not limited by org1's calls.
  CHECK(HttpPost(svc.port(), kPath + QueryKeys("org2"), "{}").status == 200);

  // After waiting Retry-After seconds, org1's calls succeed again.
  std::this_thread::sleep_for(std::chrono::seconds(retry_after));
  HttpResult again = HttpPost(svc.port(), kPath, "{}", HeaderKeys("org1"));
  CHECK_MESSAGE(again.status == 200, again.body);
  CHECK(json::parse(again.body)["TotalCount"] == "0");
  svc.Stop();
}

}  // namespace leadflow::it
