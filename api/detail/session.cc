#include "api/detail/session.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <deque>
#include <string>
#include <type_traits>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include "api/forwarder.h"
#include "api/lsq_fields.h"
#include "api/lsq_render.h"
#include "api/report_stream.h"
#include "state/log.h"

namespace leadflow::api::detail {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// The graceful close waits at most kLingerTimeout for each read and
// kLingerTime in all, nginx's lingering_timeout and lingering_time defaults:
// long enough for a client to finish sending a body it had started (curl
// with a few MB over a slow link), short enough that a client that never
// stops holds a session for a bounded time only.
constexpr auto kLingerTimeout = std::chrono::seconds(5);
constexpr auto kLingerTime = std::chrono::seconds(30);
constexpr std::size_t kDrainChunk = 64 * 1024;

constexpr std::string_view kLsqPrefix = "/Leads/";

// True when target is a LeadSquared-compatible route, as the router decides
// it: by the decoded path, or by the raw target when it does not decode (it
// may be cut short).
bool IsLsqTarget(std::string_view target) {
  Target parsed;
  if (ParseTarget(target, &parsed)) return HasPrefixNoCase(parsed.path, kLsqPrefix);
  return HasPrefixNoCase(target, kLsqPrefix);
}

}  // namespace

std::optional<Response> ReadErrorResponse(beast::error_code ec, std::string_view target, unsigned version,
                                          const ServerOptions& options) {
  // Only the parser's own errors get an answer: after a timeout, a reset or
  // a close between requests nobody is listening.
  if (!ec || ec.category() != http::make_error_code(http::error::bad_target).category() ||
      ec == http::error::end_of_stream) {
    return std::nullopt;
  }
  http::status status = http::status::bad_request;
  std::string message = "Malformed HTTP request.";
  if (ec == http::error::body_limit) {
    status = http::status::payload_too_large;
    message = "Request body too large: at most " + std::to_string(options.body_limit) + " bytes";
  } else if (ec == http::error::header_limit) {
    status = http::status::request_header_fields_too_large;
    message = "Request header fields too large: at most " + std::to_string(options.header_limit) + " bytes";
  }
  Response res{status, version == 10 ? 10u : 11u};
  res.set(http::field::content_type, "application/json");
  if (IsLsqTarget(target)) {
    // LsqErrorResponse would name the type after the status; a request over
    // a limit is the client's input, as LeadSquared types a 400.
    res.body() = RenderLsqError("MXInvalidInputException", message);
  } else if (status == http::status::bad_request) {
    res.body() = nlohmann::json{{"errors", {message}}, {"field-errors", nlohmann::json::object()}}.dump();
  } else {
    res.body() = nlohmann::json{{"error", message}}.dump();
  }
  res.keep_alive(false);
  res.prepare_payload();
  return res;
}

