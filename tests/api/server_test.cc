#include "api/server.h"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "api/credentials.h"
#include "api/http_metrics.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

// The real server on a free port of 127.0.0.1, over real TCP connections:
// what a client sees of the size limits, of the close after them and of
// authentication. No Kafka: the store is an empty one in a temp directory.

namespace leadflow::api {
namespace {

using testing::Base64;

constexpr std::string_view kLsqTarget = "/Leads/NotContacted?accessKey=u%24acc&secretKey=sec";
constexpr std::string_view kTooLargeClose = R"({"error":"Request body too large: at most 1048576 bytes"})";
constexpr std::string_view kTooLargeLsq =
    R"({"Status":"Error","ExceptionType":"MXInvalidInputException",)"
    R"("ExceptionMessage":"Request body too large: at most 1048576 bytes"})";

// A target of each route family and its 413 body.
struct Family {
  std::string_view target, body;
};
constexpr Family kFamilies[] = {{"/api/v1/saved_search/", kTooLargeClose}, {kLsqTarget, kTooLargeLsq}};

struct LiveServer {
  explicit LiveServer(ServerOptions options = ServerOptions()) {
    REQUIRE_OK(Credentials::Parse(
        R"([{"org_id": "org1", "api_key": "key-org1", "lsq_access_key": "u$acc", "lsq_secret_key": "sec"}])",
        &credentials));
    ctx.store = db.store();
    ctx.credentials = &credentials;
    ctx.http_metrics = &metrics;
    options.listen = "127.0.0.1:0";
    options.threads = 2;
    server = std::make_unique<Server>(options, &ctx);
    REQUIRE_OK(server->Start());
  }

  testing::TestDb db;
  Credentials credentials;
  HttpMetrics metrics;
  ServiceContext ctx;
  std::unique_ptr<Server> server;  // last: stops before the rest goes
};

// What the client saw: the bytes the server sent until it closed, and how
// the connection ended.
struct Exchange {
  bool sent = false;       // the server took every byte of the request
  std::string bytes;
  bool reset = false;      // the server reset the connection
  bool timed_out = false;  // it neither answered nor closed in time
  double seconds = 0;      // from the end of sending to the end of the answer

  int status() const { return bytes.size() >= 12 ? std::atoi(bytes.substr(9, 3).c_str()) : 0; }
  std::string body() const {
    const size_t end = bytes.find("\r\n\r\n");
    return end == std::string::npos ? "" : bytes.substr(end + 4);
  }
  bool HasHeader(std::string_view line) const {
    return bytes.substr(0, bytes.find("\r\n\r\n") + 2).find(std::string("\r\n") + std::string(line) + "\r\n") !=
           std::string::npos;
  }
};

// A blocking TCP client with 10 s timeouts, so that a server that does not
// read or does not answer fails the test instead of hanging it. Its send
// buffer is small, as over a real network, where most of a large body is
// still on its way when the server answers: over loopback the kernel would
// otherwise take a few MB at once, whether the server reads them or not.
class Client {
 public:
  explicit Client(unsigned short port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const int send_buffer = 64 * 1024;
    setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof send_buffer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~Client() { close(fd_); }
  int fd() const { return fd_; }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends every byte; false when the server stopped taking them.
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Sends request (all of it, as most clients do before reading), then reads
  // until the server closes. Many clients give up at a failed send without
  // reading the answer, so the tests of large requests require e.sent.
  Exchange Roundtrip(std::string_view request) {
    const bool sent = Send(request);
    Exchange out = ReadToEnd();
    out.sent = sent;
    return out;
  }

  Exchange ReadToEnd() {
    Exchange out;
    const auto start = std::chrono::steady_clock::now();
    char buf[16384];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        out.bytes.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == ECONNRESET) out.reset = true;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) out.timed_out = true;
      break;
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return out;
  }

 private:
  int fd_ = -1;
};

std::string Chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + std::string(data) + "\r\n";
}

