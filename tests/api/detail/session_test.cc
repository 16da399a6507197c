#include "api/detail/session.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <boost/asio/error.hpp>

namespace leadflow::api::detail {
namespace {

namespace http = boost::beast::http;

ServerOptions Limits() {
  ServerOptions options;
  options.body_limit = 1000;
  options.header_limit = 300;
  return options;
}

// "413 {...}" for a read error on target, or "none".
std::string Answer(boost::beast::error_code ec, std::string_view target) {
  std::optional<Response> res = ReadErrorResponse(ec, target, 11, Limits());
  if (!res) return "none";
  CHECK_FALSE(res->keep_alive());
  CHECK((*res)[http::field::content_type] == "application/json");
  CHECK((*res)[http::field::content_length] == std::to_string(res->body().size()));
  return std::to_string(res->result_int()) + " " + res->body();
}

}  // namespace

TEST_CASE("a request over a limit is answered 413 or 431 naming the limit, in the shape of its route family") {
  struct Case {
    http::error error;
    std::string target, answer;
  };
  const std::string lsq_body = R"({"Status":"Error","ExceptionType":"MXInvalidInputException",)"
                               R"("ExceptionMessage":"Request body too large: at most 1000 bytes"})";
  const std::string lsq_header = R"({"Status":"Error","ExceptionType":"MXInvalidInputException",)"
                                 R"("ExceptionMessage":"Request header fields too large: at most 300 bytes"})";
  const std::string close_body = R"({"error":"Request body too large: at most 1000 bytes"})";
  const std::vector<Case> cases = {
      {http::error::body_limit, "/api/v1/saved_search/", "413 " + close_body},
      {http::error::body_limit, "/healthz", "413 " + close_body},
      {http::error::body_limit, "", "413 " + close_body},
      {http::error::body_limit, "/Leads/NotContacted?accessKey=a", "413 " + lsq_body},
      {http::error::body_limit, "/leads/notcontacted", "413 " + lsq_body},  // the router's matching
      {http::error::body_limit, "/%4Ceads/NotContacted", "413 " + lsq_body},
      {http::error::body_limit, "/Leads/Other", "413 " + lsq_body},
      {http::error::body_limit, "/LeadsNotContacted", "413 " + close_body},
      {http::error::header_limit, "/api/v1/lead/?query=x",
       R"(431 {"error":"Request header fields too large: at most 300 bytes"})"},
      {http::error::header_limit, "", R"(431 {"error":"Request header fields too large: at most 300 bytes"})"},
      {http::error::header_limit, "/Leads/NotContacted?accessKey=u%2", "431 " + lsq_header},  // cut short
      {http::error::bad_method, "/api/v1/lead/", R"(400 {"errors":["Malformed HTTP request."],"field-errors":{}})"},
      {http::error::bad_field, "/healthz", R"(400 {"errors":["Malformed HTTP request."],"field-errors":{}})"},
      {http::error::bad_chunk, "/Leads/NotContacted",
       R"(400 {"Status":"Error","ExceptionType":"MXInvalidInputException",)"
       R"("ExceptionMessage":"Malformed HTTP request."})"},
      {http::error::end_of_stream, "/healthz", "none"},  // the client closed between requests
  };
  for (const auto& c : cases) {
    CAPTURE(http::make_error_code(c.error).message());
    CAPTURE(c.target);
    CHECK(Answer(c.error, c.target) == c.answer);
  }
}

TEST_CASE("a read that times out or is reset gets no answer") {
  CHECK(Answer(boost::beast::error::timeout, "/healthz") == "none");
  CHECK(Answer(boost::asio::error::connection_reset, "/healthz") == "none");
  CHECK(Answer(boost::asio::error::operation_aborted, "/healthz") == "none");
  CHECK(Answer({}, "/healthz") == "none");
}

TEST_CASE("a read error answer keeps an HTTP/1.0 client's version") {
  std::optional<Response> res = ReadErrorResponse(http::error::body_limit, "/", 10, Limits());
  REQUIRE(res.has_value());
  CHECK(res->version() == 10);
  CHECK(ReadErrorResponse(http::error::body_limit, "/", 11, Limits())->version() == 11);
}

TEST_CASE("RequestTargetPrefix reads the target of a request line, also cut short") {
  CHECK(RequestTargetPrefix("GET /Leads/NotContacted?a=1 HTTP/1.1\r\nHost: x\r\n") == "/Leads/NotContacted?a=1");
  CHECK(RequestTargetPrefix("POST /Leads/NotContacted?accessKey=aaaaaaaa") == "/Leads/NotContacted?accessKey=aaaaaaaa");
  CHECK(RequestTargetPrefix("GET /x\r\n") == "/x");
  CHECK(RequestTargetPrefix("GET ") == "");
  CHECK(RequestTargetPrefix("GET") == "");
  CHECK(RequestTargetPrefix("") == "");
}

}  // namespace leadflow::api::detail