std::string_view RequestTargetPrefix(std::string_view bytes) {
  const size_t method_end = bytes.find(' ');
  if (method_end == std::string_view::npos) return {};
  bytes.remove_prefix(method_end + 1);
  return bytes.substr(0, bytes.find_first_of(" \r\n"));
}

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... TlsContext>
  Session(boost::asio::ip::tcp::socket&& socket, const ServiceContext* ctx, const ServerOptions& options,
          TlsContext&... tls)
      : stream_(std::move(socket), tls...), ctx_(ctx), options_(options) {}
  ~Session() {
    if (report_stream_ && ctx_->streams) --ctx_->streams->open;
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Run();

 private:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }
  void OnHandshake(beast::error_code ec);
  void DoRead();
  void OnRead(beast::error_code ec, std::size_t bytes);
  void Forward(Request req, const ForwardTarget& to, std::chrono::steady_clock::time_point start);
  void Write(Response res);
  void OnReadError(beast::error_code ec);
  void OnWrite(bool keep_alive, beast::error_code ec, std::size_t bytes);
  void DoClose();
  // The graceful close after an error answer (see the file comment).
  void DoLinger();
  void DoDrain();
  void OnDrain(beast::error_code ec, std::size_t bytes);
  // A report stream (api/report_stream.h): the header, then events as the
  // timer finds them due, one write at a time (so a slow client holds at
  // most one event and is sent fewer: memory per stream is bounded), and a
  // read kept pending meanwhile, whose end is the client's.
  void StartStream(Response header, std::unique_ptr<ReportStream> stream);
  void BeginStream(Response header);
  // Cluster mode: a report stream of an org another instance serves,
  // relayed from it (Forwarder::Stream): its header, then its body's
  // pieces in order as they come, one write at a time; a client too slow
  // for them (kRelayQueueLimit behind) is closed.
  void RelayStream(Request req, const ForwardTarget& to, std::chrono::steady_clock::time_point start);
  void OnRelayHead(Response head, const std::shared_ptr<Request>& original, const std::string& route,
                   std::chrono::steady_clock::time_point start);
  void OnRelayData(std::string piece);
  void OnRelayEnd(const std::string& error, const std::shared_ptr<Request>& original, const ForwardTarget& to);
  void RelayNext();
  void OnStreamHeader(beast::error_code ec, std::size_t bytes);
  void WatchClose();
  void OnWatch(beast::error_code ec, std::size_t bytes);
  void StreamWrite(ReportStream::Text text, bool last);
  void OnStreamWrite(bool last, beast::error_code ec, std::size_t bytes);
  // The body's end: the last chunk (HTTP/1.1), or the close (HTTP/1.0).
  void FinishStream();
  void OnStreamEnd(beast::error_code ec, std::size_t bytes);
  void ArmStream(std::chrono::steady_clock::duration wait);
  // Waits for the org's next change (ReportStreams::Await) or the next
  // heartbeat, whichever is first; polls every stream_poll when there is
  // nothing to wake it (no ReportStreams).
  void AwaitChange();
  void OnWoken(uint64_t ticket);
  void CancelWait();
  void OnStreamTimer(beast::error_code ec);
  // Cluster mode: whether the stream's org is now served by another
  // instance (a rebalance moved its partition away): then the stream
  // ends, and the client's reconnect is relayed to the new owner.
  bool MovedAway();
  // graceful: the end of the stream is sent first (an error event's);
  // else the connection is closed at once (the client went away).
  void EndStream(bool graceful = false);

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> response_;
  bool linger_after_write_ = false;
  std::chrono::steady_clock::time_point linger_deadline_;
  const ServiceContext* ctx_;
  const ServerOptions options_;

  std::unique_ptr<ReportStream> report_stream_;
  std::shared_ptr<Forwarder::Relay> relay_;
  std::deque<ReportStream::Text> relay_queue_;
  size_t relay_queued_bytes_ = 0;
  bool relay_mode_ = false, relay_head_ = false, relay_writing_ = false, relay_header_written_ = false,
       relay_done_ = false;
  std::optional<boost::asio::steady_timer> stream_timer_;
  std::optional<http::response<http::empty_body>> stream_header_;
  std::optional<http::response_serializer<http::empty_body>> stream_serializer_;
  ReportStream::Text stream_out_;  // the event being written
  bool stream_chunked_ = false;
  bool stream_ended_ = false;
  uint64_t wait_ticket_ = 0;  // ReportStreams::Await's, while kept
  std::optional<Request> route_probe_;  // MovedAway's request
  std::chrono::steady_clock::time_point last_write_;
};

template <class Stream>
void Session<Stream>::Run() {
  if constexpr (kTls) {
    // The handshake within the read timeout; a client that speaks plain
    // HTTP to the TLS port fails it and is closed.
    boost::asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      self->Tcp().expires_after(self->options_.io_timeout);
      self->stream_.async_handshake(boost::asio::ssl::stream_base::server,
                                    beast::bind_front_handler(&Session::OnHandshake, self));
    });
  } else {
    boost::asio::dispatch(stream_.get_executor(),
                          beast::bind_front_handler(&Session::DoRead, this->shared_from_this()));
  }
}

template <class Stream>
void Session<Stream>::OnHandshake(beast::error_code ec) {
  if (ec) return Tcp().close();
  DoRead();
}

