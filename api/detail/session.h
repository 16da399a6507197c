// One HTTP connection: read a request, answer it, repeat while keep-alive;
// over TCP or TLS (the same code, a template over the stream, in session.cc).
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
#include <boost/asio/ssl/context.hpp>
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

// Starts a session on an accepted connection: plain HTTP, or HTTPS when tls
// is set (the TLS handshake first, within the read timeout). ctx and tls
// must outlive the session; options are copied.
void StartSession(boost::asio::ip::tcp::socket&& socket, boost::asio::ssl::context* tls, const ServiceContext* ctx,
                  const ServerOptions& options);

}  // namespace leadflow::api::detail

#endif  // LEADFLOW_API_DETAIL_SESSION_H_
