// leadflow-bench-sse: report streams under load (issue 14's target: 1,000
// subscribers of 100 distinct reports while ingesting 20,000 events/s; from
// send to the subscriber, p99 under 250 ms).
//
// Opens --subscribers streams (GET .../stream) spread evenly over --reports
// distinct status reports: a tenth are reports of the probe org (its
// overall report and period reports with other start dates), the rest
// reports of the busy orgs, whose background stream (bench/run.py runs
// leadflow-gen --rate R) changes them all the time. Once every stream has
// its first report, it sends --probes probes: each a lead.created of a new
// lead of the probe org in status stat_probe, handed to librdkafka at once
// (linger.ms=0); a probe's time, per subscriber of a probe-org report, is
// from the send to the first event on that stream that counts it ("ended"
// of stat_probe one more than before). Then it keeps every stream open for
// --hold-s more seconds (bench/run.py samples the service's memory).
//
// One thread: every socket is asynchronous on one io_context, the probes
// are sent from a timer on it.
//
//   leadflow-bench-sse --brokers H:P --topic T --http 127.0.0.1:PORT
//       --probe-org ORG --probe-key KEY --busy ORG:KEY[,ORG:KEY...]
//       [--subscribers 1000] [--reports 100] [--probes 100] [--hold-s 0]
//       [--timeout-ms 10000] [--min-interval-ms M (the service's
//       --stream-min-interval-ms: probes are at least that far apart)]
//
// Prints JSON: {"subscribers", "reports", "probes", "samples", "p50_ms",
// "p90_ms", "p99_ms", "max_ms", "events", "events_per_s", "bytes",
// "disconnects", "seconds"}.
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "views/time.h"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "leadflow-bench-sse: %s\n", msg.c_str());
  std::exit(1);
}

// "ended" of the status_overview row of status, or -1 (as freshness.cc).
long EndedOf(const std::string& body, const std::string& status) {
  const std::string key = "\"status_id\":\"" + status + "\"";
  const size_t row = body.find(key);
  if (row == std::string::npos) return 0;
  const size_t row_end = body.find('}', row);
  size_t p = body.find("\"ended\":", row);
  if (p == std::string::npos || p > row_end) {
    const size_t row_start = body.rfind('{', row);
    p = body.find("\"ended\":", row_start);
    if (p == std::string::npos || p > row_end) return -1;
  }
  return std::strtol(body.c_str() + p + 8, nullptr, 10);
}

struct Bench;

// One stream: HTTP/1.1, chunked, decoded into SSE events as they come.
struct Sub : std::enable_shared_from_this<Sub> {
  Sub(Bench* b, asio::io_context& ioc, std::string t, std::string a, bool p)
      : bench(b), sock(ioc), target(std::move(t)), auth(std::move(a)), probe(p) {}
  void Start(const tcp::endpoint& at);
  void Read();
  void OnBytes(size_t n);
  void OnEvent(const std::string& data);

  Bench* bench;
  tcp::socket sock;
  std::string target, auth, request;
  bool probe;
  std::array<char, 1 << 16> buf{};
  std::string raw, payload;
  bool header_done = false;
  size_t chunk_left = 0;
  bool crlf_next = false;
  long base = -1;   // ended of stat_probe in the first report
  int recorded = 0;  // probes this subscriber has seen
  bool first = false;
};

struct Bench {
  asio::io_context ioc{1};
  std::vector<std::shared_ptr<Sub>> subs;
  size_t started = 0, probe_subs = 0;
  int probes = 0, sent = 0, seen_current = 0;
  int timeout_ms = 10000;
  Clock::time_point sent_at;
  std::vector<double> samples;
  uint64_t events = 0, bytes = 0, disconnects = 0;
  size_t missed = 0;  // probe sightings that did not come within the timeout
  std::unique_ptr<RdKafka::Producer> producer;
  std::string topic, org;
  std::string run_id;
  asio::steady_timer timer{ioc};
  std::mt19937 rng{777};
  Clock::time_point t0 = Clock::now(), hold_until;
  int hold_s = 0;
  int min_interval_ms = 0;
  bool holding = false;