template <class Stream>
void Session<Stream>::DoRead() {
  parser_.emplace();
  parser_->body_limit(options_.body_limit);
  parser_->header_limit(options_.header_limit);
  Tcp().expires_after(options_.io_timeout);
  http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnRead, this->shared_from_this()));
}

template <class Stream>
void Session<Stream>::OnRead(beast::error_code ec, std::size_t) {
  if (ec) return OnReadError(ec);
  const auto start = std::chrono::steady_clock::now();
  Request req = parser_->release();
  // Cluster mode: a request for an org another instance owns is sent on
  // to it; the session waits (no thread does) and writes its answer.
  if (ctx_->forward_target && ctx_->forwarder) {
    std::optional<ForwardTarget> to;
    try {
      to = ctx_->forward_target(req);
    } catch (const std::exception& e) {
      LogError(std::string("routing a request failed: ") + e.what());
    }
    if (to) {
      // A report stream's answer does not end: relayed piece by piece.
      Target parsed;
      if (ParseTarget(std::string_view(req.target().data(), req.target().size()), &parsed) &&
          IsReportStreamPath(parsed.path)) {
        return RelayStream(std::move(req), *to, start);
      }
      return Forward(std::move(req), *to, start);
    }
  }
  std::string route;
  Response res;
  std::unique_ptr<ReportStream> stream;
  try {
    res = HandleRequest(req, *ctx_, &route, &stream);
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
  if (stream) return StartStream(std::move(res), std::move(stream));
  Write(std::move(res));
}

template <class Stream>
void Session<Stream>::Write(Response res) {
  const bool keep_alive = res.keep_alive();
  response_ = std::make_shared<Response>(std::move(res));
  Tcp().expires_after(options_.io_timeout);
  http::async_write(stream_, *response_,
                    beast::bind_front_handler(&Session::OnWrite, this->shared_from_this(), keep_alive));
}

// The owner's answer goes back as it came (status, headers, body), but for
// this connection's own headers; its Server-Timing (the owner's `app`)
// gains this hop's `fwd`, from the request read here to the answer had.
// A forward that failed is 503 with Retry-After, never 502/504.
template <class Stream>
void Session<Stream>::Forward(Request req, const ForwardTarget& to, std::chrono::steady_clock::time_point start) {
  const bool keep_alive = req.keep_alive();
  const bool head = req.method() == http::verb::head;
  const unsigned version = req.version();
  std::string route = "forwarded";
  if (auto info = RequestOrg(req, *ctx_)) route = info->route;
  auto self = this->shared_from_this();
  // The request is needed again only to shape a 503.
  auto original = std::make_shared<Request>(req);
  ctx_->forwarder->Forward(
      req, to.host, to.port, to.https,
      [self, original, to, keep_alive, head, version, route, start](Forwarder::Result r) {
        boost::asio::post(self->stream_.get_executor(), [self, original, to, keep_alive, head, version, route, start,
                                                         r = std::move(r)]() mutable {
          Response res;
          if (r.ok) {
            res = std::move(r.response);
            res.version(version);
            res.erase(http::field::connection);
            res.erase("Keep-Alive");
            res.keep_alive(keep_alive);
            if (!head) {
              res.prepare_payload();
            } else {
              res.erase(http::field::transfer_encoding);
            }
          } else {
            LogWarn("forwarding to " + to.instance + " at " + to.host + ":" + to.port + " failed: " + r.error);
            res = UnavailableResponse(*original, "forwarding to the org's owner " + to.instance + " at " + to.host +
                                                     ":" + to.port + " failed: " + r.error);
            if (head) {
              const uint64_t length = res.body().size();
              res.body().clear();
              res.content_length(length);
            }
          }
          const std::chrono::duration<double> d = std::chrono::steady_clock::now() - start;
          if (self->ctx_->http_metrics) {
            self->ctx_->http_metrics->Observe(route, static_cast<unsigned>(res.result_int()), d.count());
          }
          char timing[48];
          std::snprintf(timing, sizeof timing, "fwd;dur=%.3f", d.count() * 1000.0);
          auto owner_timing = res.find("Server-Timing");
          const std::string timing_value = owner_timing == res.end()
                                               ? std::string(timing)
                                               : std::string(owner_timing->value()) + ", " + timing;
          res.set("Server-Timing", timing_value);
          self->Write(std::move(res));
        });
      });
}

template <class Stream>
void Session<Stream>::OnReadError(beast::error_code ec) {
  // The target as far as it was read: the parser has it once the request
  // line is complete; a request line over the header limit is still in
  // buffer_, unparsed.
  const auto& header = parser_->get();
  std::string_view target(header.target().data(), header.target().size());
  if (target.empty() && ec == http::error::header_limit) {
    const auto data = buffer_.data();
    target = RequestTargetPrefix(std::string_view(static_cast<const char*>(data.data()), data.size()));
  }
  std::optional<Response> res = ReadErrorResponse(ec, target, header.version(), options_);
  if (!res) return DoClose();
  if (ctx_->http_metrics) ctx_->http_metrics->Observe("invalid", static_cast<unsigned>(res->result_int()), 0.0);
  res->set("Server-Timing", "app;dur=0.000");
  response_ = std::make_shared<Response>(std::move(*res));
  linger_after_write_ = true;
  http::async_write(stream_, *response_, beast::bind_front_handler(&Session::OnWrite, this->shared_from_this(), false));
}

template <class Stream>
void Session<Stream>::OnWrite(bool keep_alive, beast::error_code ec, std::size_t) {
  if (ec) return DoClose();
  response_.reset();
  if (linger_after_write_) return DoLinger();
  if (!keep_alive) return DoClose();
  DoRead();
}

template <class Stream>
void Session<Stream>::DoClose() {
  if constexpr (kTls) {
    // TLS close_notify, within the timeout, then the socket closed.
    Tcp().expires_after(options_.io_timeout);
    stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->Tcp().close(); });
  } else {
    beast::error_code ec;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  }
}

