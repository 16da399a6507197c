// leadflow-bench-consume: the raw consume rate of a topic, the ceiling any
// consumer of it can reach on this machine. A bare librdkafka KafkaConsumer
// with the client settings leadflow consumes with (ingest::ConsumerProperties),
// which
// reads every message of the topic from the beginning, as it stood at start,
// and does nothing with it but count it and its bytes.
//
//   leadflow-bench-consume --brokers HOST:PORT --topic NAME
//
// Prints one JSON object: {"messages", "bytes", "seconds", "messages_per_s",
// "mb_per_s"}; the clock starts at the first message, so group join and
// metadata time are not counted.
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ingest/kafka_ingest.h"
#include "ingest/memory_budget.h"

namespace {

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "leadflow-bench-consume: %s\n", msg.c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string brokers;
  std::string topic;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--brokers" && i + 1 < argc) {
      brokers = argv[++i];
    } else if (a == "--topic" && i + 1 < argc) {
      topic = argv[++i];
    } else {
      Die("usage: leadflow-bench-consume --brokers HOST:PORT --topic NAME");
    }
  }
  if (brokers.empty() || topic.empty()) Die("--brokers and --topic are required");

  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::vector<std::pair<std::string, std::string>> settings = leadflow::ingest::ConsumerProperties(
      brokers, leadflow::ingest::MemoryBudget::Split(leadflow::ingest::MemoryBudget::kDefaultBytes).prefetch);
  settings.emplace_back("group.id", "leadflow-bench-raw");
  settings.emplace_back("client.id", "leadflow-bench-raw");
  for (const auto& [k, v] : settings) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) Die(err);
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) Die(err);

  // The partitions and their end offsets as they stand now.
  RdKafka::Metadata* md_raw = nullptr;
  std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(consumer.get(), topic, nullptr, err));
  if (!t || consumer->metadata(false, t.get(), &md_raw, 10000) != RdKafka::ERR_NO_ERROR || !md_raw) {
    Die("metadata for " + topic + " failed");
  }
  std::unique_ptr<RdKafka::Metadata> md(md_raw);
  if (md->topics()->empty() || md->topics()->at(0)->partitions()->empty()) Die("topic has no partitions");
  std::vector<RdKafka::TopicPartition*> assignment;
  std::map<int32_t, int64_t> end;  // partition -> high watermark
  uint64_t expected = 0;
  for (const auto* p : *md->topics()->at(0)->partitions()) {
    int64_t low = 0, high = 0;
    if (consumer->query_watermark_offsets(topic, p->id(), &low, &high, 10000) != RdKafka::ERR_NO_ERROR) {
      Die("watermarks failed");
    }
    if (high > low) {
      end[p->id()] = high;
      expected += static_cast<uint64_t>(high - low);
    }
    assignment.push_back(RdKafka::TopicPartition::create(topic, p->id(), RdKafka::Topic::OFFSET_BEGINNING));
  }
  if (consumer->assign(assignment) != RdKafka::ERR_NO_ERROR) Die("assign failed");
  RdKafka::TopicPartition::destroy(assignment);

  uint64_t messages = 0, bytes = 0;
  std::chrono::steady_clock::time_point first{}, last{};
  while (!end.empty()) {
    std::unique_ptr<RdKafka::Message> msg(consumer->consume(1000));
    if (msg->err() == RdKafka::ERR__TIMED_OUT) continue;
    if (msg->err() != RdKafka::ERR_NO_ERROR) Die("consume: " + msg->errstr());
    last = std::chrono::steady_clock::now();
    if (messages == 0) first = last;
    ++messages;
    bytes += msg->len() + msg->key_len();
    auto it = end.find(msg->partition());
    if (it != end.end() && msg->offset() + 1 >= it->second) end.erase(it);
  }
  consumer->close();
  const double seconds = std::chrono::duration<double>(last - first).count();
  std::printf(
      "{\"messages\": %llu, \"expected\": %llu, \"bytes\": %llu, \"seconds\": %.3f, \"messages_per_s\": %.0f, "
      "\"mb_per_s\": %.1f}\n",
      static_cast<unsigned long long>(messages), static_cast<unsigned long long>(expected),
      static_cast<unsigned long long>(bytes), seconds, seconds > 0 ? static_cast<double>(messages) / seconds : 0.0,
      seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0.0);
  return 0;
}