std::string Post(std::string_view target, std::string_view headers) {
  return "POST " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + std::string(headers) + "\r\n";
}

const std::string kAuth = "Authorization: Basic " + Base64("key-org1:") + "\r\n";

}  // namespace

TEST_CASE("a declared Content-Length over the limit is a 413 at once, without sending the body") {
  LiveServer s;
  for (const Family& f : kFamilies) {
    CAPTURE(std::string(f.target));
    Client c(s.server->port());
    const Exchange e =
        c.Roundtrip(Post(f.target, kAuth + "Content-Type: application/json\r\nContent-Length: 100000000\r\n"));
    CHECK_FALSE(e.timed_out);
    CHECK(e.status() == 413);
    CHECK(e.body() == f.body);
    CHECK(e.HasHeader("Connection: close"));
    CHECK(e.HasHeader("Content-Type: application/json"));
    CHECK(e.seconds < 5);  // nothing waited for the 100 MB
  }
  std::string metrics;
  s.metrics.Render(&metrics);
  CHECK(metrics.find(R"(route="invalid",status="413")") != std::string::npos);
}

TEST_CASE("a 2 MB body sent whole before reading still gets its 413, not a reset") {
  LiveServer s;
  const std::string payload(2 << 20, 'x');
  for (const Family& f : kFamilies) {
    CAPTURE(std::string(f.target));
    Client c(s.server->port());
    const Exchange e = c.Roundtrip(
        Post(f.target, kAuth + "Content-Length: " + std::to_string(payload.size()) + "\r\n") + payload);
    CHECK(e.sent);
    CHECK_FALSE(e.reset);
    CHECK_FALSE(e.timed_out);
    CHECK(e.status() == 413);
    CHECK(e.body() == f.body);
  }
}

TEST_CASE("a chunked body that grows past the limit is a 413") {
  LiveServer s;
  const std::string piece(64 * 1024, 'x');
  std::string chunks;
  for (int i = 0; i < 32; ++i) chunks += Chunk(piece);  // 2 MB in all
  chunks += "0\r\n\r\n";
  for (const Family& f : kFamilies) {
    CAPTURE(std::string(f.target));
    Client c(s.server->port());
    const Exchange e = c.Roundtrip(Post(f.target, kAuth + "Transfer-Encoding: chunked\r\n") + chunks);
    CHECK(e.sent);
    CHECK_FALSE(e.reset);
    CHECK_FALSE(e.timed_out);
    CHECK(e.status() == 413);
    CHECK(e.body() == f.body);
    CHECK(e.HasHeader("Connection: close"));
  }
}

TEST_CASE("a body of exactly the limit is read and answered; one byte more is a 413") {
  ServerOptions options;
  options.body_limit = 1000;
  LiveServer s(options);
  const std::string at_limit(1000, 'x');
  const std::string over = at_limit + "x";
  const std::string close = "Connection: close\r\n";
  struct Case {
    std::string name, request;
    int status;
  };
  const Case cases[] = {
      {"Content-Length at the limit", Post("/healthz", close + "Content-Length: 1000\r\n") + at_limit, 200},
      {"Content-Length one over", Post("/healthz", close + "Content-Length: 1001\r\n") + over, 413},
      {"chunks adding up to the limit",
       Post("/healthz", close + "Transfer-Encoding: chunked\r\n") + Chunk(at_limit.substr(0, 600)) +
           Chunk(at_limit.substr(600)) + "0\r\n\r\n",
       200},
      {"chunks adding up to one over",
       Post("/healthz", close + "Transfer-Encoding: chunked\r\n") + Chunk(at_limit.substr(0, 600)) +
           Chunk(over.substr(600)) + "0\r\n\r\n",
       413},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Client client(s.server->port());
    const Exchange e = client.Roundtrip(c.request);
    CHECK(e.sent);
    CHECK(e.status() == c.status);
    if (c.status == 413) CHECK(e.body() == R"({"error":"Request body too large: at most 1000 bytes"})");
  }
}

