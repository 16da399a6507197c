#include "tools/kafka_sink.h"

#include <cstdio>

namespace leadflow::tools {

void KafkaSink::Reports::dr_cb(RdKafka::Message& message) {
  if (message.err() == RdKafka::ERR_NO_ERROR) {
    ++delivered;
    return;
  }
  if (failed++ == 0) first_error = message.errstr();
}

void KafkaSink::Reports::event_cb(RdKafka::Event& event) {
  if (event.type() != RdKafka::Event::EVENT_ERROR) return;
  if (event.fatal()) fatal = true;
  // Broker-down and similar errors repeat; log at most one every 5 s.
  const auto now = std::chrono::steady_clock::now();
  if (!event.fatal() && now - last_log_ < std::chrono::seconds(5)) return;
  last_log_ = now;
  std::fprintf(stderr, "leadflow-gen: kafka %s: %s\n", event.fatal() ? "FATAL error" : "error",
               event.str().c_str());
}

std::unique_ptr<KafkaSink> KafkaSink::Create(
    const std::string& brokers, const std::string& topic,
    const std::vector<std::pair<std::string, std::string>>& extra, std::string* error) {
  std::unique_ptr<KafkaSink> sink(new KafkaSink());
  sink->topic_ = topic;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", brokers},
      {"client.id", "leadflow-gen"},
      {"acks", "all"},
      {"linger.ms", "5"},
      {"enable.idempotence", "true"},
  };
  props.insert(props.end(), extra.begin(), extra.end());
  for (const auto& [name, value] : props) {
    if (conf->set(name, value, *error) != RdKafka::Conf::CONF_OK) {
      *error = "kafka property " + name + ": " + *error;
      return nullptr;
    }
  }
  if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&sink->reports_), *error) !=
          RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", static_cast<RdKafka::EventCb*>(&sink->reports_), *error) !=
          RdKafka::Conf::CONF_OK) {
    return nullptr;
  }
  sink->producer_.reset(RdKafka::Producer::create(conf.get(), *error));
  if (!sink->producer_) return nullptr;
  return sink;
}

KafkaSink::~KafkaSink() {
  // The producer must go before reports_, which it calls back into.
  producer_.reset();
}

bool KafkaSink::Write(std::string_view key, std::string_view value,
                      const std::atomic<bool>& stop) {
  for (;;) {
    if (reports_.fatal) {
      if (reports_.first_error.empty()) reports_.first_error = "fatal producer error";
      return false;
    }
    const RdKafka::ErrorCode err = producer_->produce(
        topic_, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(value.data()), value.size(), key.data(), key.size(),
        /*timestamp=*/0, /*msg_opaque=*/nullptr);
    if (err == RdKafka::ERR_NO_ERROR) break;
    if (err == RdKafka::ERR__QUEUE_FULL && !stop.load(std::memory_order_relaxed)) {
      producer_->poll(50);  // serves delivery reports, freeing queue space
      continue;
    }
    ++produce_failed_;
    if (reports_.first_error.empty()) reports_.first_error = RdKafka::err2str(err);
    return false;
  }
  if (++enqueued_ % 64 == 0) producer_->poll(0);
  return true;
}

bool KafkaSink::Finish(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (producer_->outq_len() > 0 && std::chrono::steady_clock::now() < deadline) {
    producer_->flush(200);
  }
  producer_->poll(0);
  // Whatever is still queued (messages or requests) was not acknowledged.
  const uint64_t reported = reports_.delivered + reports_.failed;
  undelivered_ = enqueued_ > reported ? enqueued_ - reported : 0;
  if (undelivered_ > 0 && reports_.first_error.empty()) {
    reports_.first_error = "flush timed out with messages unacknowledged";
  }
  return failed() == 0;
}

}  // namespace leadflow::tools