// Closing a socket with unread data makes the kernel send a reset, which
// may destroy the answer before the client has read it: a client that
// writes its whole body before reading (most do) would see "connection
// reset" instead of the 413. So: stop sending (the client reads the answer,
// then end of stream), and read and discard until the client closes too.
template <class Stream>
void Session<Stream>::DoLinger() {
  // Over TLS too this is done on the TCP socket: the client has the whole
  // answer, then sees the end of the stream (without close_notify).
  beast::error_code ec;
  Tcp().socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  if (ec) return;
  buffer_.consume(buffer_.size());
  linger_deadline_ = std::chrono::steady_clock::now() + kLingerTime;
  DoDrain();
}

template <class Stream>
void Session<Stream>::DoDrain() {
  const auto left = linger_deadline_ - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return Tcp().close();
  Tcp().expires_after(std::min<std::chrono::steady_clock::duration>(kLingerTimeout, left));
  Tcp().async_read_some(buffer_.prepare(kDrainChunk),
                          beast::bind_front_handler(&Session::OnDrain, this->shared_from_this()));
}

template <class Stream>
void Session<Stream>::OnDrain(beast::error_code ec, std::size_t) {
  if (ec) return Tcp().close();  // the client closed, or the time is up
  DoDrain();
}


template <class Stream>
void Session<Stream>::StartStream(Response header, std::unique_ptr<ReportStream> stream) {
  report_stream_ = std::move(stream);
  if (ctx_->streams) ++ctx_->streams->open;
  BeginStream(std::move(header));
}

template <class Stream>
void Session<Stream>::BeginStream(Response header) {
  stream_timer_.emplace(stream_.get_executor());
  stream_header_.emplace(std::move(header.base()));
  // HTTP/1.1: chunked; HTTP/1.0: the body ends with the connection.
  stream_chunked_ = stream_header_->version() >= 11;
  if (stream_chunked_) {
    stream_header_->chunked(true);
  } else {
    stream_header_->keep_alive(false);
  }
  stream_serializer_.emplace(*stream_header_);
  Tcp().expires_after(options_.io_timeout);
  http::async_write_header(stream_, *stream_serializer_,
                           beast::bind_front_handler(&Session::OnStreamHeader, this->shared_from_this()));
}

