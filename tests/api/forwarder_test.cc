// api::Forwarder against the real server on a free port of 127.0.0.1, over
// real TCP: the owner's answer comes back whole (status, headers, body; a
// HEAD's header alone), the request carries Leadflow-Forwarded-By, kept-alive
// connections are pooled, a read is tried once more when a pooled
// connection was closed, and a peer that is not there is a failure, not a
// hang.
#include "api/forwarder.h"

#include <doctest/doctest.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <future>
#include <string>

#include "api/credentials.h"
#include "api/http_metrics.h"
#include "api/server.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::api {
namespace {

namespace http = boost::beast::http;

struct Owner {
  Owner() {
    REQUIRE_OK(Credentials::Parse(
        R"([{"org_id": "org1", "api_key": "key-org1", "lsq_access_key": "u$acc", "lsq_secret_key": "sec"}])",
        &credentials));
    ctx.store = db.store();
    ctx.credentials = &credentials;
    ctx.http_metrics = &metrics;
    ctx.instance = "owner-1";
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.threads = 1;
    server = std::make_unique<Server>(options, &ctx);
    REQUIRE_OK(server->Start());
  }
  std::string port() const { return std::to_string(server->port()); }

  testing::TestDb db;
  Credentials credentials;
  HttpMetrics metrics;
  ServiceContext ctx;
  std::unique_ptr<Server> server;
};

Forwarder::Result Send(Forwarder& f, const Request& req, const std::string& port) {
  std::promise<Forwarder::Result> done;
  auto got = done.get_future();
  f.Forward(req, "127.0.0.1", port, false, [&done](Forwarder::Result r) { done.set_value(std::move(r)); });
  REQUIRE(got.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  return got.get();
}

Request Get(const std::string& target, const std::string& key = "key-org1") {
  Request req{http::verb::get, target, 11};
  req.set(http::field::authorization, "Bearer " + key);
  req.prepare_payload();
  return req;
}

// A port nothing listens on.
std::string ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return std::to_string(ntohs(a.sin_port));
}

}  // namespace

TEST_CASE("a forwarded request gets the owner's answer unchanged") {
  Owner owner;
  ForwarderOptions fo;
  fo.instance = "front-1";
  Forwarder f(fo);

  Forwarder::Result r = Send(f, Get("/api/v1/report/statuses/lead/org1/"), owner.port());
  REQUIRE(r.ok);
  CHECK(r.response.result() == http::status::ok);
  CHECK(r.response[http::field::content_type] == "application/json");
  CHECK(r.response["Leadflow-Served-By"] == "owner-1");
  CHECK(r.response["Server-Timing"].starts_with("app;dur="));
  CHECK(r.response.body().find("\"status_overview\"") != std::string::npos);
  // A large answer, whole.
  r = Send(f, Get("/openapi.json"), owner.port());
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.response.body().size() > 20000);
  // The owner answers as it would a client of its own: 401 with its
  // challenges, 404 for another org.
  r = Send(f, Get("/api/v1/report/statuses/lead/org1/", "wrong"), owner.port());
  REQUIRE(r.ok);
  CHECK(r.response.result() == http::status::unauthorized);
  CHECK(r.response.count(http::field::www_authenticate) == 2);
  r = Send(f, Get("/api/v1/report/statuses/lead/org2/"), owner.port());
  REQUIRE(r.ok);
  CHECK(r.response.result() == http::status::not_found);

  // HEAD: the header alone, its Content-Length the GET's.
  Request head = Get("/openapi.json");
  head.method(http::verb::head);
  r = Send(f, head, owner.port());
  REQUIRE(r.ok);
  CHECK(r.response.result() == http::status::ok);
  CHECK(r.response.body().empty());
  CHECK(std::stoul(std::string(r.response[http::field::content_length])) > 10000);

  // POST with a body (LeadSquared): the body arrives.
  Request post{http::verb::post, "/Leads/NotContacted?accessKey=u%24acc&secretKey=sec", 11};
  post.set(http::field::content_type, "application/json");
  post.body() = "[1]";  // not an object: the owner's 400 says so
  post.prepare_payload();
  r = Send(f, post, owner.port());
  REQUIRE(r.ok);
  CHECK(r.response.result() == http::status::bad_request);
  CHECK(r.response.body().find("MXInvalidInputException") != std::string::npos);

  std::string metrics;
  f.AppendMetrics(&metrics);
  CHECK(metrics.find("leadflow_forwarded_requests_total{result=\"ok\"} 6") != std::string::npos);
  CHECK(metrics.find("leadflow_forward_duration_seconds_count 6") != std::string::npos);
}

TEST_CASE("a forward to a peer that is gone fails, once retried for a read, and a restarted peer is reached again") {
  ForwarderOptions fo;
  fo.instance = "front-1";
  fo.connect_timeout = std::chrono::milliseconds(500);
  Forwarder f(fo);
  Forwarder::Result r = Send(f, Get("/healthz"), ClosedPort());
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("cannot connect") != std::string::npos);

  std::string port;
  {
    Owner owner;
    port = owner.port();
    r = Send(f, Get("/api/v1/report/statuses/lead/org1/"), port);
    REQUIRE(r.ok);  // a connection now kept in the pool
  }
  // The owner is gone: the pooled connection fails before any answer, the
  // retry on a new one is refused.
  r = Send(f, Get("/api/v1/report/statuses/lead/org1/"), port);
  CHECK_FALSE(r.ok);
  CHECK(r.retried);
  std::string metrics;
  f.AppendMetrics(&metrics);
  CHECK(metrics.find("leadflow_forwarded_requests_total{result=\"retried\"} 1") != std::string::npos);
  CHECK(metrics.find("leadflow_forwarded_requests_total{result=\"unavailable\"} 2") != std::string::npos);
}

}  // namespace leadflow::api