  void FirstReport() {
    if (++started == subs.size()) {
      std::fprintf(stderr, "leadflow-bench-sse: %zu streams open, probing\n", subs.size());
      t0 = Clock::now();
      events = 0;
      SendProbe();
    }
  }
  void SendProbe() {
    if (sent == probes) return Hold();
    const std::string id = "sse-probe-" + run_id + "-" + std::to_string(sent);
    const std::string now = leadflow::views::FormatRfc3339Ms(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    const std::string value = "{\"event_id\":\"" + id + "\",\"type\":\"lead.created\",\"org_id\":\"" + org +
                              "\",\"occurred_at\":\"" + now + "\",\"lead_id\":\"" + id +
                              "\",\"status_id\":\"stat_probe\"}";
    sent_at = Clock::now();
    if (producer->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                          const_cast<char*>(value.data()), value.size(), org.data(), org.size(), 0,
                          nullptr) != RdKafka::ERR_NO_ERROR) {
      Die("produce failed");
    }
    ++sent;
    seen_current = 0;
    Wait();
  }
  // Polls the producer; gives up on a probe after timeout_ms.
  void Wait() {
    producer->poll(0);
    if (Clock::now() - sent_at > std::chrono::milliseconds(timeout_ms)) {
      // Counted as missed (each subscriber that had not seen it), and the
      // run goes on: a stall is a result, not a failure of the tool.
      std::fprintf(stderr, "leadflow-bench-sse: probe %d seen by %d of %zu subscribers after %d ms\n", sent - 1,
                   seen_current, probe_subs, timeout_ms);
      missed += probe_subs - static_cast<size_t>(seen_current);
      for (auto& sub : subs) {
        if (sub->probe && sub->recorded < sent) sub->recorded = sent;  // its count moves on with the next probe
      }
      seen_current = static_cast<int>(probe_subs);
      timer.expires_after(std::chrono::milliseconds(std::max(100, min_interval_ms)));
      timer.async_wait([this](boost::system::error_code ec) {
        if (!ec) SendProbe();
      });
      return;
    }
    timer.expires_after(std::chrono::milliseconds(10));
    timer.async_wait([this](boost::system::error_code ec) {
      if (!ec && !holding && seen_current < static_cast<int>(probe_subs)) Wait();
    });
  }
  void Seen() {
    samples.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent_at).count());
    if (++seen_current == static_cast<int>(probe_subs)) {
      timer.cancel();
      // Spread the probes over the consumer's batches; at least the
      // service's --stream-min-interval-ms apart, so that a probe measures
      // the way to the subscriber, not a wait for the interval (which a
      // change sooner than that after the last one adds, by design).
      timer.expires_after(std::chrono::milliseconds(std::max(100, min_interval_ms) + rng() % 400));
      timer.async_wait([this](boost::system::error_code ec) {
        if (!ec) SendProbe();
      });
    }
  }
  void Hold() {
    holding = true;
    hold_until = Clock::now() + std::chrono::seconds(hold_s);
    timer.expires_at(hold_until);
    timer.async_wait([this](boost::system::error_code) { ioc.stop(); });
  }
};

void Sub::Start(const tcp::endpoint& at) {
  request = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\nAuthorization: " + auth +
            "\r\n\r\n";
  sock.async_connect(at, [self = shared_from_this()](boost::system::error_code ec) {
    if (ec) Die("connect: " + ec.message());
    asio::async_write(self->sock, asio::buffer(self->request), [self](boost::system::error_code ec2, size_t) {
      if (ec2) Die("write: " + ec2.message());
      self->Read();
    });
  });
}

void Sub::Read() {
  sock.async_read_some(asio::buffer(buf), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
    if (ec) {
      ++self->bench->disconnects;
      if (!self->bench->holding) {
        Die("stream " + self->target + " ended: " + ec.message() + " (header " +
            (self->header_done ? "read" : "not read: " + self->raw.substr(0, 300)) + ", " +
            std::to_string(self->bench->started) + " streams had their first report)");
      }
      return;
    }
    self->OnBytes(n);
    self->Read();
  });
}