template <class Stream>
void Session<Stream>::OnStreamHeader(beast::error_code ec, std::size_t) {
  if (ec) return EndStream();
  buffer_.consume(buffer_.size());
  // beast's tcp_stream times a read and a write apart, each from the
  // expiry set before it began: the read that watches for the client's
  // close has none (it may wait for hours), each write has its own
  // (StreamWrite).
  Tcp().expires_never();
  WatchClose();
  if (relay_mode_) {
    relay_header_written_ = true;
    return RelayNext();
  }
  StreamWrite(report_stream_->Start(), false);
}

template <class Stream>
void Session<Stream>::WatchClose() {
  stream_.async_read_some(buffer_.prepare(1024), beast::bind_front_handler(&Session::OnWatch, this->shared_from_this()));
}

template <class Stream>
void Session<Stream>::OnWatch(beast::error_code ec, std::size_t bytes) {
  if (ec || stream_ended_) return EndStream();
  // What a client sends on a stream's connection is not read as requests.
  buffer_.commit(bytes);
  buffer_.consume(buffer_.size());
  WatchClose();
}

template <class Stream>
void Session<Stream>::StreamWrite(ReportStream::Text text, bool last) {
  if (stream_ended_) return;
  stream_out_ = std::move(text);
  // A client that takes none of this event for this long is closed.
  Tcp().expires_after(options_.io_timeout);
  auto done = beast::bind_front_handler(&Session::OnStreamWrite, this->shared_from_this(), last);
  if (stream_chunked_) {
    boost::asio::async_write(stream_, http::make_chunk(boost::asio::buffer(*stream_out_)), std::move(done));
  } else {
    boost::asio::async_write(stream_, boost::asio::buffer(*stream_out_), std::move(done));
  }
}

template <class Stream>
void Session<Stream>::OnStreamWrite(bool last, beast::error_code ec, std::size_t) {
  if (ec) return EndStream();
  last_write_ = std::chrono::steady_clock::now();
  if (!last && relay_mode_) {
    relay_writing_ = false;
    return RelayNext();
  }
  if (!last) return AwaitChange();
  FinishStream();
}

template <class Stream>
void Session<Stream>::FinishStream() {
  if (!stream_chunked_) return EndStream(true);
  Tcp().expires_after(options_.io_timeout);
  boost::asio::async_write(stream_, http::make_chunk_last(),
                           beast::bind_front_handler(&Session::OnStreamEnd, this->shared_from_this()));
}

template <class Stream>
void Session<Stream>::OnStreamEnd(beast::error_code ec, std::size_t) {
  EndStream(!ec);
}

template <class Stream>
void Session<Stream>::ArmStream(std::chrono::steady_clock::duration wait) {
  if (stream_ended_) return;
  stream_timer_->expires_after(wait);
  stream_timer_->async_wait(beast::bind_front_handler(&Session::OnStreamTimer, this->shared_from_this()));
}

template <class Stream>
void Session<Stream>::AwaitChange() {
  if (stream_ended_) return;
  if (ctx_->streams == nullptr || !ctx_->streams->following()) return ArmStream(options_.stream_poll);
  CancelWait();
  // The wake comes on the ingest thread: it only posts to this session's
  // strand (and finds nothing when the session is gone).
  std::weak_ptr<Session> weak = this->shared_from_this();
  auto executor = stream_.get_executor();
  wait_ticket_ = ctx_->streams->Await(report_stream_->org(), report_stream_->checked(),
                                      [weak, executor](uint64_t ticket) {
                                        boost::asio::post(executor, [weak, ticket] {
                                          if (auto self = weak.lock()) self->OnWoken(ticket);
                                        });
                                      });
  if (wait_ticket_ == 0) return ArmStream(std::chrono::steady_clock::duration::zero());  // due already
  const auto until_heartbeat = last_write_ + options_.stream_heartbeat - std::chrono::steady_clock::now();
  ArmStream(std::max<std::chrono::steady_clock::duration>(until_heartbeat, std::chrono::steady_clock::duration::zero()));
}

