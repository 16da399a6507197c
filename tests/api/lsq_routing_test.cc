// The LeadSquared routes of api/router.h: POST /Leads/NotContacted[/] in any
// case, the LSQ error shape for other methods and other paths under /Leads/.
#include "api/router.h"

#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "api/credentials.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::api {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

const std::string kPath = "/Leads/NotContacted";
const std::string kOrg1Query = "?accessKey=u%24rorg1&secretKey=s3org1";

// An empty store and org1's key pair.
struct Service {
  Service() {
    REQUIRE_OK(Credentials::Parse(R"([{"org_id": "org1", "lsq_access_key": "u$rorg1", "lsq_secret_key": "s3org1"}])",
                                  &credentials));
    ctx.store = db.store();
    ctx.credentials = &credentials;
  }

  Response Send(const std::string& target, http::verb verb = http::verb::post) {
    Request req{verb, target, 11};
    req.body() = "{}";
    req.prepare_payload();
    return HandleRequest(req, ctx, &last_route);
  }

  testing::TestDb db;
  Credentials credentials;
  ServiceContext ctx;
  std::string last_route;
};

std::string Header(const Response& res, http::field f) { return std::string(res[f]); }

// Checks an LSQ error answer and returns its message.
std::string ErrorMessage(const Response& res, http::status status, const std::string& type) {
  CHECK(res.result() == status);
  CHECK(Header(res, http::field::content_type) == "application/json");
  const json j = json::parse(res.body());
  CHECK(j["Status"] == "Error");
  CHECK(j["ExceptionType"] == type);
  return j.value("ExceptionMessage", "");
}

}  // namespace

TEST_CASE("a method other than POST is a 405 with Allow: POST in the LSQ shape") {
  Service s;
  for (http::verb verb : {http::verb::get, http::verb::put, http::verb::delete_, http::verb::patch}) {
    CAPTURE(std::string(http::to_string(verb)));
    Response res = s.Send(kPath + kOrg1Query, verb);
    CHECK(ErrorMessage(res, http::status::method_not_allowed, "MXMethodNotAllowedException") ==
          "The API /Leads/NotContacted accepts only POST");
    CHECK(Header(res, http::field::allow) == "POST");
  }
}

TEST_CASE("the route takes a trailing slash and any case, under one metrics label") {
  Service s;
  for (const std::string path : {"/Leads/NotContacted", "/Leads/NotContacted/", "/leads/notcontacted",
                                 "/LEADS/NOTCONTACTED/"}) {
    CAPTURE(path);
    CHECK(s.Send(path + kOrg1Query).result() == http::status::ok);
    CHECK(s.last_route == "/Leads/NotContacted");
  }
}

TEST_CASE("other paths under /Leads/ are a 404 MXApiNotFoundException; a bad URL there is an LSQ 400") {
  Service s;
  for (const std::string path : {"/Leads/NotContacted/x", "/Leads/NotContactedX", "/Leads/", "/Leads/NotContacted//",
                                 "/Leads/LeadDistribution/FilterByLeadField"}) {
    CAPTURE(path);
    Response res = s.Send(path + kOrg1Query);
    CHECK(ErrorMessage(res, http::status::not_found, "MXApiNotFoundException") ==
          "API not found: check the API signature");
    CHECK(s.last_route == "other");
  }
  Response bad = s.Send(kPath + "?accessKey=%zz");
  CHECK(ErrorMessage(bad, http::status::bad_request, "MXInvalidInputException") == "The request URL is not valid.");
  // Paths outside /Leads/ keep Close's error shape.
  CHECK(json::parse(s.Send("/Leadsx/NotContacted").body()) == json{{"error", "Not found"}});
}

}  // namespace leadflow::api
