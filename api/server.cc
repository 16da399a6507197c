#include "api/server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>

#include "api/detail/session.h"
#include "state/log.h"

namespace leadflow::api {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Server::Impl {
  ServerOptions options;
  const ServiceContext* ctx;
  asio::io_context ioc;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::unique_ptr<asio::ssl::context> tls;  // set for HTTPS

  Impl(const ServerOptions& o, const ServiceContext* c) : options(o), ctx(c), ioc(o.threads) {}

  void DoAccept() {
    acceptor->async_accept(asio::make_strand(ioc), [this](boost::beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) detail::StartSession(std::move(socket), tls.get(), ctx, options);
      if (acceptor->is_open()) DoAccept();
    });
  }
};

Server::Server(const ServerOptions& options, const ServiceContext* ctx)
    : impl_(std::make_unique<Impl>(options, ctx)) {}

Server::~Server() { Stop(); }

// The TLS context of options (TLS 1.2 and later), or an error naming the
// file that could not be used (never its content).
Status LoadTls(const ServerOptions& options, std::unique_ptr<asio::ssl::context>* out) {
  auto tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  boost::system::error_code ec;
  tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                   ec);
  if (!ec) tls->use_certificate_chain_file(options.tls_cert_file, ec);
  if (ec) return Status::InvalidArgument("cannot use --tls-cert " + options.tls_cert_file + ": " + ec.message());
  tls->use_private_key_file(options.tls_key_file, asio::ssl::context::pem, ec);
  if (ec) return Status::InvalidArgument("cannot use --tls-key " + options.tls_key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(tls->native_handle()) != 1) {
    return Status::InvalidArgument("--tls-key " + options.tls_key_file + " is not the key of --tls-cert " +
                                   options.tls_cert_file);
  }
  *out = std::move(tls);
  return Status::Ok();
}

Status Server::Start() {
  const std::string& listen = impl_->options.listen;
  if (!impl_->options.tls_cert_file.empty() || !impl_->options.tls_key_file.empty()) {
    if (impl_->options.tls_cert_file.empty() || impl_->options.tls_key_file.empty()) {
      return Status::InvalidArgument("--tls-cert and --tls-key go together");
    }
    Status s = LoadTls(impl_->options, &impl_->tls);
    if (!s.ok()) return s;
  }
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("--listen must be HOST:PORT, got " + listen);
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  try {
    port = std::stoul(listen.substr(colon + 1));
  } catch (const std::exception&) {
    return Status::InvalidArgument("--listen port is not a number: " + listen);
  }
  boost::beast::error_code ec;
  auto address = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec || port > 65535) return Status::InvalidArgument("--listen is not a valid address: " + listen);
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  auto acceptor = std::make_unique<tcp::acceptor>(asio::make_strand(impl_->ioc));
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IoError("cannot listen on " + listen + ": " + ec.message());
  impl_->acceptor = std::move(acceptor);
  impl_->work.emplace(impl_->ioc.get_executor());
  impl_->DoAccept();
  for (int i = 0; i < std::max(1, impl_->options.threads); ++i) {
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  }
  // The port bound, for :0.
  LogInfo(std::string("listening on ") + (impl_->tls ? "https://" : "http://") + listen.substr(0, colon + 1) +
          std::to_string(this->port()));
  return Status::Ok();
}

void Server::Stop() {
  if (impl_->threads.empty()) return;
  asio::post(impl_->acceptor->get_executor(), [this] {
    boost::beast::error_code ec;
    impl_->acceptor->close(ec);
  });
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

unsigned short Server::port() const {
  return impl_->acceptor ? impl_->acceptor->local_endpoint().port() : 0;
}

}  // namespace leadflow::api