template <class Stream>
void Session<Stream>::OnWoken(uint64_t ticket) {
  // A ticket this session no longer waits on (it woke for a heartbeat and
  // waits again) is stale: the wait it belonged to is over.
  if (ticket != wait_ticket_ || stream_ended_) return;
  wait_ticket_ = 0;
  stream_timer_->cancel();  // OnStreamTimer, now
}

template <class Stream>
void Session<Stream>::CancelWait() {
  if (wait_ticket_ == 0) return;
  ctx_->streams->Cancel(report_stream_->org(), wait_ticket_);
  wait_ticket_ = 0;
}

template <class Stream>
void Session<Stream>::OnStreamTimer(beast::error_code ec) {
  // ec is operation_aborted when OnWoken cut the wait short, or
  // EndStream's cancel (stream_ended_).
  (void)ec;
  if (stream_ended_) return;
  CancelWait();  // the heartbeat came first: AwaitChange waits anew
  if (MovedAway()) {
    static const ReportStream::Text moved =
        std::make_shared<const std::string>(": this instance no longer serves the org; reconnect\n\n");
    return StreamWrite(moved, true);
  }
  const auto now = std::chrono::steady_clock::now();
  if (report_stream_->Due()) {
    bool end = false;
    std::optional<std::chrono::steady_clock::time_point> retry_at;
    ReportStream::Text text;
    try {
      text = report_stream_->Next(now, options_.stream_min_interval, &retry_at, &end);
    } catch (const std::exception& e) {
      LogError(std::string("report stream failed: ") + e.what());
      text = std::make_shared<const std::string>(
          "event: error\ndata: {\"error\":\"Internal error\",\"status\":500}\n\n");
      end = true;
    }
    if (text) return StreamWrite(std::move(text), end);
    if (retry_at) return ArmStream(std::min<std::chrono::steady_clock::duration>(*retry_at - now, options_.stream_heartbeat));
  }
  if (now - last_write_ >= options_.stream_heartbeat) {
    if (ctx_->streams) ++ctx_->streams->heartbeats;
    return StreamWrite(ReportStream::Heartbeat(), false);
  }
  AwaitChange();
}

template <class Stream>
bool Session<Stream>::MovedAway() {
  if (!ctx_->forward_target) return false;
  // Asked as if it came from the client: a stream relayed by another
  // instance carries the forwarded-by header, which forward_target reads
  // as "answer here". Made once per stream, asked at every wake.
  if (!route_probe_) {
    route_probe_.emplace(report_stream_->request());
    route_probe_->erase(kForwardedByHeader);
  }
  try {
    return ctx_->forward_target(*route_probe_).has_value();
  } catch (const std::exception& e) {
    LogError(std::string("routing a report stream failed: ") + e.what());
    return false;
  }
}

template <class Stream>
void Session<Stream>::EndStream(bool graceful) {
  if (stream_ended_) return;
  stream_ended_ = true;
  if (report_stream_) CancelWait();
  if (stream_timer_) stream_timer_->cancel();
  if (relay_) relay_->Cancel();
  if (graceful) return DoClose();
  beast::error_code ec;
  Tcp().socket().close(ec);
}


constexpr size_t kRelayQueueLimit = 4 << 20;

template <class Stream>
void Session<Stream>::RelayStream(Request req, const ForwardTarget& to, std::chrono::steady_clock::time_point start) {
  std::string route = "forwarded";
  if (auto info = RequestOrg(req, *ctx_)) route = info->route;
  auto self = this->shared_from_this();
  auto original = std::make_shared<Request>(req);
  auto on_strand = [self](auto f) { boost::asio::post(self->stream_.get_executor(), std::move(f)); };
  Forwarder::RelayCallbacks callbacks;
  callbacks.head = [self, on_strand, original, route, start](Response head) {
    on_strand([self, head = std::move(head), original, route, start]() mutable {
      self->OnRelayHead(std::move(head), original, route, start);
    });
  };
  callbacks.data = [self, on_strand](std::string piece) {
    on_strand([self, piece = std::move(piece)]() mutable { self->OnRelayData(std::move(piece)); });
  };
  callbacks.end = [self, on_strand, original, to](std::string error) {
    on_strand([self, error = std::move(error), original, to] { self->OnRelayEnd(error, original, to); });
  };
  relay_ = ctx_->forwarder->Stream(req, to.host, to.port, to.https, std::move(callbacks));
}

