#include <doctest/doctest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "api/credentials.h"
#include "api/forwarder.h"
#include "api/openapi.h"
#include "api/http_metrics.h"
#include "api/server.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

// HTTPS (--tls-cert, --tls-key): the real server on a free port of
// 127.0.0.1 with a certificate made for the test, a real TLS client that
// verifies it; plain HTTP to the TLS port; certificates that cannot be used.

namespace leadflow::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

void WriteSelfSigned(const std::string& cert_path, const std::string& key_path) {
  REQUIRE(testing::WriteSelfSignedCert(cert_path, key_path));
}

struct TlsServer {
  TlsServer() {
    WriteSelfSigned(cert, key);
    REQUIRE_OK(Credentials::Parse(R"([{"org_id": "org1", "api_key": "key-org1"}])", &credentials));
    ctx.store = db.store();
    ctx.credentials = &credentials;
    ctx.http_metrics = &metrics;
  }
  Status Start(const std::string& cert_file, const std::string& key_file) {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.threads = 2;
    options.tls_cert_file = cert_file;
    options.tls_key_file = key_file;
    server = std::make_unique<Server>(options, &ctx);
    return server->Start();
  }

  testing::TempDir dir;
  const std::string cert = dir.path() + "/cert.pem";
  const std::string key = dir.path() + "/key.pem";
  testing::TestDb db;
  Credentials credentials;
  HttpMetrics metrics;
  ServiceContext ctx;
  std::unique_ptr<Server> server;  // last: stops before the rest goes
};

// GET target over TLS, verifying the server's certificate against ca_file
// for the name localhost.
http::response<http::string_body> HttpsGet(unsigned short port, const std::string& ca_file,
                                           const std::string& target, const std::string& auth = "") {
  asio::io_context ioc;
  ssl::context tls(ssl::context::tls_client);
  tls.load_verify_file(ca_file);
  tls.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, tls);
  stream.set_verify_callback(ssl::host_name_verification("localhost"));
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(stream).connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  stream.handshake(ssl::stream_base::client);
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "localhost");
  if (!auth.empty()) req.set(http::field::authorization, auth);
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  beast::error_code ec;
  stream.shutdown(ec);
  return res;
}

TEST_CASE("HTTPS: a verifying TLS client gets the service's answers") {
  TlsServer s;
  REQUIRE_OK(s.Start(s.cert, s.key));
  const auto health = HttpsGet(s.server->port(), s.cert, "/healthz");
  CHECK(health.result() == http::status::ok);
  const auto denied = HttpsGet(s.server->port(), s.cert, "/api/v1/lead/");
  CHECK(denied.result() == http::status::unauthorized);
  CHECK(denied[http::field::www_authenticate].find("Basic") != std::string::npos);
  const auto search =
      HttpsGet(s.server->port(), s.cert, "/api/v1/lead/", "Basic " + testing::Base64("key-org1:"));
  CHECK(search.result() == http::status::ok);
}

TEST_CASE("HTTPS: plain HTTP to the TLS port gets no answer, and the server goes on") {
  TlsServer s;
  REQUIRE_OK(s.Start(s.cert, s.key));
  {
    asio::io_context ioc;
    beast::tcp_stream plain(ioc);
    plain.expires_after(std::chrono::seconds(10));
    plain.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.server->port()));
    const std::string request = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
    asio::write(plain, asio::buffer(request));
    char buf[512];
    beast::error_code ec;
    std::string got;
    for (;;) {
      const size_t n = plain.read_some(asio::buffer(buf), ec);
      got.append(buf, n);
      if (ec) break;
    }
    CHECK(got.find("HTTP/1.1 200") == std::string::npos);
    CHECK(ec != beast::error::timeout);  // closed by the server, not left hanging
  }
  CHECK(HttpsGet(s.server->port(), s.cert, "/healthz").result() == http::status::ok);
}

TEST_CASE("HTTPS: a certificate or key that cannot be used stops the start, naming the file") {
  TlsServer s;
  Status missing = s.Start(s.dir.path() + "/none.pem", s.key);
  CHECK(!missing.ok());
  CHECK(missing.message().find("--tls-cert " + s.dir.path() + "/none.pem") != std::string::npos);

  // A key that is not the certificate's.
  const std::string other_cert = s.dir.path() + "/other-cert.pem", other_key = s.dir.path() + "/other-key.pem";
  WriteSelfSigned(other_cert, other_key);
  Status mismatch = s.Start(s.cert, other_key);
  CHECK(!mismatch.ok());
  CHECK_MESSAGE(mismatch.message().find("--tls-key " + other_key) != std::string::npos, mismatch.message());
  // The key's text never appears in the message.
  std::ifstream key_file(other_key);
  std::string line;
  std::getline(key_file, line);
  std::getline(key_file, line);  // the first line of base64
  CHECK(mismatch.message().find(line) == std::string::npos);

  Status half = s.Start(s.cert, "");
  CHECK(!half.ok());
}

TEST_CASE("HTTPS: a cluster instance forwards to an HTTPS peer, verifying its certificate and name") {
  TlsServer peer;
  peer.ctx.instance = "peer-1";
  REQUIRE_OK(peer.Start(peer.cert, peer.key));
  const std::string port = std::to_string(peer.server->port());
  Request req{http::verb::get, "/api/v1/report/statuses/lead/org1/", 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::authorization, "Bearer key-org1");
  auto send = [&](Forwarder& f, const std::string& host) {
    std::promise<Forwarder::Result> done;
    f.Forward(req, host, port, true, [&done](Forwarder::Result r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  };

  ForwarderOptions options;
  options.instance = "me";
  options.tls = std::make_shared<ssl::context>(ssl::context::tls_client);
  options.tls->load_verify_file(peer.cert);
  Forwarder f(options);
  Forwarder::Result r = send(f, "localhost");
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.response.result() == http::status::ok);
  CHECK(r.response["Leadflow-Served-By"] == "peer-1");
  r = send(f, "localhost");  // again, over the pooled TLS connection
  CHECK(r.ok);
  // A large answer (many TLS records).
  Request doc{http::verb::get, "/openapi.json", 11};
  doc.set(http::field::host, "localhost");
  std::promise<Forwarder::Result> big;
  f.Forward(doc, "localhost", port, true, [&big](Forwarder::Result x) { big.set_value(std::move(x)); });
  r = big.get_future().get();
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.response.body().size() > 20000);
  CHECK(r.response.body() == std::string(OpenApiDocument()));
  // The certificate names localhost, not 127.0.0.1: refused.
  r = send(f, "127.0.0.1");
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("TLS to https://127.0.0.1:") != std::string::npos);
  // A peer whose CA is not trusted: refused.
  ForwarderOptions untrusting = options;
  untrusting.tls = std::make_shared<ssl::context>(ssl::context::tls_client);
  Forwarder g(untrusting);
  r = send(g, "localhost");
  CHECK_FALSE(r.ok);
  // No TLS client at all: not sent.
  ForwarderOptions plain;
  Forwarder h(plain);
  r = send(h, "localhost");
  CHECK_FALSE(r.ok);
  CHECK(r.error == "no TLS client for HTTPS peers");
}

}  // namespace
}  // namespace leadflow::api
