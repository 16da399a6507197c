// Server: the asynchronous Boost.Beast HTTP/1.1 server. A listener accepts
// connections; each connection is a session on its own strand that reads a
// request, answers it with HandleRequest (api/router.h) and keeps the
// connection alive. Several I/O threads run the sessions, so a slow client
// holds up nobody else; idle or stalled connections time out. A request over
// the size limits of ServerOptions is answered 413 or 431 and its connection
// closed; the client still gets the answer while it is sending (the session
// reads and discards the rest for a bounded time before closing).
//
// Thread safety: Start and Stop are called by the owning thread.
#ifndef LEADFLOW_API_SERVER_H_
#define LEADFLOW_API_SERVER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/router.h"
#include "state/status.h"

namespace leadflow::api {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT. Default: 127.0.0.1:8080
  int threads = 4;                        // I/O threads. Default: 4
  // HTTPS: a PEM certificate chain and its PEM private key (both or
  // neither; TLS 1.2 and later). Default: none, plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;

  // The largest request body accepted, in bytes, whether its Content-Length
  // says so (answered at once, before any of the body is read) or its chunks
  // add up to more. Such a request is answered 413 "Request body too large:
  // at most N bytes" (in LeadSquared's error shape under /Leads/) and the
  // connection is closed. Legitimate bodies (LeadSquared report filters,
  // Smart Views, a report's _params) are a few KB; the limit also bounds the
  // memory a request may take, as the body is held whole.
  // Default: 1 MiB (1048576)
  uint64_t body_limit = uint64_t{1} << 20;
  // The largest request header (request line and fields), in bytes; a larger
  // one is answered 431 "Request header fields too large: at most N bytes"
  // and the connection is closed. Long report parameters belong in a POST
  // body (x-http-method-override), not in the target.
  // Default: 8 KiB (8192), Beast's default and nginx's line buffer size
  uint32_t header_limit = 8 * 1024;

  // How long a read of a request or a write of an answer may take (a
  // connection idle between requests is closed after it too). Default: 30 s
  std::chrono::milliseconds io_timeout{30000};

  // Report streams (GET .../stream, api/report_stream.h): how often an open
  // stream looks for a change of its org (Default: 50 ms); the least time
  // between two report events of one stream, changes in between coalesced
  // into the next (Default: 200 ms, so at most 5 per second); and the time
  // without an event after which a heartbeat comment is sent, which also
  // finds clients that went away (Default: 15 s).
  std::chrono::milliseconds stream_poll{50};
  std::chrono::milliseconds stream_min_interval{200};
  std::chrono::milliseconds stream_heartbeat{15000};
};

class Server {
 public:
  // ctx must outlive the Server.
  Server(const ServerOptions& options, const ServiceContext* ctx);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving. InvalidArgument for a bad address, IoError when
  // the port cannot be bound.
  Status Start();
  // Stops accepting, closes connections and joins the I/O threads.
  void Stop();
  // The bound port (useful with port 0).
  unsigned short port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace leadflow::api

#endif  // LEADFLOW_API_SERVER_H_
