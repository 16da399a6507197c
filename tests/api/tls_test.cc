#include <doctest/doctest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <fstream>
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

// A self-signed P-256 certificate for CN=localhost, and its key, as PEM.
void WriteSelfSigned(const std::string& cert_path, const std::string& key_path) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  REQUIRE(key);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);
  FILE* c = std::fopen(cert_path.c_str(), "w");
  REQUIRE(c);
  PEM_write_X509(c, cert.get());
  std::fclose(c);
  FILE* k = std::fopen(key_path.c_str(), "w");
  REQUIRE(k);
  PEM_write_PrivateKey(k, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(k);
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

}  // namespace
}  // namespace leadflow::api
