#include "api/lsq_handler.h"

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/credentials.h"
#include "api/rate_limiter.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::api {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

const std::string kPath = "/Leads/NotContacted";
// The keys of org1 as a query string ('$' percent-encoded).
const std::string kOrg1Query = "?accessKey=u%24rorg1&secretKey=s3org1";
const std::map<std::string, std::string> kOrg1Headers = {{"x-LSQ-AccessKey", "u$rorg1"},
                                                         {"x-LSQ-SecretKey", "s3org1"}};


// org1: leads l1 (an activity 21) and l2; org2: lead l9. org1 has a second
// key pair; org3 has no LeadSquared keys.
struct Service {
  Service() {
    REQUIRE_OK(Credentials::Parse(R"([
        {"org_id": "org1", "api_key": "key-org1", "lsq_access_key": "u$rorg1", "lsq_secret_key": "s3org1"},
        {"org_id": "org1", "lsq_access_key": "u$rorg1-b", "lsq_secret_key": "s3org1-b"},
        {"org_id": "org2", "api_key": "key-org2", "lsq_access_key": "u$rorg2", "lsq_secret_key": "s3org2"},
        {"org_id": "org3", "api_key": "key-org3"}])",
                                  &credentials));
    const std::string t = "2024-01-01T00:00:00Z";
    REQUIRE(db.Ingest({testing::StatusUpserted("sa", "Potential", 1, t),
                       testing::StatusUpserted("sx", "Other", 1, t, "org2"),
                       testing::Ev({{"lead_id", "l1"}, {"status_id", "sa"}, {"fields", {{"FirstName", "=Asha"}}}},
                                   "lead.created", "2024-01-02T00:00:00Z"),
                       testing::Ev({{"lead_id", "l2"}, {"status_id", "sa"}, {"fields", {{"FirstName", "Ravi, K"}}}},
                                   "lead.created", "2024-01-03T00:00:00Z"),
                       testing::Ev({{"lead_id", "l9"}, {"status_id", "sx"}}, "lead.created", "2024-01-04T00:00:00Z",
                                   "org2"),
                       testing::Ev({{"lead_id", "l1"}, {"activity_id", "a1"}, {"activity_event", 21}},
                                   "activity.logged", "2024-02-01T00:00:00Z")}) == 0);
    ctx.store = db.store();
    ctx.credentials = &credentials;
    ctx.lsq_rate_limiter = &limiter;
  }

  Response Send(const std::string& target, const std::string& body = "{}",
                const std::map<std::string, std::string>& headers = {}, http::verb verb = http::verb::post) {
    Request req{verb, target, 11};
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    std::string route;
    return HandleRequest(req, ctx, &route);
  }

  testing::TestDb db;
  Credentials credentials;
  std::atomic<int64_t> now_ms{0};
  RateLimiter limiter{25, 5, [this] { return now_ms.load(); }};
  ServiceContext ctx;
};

// "TotalCount: id id ..." of a JSON list answer.
std::string Ids(const Response& res) {
  const json j = json::parse(res.body());
  std::string out = j["TotalCount"].get<std::string>() + ":";
  for (const auto& row : j["Results"]) out += " " + row["ProspectID"].get<std::string>();
  return out;
}

std::string Header(const Response& res, http::field f) { return std::string(res[f]); }

// Checks an LSQ error answer and returns its message.
std::string ErrorMessage(const Response& res, http::status status, const std::string& type) {
  CHECK(res.result() == status);
  CHECK(Header(res, http::field::content_type) == "application/json");
  const json j = json::parse(res.body());
  CHECK(j.size() == 3);
  CHECK(j["Status"] == "Error");
  CHECK(j["ExceptionType"] == type);
  return j.value("ExceptionMessage", "");
}

}  // namespace

