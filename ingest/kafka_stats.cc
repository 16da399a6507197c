#include "ingest/kafka_stats.h"

#include <cstdio>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "ingest/prom_text.h"

namespace leadflow::ingest {
namespace {

using nlohmann::json;

std::string Number(double v) {
  char buf[64];
  if (v == static_cast<double>(static_cast<int64_t>(v))) {
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(v));
  } else {
    std::snprintf(buf, sizeof(buf), "%.6g", v);
  }
  return buf;
}

double Num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0;
}

// One metric family: HELP, TYPE and its samples (labels already rendered).
struct Family {
  const char* name;
  const char* help;
  const char* type;
  std::vector<std::pair<std::string, double>> samples;  // {labels, value}
};

void RenderFamily(const Family& f, std::string* out) {
  if (f.samples.empty()) return;
  *out += std::string("# HELP ") + f.name + " " + f.help + "\n# TYPE " + f.name + " " + f.type + "\n";
  for (const auto& [labels, v] : f.samples) {
    *out += f.name;
    if (!labels.empty()) *out += "{" + labels + "}";
    *out += " " + Number(v) + "\n";
  }
}

}  // namespace

bool KafkaStats::Update(std::string_view text) {
  const json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("brokers")) return false;
  std::vector<Family> families;
  auto top = [&](const char* name, const char* help, const char* type, double v) {
    families.push_back({name, help, type, {{"", v}}});
  };
  top("leadflow_kafka_stats_timestamp_seconds", "When librdkafka made its last statistics (statistics.interval.ms).",
      "gauge", Num(doc, "time"));
  top("leadflow_kafka_client_replyq", "Operations waiting in the consumer's librdkafka reply queue.", "gauge",
      Num(doc, "replyq"));
  top("leadflow_kafka_client_messages_received_total", "Messages the consumer fetched (librdkafka rxmsgs).",
      "counter", Num(doc, "rxmsgs"));
  top("leadflow_kafka_client_message_bytes_received_total",
      "Bytes of message payloads the consumer fetched (librdkafka rxmsg_bytes).", "counter",
      Num(doc, "rxmsg_bytes"));

  Family up{"leadflow_kafka_broker_up", "1 while the consumer's connection to the broker is UP.", "gauge", {}};
  Family sent{"leadflow_kafka_broker_requests_sent_total", "Requests sent to the broker.", "counter", {}};
  Family tx_errors{"leadflow_kafka_broker_request_errors_total", "Requests to the broker that failed.", "counter", {}};
  Family timeouts{"leadflow_kafka_broker_request_timeouts_total", "Requests to the broker that timed out.", "counter",
                  {}};
  Family rx_errors{"leadflow_kafka_broker_receive_errors_total", "Errors receiving from the broker.", "counter", {}};
  Family connects{"leadflow_kafka_broker_connects_total", "Connections made to the broker.", "counter", {}};
  Family disconnects{"leadflow_kafka_broker_disconnects_total", "Connections to the broker lost.", "counter", {}};
  Family outbuf{"leadflow_kafka_broker_outbuf_requests", "Requests waiting to be sent to the broker.", "gauge", {}};
  Family waiting{"leadflow_kafka_broker_waiting_requests", "Requests sent to the broker awaiting a response.",
                 "gauge", {}};
  Family rtt_avg{"leadflow_kafka_broker_rtt_avg_seconds", "Mean round-trip time to the broker, last interval.",
                 "gauge", {}};
  Family rtt_p99{"leadflow_kafka_broker_rtt_p99_seconds", "99th percentile round-trip time to the broker.", "gauge",
                 {}};
  Family throttle{"leadflow_kafka_broker_throttle_avg_seconds", "Mean throttle time the broker imposed.", "gauge",
                  {}};
  if (const auto it = doc.find("brokers"); it != doc.end() && it->is_object()) {
    for (const auto& [key, b] : it->items()) {
      if (!b.is_object() || b.value("source", "") == "internal") continue;
      const std::string labels = "broker=\"" + PromLabel(b.value("name", key)) + "\"";
      up.samples.push_back({labels, b.value("state", "") == "UP" ? 1.0 : 0.0});
      sent.samples.push_back({labels, Num(b, "tx")});
      tx_errors.samples.push_back({labels, Num(b, "txerrs")});
      timeouts.samples.push_back({labels, Num(b, "req_timeouts")});
      rx_errors.samples.push_back({labels, Num(b, "rxerrs")});
      connects.samples.push_back({labels, Num(b, "connects")});
      disconnects.samples.push_back({labels, Num(b, "disconnects")});
      outbuf.samples.push_back({labels, Num(b, "outbuf_cnt")});
      waiting.samples.push_back({labels, Num(b, "waitresp_cnt")});
      if (const auto r = b.find("rtt"); r != b.end() && r->is_object()) {
        rtt_avg.samples.push_back({labels, Num(*r, "avg") / 1e6});  // microseconds
        rtt_p99.samples.push_back({labels, Num(*r, "p99") / 1e6});
      }
      if (const auto t = b.find("throttle"); t != b.end() && t->is_object()) {
        throttle.samples.push_back({labels, Num(*t, "avg") / 1e3});  // milliseconds
      }
    }
  }
  for (Family* f : {&up, &sent, &tx_errors, &timeouts, &rx_errors, &connects, &disconnects, &outbuf, &waiting,
                    &rtt_avg, &rtt_p99, &throttle}) {
    families.push_back(std::move(*f));
  }

  Family fetchq{"leadflow_kafka_partition_fetch_queue_messages", "Messages fetched ahead and not yet consumed.",
                "gauge", {}};
  Family fetchq_bytes{"leadflow_kafka_partition_fetch_queue_bytes", "Bytes fetched ahead and not yet consumed.",
                      "gauge", {}};
  if (const auto it = doc.find("topics"); it != doc.end() && it->is_object()) {
    for (const auto& [topic, t] : it->items()) {
      const auto parts = t.find("partitions");
      if (parts == t.end() || !parts->is_object()) continue;
      // In partition order, not the document's (string) key order.
      std::map<int64_t, const json*> ordered;
      for (const auto& [key, p] : parts->items()) {
        if (p.is_object() && Num(p, "partition") >= 0) ordered[static_cast<int64_t>(Num(p, "partition"))] = &p;
      }
      for (const auto& [partition, p] : ordered) {
        const std::string labels =
            "topic=\"" + PromLabel(topic) + "\",partition=\"" + std::to_string(partition) + "\"";
        fetchq.samples.push_back({labels, Num(*p, "fetchq_cnt")});
        fetchq_bytes.samples.push_back({labels, Num(*p, "fetchq_size")});
      }
    }
  }
  families.push_back(std::move(fetchq));
  families.push_back(std::move(fetchq_bytes));

  if (const auto g = doc.find("cgrp"); g != doc.end() && g->is_object()) {
    top("leadflow_kafka_consumer_group_up", "1 while the consumer group's state is up (joined, coordinator known).",
        "gauge", g->value("state", "") == "up" ? 1.0 : 0.0);
    top("leadflow_kafka_consumer_group_rebalances_total", "Rebalances of the consumer group this consumer saw.",
        "counter", Num(*g, "rebalance_cnt"));
    top("leadflow_kafka_consumer_group_assigned_partitions", "Partitions assigned to this consumer.", "gauge",
        Num(*g, "assignment_size"));
  }

  std::string rendered;
  for (const Family& f : families) RenderFamily(f, &rendered);
  std::lock_guard<std::mutex> lock(mu_);
  rendered_ = std::move(rendered);
  return true;
}

void KafkaStats::Render(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  *out += rendered_;
}

}  // namespace leadflow::ingest
