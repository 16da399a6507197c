// leadflow-bench-freshness: how long after a producer's send an event is
// visible in a report. Each probe is a lead.created of a fresh lead in a
// probe org; the clock starts when the probe is handed to librdkafka
// (linger.ms=0) and stops at the first answer of the org's overall status
// report (GET /api/v1/report/statuses/lead/{org}/, polled over one keep-alive
// connection) that counts the probe lead. Background load comes from a
// separate producer (bench/run.py runs leadflow-gen --live --rate R).
//
//   leadflow-bench-freshness --brokers H:P --topic T --http 127.0.0.1:PORT
//       --api-key KEY [--org org_probe] [--probes 200] [--timeout-ms 10000]
//
// Prints JSON: {"probes", "p50_ms", "p90_ms", "p99_ms", "max_ms", "samples_ms": [...],
// "acked_ms": [...] (send to the broker's ack), "sent_unix_ms": [...]}.
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "views/time.h"

namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "leadflow-bench-freshness: %s\n", msg.c_str());
  std::exit(1);
}

std::string NowRfc3339() {
  return leadflow::views::FormatRfc3339Ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
}

// Counts the leads the overall report says are now in the probe status: the
// "ended" of the row whose status_id is `status`, read without a JSON library
// (the row is `{"status_id":"<status>", ... "ended":N ...}`).
long EndedOf(const std::string& body, const std::string& status) {
  const std::string key = "\"status_id\":\"" + status + "\"";
  size_t row = body.find(key);
  if (row == std::string::npos) return 0;
  const size_t row_end = body.find('}', row);
  size_t p = body.find("\"ended\":", row);
  if (p == std::string::npos || p > row_end) {
    // The key may come before status_id: search back to the row's start.
    const size_t row_start = body.rfind('{', row);
    p = body.find("\"ended\":", row_start);
    if (p == std::string::npos || p > row_end) Die("report row without ended: " + body.substr(row, 200));
  }
  return std::strtol(body.c_str() + p + 8, nullptr, 10);
}

// When the broker acknowledged each probe (acks=all): a probe's send-to-ack
// time is the part of its freshness no consumer can remove.
class AckTimes : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) acked_ = Clock::now();
  }
  std::optional<Clock::time_point> Take() {
    auto t = acked_;
    acked_.reset();
    return t;
  }

 private:
  std::optional<Clock::time_point> acked_;
};

class Poller {
 public:
  Poller(const std::string& host, const std::string& port, std::string target, std::string auth)
      : stream_(ioc_), target_(std::move(target)), auth_(std::move(auth)) {
    boost::asio::ip::tcp::resolver resolver(ioc_);
    stream_.connect(resolver.resolve(host, port));
  }
  std::string Get() {
    http::request<http::empty_body> req{http::verb::get, target_, 11};
    req.set(http::field::host, "localhost");
    req.set(http::field::authorization, auth_);
    req.keep_alive(true);
    http::write(stream_, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream_, buffer, res);
    if (res.result() != http::status::ok) Die("report answered " + std::to_string(res.result_int()) + ": " + res.body());
    return std::move(res.body());
  }