TEST_CASE("keys in the query string or in the headers get the org's leads as JSON") {
  Service s;
  struct Case {
    std::string query;
    std::map<std::string, std::string> headers;
  };
  const std::vector<Case> cases = {
      {kOrg1Query, {}},
      {"?AccessKey=u%24rorg1&SECRETKEY=s3org1&responseformat=json", {}},
      {"?accesskey=u%24rorg1-b&secretkey=s3org1-b", {}},
      {"", kOrg1Headers},
      {"", {{"X-LSQ-ACCESSKEY", "u$rorg1"}, {"x-lsq-secretkey", "s3org1"}}},
      {"?accessKey=u%24rorg1", {{"x-LSQ-SecretKey", "s3org1"}}},  // each key on its own
      {"?accessKey=&secretKey=", kOrg1Headers},                   // empty values count as absent
  };
  for (const auto& c : cases) {
    CAPTURE(c.query);
    Response res = s.Send(kPath + c.query, "{}", c.headers);
    REQUIRE(res.result() == http::status::ok);
    CHECK(Header(res, http::field::content_type) == "application/json");
    CHECK(Ids(res) == "1: l2");
  }
}

TEST_CASE("the request body reaches the evaluation") {
  Service s;
  struct Case {
    std::string body, ids;
  };
  const std::vector<Case> cases = {
      {"{}", "1: l2"},  // no ActivityFilters: any activity contacts l1
      {R"({"ReportFilter":{"ActivityFilters":[{"ActivityEvent":"21"}]}})", "1: l2"},
      {R"({"ReportFilter":{"ActivityFilters":[{"ActivityEvent":22}]}})", "2: l1 l2"},
      {R"({"DateFilter":{"DateField":"ActivityDate","FromDate":"2024-03-01 00:00:00","ToDate":"2024-03-31 23:59:59"}})",
       "2: l1 l2"},
      {R"({"DateFilter":{"DateField":"ActivityDate","FromDate":"2024-01-01 00:00:00","ToDate":"2024-02-01 00:00:00"}})",
       "1: l2"},  // ToDate's whole second holds the activity at 00:00:00
      {R"({"ReportFilter":{"ActivityFilters":[22]},"Sorting":{"ColumnName":"ProspectID","Direction":"1"}})",
       "2: l2 l1"},
      {R"({"ReportFilter":{"ActivityFilters":[22]},"Paging":{"PageIndex":2,"PageSize":1}})", "2: l2"},
      {R"({"ReportFilter":{"ActivityFilters":[22],
           "LeadFilters":[{"LookUpName":"FirstName","LookUpValues":["Ravi, K"],"SqlOperator":"="}]}})",
       "1: l2"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body);
    Response res = s.Send(kPath + kOrg1Query, c.body);
    REQUIRE(res.result() == http::status::ok);
    CHECK(Ids(res) == c.ids);
  }
  Response list = s.Send(kPath + kOrg1Query, R"({"Output":{"Type":"List","IncludeCSV":"ProspectID,FirstName"}})");
  CHECK(list.body() == R"({"TotalCount":"1","Results":[{"ProspectID":"l2","FirstName":"Ravi, K"}]})");
  Response agg = s.Send(kPath + kOrg1Query, R"({"ReportFilter":{"ActivityFilters":[22]},
                                              "Output":{"Type":"Aggregate","AggregateFunction":"Count"}})");
  CHECK(agg.body() == R"({"TotalCount":"1","Results":[{"Count":2}]})");
}

TEST_CASE("the query string wins over the headers") {
  Service s;
  CHECK(s.Send(kPath + kOrg1Query, "{}", {{"x-LSQ-AccessKey", "wrong"}, {"x-LSQ-SecretKey", "wrong"}}).result() ==
        http::status::ok);
  CHECK(s.Send(kPath + "?accessKey=wrong&secretKey=wrong", "{}", kOrg1Headers).result() ==
        http::status::unauthorized);
}

TEST_CASE("missing or wrong keys are a 401 before anything else is looked at") {
  Service s;
  struct Case {
    std::string query;
    std::map<std::string, std::string> headers;
    std::string message;
  };
  const std::string missing =
      "accessKey and secretKey are required (query string or x-LSQ-AccessKey and x-LSQ-SecretKey headers)";
  const std::string wrong = "Invalid accessKey or secretKey";
  const std::vector<Case> cases = {
      {"", {}, missing},
      {"?accessKey=u%24rorg1", {}, missing},
      {"?secretKey=s3org1", {}, missing},
      {"", {{"x-LSQ-AccessKey", "u$rorg1"}}, missing},
      {"?accessKey=u%24rorg1&secretKey=wrong", {}, wrong},
      {"?accessKey=u%24rorg1&secretKey=s3org2", {}, wrong},  // halves of two orgs' pairs
      {"?accessKey=U%24RORG1&secretKey=S3ORG1", {}, wrong},  // keys are case-sensitive
      {"?accessKey=u%24rorg1-b&secretKey=s3org1", {}, wrong},
      {"?accessKey=u%24rorg1%20&secretKey=s3org1", {}, wrong},
      {"?accessKey=key-org1&secretKey=key-org1", {}, wrong},  // a Close API key is not an LSQ pair
      {"", {{"Authorization", "Bearer key-org1"}}, missing},
      // Keys are checked before the format and the body.
      {"?accessKey=x&secretKey=y&responseformat=xml", {}, wrong},
  };
  for (const auto& c : cases) {
    CAPTURE(c.query);
    Response res = s.Send(kPath + c.query, "not json", c.headers);
    CHECK(ErrorMessage(res, http::status::unauthorized, "MXUnAuthorizedAccessException") == c.message);
  }
}

