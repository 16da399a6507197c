#include "api/forwarder.h"

#include <array>
#include <cstdint>
#include <limits>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

#include <openssl/ssl.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "api/lsq_fields.h"

namespace leadflow::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// One kept-alive connection to a peer (plain or TLS), with what was read
// past the last answer (normally nothing).
struct Conn {
  using Tls = beast::ssl_stream<beast::tcp_stream>;
  explicit Conn(asio::io_context& ioc) : stream(std::in_place_type<beast::tcp_stream>, ioc) {}
  Conn(asio::io_context& ioc, asio::ssl::context& tls) : stream(std::in_place_type<Tls>, ioc, tls) {}
  std::variant<beast::tcp_stream, Tls> stream;
  beast::flat_buffer buffer;
  beast::tcp_stream& tcp() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); }, stream);
  }
};

// Requests that only read: safe to send again when a connection failed
// before any byte of the answer came.
bool Idempotent(const Request& req) {
  if (req.method() == http::verb::get || req.method() == http::verb::head) return true;
  const std::string_view target(req.target().data(), req.target().size());
  return req.method() == http::verb::post && HasPrefixNoCase(target, "/Leads/");
}

}  // namespace

struct Forwarder::Impl {
  explicit Impl(ForwarderOptions o) : options(std::move(o)), work(asio::make_work_guard(ioc)) {
    thread = std::thread([this] { ioc.run(); });
  }
  ~Impl() {
    work.reset();
    ioc.stop();
    if (thread.joinable()) thread.join();
  }

  struct Op : std::enable_shared_from_this<Op> {
    Impl* owner = nullptr;
    Request req;
    std::string host, port, peer;
    bool https = false;
    Callback done;
    std::unique_ptr<Conn> conn;
    std::optional<http::response_parser<http::string_body>> parser;
    // A relayed stream (Forwarder::Stream): its callbacks, its parser, the
    // buffer a piece of the body is read into, and a non-200 answer's body.
    std::optional<RelayCallbacks> relay;
    std::optional<http::response_parser<http::buffer_body>> relay_parser;
    std::array<char, 16384> piece{};
    std::string collected;
    bool relay_head_sent = false;
    bool relay_ended = false;
    bool pooled = false;
    bool idempotent = false;
    bool retried = false;
    bool finished = false;
    Clock::time_point start = Clock::now();
    tcp::resolver resolver;
    explicit Op(asio::io_context& ioc) : resolver(ioc) {}

    void Start() {
      if (https && !owner->options.tls) return Fail("no TLS client for HTTPS peers", false);
      if (idempotent) {
        auto& idle = owner->pool[peer];
        if (!idle.empty()) {
          conn = std::move(idle.back());
          idle.pop_back();
          pooled = true;
          return Write();
        }
      }
      Connect();
    }

    void Connect() {
      pooled = false;
      conn = https ? std::make_unique<Conn>(owner->ioc, *owner->options.tls) : std::make_unique<Conn>(owner->ioc);
      resolver.async_resolve(host, port, [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
        if (ec) return self->Fail("cannot resolve " + self->peer + ": " + ec.message(), false);
        self->conn->tcp().expires_after(self->owner->options.connect_timeout);
        self->conn->tcp().async_connect(r, [self](beast::error_code ec2, const tcp::endpoint&) {
          if (ec2) {
            return self->Fail("cannot connect to " + self->peer + ": " + ec2.message(),
                              ec2 == beast::error::timeout);
          }
          if (!self->https) return self->Write();
          self->Handshake();
        });
      });
    }

    // TLS: the peer's chain verified against the context's CAs, and its
    // certificate's names against the name it is reached by (SNI sent).
    void Handshake() {
      auto& tls = std::get<Conn::Tls>(conn->stream);
      if (!SSL_set_tlsext_host_name(tls.native_handle(), host.c_str())) {
        return Fail("TLS to " + peer + ": cannot set the server name", false);
      }
      tls.set_verify_mode(asio::ssl::verify_peer);
      tls.set_verify_callback(asio::ssl::host_name_verification(host));
      tls.async_handshake(asio::ssl::stream_base::client, [self = shared_from_this()](beast::error_code ec) {
        if (ec) return self->Fail("TLS to " + self->peer + ": " + ec.message(), ec == beast::error::timeout);
        self->Write();
      });
    }

    void Write() {
      conn->tcp().expires_after(owner->options.answer_timeout);
      std::visit(
          [self = shared_from_this()](auto& s) {
            http::async_write(s, self->req, [self](beast::error_code ec, std::size_t) {
              if (ec) return self->RetryOrFail("sending to " + self->peer + ": " + ec.message(), ec);
              if (self->relay) return self->ReadRelayHead();
              self->Read();
            });
          },
          conn->stream);
    }

