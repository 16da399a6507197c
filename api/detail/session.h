// One HTTP connection: read a request, answer it, repeat while keep-alive.
//
// Thread safety: all handlers of a session run on its strand.
#ifndef LEADFLOW_API_DETAIL_SESSION_H_
#define LEADFLOW_API_DETAIL_SESSION_H_

#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "api/router.h"

namespace leadflow::api::detail {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket&& socket, const ServiceContext* ctx);
  void Run();

 private:
  void DoRead();
  void OnRead(boost::beast::error_code ec, std::size_t bytes);
  void OnWrite(bool keep_alive, boost::beast::error_code ec, std::size_t bytes);
  void DoClose();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<Response> response_;
  const ServiceContext* ctx_;
};

}  // namespace leadflow::api::detail

#endif  // LEADFLOW_API_DETAIL_SESSION_H_