TEST_CASE("another org's key pair answers for its own org and never lists this org's leads") {
  Service s;
  Response res = s.Send(kPath + "?accessKey=u%24rorg2&secretKey=s3org2");
  REQUIRE(res.result() == http::status::ok);
  CHECK(Ids(res) == "1: l9");
  Response by_header = s.Send(kPath, R"({"ReportFilter":{"ActivityFilters":[22]},
                                         "Output":{"IncludeCSV":"ProspectID,FirstName"}})",
                              {{"x-LSQ-AccessKey", "u$rorg2"}, {"x-LSQ-SecretKey", "s3org2"}});
  REQUIRE(by_header.result() == http::status::ok);
  CHECK(by_header.body().find("l1") == std::string::npos);
  CHECK(by_header.body().find("l2") == std::string::npos);
  CHECK(by_header.body().find("Asha") == std::string::npos);
}

TEST_CASE("the 26th call of an org within 5 s is a 429 with Retry-After and the exact body") {
  Service s;
  for (int i = 0; i < 25; ++i) {
    CAPTURE(i);
    s.now_ms += 100;
    // Both key pairs and both key forms share org1's budget.
    Response res = i % 3 == 0   ? s.Send(kPath + kOrg1Query)
                   : i % 3 == 1 ? s.Send(kPath, "{}", kOrg1Headers)
                                : s.Send(kPath + "?accessKey=u%24rorg1-b&secretKey=s3org1-b");
    REQUIRE(res.result() == http::status::ok);
  }
  Response refused = s.Send(kPath + kOrg1Query + "&responseformat=CSV");
  CHECK(refused.result() == http::status::too_many_requests);
  CHECK(Header(refused, http::field::retry_after) == "3");  // the first call frees its slot at 5.1 s; now 2.5 s
  CHECK(Header(refused, http::field::content_type) == "application/json");
  CHECK(refused.body() ==
        R"({"Status":"Error","ExceptionType":"MXAPIRateLimitExceededException",)"
        R"x("ExceptionMessage":"API calls exceeded the limit of 25 in 5 second(s)"})x");
  // Another org has its own budget.
  CHECK(s.Send(kPath + "?accessKey=u%24rorg2&secretKey=s3org2").result() == http::status::ok);
  // Wrong keys are still 401: the limit applies after authentication.
  CHECK(s.Send(kPath + "?accessKey=u%24rorg1&secretKey=bad").result() == http::status::unauthorized);
  // After the window the org's calls succeed again.
  s.now_ms += 5'000;
  CHECK(s.Send(kPath + kOrg1Query).result() == http::status::ok);
}

TEST_CASE("the 429 message carries the configured limit and window") {
  Service s;
  RateLimiter limiter(2, 10, [&s] { return s.now_ms.load(); });
  s.ctx.lsq_rate_limiter = &limiter;
  CHECK(s.Send(kPath + kOrg1Query).result() == http::status::ok);
  CHECK(s.Send(kPath + kOrg1Query, "not json").result() == http::status::bad_request);  // counts too
  Response refused = s.Send(kPath + kOrg1Query);
  CHECK(ErrorMessage(refused, http::status::too_many_requests, "MXAPIRateLimitExceededException") ==
        "API calls exceeded the limit of 2 in 10 second(s)");
  CHECK(Header(refused, http::field::retry_after) == "10");
  // Unauthenticated calls never use an org's budget.
  s.now_ms += 10'000;
  for (int i = 0; i < 5; ++i) s.Send(kPath + "?accessKey=u%24rorg1&secretKey=bad");
  CHECK(s.Send(kPath + kOrg1Query).result() == http::status::ok);
  // No limiter: no limit.
  s.ctx.lsq_rate_limiter = nullptr;
  for (int i = 0; i < 30; ++i) REQUIRE(s.Send(kPath + kOrg1Query).result() == http::status::ok);
}