    void Read() {
      parser.emplace();
      parser->body_limit(std::numeric_limits<std::uint64_t>::max());  // the owner's answer, whatever its size
      if (req.method() == http::verb::head) parser->skip(true);
      std::visit(
          [self = shared_from_this()](auto& s) {
            http::async_read(s, self->conn->buffer, *self->parser, [self](beast::error_code ec, std::size_t bytes) {
              if (ec) {
                if (bytes == 0 && !self->parser->got_some()) {
                  return self->RetryOrFail("reading from " + self->peer + ": " + ec.message(), ec);
                }
                return self->Fail("reading from " + self->peer + ": " + ec.message(), ec == beast::error::timeout);
              }
              self->Finish();
            });
          },
          conn->stream);
    }

    // A relayed stream: the header, then the body piece by piece.
    void ReadRelayHead() {
      if (relay_ended) return;  // cancelled while connecting
      relay_parser.emplace();
      relay_parser->body_limit(std::numeric_limits<std::uint64_t>::max());
      std::visit(
          [self = shared_from_this()](auto& s) {
            http::async_read_header(s, self->conn->buffer, *self->relay_parser,
                                    [self](beast::error_code ec, std::size_t bytes) {
                                      if (ec) {
                                        if (bytes == 0 && !self->relay_parser->got_some()) {
                                          return self->RetryOrFail(
                                              "reading from " + self->peer + ": " + ec.message(), ec);
                                        }
                                        return self->EndRelay("reading from " + self->peer + ": " + ec.message());
                                      }
                                      if (self->relay_parser->get().result() == http::status::ok) {
                                        self->relay_head_sent = true;
                                        self->owner->ok.fetch_add(1);
                                        self->owner->Observe(
                                            std::chrono::duration<double>(Clock::now() - self->start).count());
                                        Response head{self->relay_parser->get().base()};
                                        self->relay->head(std::move(head));
                                      }
                                      self->ReadRelayBody();
                                    });
          },
          conn->stream);
    }

    void ReadRelayBody() {
      if (relay_ended) return;
      if (relay_parser->is_done()) return FinishRelayBody();
      auto& body = relay_parser->get().body();
      body.data = piece.data();
      body.size = piece.size();
      // The first piece of an answer other than 200 (an error) comes at
      // once; a stream's next piece within the idle timeout.
      conn->tcp().expires_after(relay_head_sent ? owner->options.stream_idle_timeout : owner->options.answer_timeout);
      std::visit(
          [self = shared_from_this()](auto& s) {
            http::async_read_some(s, self->conn->buffer, *self->relay_parser,
                                  [self](beast::error_code ec, std::size_t) {
                                    if (ec == http::error::need_buffer) ec = {};
                                    const size_t got =
                                        self->piece.size() - self->relay_parser->get().body().size;
                                    if (got > 0) {
                                      if (self->relay_head_sent) {
                                        self->relay->data(std::string(self->piece.data(), got));
                                      } else {
                                        self->collected.append(self->piece.data(), got);
                                      }
                                    }
                                    if (ec) return self->EndRelay("reading from " + self->peer + ": " + ec.message());
                                    self->ReadRelayBody();
                                  });
          },
          conn->stream);
    }

    void FinishRelayBody() {
      if (!relay_head_sent) {
        // An answer other than 200 (a refusal), whole.
        relay_head_sent = true;
        owner->ok.fetch_add(1);
        Response res{relay_parser->get().base()};
        res.body() = std::move(collected);
        relay->head(std::move(res));
      }
      EndRelay("");
    }

    void EndRelay(const std::string& error) {
      if (relay_ended) return;
      relay_ended = true;
      finished = true;
      if (conn) {
        beast::error_code ignored;
        conn->tcp().socket().close(ignored);
      }
      relay->end(error);
    }

    // Nothing of an answer came: a read goes once more over a new
    // connection (a pooled one may have been closed by the peer).
    void RetryOrFail(const std::string& why, beast::error_code ec) {
      if (idempotent && !retried && ec != beast::error::timeout) {
        retried = true;
        owner->retried.fetch_add(1);
        return Connect();
      }
      Fail(why, ec == beast::error::timeout);
    }

    void Finish() {
      Result r;
      r.ok = true;
      r.retried = retried;
      r.response = parser->release();
      const bool reuse = r.response.keep_alive() && req.keep_alive();
      if (reuse) {
        auto& idle = owner->pool[peer];
        if (idle.size() < owner->options.idle_per_peer) {
          conn->tcp().expires_never();
          idle.push_back(std::move(conn));
        }
      }
      owner->ok.fetch_add(1);
      Complete(std::move(r));
    }

    void Fail(const std::string& why, bool timed_out) {
      Result r;
      r.error = why;
      r.timed_out = timed_out;
      r.retried = retried;
      (timed_out ? owner->timeout : owner->unavailable).fetch_add(1);
      Complete(std::move(r));
    }

    void Complete(Result r) {
      if (relay) {
        // A stream that failed before any answer: its end, without a head.
        if (relay_ended) return;
        owner->Observe(std::chrono::duration<double>(Clock::now() - start).count());
        return EndRelay(r.error.empty() ? "no answer" : r.error);
      }
      if (finished) return;
      finished = true;
      owner->Observe(std::chrono::duration<double>(Clock::now() - start).count());
      done(std::move(r));
    }
  };