 private:
  boost::asio::io_context ioc_;
  beast::tcp_stream stream_;
  std::string target_;
  std::string auth_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string brokers, topic, hostport, api_key, org = "org_probe";
  int probes = 200;
  int timeout_ms = 10000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--brokers") brokers = next();
    else if (a == "--topic") topic = next();
    else if (a == "--http") hostport = next();
    else if (a == "--api-key") api_key = next();
    else if (a == "--org") org = next();
    else if (a == "--probes") probes = std::atoi(next().c_str());
    else if (a == "--timeout-ms") timeout_ms = std::atoi(next().c_str());
    else Die("unknown argument " + a);
  }
  if (brokers.empty() || topic.empty() || hostport.empty() || api_key.empty() || probes <= 0) {
    Die("usage: --brokers H:P --topic T --http HOST:PORT --api-key KEY [--org O] [--probes N]");
  }
  const size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) Die("--http wants HOST:PORT");

  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  const std::pair<const char*, std::string> settings[] = {
      {"bootstrap.servers", brokers}, {"client.id", "leadflow-bench-probe"}, {"linger.ms", "0"}, {"acks", "all"}};
  for (const auto& [k, v] : settings) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) Die(err);
  }
  AckTimes acks;
  if (conf->set("dr_cb", &acks, err) != RdKafka::Conf::CONF_OK) Die(err);
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
  if (!producer) Die(err);

  const std::string status = "stat_probe";
  Poller poller(hostport.substr(0, colon), hostport.substr(colon + 1),
                "/api/v1/report/statuses/lead/" + org + "/", "Bearer " + api_key);
  long seen = EndedOf(poller.Get(), status);
  const std::string run = std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  std::mt19937 rng(12345);
  std::vector<double> samples;
  std::vector<double> acked_ms;      // send to the broker's ack, -1 if not acked when the probe was seen
  std::vector<int64_t> sent_unix_ms;  // when each probe was sent, to line probes up with other timelines
  for (int i = 0; i < probes; ++i) {
    const std::string id = "probe-" + run + "-" + std::to_string(i);
    const std::string value = "{\"event_id\":\"" + id + "\",\"type\":\"lead.created\",\"org_id\":\"" + org +
                              "\",\"occurred_at\":\"" + NowRfc3339() + "\",\"lead_id\":\"" + id +
                              "\",\"status_id\":\"" + status + "\"}";
    const auto sent = Clock::now();
    sent_unix_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
    if (producer->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                          const_cast<char*>(value.data()), value.size(), org.data(), org.size(), 0,
                          nullptr) != RdKafka::ERR_NO_ERROR) {
      Die("produce failed");
    }
    producer->poll(0);
    std::optional<Clock::time_point> acked;
    for (;;) {
      producer->poll(0);
      if (!acked) acked = acks.Take();
      const long now_seen = EndedOf(poller.Get(), status);
      const auto t = Clock::now();
      if (now_seen > seen) {
        seen = now_seen;
        samples.push_back(std::chrono::duration<double, std::milli>(t - sent).count());
        if (!acked) {
          producer->flush(timeout_ms);
          acked = acks.Take();
        }
        acked_ms.push_back(acked ? std::chrono::duration<double, std::milli>(*acked - sent).count() : -1.0);
        break;
      }
      if (t - sent > std::chrono::milliseconds(timeout_ms)) Die("probe " + id + " not visible after timeout");
      // A report a millisecond: 2,000 a second (every 0.5 ms, until
      // session 19) took ~0.2 of a core from the service and the prober on
      // the bench's two cores, and no dashboard polls like that.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    // Spread the probes over the consumer's batch cycle.
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 45));
  }
  producer->flush(5000);
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  auto pct = [&](double q) {
    const size_t idx = std::min(sorted.size() - 1, static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5));
    return sorted[idx];
  };
  std::printf("{\"probes\": %zu, \"p50_ms\": %.2f, \"p90_ms\": %.2f, \"p99_ms\": %.2f, \"max_ms\": %.2f, \"samples_ms\": [",
              samples.size(), pct(0.5), pct(0.9), pct(0.99), sorted.back());
  auto print_list = [](const auto& values) {
    for (size_t i = 0; i < values.size(); ++i) {
      std::printf(std::is_integral_v<std::decay_t<decltype(values[i])>> ? "%s%.0f" : "%s%.2f", i ? ", " : "",
                  static_cast<double>(values[i]));
    }
  };
  print_list(samples);
  std::printf("], \"acked_ms\": [");
  print_list(acked_ms);
  std::printf("], \"sent_unix_ms\": [");
  print_list(sent_unix_ms);
  std::printf("]}\n");
  return 0;
}
