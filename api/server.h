// Server: the asynchronous Boost.Beast HTTP/1.1 server. A listener accepts
// connections; each connection is a session on its own strand that reads a
// request, answers it with HandleRequest (api/router.h) and keeps the
// connection alive. Several I/O threads run the sessions, so a slow client
// holds up nobody else; idle or stalled connections time out.
//
// Thread safety: Start and Stop are called by the owning thread.
#ifndef LEADFLOW_API_SERVER_H_
#define LEADFLOW_API_SERVER_H_

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