  // An operation to host:port carrying req, marked as forwarded by this
  // instance; the caller sets what it is for (done or relay) and starts it.
  std::shared_ptr<Op> NewOp(const Request& req, const std::string& host, const std::string& port, bool https);

  void Observe(double seconds) {
    std::lock_guard<std::mutex> lock(mu);
    duration_sum += seconds;
    ++duration_count;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      if (seconds <= kBuckets[i]) ++buckets[i];
    }
  }

  ForwarderOptions options;
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::thread thread;
  std::map<std::string, std::vector<std::unique_ptr<Conn>>> pool;  // the I/O thread's only
  std::atomic<uint64_t> ok{0}, retried{0}, unavailable{0}, timeout{0};
  static constexpr std::array<double, 10> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                      0.025,  0.05,  0.1,    0.5,   2.5};
  mutable std::mutex mu;  // guards the histogram
  std::array<uint64_t, kBuckets.size()> buckets{};
  double duration_sum = 0;
  uint64_t duration_count = 0;
};

Forwarder::Forwarder(ForwarderOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Forwarder::~Forwarder() = default;

std::shared_ptr<Forwarder::Impl::Op> Forwarder::Impl::NewOp(const Request& req, const std::string& host,
                                                           const std::string& port, bool https) {
  auto op = std::make_shared<Op>(ioc);
  op->owner = this;
  op->req = req;
  op->req.set(kForwardedByHeader, options.instance);
  op->req.keep_alive(true);
  op->req.prepare_payload();
  op->host = host;
  op->port = port;
  op->https = https;
  op->peer = (https ? "https://" : "http://") + host + ":" + port;  // the pool's key too
  return op;
}

void Forwarder::Forward(const Request& req, const std::string& host, const std::string& port, bool https,
                        Callback done) {
  auto op = impl_->NewOp(req, host, port, https);
  op->done = std::move(done);
  op->idempotent = Idempotent(req);
  asio::post(impl_->ioc, [op] { op->Start(); });
}

namespace {

// Cancel runs close on the forwarder's thread.
class RelayHandle : public Forwarder::Relay {
 public:
  RelayHandle(asio::io_context& ioc, std::function<void()> close) : ioc_(ioc), close_(std::move(close)) {}
  void Cancel() override { asio::post(ioc_, close_); }

 private:
  asio::io_context& ioc_;
  std::function<void()> close_;
};

}  // namespace

std::shared_ptr<Forwarder::Relay> Forwarder::Stream(const Request& req, const std::string& host,
                                                    const std::string& port, bool https, RelayCallbacks callbacks) {
  auto op = impl_->NewOp(req, host, port, https);
  op->relay = std::move(callbacks);
  // Never a pooled connection (the stream keeps its own to the end), and
  // never sent twice: a connection that fails is the relay's end.
  op->idempotent = false;
  auto handle = std::make_shared<RelayHandle>(impl_->ioc, [weak = std::weak_ptr<Impl::Op>(op)] {
    if (auto o = weak.lock()) o->EndRelay("cancelled");
  });
  asio::post(impl_->ioc, [op] { op->Start(); });
  return handle;
}

void Forwarder::AppendMetrics(std::string* out) const {
  const Impl& m = *impl_;
  *out += "# HELP leadflow_forwarded_requests_total Requests forwarded to the instance that owns their org, by "
          "outcome.\n# TYPE leadflow_forwarded_requests_total counter\n";
  *out += "leadflow_forwarded_requests_total{result=\"ok\"} " + std::to_string(m.ok.load()) + "\n";
  *out += "leadflow_forwarded_requests_total{result=\"retried\"} " + std::to_string(m.retried.load()) + "\n";
  *out += "leadflow_forwarded_requests_total{result=\"unavailable\"} " + std::to_string(m.unavailable.load()) + "\n";
  *out += "leadflow_forwarded_requests_total{result=\"timeout\"} " + std::to_string(m.timeout.load()) + "\n";
  std::lock_guard<std::mutex> lock(m.mu);
  *out += "# HELP leadflow_forward_duration_seconds From sending a request on to having the owner's answer.\n"
          "# TYPE leadflow_forward_duration_seconds histogram\n";
  for (size_t i = 0; i < Impl::kBuckets.size(); ++i) {
    char le[32];
    std::snprintf(le, sizeof le, "%g", Impl::kBuckets[i]);
    *out += std::string("leadflow_forward_duration_seconds_bucket{le=\"") + le + "\"} " +
            std::to_string(m.buckets[i]) + "\n";
  }
  *out += "leadflow_forward_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(m.duration_count) + "\n";
  char sum[64];
  std::snprintf(sum, sizeof sum, "%.6f", m.duration_sum);
  *out += std::string("leadflow_forward_duration_seconds_sum ") + sum + "\n";
  *out += "leadflow_forward_duration_seconds_count " + std::to_string(m.duration_count) + "\n";
}

}  // namespace leadflow::api
