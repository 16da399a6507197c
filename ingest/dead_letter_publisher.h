// DeadLetterPublisher: publishes a batch's dead letters to the dead-letter
// topic and reports whether every one was acknowledged, so that the batch
// that skips them commits only then (a letter is never lost).
//
// Each letter is published once by a running process: letters the broker
// acknowledged are remembered (by source topic, partition and offset) until
// Forget() is told their batch committed, so the retries of a batch, in this
// session or a later one, do not publish them again. A letter refused as
// too large (the broker refuses a whole produce batch) is sent again on its
// own, and if refused alone, without its copy of the original
// (ingest/dead_letter.h). Any other refusal (missing topic, denied, broker
// unreachable for message_timeout_ms) is an Unavailable that names the topic
// and the letter.
//
// Thread safety: one thread (the ingest thread) calls everything but
// failures(), which any thread may read.
#ifndef LEADFLOW_INGEST_DEAD_LETTER_PUBLISHER_H_
#define LEADFLOW_INGEST_DEAD_LETTER_PUBLISHER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ingest/pipeline.h"
#include "state/status.h"

namespace leadflow::ingest {

struct DeadLetterPublisherOptions {
  std::string brokers;                             // required
  std::string topic = "leadflow.events.dlq";       // Default: leadflow.events.dlq
  // Largest envelope; the producer's message.max.bytes is raised to fit it.
  // Default: 1000000 (Kafka's default topic limit is 1048588).
  size_t max_message_bytes = 1000000;
  // How long a letter is tried before it counts as refused (librdkafka
  // message.timeout.ms). Default: 30000 ms.
  int message_timeout_ms = 30000;
  // Extra librdkafka properties, after leadflow's own. Default: none.
  std::vector<std::pair<std::string, std::string>> kafka_properties;
};

class DeadLetterPublisher {
 public:
  // Checks the configuration by building a producer once. stop (may be
  // null) ends a wait for delivery reports early; it must outlive the object.
  static Status Create(const DeadLetterPublisherOptions& options, const std::atomic<bool>* stop,
                       std::unique_ptr<DeadLetterPublisher>* out);
  ~DeadLetterPublisher();
  DeadLetterPublisher(const DeadLetterPublisher&) = delete;
  DeadLetterPublisher& operator=(const DeadLetterPublisher&) = delete;

  // Starts a new producer (a session's); Close() flushes (up to 1 s) and
  // drops it. The remembered acknowledgements survive both.
  Status Open();
  void Close();

  // Publishes the letters not acknowledged yet and waits for every report.
  // OK when all are acknowledged; Unavailable otherwise (or when stopping).
  // REQUIRES: Open() succeeded.
  Status Publish(const std::vector<DeadLetter>& letters);
  // The batch of these letters committed: they are not consumed again.
  void Forget(const std::vector<DeadLetter>& letters);
  // Serves the producer's callbacks.
  void Poll();

  // Letters the topic refused, over the object's life.
  uint64_t failures() const { return failures_.load(); }

 private:
  struct Impl;
  explicit DeadLetterPublisher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> failures_{0};
};

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_DEAD_LETTER_PUBLISHER_H_
