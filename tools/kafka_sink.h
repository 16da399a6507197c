// KafkaSink: produces generated events to a Kafka topic with the librdkafka
// C++ producer (key = org_id, acks=all, idempotent, linger.ms=5). A full local
// queue is handled by polling and retrying; delivery failures are counted.
//
// Thread safety: one thread at a time. Delivery reports run inside Write()
// and Finish() (through poll/flush), on the calling thread.
#ifndef LEADFLOW_TOOLS_KAFKA_SINK_H_
#define LEADFLOW_TOOLS_KAFKA_SINK_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <librdkafka/rdkafkacpp.h>

namespace leadflow::tools {

class KafkaSink {
 public:
  // Extra producer properties (--kafka-prop k=v) are applied last.
  static std::unique_ptr<KafkaSink> Create(
      const std::string& brokers, const std::string& topic,
      const std::vector<std::pair<std::string, std::string>>& extra, std::string* error);
  ~KafkaSink();
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  // Enqueues one message; while the local queue is full, polls and retries
  // (giving up when *stop becomes true). False on a non-retriable error.
  bool Write(std::string_view key, std::string_view value, const std::atomic<bool>& stop);
  // Waits up to timeout for outstanding deliveries. True when every
  // enqueued message was acknowledged.
  bool Finish(std::chrono::milliseconds timeout);

  uint64_t enqueued() const { return enqueued_; }
  uint64_t delivered() const { return reports_.delivered; }
  // Failed produce calls and deliveries, plus messages still unacknowledged
  // after Finish().
  uint64_t failed() const { return produce_failed_ + reports_.failed + undelivered_; }
  const std::string& first_error() const { return reports_.first_error; }

 private:
  class Reports : public RdKafka::DeliveryReportCb, public RdKafka::EventCb {
   public:
    void dr_cb(RdKafka::Message& message) override;
    void event_cb(RdKafka::Event& event) override;
    uint64_t delivered = 0;
    uint64_t failed = 0;
    std::string first_error;
    bool fatal = false;

   private:
    std::chrono::steady_clock::time_point last_log_{};
  };

  KafkaSink() = default;

  Reports reports_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::string topic_;
  uint64_t enqueued_ = 0;
  uint64_t produce_failed_ = 0;
  uint64_t undelivered_ = 0;
};

}  // namespace leadflow::tools

#endif  // LEADFLOW_TOOLS_KAFKA_SINK_H_