void Sub::OnBytes(size_t n) {
  bench->bytes += n;
  raw.append(buf.data(), n);
  if (!header_done) {
    const size_t end = raw.find("\r\n\r\n");
    if (end == std::string::npos) return;
    if (raw.compare(0, 12, "HTTP/1.1 200") != 0) Die(target + " answered: " + raw.substr(0, 200));
    raw.erase(0, end + 4);
    header_done = true;
  }
  // Chunked transfer coding into payload.
  size_t pos = 0;
  while (pos < raw.size()) {
    if (crlf_next) {
      if (raw.size() - pos < 2) break;
      pos += 2;
      crlf_next = false;
    } else if (chunk_left > 0) {
      const size_t take = std::min(chunk_left, raw.size() - pos);
      payload.append(raw, pos, take);
      pos += take;
      chunk_left -= take;
      if (chunk_left == 0) crlf_next = true;
    } else {
      const size_t eol = raw.find("\r\n", pos);
      if (eol == std::string::npos) break;
      chunk_left = std::strtoul(raw.c_str() + pos, nullptr, 16);
      pos = eol + 2;
      if (chunk_left == 0) Die(target + ": the stream ended");
    }
  }
  raw.erase(0, pos);
  // Events: blocks ending in a blank line; only data lines matter here.
  size_t start = 0, blank;
  while ((blank = payload.find("\n\n", start)) != std::string::npos) {
    const size_t data = payload.find("\ndata: ", start);
    if (data != std::string::npos && data < blank) OnEvent(payload.substr(data + 7, blank - data - 7));
    start = blank + 2;
  }
  payload.erase(0, start);
}