template <class Stream>
void Session<Stream>::OnRelayHead(Response head, const std::shared_ptr<Request>& original, const std::string& route,
                                  std::chrono::steady_clock::time_point start) {
  relay_head_ = true;
  const std::chrono::duration<double> d = std::chrono::steady_clock::now() - start;
  if (ctx_->http_metrics) ctx_->http_metrics->Observe(route, static_cast<unsigned>(head.result_int()), d.count());
  char timing[48];
  std::snprintf(timing, sizeof timing, "fwd;dur=%.3f", d.count() * 1000.0);
  auto owner_timing = head.find("Server-Timing");
  const std::string timing_value =
      owner_timing == head.end() ? std::string(timing) : std::string(owner_timing->value()) + ", " + timing;
  head.set("Server-Timing", timing_value);
  head.version(original->version());
  head.erase(http::field::connection);
  head.erase("Keep-Alive");
  head.erase(http::field::transfer_encoding);
  head.erase(http::field::content_length);
  head.keep_alive(original->keep_alive());
  if (head.result() != http::status::ok) {
    // A refusal, whole: answered as a forwarded request's.
    relay_.reset();
    head.prepare_payload();
    return Write(std::move(head));
  }
  relay_mode_ = true;
  BeginStream(std::move(head));
}

template <class Stream>
void Session<Stream>::OnRelayData(std::string piece) {
  if (stream_ended_ || piece.empty()) return;
  relay_queued_bytes_ += piece.size();
  if (relay_queued_bytes_ > kRelayQueueLimit) {
    LogWarn("a relayed report stream's client is " + std::to_string(relay_queued_bytes_) +
            " bytes behind: closed (it reconnects with Last-Event-ID)");
    return EndStream();
  }
  relay_queue_.push_back(std::make_shared<const std::string>(std::move(piece)));
  RelayNext();
}

template <class Stream>
void Session<Stream>::OnRelayEnd(const std::string& error, const std::shared_ptr<Request>& original,
                                 const ForwardTarget& to) {
  if (!relay_head_) {
    // Nothing came from the owner: 503 with Retry-After, as a forward.
    relay_.reset();
    LogWarn("relaying a report stream from " + to.instance + " at " + to.host + ":" + to.port + " failed: " + error);
    return Write(UnavailableResponse(*original, "forwarding to the org's owner " + to.instance + " at " + to.host +
                                                    ":" + to.port + " failed: " + error));
  }
  if (!relay_mode_) return;  // a refusal, already written
  relay_done_ = true;
  RelayNext();
}

template <class Stream>
void Session<Stream>::RelayNext() {
  if (stream_ended_ || relay_writing_ || !relay_header_written_) return;
  if (!relay_queue_.empty()) {
    ReportStream::Text next = std::move(relay_queue_.front());
    relay_queue_.pop_front();
    relay_queued_bytes_ -= next->size();
    relay_writing_ = true;
    return StreamWrite(std::move(next), false);
  }
  if (!relay_done_) return;
  // The owner ended the stream (it stopped, or lost the org): so does
  // this one; the client reconnects and is sent where the org is now.
  relay_writing_ = true;
  FinishStream();
}

}  // namespace

void StartSession(boost::asio::ip::tcp::socket&& socket, boost::asio::ssl::context* tls, const ServiceContext* ctx,
                  const ServerOptions& options) {
  if (tls) {
    std::make_shared<Session<TlsStream>>(std::move(socket), ctx, options, *tls)->Run();
  } else {
    std::make_shared<Session<beast::tcp_stream>>(std::move(socket), ctx, options)->Run();
  }
}

}  // namespace leadflow::api::detail
