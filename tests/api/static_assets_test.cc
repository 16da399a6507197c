#include "api/static_assets.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "api/credentials.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::api {
namespace {

namespace http = boost::beast::http;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct Service {
  Service() {
    REQUIRE_OK(Credentials::Parse(R"([{"org_id": "org1", "api_key": "key-org1"}])", &credentials));
    ctx.store = db.store();
    ctx.credentials = &credentials;
  }
  Response Get(const std::string& target, const std::string& if_none_match = "", const std::string& auth = "") {
    Request req{http::verb::get, target, 11};
    if (!if_none_match.empty()) req.set(http::field::if_none_match, if_none_match);
    if (!auth.empty()) req.set(http::field::authorization, auth);
    std::string route;
    return HandleRequest(req, ctx, &route);
  }
  testing::TestDb db;
  Credentials credentials;
  ServiceContext ctx;
};

void CheckPageHeaders(const Response& res) {
  const std::string csp(res["Content-Security-Policy"]);
  CHECK(csp == kPageCsp);
  CHECK(csp.find("unsafe-eval") == std::string::npos);
  CHECK(csp.find("unsafe-inline") == std::string::npos);
  CHECK(csp.find("script-src 'self'") != std::string::npos);
  CHECK(res["X-Content-Type-Options"] == "nosniff");
  CHECK(res["Referrer-Policy"] == "no-referrer");
  // Not a report: no freshness headers.
  CHECK(res.find("Leadflow-Ready") == res.end());
}

}  // namespace

TEST_CASE("every file of web/ is built in and served under /assets/, index.html at the page's paths") {
  Service s;
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(LEADFLOW_WEB_DIR)) {
    const std::string name = entry.path().filename().string();
    CAPTURE(name);
    ++files;
    Response res = s.Get("/assets/" + name);
    REQUIRE(res.result() == http::status::ok);
    CHECK(res.body() == ReadFile(entry.path()));
    CHECK(std::string(res[http::field::content_type]) == WebContentType(name));
    CheckPageHeaders(res);
  }
  CHECK(files >= 2);
  const std::string index = ReadFile(std::filesystem::path(LEADFLOW_WEB_DIR) / "index.html");
  for (const std::string target : {"/", "/lsq/", "/search/lead_status%3A%22Won%22/", "/search/a%2Fb/?x=1"}) {
    CAPTURE(target);
    Response res = s.Get(target);
    REQUIRE(res.result() == http::status::ok);
    CHECK(res.body() == index);
    CHECK(res[http::field::content_type] == "text/html; charset=utf-8");
    CheckPageHeaders(res);
  }
  // No inline script or style: the page works under its own policy.
  CHECK(index.find("<script>") == std::string::npos);
  CHECK(index.find("style=") == std::string::npos);
  CHECK_FALSE(std::regex_search(index, std::regex(R"(\son[a-z]+\s*=)", std::regex::icase)));
}

TEST_CASE("a file asked again with its ETag is 304 without a body; a changed one is sent") {
  Service s;
  Response first = s.Get("/");
  const std::string etag(first[http::field::etag]);
  REQUIRE(etag.size() == 18);
  CHECK(first[http::field::cache_control] == "no-cache");
  Response again = s.Get("/", etag);
  CHECK(again.result() == http::status::not_modified);
  CHECK(again.body().empty());
  CHECK(s.Get("/", "\"0000000000000000\"").body() == first.body());
}

TEST_CASE("names outside web/ are 404: no path, no hidden file, no upper case") {
  Service s;
  for (const std::string target : {"/assets/", "/assets/..%2Fapi%2Frouter.cc", "/assets/../CMakeLists.txt",
                                   "/assets/.gitignore", "/assets/INDEX.HTML", "/assets/nope.js", "/assets/a/b.js"}) {
    CAPTURE(target);
    Response res = s.Get(target);
    CHECK(res.result() == http::status::not_found);
    CHECK(res.body() == R"({"error":"Not found"})");
  }
  Request post{http::verb::post, "/", 11};
  std::string route;
  CHECK(HandleRequest(post, s.ctx, &route).result() == http::status::method_not_allowed);
}

TEST_CASE("--web-dir serves the files from disk at each request, within the directory only") {
  Service s;
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/web");
  std::ofstream(dir.path() + "/web/index.html") << "<p>one</p>";
  std::ofstream(dir.path() + "/secret.txt") << "no";
  s.ctx.web_dir = dir.path() + "/web";
  CHECK(s.Get("/").body() == "<p>one</p>");
  std::ofstream(dir.path() + "/web/index.html") << "<p>two</p>";
  CHECK(s.Get("/search/x/").body() == "<p>two</p>");
  CHECK(s.Get("/assets/index.html").body() == "<p>two</p>");
  CHECK(s.Get("/assets/..%2Fsecret.txt").result() == http::status::not_found);
  CHECK(s.Get("/assets/missing.js").result() == http::status::not_found);
}

TEST_CASE("GET /api/v1/me/ names the org of a Close key, and only with one") {
  Service s;
  Response me = s.Get("/api/v1/me/", "", "Bearer key-org1");
  CHECK(me.result() == http::status::ok);
  CHECK(me.body() == R"({"organizations":[{"id":"org1"}]})");
  CHECK(s.Get("/api/v1/me/", "", "Basic " + testing::Base64("key-org1:")).body() == me.body());
  CHECK(s.Get("/api/v1/me/").result() == http::status::unauthorized);
  CHECK(s.Get("/api/v1/me/", "", "Bearer nope").result() == http::status::unauthorized);
}

}  // namespace leadflow::api
