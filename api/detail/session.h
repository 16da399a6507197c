// One HTTP connection: read a request, answer it, repeat while keep-alive.
//
// A request that cannot be read whole is answered when an answer helps the
// client (ReadErrorResponse), and the connection then closes gracefully: the
// session stops sending, then reads and discards what the client still sends
// for a bounded time, so that the client reads the answer instead of a reset.
//
// Thread safety: all handlers of a session run on its strand.
#ifndef LEADFLOW_API_DETAIL_SESSION_H_
#define LEADFLOW_API_DETAIL_SESSION_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "api/router.h"
#include "api/server.h"

namespace leadflow::api::detail {

// The answer to a request whose read failed with ec, before the router saw
// it; nullopt when none is due (the client closed, reset or stalled) and the
// connection just closes. A body over options.body_limit is 413 and a header
// over options.header_limit is 431, each naming the limit; any other parse
// error is 400. target is the request-target as far as it was read (may be
// empty): under /Leads/ (ASCII case-insensitive, after percent-decoding) the
// body is LeadSquared's error (MXInvalidInputException), elsewhere Close's
// shape. The answer asks to close the connection. Pure.
std::optional<Response> ReadErrorResponse(boost::beast::error_code ec, std::string_view target, unsigned version,
                                          const ServerOptions& options);

// The request-target of the request line at the start of bytes, as far as
// bytes hold it ("" when bytes do not get past the method). For a request
// line too long for the parser. Pure.
std::string_view RequestTargetPrefix(std::string_view bytes);

class Session : public std::enable_shared_from_this<Session> {
 public:
  // ctx must outlive the session; options are copied.
  Session(boost::asio::ip::tcp::socket&& socket, const ServiceContext* ctx, const ServerOptions& options);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Run();

 private:
  void DoRead();
  void OnRead(boost::beast::error_code ec, std::size_t bytes);
  void OnReadError(boost::beast::error_code ec);
  void OnWrite(bool keep_alive, boost::beast::error_code ec, std::size_t bytes);
  void DoClose();
  // The graceful close after an error answer (see the file comment).
  void DoLinger();
  void DoDrain();
  void OnDrain(boost::beast::error_code ec, std::size_t bytes);

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<Response> response_;
  bool linger_after_write_ = false;
  std::chrono::steady_clock::time_point linger_deadline_;
  const ServiceContext* ctx_;
  const ServerOptions options_;
};

}  // namespace leadflow::api::detail

#endif  // LEADFLOW_API_DETAIL_SESSION_H_