void Sub::OnEvent(const std::string& data) {
  ++bench->events;
  if (probe) {
    const long ended = EndedOf(data, "stat_probe");
    if (base < 0) base = ended;
    while (recorded < bench->sent && ended >= base + recorded + 1) {
      ++recorded;
      if (recorded == bench->sent) bench->Seen();
    }
  }
  if (!first) {
    first = true;
    bench->FirstReport();
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string brokers, hostport, probe_key, busy_arg;
  Bench b;
  int subscribers = 1000, reports = 100;
  b.probes = 100;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--brokers") brokers = next();
    else if (a == "--topic") b.topic = next();
    else if (a == "--http") hostport = next();
    else if (a == "--probe-org") b.org = next();
    else if (a == "--probe-key") probe_key = next();
    else if (a == "--busy") busy_arg = next();
    else if (a == "--subscribers") subscribers = std::atoi(next().c_str());
    else if (a == "--reports") reports = std::atoi(next().c_str());
    else if (a == "--probes") b.probes = std::atoi(next().c_str());
    else if (a == "--hold-s") b.hold_s = std::atoi(next().c_str());
    else if (a == "--timeout-ms") b.timeout_ms = std::atoi(next().c_str());
    else if (a == "--min-interval-ms") b.min_interval_ms = std::atoi(next().c_str());
    else Die("unknown argument " + a);
  }
  std::vector<std::pair<std::string, std::string>> busy;
  for (size_t start = 0; start < busy_arg.size();) {
    size_t comma = busy_arg.find(',', start);
    if (comma == std::string::npos) comma = busy_arg.size();
    const std::string item = busy_arg.substr(start, comma - start);
    const size_t colon = item.find(':');
    if (colon == std::string::npos) Die("--busy wants ORG:KEY,...");
    busy.emplace_back(item.substr(0, colon), item.substr(colon + 1));
    start = comma + 1;
  }
  if (brokers.empty() || b.topic.empty() || hostport.empty() || b.org.empty() || probe_key.empty() || busy.empty() ||
      subscribers < reports || reports < 10 || b.probes <= 0) {
    Die("usage: --brokers H:P --topic T --http HOST:PORT --probe-org ORG --probe-key KEY --busy ORG:KEY,... "
        "[--subscribers N >= --reports M >= 10] [--probes P] [--hold-s S]");
  }
  const size_t colon = hostport.rfind(':');
  const tcp::endpoint at(asio::ip::make_address(hostport.substr(0, colon)),
                         static_cast<unsigned short>(std::atoi(hostport.c_str() + colon + 1)));

  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"bootstrap.servers", brokers}, {"client.id", "leadflow-bench-sse"}, {"linger.ms", "0"}, {"acks", "all"}}) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) Die(err);
  }
  b.producer.reset(RdKafka::Producer::create(conf.get(), err));
  if (!b.producer) Die(err);
  b.run_id = std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());

  // The distinct reports: a tenth of the probe org, the rest of the busy
  // orgs in turn; within an org, the overall report, then periods as a
  // dashboard asks them (whole days), each starting on another day: for
  // the probe org, up to tomorrow (the probes happen now); for the busy
  // orgs, within the year leadflow-gen's history covers (2024).
  struct Report {
    std::string target, auth;
    bool probe;
  };
  std::vector<Report> distinct;
  const int probe_reports = reports / 10;
  std::vector<int> variant(busy.size() + 1, 0);
  for (int r = 0; r < reports; ++r) {
    const bool probe = r < probe_reports;
    const size_t o = probe ? busy.size() : static_cast<size_t>(r - probe_reports) % busy.size();
    const std::string& org = probe ? b.org : busy[o].first;
    const std::string& key = probe ? probe_key : busy[o].second;
    const int v = variant[o]++;
    std::string target = "/api/v1/report/statuses/lead/" + org + "/stream";
    if (v > 0) {
      const int64_t day = 86'400'000;
      const int64_t today = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count() / day * day;
      const int64_t start = probe ? today - v * day : *leadflow::views::ParseRfc3339Ms("2024-01-01T00:00:00Z") + (v - 1) * 7 * day;
      const int64_t end = probe ? today + day : *leadflow::views::ParseRfc3339Ms("2025-01-01T00:00:00Z");
      target += "?date_start=" + leadflow::views::FormatRfc3339Ms(start).substr(0, 10) +
                "&date_end=" + leadflow::views::FormatRfc3339Ms(end).substr(0, 10);
    }
    distinct.push_back({target, "Bearer " + key, probe});
  }
  for (int s = 0; s < subscribers; ++s) {
    const Report& r = distinct[static_cast<size_t>(s % reports)];
    b.subs.push_back(std::make_shared<Sub>(&b, b.ioc, r.target, r.auth, r.probe));
    if (r.probe) ++b.probe_subs;
  }
  for (auto& s : b.subs) s->Start(at);
  b.ioc.run();
  const double seconds = std::chrono::duration<double>(Clock::now() - b.t0).count();
  b.producer->flush(5000);

  std::vector<double> sorted = b.samples;
  std::sort(sorted.begin(), sorted.end());
  auto pct = [&](double q) {
    if (sorted.empty()) return 0.0;
    return sorted[std::min(sorted.size() - 1, static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5))];
  };
  std::printf(
      "{\"subscribers\": %d, \"reports\": %d, \"probe_subscribers\": %zu, \"probes\": %d, \"samples\": %zu, "
      "\"p50_ms\": %.2f, \"p90_ms\": %.2f, \"p99_ms\": %.2f, \"max_ms\": %.2f, \"events\": %llu, "
      "\"events_per_s\": %.1f, \"bytes\": %llu, \"disconnects\": %llu, \"missed\": %zu, \"seconds\": %.1f}\n",
      subscribers, reports, b.probe_subs, b.probes, sorted.size(), pct(0.5), pct(0.9), pct(0.99),
      sorted.empty() ? 0.0 : sorted.back(), static_cast<unsigned long long>(b.events),
      static_cast<double>(b.events) / seconds, static_cast<unsigned long long>(b.bytes),
      static_cast<unsigned long long>(b.disconnects), b.missed, seconds);
  return 0;
}
