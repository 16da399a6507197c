// Forwarder: sends a request on to the instance of a cluster that owns its
// org (issue 13, docs/scale-out-plan.md section 3) and hands back that
// instance's answer unchanged: status, headers and body (only the
// connection's own headers are this hop's). Asynchronous, on an I/O thread
// of its own, so no HTTP thread ever waits for a peer; connections to each
// peer are kept alive and reused.
//
// Failures: connecting takes at most connect_timeout, the whole answer at
// most answer_timeout. A read (GET, HEAD, POST /Leads/NotContacted) that
// fails before any byte of an answer came (refused, reset, a pooled
// connection the peer had closed) is tried once more on a new connection;
// a write (the Smart View routes' POST, PUT, DELETE) only ever goes over a
// new connection and is never sent twice. What still fails is answered 503
// with Retry-After by the caller (Result::ok false), never 502/504.
//
// The forwarded request carries `Leadflow-Forwarded-By: <this instance>`;
// an instance never forwards a request that carries it (no loops).
//
// Thread safety: Forward may be called from any thread; the callback runs
// on the forwarder's thread.
#ifndef LEADFLOW_API_FORWARDER_H_
#define LEADFLOW_API_FORWARDER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "api/router.h"

namespace leadflow::api {

struct ForwarderOptions {
  std::string instance;  // this instance's id, sent as Leadflow-Forwarded-By
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds answer_timeout{30000};
  size_t idle_per_peer = 16;  // kept-alive connections kept per peer
  // The TLS client context for peers that serve HTTPS (`serve --tls-cert`):
  // it verifies their certificate chain (against --peer-ca, or the
  // system's CAs) and the name they are reached by. Null: HTTPS peers are
  // not forwarded to.
  std::shared_ptr<boost::asio::ssl::context> tls;
  // A relayed stream's longest wait for its next piece (Stream).
  std::chrono::milliseconds stream_idle_timeout{60000};
};

class Forwarder {
 public:
  struct Result {
    bool ok = false;
    Response response;   // the owner's answer when ok
    std::string error;   // why not, when !ok
    bool timed_out = false;
    bool retried = false;
  };
  using Callback = std::function<void(Result)>;

  explicit Forwarder(ForwarderOptions options);
  ~Forwarder();  // stops the thread; forwards still pending are dropped (the server stops first)
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Sends req to host:port (over TLS when https; then options.tls must be
  // set) and calls done with the answer.
  void Forward(const Request& req, const std::string& host, const std::string& port, bool https, Callback done);

  // A relay of an answer that does not end (a report stream, api/
  // report_stream.h), sent to host:port as Forward sends. head is called
  // once the owner's status and header fields came; for an answer other
  // than 200 it holds the whole body, and nothing else is called. After a
  // 200: data with each piece of the body as it comes (the transfer coding
  // removed), then end, once: error empty when the owner ended the body,
  // else why it broke (a connection that failed before any answer is an
  // end without a head). A body read waits at most
  // options.stream_idle_timeout for its next piece (the owner's
  // heartbeats come sooner). Calls come on the forwarder's thread, one at
  // a time; Cancel (from any thread) closes the connection, and end
  // follows.
  struct RelayCallbacks {
    std::function<void(Response head)> head;
    std::function<void(std::string piece)> data;
    std::function<void(std::string error)> end;
  };
  class Relay {
   public:
    virtual ~Relay() = default;
    virtual void Cancel() = 0;
  };
  std::shared_ptr<Relay> Stream(const Request& req, const std::string& host, const std::string& port, bool https,
                                RelayCallbacks callbacks);

  // leadflow_forwarded_requests_total{result} and
  // leadflow_forward_duration_seconds.
  void AppendMetrics(std::string* out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The header an instance marks a forwarded request with.
inline constexpr const char* kForwardedByHeader = "Leadflow-Forwarded-By";

}  // namespace leadflow::api

#endif  // LEADFLOW_API_FORWARDER_H_
