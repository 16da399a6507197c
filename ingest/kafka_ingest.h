// KafkaIngest: consumes the events topic in a consumer group and feeds the
// Pipeline in batches; publishes dead letters; tracks readiness and lag.
//
// Positions live in the store, in the same write batch as the state they
// produced. On every partition assignment the consumer resumes from the
// stored positions (from the beginning when none is stored), so a kill -9 at
// any moment neither loses nor double-applies an event. Dead letters are
// flushed to the dead-letter topic before the batch that skips them commits.
//
// Thread safety: Run() is called by one thread (the ingest thread); Ready(),
// LagMessages() and the Stats may be read from any thread; RequestStop() may
// be called from any thread.
#ifndef LEADFLOW_INGEST_KAFKA_INGEST_H_
#define LEADFLOW_INGEST_KAFKA_INGEST_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ingest/pipeline.h"
#include "state/status.h"
#include "state/store.h"

namespace leadflow::ingest {

struct KafkaIngestOptions {
  std::string brokers;                         // required, HOST:PORT[,...]
  std::string topic = "leadflow.events";       // Default: leadflow.events
  std::string dlq_topic = "leadflow.events.dlq";  // Default: leadflow.events.dlq
  std::string group = "leadflow";              // Default: leadflow
  // Static group membership (group.instance.id): a restarted process with
  // the same id takes its partitions back at once instead of waiting for the
  // dead member's session to expire. Empty: dynamic membership. Two live
  // processes must never share it. Default: empty (main derives one from the
  // data directory).
  std::string instance_id;
  // A batch (one RocksDB write with its offsets) closes when the consumer's
  // local queue runs dry, at batch_max_messages, or when it has been open
  // batch_max_ms (apply time included). Keeping up, the queue runs dry often
  // and batches stay small (fresh events wait little); behind, batches grow
  // to the caps, which amortizes each touched lead's and bitmap's rewrite
  // over more events (measured: 3x the throughput of 1000-event batches).
  size_t batch_max_messages = 20000;           // Default: 20000
  int batch_max_ms = 1000;                     // Default: 1000 ms
  int idle_wait_ms = 100;                      // Default: wait up to 100 ms for a first message
};

// The librdkafka consumer properties leadflow consumes with (fetching,
// offsets, logging), without group.id and client.id. The benchmark's raw
// consumer (bench/raw_consume.cc) uses the same, so that its rate is the
// ceiling of this very configuration.
std::vector<std::pair<std::string, std::string>> ConsumerProperties(const std::string& brokers);

class KafkaIngest {
 public:
  // store and stats must outlive the object. Fails (InvalidArgument) on a bad
  // librdkafka configuration.
  static Status Create(const KafkaIngestOptions& options, state::Store* store, Stats* stats,
                       std::unique_ptr<KafkaIngest>* out);
  ~KafkaIngest();
  KafkaIngest(const KafkaIngest&) = delete;
  KafkaIngest& operator=(const KafkaIngest&) = delete;

  // Consumes until RequestStop(); then commits nothing further and closes the
  // consumer (leaving the group). Returns non-OK on a fatal store error.
  Status Run();
  void RequestStop() { stop_.store(true); }

  // True once this consumer is assigned every partition of the topic and has
  // consumed each up to its end as it stood when assigned (and stays true).
  // One leadflow instance owns a whole topic: its state must hold every org
  // it serves, so replicas use consumer groups of their own.
  bool Ready() const { return ready_.load(); }
  // Sum over assigned partitions of (high watermark - next offset to read).
  int64_t LagMessages() const { return lag_.load(); }

 private:
  struct Impl;
  explicit KafkaIngest(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  std::atomic<int64_t> lag_{0};
};

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_KAFKA_INGEST_H_
