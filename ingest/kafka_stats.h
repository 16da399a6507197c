// KafkaStats: librdkafka's own statistics of the consumer (the JSON document
// it emits every statistics.interval.ms, 10 s by default here; see
// librdkafka's STATISTICS.md) as Prometheus metrics, the ones operators
// watch: broker connection state, round-trip times, request errors and
// timeouts, reconnects, throttling, the fetch queue per partition, the
// consumer group's state and rebalances, messages and bytes received.
//
//   leadflow_kafka_stats_timestamp_seconds          when the document was made
//   leadflow_kafka_client_replyq                    ops waiting in the reply queue
//   leadflow_kafka_client_messages_received_total   messages fetched
//   leadflow_kafka_client_message_bytes_received_total
//   leadflow_kafka_broker_up{broker}                1 while the connection is UP
//   leadflow_kafka_broker_{requests_sent,request_errors,request_timeouts,
//     receive_errors,connects,disconnects}_total{broker}
//   leadflow_kafka_broker_{outbuf_requests,waiting_requests}{broker}
//   leadflow_kafka_broker_rtt_{avg,p99}_seconds{broker}
//   leadflow_kafka_broker_throttle_avg_seconds{broker}
//   leadflow_kafka_partition_fetch_queue_{messages,bytes}{topic,partition}
//   leadflow_kafka_consumer_group_up                1 while the group state is "up"
//   leadflow_kafka_consumer_group_rebalances_total
//   leadflow_kafka_consumer_group_assigned_partitions
//
// The counters are librdkafka's, per consumer instance: they start again at
// 0 when the consumer is recreated after a failure (Prometheus' rate()
// handles such resets).
//
// Thread safety: Update (librdkafka's event callback, in the consumer's
// poll) and Render (HTTP threads) may run concurrently.
#ifndef LEADFLOW_INGEST_KAFKA_STATS_H_
#define LEADFLOW_INGEST_KAFKA_STATS_H_

#include <mutex>
#include <string>
#include <string_view>

namespace leadflow::ingest {

class KafkaStats {
 public:
  // Takes one statistics document; false, keeping the last one, when it is
  // not the JSON object librdkafka documents.
  bool Update(std::string_view json);
  // Appends the metrics of the last document (nothing before the first).
  void Render(std::string* out) const;

 private:
  mutable std::mutex mu_;
  std::string rendered_;  // rendered at Update: one document every few seconds, any number of scrapes
};

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_KAFKA_STATS_H_