TEST_CASE("a bad body or format is a 400 MXInvalidInputException naming the problem") {
  Service s;
  struct Case {
    std::string query, body, message;
  };
  const std::vector<Case> cases = {
      {"", "not json", "The request body is not valid JSON"},
      {"", "", "The request body is not valid JSON"},
      {"", "[1]", "The request body must be a JSON object"},
      {"", R"({"Output":{"IncludeCSV":"ProspectID,First Name"}})", "Invalid column name 'First Name' in IncludeCSV"},
      {"", R"({"Paging":{"PageSize":10001}})", "PageSize must be between 1 and 10000"},
      {"", R"({"DateFilter":[{"DateField":"CreatedOn","FromDate":"2024-13-01","ToDate":"2024-12-01 00:00:00"}]})",
       "Invalid FromDate '2024-13-01' in DateFilter"},
      {"&responseformat=xml", "{}", "Unsupported responseformat 'xml': use JSON or CSV"},
      {"&responseformat=", "{}", "Unsupported responseformat '': use JSON or CSV"},
      // The evaluation's InvalidArgument is a 400 with its message.
      {"", R"({"ReportFilter":{"LeadFilters":[{"LookUpName":"CreatedOn","LookUpValues":["2024%"],"SqlOperator":"like"}]}})",
       "like is not supported on the date column CreatedOn"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body);
    CAPTURE(c.query);
    Response res = s.Send(kPath + kOrg1Query + c.query, c.body);
    CHECK(ErrorMessage(res, http::status::bad_request, "MXInvalidInputException") == c.message);
  }
}

TEST_CASE("responseformat=CSV answers a text/csv attachment; errors stay JSON") {
  Service s;
  for (const std::string format : {"CSV", "csv", "Csv"}) {
    for (const std::string name : {"responseformat", "ResponseFormat"}) {
      CAPTURE(name + "=" + format);
      Response res = s.Send(kPath + kOrg1Query + "&" + name + "=" + format,
                            R"({"ReportFilter":{"ActivityFilters":[22]},
                                "Output":{"Type":"List","IncludeCSV":"ProspectID,FirstName,mx_Missing"}})");
      REQUIRE(res.result() == http::status::ok);
      CHECK(Header(res, http::field::content_type) == "text/csv; charset=utf-8");
      CHECK(Header(res, http::field::content_disposition) == "attachment; filename=\"LeadsNotContacted.csv\"");
      CHECK(res.body() == "ProspectID,FirstName,mx_Missing\r\nl1,'=Asha,\r\nl2,\"Ravi, K\",\r\n");
    }
  }
  Response bad = s.Send(kPath + kOrg1Query + "&responseformat=CSV", R"({"Paging":{"PageIndex":0}})");
  CHECK(ErrorMessage(bad, http::status::bad_request, "MXInvalidInputException") == "PageIndex must be at least 1");
  Response unauthorized = s.Send(kPath + "?responseformat=CSV");
  CHECK(ErrorMessage(unauthorized, http::status::unauthorized, "MXUnAuthorizedAccessException").size() > 0);
}

TEST_CASE("LsqErrorResponse maps each status to its exception type") {
  Request req{http::verb::post, kPath, 11};
  const std::vector<std::pair<http::status, std::string>> cases = {
      {http::status::bad_request, "MXInvalidInputException"},
      {http::status::unauthorized, "MXUnAuthorizedAccessException"},
      {http::status::not_found, "MXApiNotFoundException"},
      {http::status::method_not_allowed, "MXMethodNotAllowedException"},
      {http::status::too_many_requests, "MXAPIRateLimitExceededException"},
      {http::status::internal_server_error, "MXUnexpectedException"},
  };
  for (const auto& [status, type] : cases) {
    CAPTURE(type);
    CHECK(ErrorMessage(LsqErrorResponse(req, status, "m"), status, type) == "m");
  }
}

}  // namespace leadflow::api