TEST_CASE("a header over the limit is a 431 in the shape of its route family") {
  LiveServer s;
  const std::string big(10 * 1024, 'a');
  struct Case {
    std::string name, request, body;
  };
  const Case cases[] = {
      {"a long field", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n",
       R"({"error":"Request header fields too large: at most 8192 bytes"})"},
      {"a long target under /Leads/", "POST " + std::string(kLsqTarget) + "&x=" + big + " HTTP/1.1\r\nHost: x\r\n\r\n",
       R"({"Status":"Error","ExceptionType":"MXInvalidInputException",)"
       R"("ExceptionMessage":"Request header fields too large: at most 8192 bytes"})"},
      {"a long field under /Leads/", "POST " + std::string(kLsqTarget) + " HTTP/1.1\r\nX-Big: " + big + "\r\n\r\n",
       R"({"Status":"Error","ExceptionType":"MXInvalidInputException",)"
       R"("ExceptionMessage":"Request header fields too large: at most 8192 bytes"})"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Client client(s.server->port());
    const Exchange e = client.Roundtrip(c.request);
    CHECK(e.sent);
    CHECK_FALSE(e.reset);
    CHECK(e.status() == 431);
    CHECK(e.body() == c.body);
  }
}

TEST_CASE("after a 413 the server still answers a small request on a fresh connection") {
  LiveServer s;
  {
    Client c(s.server->port());
    CHECK(c.Roundtrip(Post("/healthz", "Content-Length: 100000000\r\n")).status() == 413);
  }
  Client c(s.server->port());
  const Exchange e = c.Roundtrip("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(e.status() == 200);
  CHECK(e.body() == "ok\n");
}

TEST_CASE("over HTTP, Basic with the key and an empty password is accepted; with a password it is a 401") {
  LiveServer s;
  const std::string body = R"({"name": "Web leads", "query": ""})";
  auto post = [&](const std::string& user_pass) {
    Client c(s.server->port());
    return c.Roundtrip(Post("/api/v1/saved_search/", "Authorization: Basic " + Base64(user_pass) +
                                                         "\r\nConnection: close\r\nContent-Length: " +
                                                         std::to_string(body.size()) + "\r\n") +
                       body);
  };
  const Exchange ok = post("key-org1:");  // curl -u key-org1:
  CHECK(ok.status() == 200);
  CHECK(ok.body().find(R"("name":"Web leads")") != std::string::npos);
  for (const char* user_pass : {"key-org1:password", "key-org1: ", "wrong:"}) {
    CAPTURE(user_pass);
    const Exchange e = post(user_pass);
    CHECK(e.status() == 401);
    CHECK(e.body() == R"({"error":"Unauthorized"})");
  }
}

}  // namespace leadflow::api

namespace leadflow::api {

TEST_CASE("a report stream outlives the I/O timeout while its client reads, with heartbeats between events") {
  ServerOptions options;
  options.io_timeout = std::chrono::milliseconds(500);
  options.stream_heartbeat = std::chrono::milliseconds(150);
  LiveServer s(options);
  Client c(s.server->port());
  REQUIRE(c.Send("GET /api/v1/report/statuses/lead/org1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n" + kAuth + "\r\n"));
  // Read for four I/O timeouts: the stream must stay open all along.
  std::string bytes;
  bool closed = false;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < until) {
    char buf[4096];
    const ssize_t n = recv(c.fd(), buf, sizeof buf, 0);
    if (n <= 0) {
      closed = true;
      break;
    }
    bytes.append(buf, static_cast<size_t>(n));
  }
  CHECK_FALSE(closed);
  CHECK(bytes.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(bytes.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(bytes.find("event: report\ndata: {\"status_overview\":[],\"status_transitions\":[]}\n\n") != std::string::npos);
  size_t beats = 0;
  for (size_t at = bytes.find(": heartbeat"); at != std::string::npos; at = bytes.find(": heartbeat", at + 1)) ++beats;
  CHECK(beats >= 6);
}

}  // namespace leadflow::api
