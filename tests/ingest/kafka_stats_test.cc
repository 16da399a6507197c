#include "ingest/kafka_stats.h"

#include <doctest/doctest.h>

#include <string>

// librdkafka's statistics document (the shape of its STATISTICS.md, trimmed)
// as the metrics operators read.

namespace leadflow::ingest {
namespace {

constexpr const char* kDoc = R"({
  "name": "leadflow#consumer-1", "client_id": "leadflow", "type": "consumer",
  "ts": 5016483227792, "time": 1796008893, "age": 10002, "replyq": 3,
  "rxmsgs": 1200, "rxmsg_bytes": 456000,
  "brokers": {
    "127.0.0.1:19092/1": {"name": "127.0.0.1:19092/1", "nodeid": 1, "source": "learned", "state": "UP",
      "outbuf_cnt": 0, "waitresp_cnt": 1, "tx": 50, "txerrs": 2, "req_timeouts": 1, "rxerrs": 0,
      "connects": 1, "disconnects": 0,
      "rtt": {"avg": 1500, "p99": 12000}, "throttle": {"avg": 0}},
    "GroupCoordinator": {"name": "GroupCoordinator", "nodeid": -1, "source": "logical", "state": "DOWN",
      "tx": 0, "rtt": {"avg": 0, "p99": 0}, "throttle": {"avg": 0}},
    ":0/internal": {"name": ":0/internal", "nodeid": -1, "source": "internal", "state": "UP"}
  },
  "topics": {
    "leadflow.events": {"topic": "leadflow.events", "partitions": {
      "10": {"partition": 10, "fetchq_cnt": 7, "fetchq_size": 700},
      "2": {"partition": 2, "fetchq_cnt": 3, "fetchq_size": 300},
      "-1": {"partition": -1, "fetchq_cnt": 0, "fetchq_size": 0}}}
  },
  "cgrp": {"state": "up", "rebalance_cnt": 4, "assignment_size": 2}
})";

bool Has(const std::string& text, const std::string& line) { return text.find(line) != std::string::npos; }

TEST_CASE("librdkafka statistics become Prometheus metrics per broker, partition and group") {
  KafkaStats stats;
  std::string before;
  stats.Render(&before);
  CHECK(before.empty());  // nothing before the first document

  REQUIRE(stats.Update(kDoc));
  std::string out;
  stats.Render(&out);
  CHECK(Has(out, "leadflow_kafka_stats_timestamp_seconds 1796008893\n"));
  CHECK(Has(out, "leadflow_kafka_client_replyq 3\n"));
  CHECK(Has(out, "leadflow_kafka_client_messages_received_total 1200\n"));
  CHECK(Has(out, "leadflow_kafka_broker_up{broker=\"127.0.0.1:19092/1\"} 1\n"));
  CHECK(Has(out, "leadflow_kafka_broker_up{broker=\"GroupCoordinator\"} 0\n"));
  CHECK(!Has(out, "internal"));
  CHECK(Has(out, "leadflow_kafka_broker_request_errors_total{broker=\"127.0.0.1:19092/1\"} 2\n"));
  CHECK(Has(out, "leadflow_kafka_broker_request_timeouts_total{broker=\"127.0.0.1:19092/1\"} 1\n"));
  CHECK(Has(out, "leadflow_kafka_broker_rtt_avg_seconds{broker=\"127.0.0.1:19092/1\"} 0.0015\n"));
  CHECK(Has(out, "leadflow_kafka_broker_rtt_p99_seconds{broker=\"127.0.0.1:19092/1\"} 0.012\n"));
  CHECK(Has(out, "# TYPE leadflow_kafka_broker_connects_total counter\n"));
  // Partitions in number order, the unassigned pseudo-partition -1 left out.
  const size_t p2 = out.find("leadflow_kafka_partition_fetch_queue_messages{topic=\"leadflow.events\",partition=\"2\"} 3");
  const size_t p10 =
      out.find("leadflow_kafka_partition_fetch_queue_messages{topic=\"leadflow.events\",partition=\"10\"} 7");
  REQUIRE(p2 != std::string::npos);
  REQUIRE(p10 != std::string::npos);
  CHECK(p2 < p10);
  CHECK(!Has(out, "partition=\"-1\""));
  CHECK(Has(out, "leadflow_kafka_consumer_group_up 1\n"));
  CHECK(Has(out, "leadflow_kafka_consumer_group_rebalances_total 4\n"));
  CHECK(Has(out, "leadflow_kafka_consumer_group_assigned_partitions 2\n"));
  // Each family is declared once.
  size_t pos = 0, declared = 0;
  while ((pos = out.find("# TYPE leadflow_kafka_broker_up ", pos)) != std::string::npos) {
    ++declared;
    ++pos;
  }
  CHECK(declared == 1);
}

TEST_CASE("a statistics document that is not librdkafka's JSON is refused and the last one kept") {
  KafkaStats stats;
  REQUIRE(stats.Update(kDoc));
  CHECK(!stats.Update("not json"));
  CHECK(!stats.Update("[1,2]"));
  CHECK(!stats.Update(R"({"name":"x"})"));
  std::string out;
  stats.Render(&out);
  CHECK(Has(out, "leadflow_kafka_client_replyq 3\n"));
}

}  // namespace
}  // namespace leadflow::ingest
