#include "api/detail/session.h"

#include <chrono>
#include <cstdio>

#include <boost/asio/dispatch.hpp>

#include "state/log.h"

namespace leadflow::api::detail {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {
constexpr auto kTimeout = std::chrono::seconds(30);
constexpr std::uint64_t kBodyLimit = 1 << 20;
}  // namespace

Session::Session(boost::asio::ip::tcp::socket&& socket, const ServiceContext* ctx)
    : stream_(std::move(socket)), ctx_(ctx) {}

void Session::Run() {
  boost::asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::DoRead, shared_from_this()));
}

void Session::DoRead() {
  parser_.emplace();
  parser_->body_limit(kBodyLimit);
  stream_.expires_after(kTimeout);
  http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
}

void Session::OnRead(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream) return DoClose();
  if (ec) {
    if (ec != beast::error::timeout && ec != boost::asio::error::operation_aborted &&
        ec != boost::asio::error::connection_reset) {
      // A malformed request gets a 400 before the connection closes.
      if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
        auto res = std::make_shared<Response>(http::status::bad_request, 11);
        res->set(http::field::content_type, "application/json");
        res->body() = R"({"errors":["Malformed HTTP request."],"field-errors":{}})";
        res->keep_alive(false);
        res->prepare_payload();
        response_ = res;
        http::async_write(stream_, *response_,
                          beast::bind_front_handler(&Session::OnWrite, shared_from_this(), false));
        return;
      }
    }
    return DoClose();
  }
  const auto start = std::chrono::steady_clock::now();
  Request req = parser_->release();
  std::string route;
  Response res;
  try {
    res = HandleRequest(req, *ctx_, &route);
  } catch (const std::exception& e) {
    LogError(std::string("request failed: ") + e.what());
    res = JsonResponse(req, http::status::internal_server_error, R"({"error":"Internal error"})");
    route = "error";
  }
  const std::chrono::duration<double> d = std::chrono::steady_clock::now() - start;
  if (ctx_->http_metrics) {
    ctx_->http_metrics->Observe(route, static_cast<unsigned>(res.result_int()), d.count());
  }
  // Server-Timing (W3C): the handler's own time in ms, from parsed request to
  // built response; the benchmark reads server-side latency from it.
  char timing[48];
  std::snprintf(timing, sizeof timing, "app;dur=%.3f", d.count() * 1000.0);
  res.set("Server-Timing", timing);
  const bool keep_alive = res.keep_alive();
  response_ = std::make_shared<Response>(std::move(res));
  http::async_write(stream_, *response_,
                    beast::bind_front_handler(&Session::OnWrite, shared_from_this(), keep_alive));
}

void Session::OnWrite(bool keep_alive, beast::error_code ec, std::size_t) {
  if (ec) return DoClose();
  response_.reset();
  if (!keep_alive) return DoClose();
  DoRead();
}

void Session::DoClose() {
  beast::error_code ec;
  stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
}

}  // namespace leadflow::api::detail
