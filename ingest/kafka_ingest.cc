#include "ingest/kafka_ingest.h"

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <map>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "state/log.h"

namespace leadflow::ingest {
namespace {

using Clock = std::chrono::steady_clock;

std::string Base64(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                 static_cast<uint8_t>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(n >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// The dead-letter envelope: the reason, where the message came from, and the
// original bytes (as text when valid UTF-8, always as base64).
std::string Envelope(const DeadLetter& d) {
  nlohmann::json j = {{"reason", d.reason},
                      {"topic", d.source.topic},
                      {"partition", d.source.partition},
                      {"offset", d.offset},
                      {"key", d.key ? nlohmann::json(*d.key) : nlohmann::json()},
                      {"original_base64", Base64(d.value)}};
  nlohmann::json text = nlohmann::json(d.value);
  try {
    (void)text.dump();  // throws on invalid UTF-8
    j["original"] = std::move(text);
  } catch (const std::exception&) {
    j["original"] = nullptr;
  }
  return j.dump();
}

class DeliveryCounter : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() != RdKafka::ERR_NO_ERROR) {
      ++failed;
      last_error = message.errstr();
    }
  }
  int failed = 0;
  std::string last_error;
};

}  // namespace

struct KafkaIngest::Impl : public RdKafka::RebalanceCb {
  KafkaIngestOptions options;
  state::Store* store = nullptr;
  Stats* stats = nullptr;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  std::unique_ptr<RdKafka::Producer> producer;
  DeliveryCounter delivery;
  KafkaIngest* owner = nullptr;

  // Partitions currently assigned -> next offset to read (as committed).
  std::map<int32_t, int64_t> positions;
  // Readiness targets: partition -> high watermark when assigned; -1 while
  // the broker has not told it yet (never guessed: a failed query must not
  // make an unconsumed partition look caught up).
  std::map<int32_t, int64_t> targets;
  bool assigned_once = false;
  int topic_partitions = 0;  // from metadata, once known
  std::string err_;
  Status fatal;

  void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      for (auto* tp : partitions) {
        SourcePosition src{tp->topic(), tp->partition()};
        auto stored = pipeline->StoredPosition(src);
        tp->set_offset(stored ? *stored : RdKafka::Topic::OFFSET_BEGINNING);
        int64_t low = 0, high = -1;
        RdKafka::ErrorCode qerr = c->query_watermark_offsets(tp->topic(), tp->partition(), &low, &high, 10000);
        if (qerr != RdKafka::ERR_NO_ERROR) {
          LogWarn("watermarks of partition " + std::to_string(tp->partition()) + ": " + RdKafka::err2str(qerr) +
                  " (retried before readiness)");
          low = 0;
          high = -1;
        }
        positions[tp->partition()] = stored ? *stored : low;
        if (!owner->ready_.load()) targets[tp->partition()] = high;
        LogInfo("assigned " + tp->topic() + "[" + std::to_string(tp->partition()) + "] from offset " +
                (stored ? std::to_string(*stored) : std::string("beginning")) + ", end " + std::to_string(high));
      }
      c->assign(partitions);
      assigned_once = true;
    } else {
      // Commit what was consumed from the revoked partitions before they go.
      CommitBatch();
      for (auto* tp : partitions) {
        positions.erase(tp->partition());
        targets.erase(tp->partition());
      }
      c->unassign();
      LogInfo("partitions revoked");
    }
  }

  // Publishes the batch's dead letters and waits for their delivery; retries
  // until delivered or stopping. Returns false when stopping first.
  bool PublishDeadLetters() {
    const auto& letters = pipeline->dead_letters();
    if (letters.empty()) return true;
    for (int attempt = 0;; ++attempt) {
      delivery.failed = 0;
      for (const auto& d : letters) {
        std::string value = Envelope(d);
        RdKafka::Headers* headers = RdKafka::Headers::create();
        headers->add("leadflow-reason", d.reason);
        headers->add("leadflow-source", d.source.topic + "/" + std::to_string(d.source.partition) + "/" +
                                            std::to_string(d.offset));
        for (;;) {
          RdKafka::ErrorCode err = producer->produce(
              options.dlq_topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
              const_cast<char*>(value.data()), value.size(), d.key ? d.key->data() : nullptr,
              d.key ? d.key->size() : 0, 0, headers, nullptr);
          if (err == RdKafka::ERR_NO_ERROR) break;
          if (err == RdKafka::ERR__QUEUE_FULL) {
            producer->poll(100);
            continue;
          }
          delete headers;
          ++delivery.failed;
          delivery.last_error = RdKafka::err2str(err);
          break;
        }
      }
      while (producer->outq_len() > 0 && !owner->stop_.load()) producer->flush(500);
      if (delivery.failed == 0 && producer->outq_len() == 0) return true;
      LogError("dead-letter publish failed (" + delivery.last_error + "), retrying");
      if (owner->stop_.load()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5000, 200 * (attempt + 1))));
    }
  }

  void CommitBatch() {
    if (pipeline->pending() == 0) return;
    if (!PublishDeadLetters()) {
      pipeline->Reset();  // stopping: the batch is consumed again on restart
      return;
    }
    Status s = pipeline->Commit();
    if (!s.ok()) {
      fatal = s;
      return;
    }
  }

  void NoteConsumed(int32_t partition, int64_t offset) { positions[partition] = offset + 1; }

  void UpdateReadinessAndLag() {
    int64_t lag = 0;
    for (const auto& [partition, next] : positions) {
      int64_t low = 0, high = 0;
      if (consumer->get_watermark_offsets(options.topic, partition, &low, &high) == RdKafka::ERR_NO_ERROR &&
          high >= 0) {
        lag += std::max<int64_t>(0, high - std::max(next, low));
      }
    }
    owner->lag_.store(lag);
    if (owner->ready_.load() || !assigned_once) return;
    // A dead member of the group may still hold partitions after a crash;
    // readiness waits until this consumer owns them all.
    if (topic_partitions <= 0) {
      RdKafka::Metadata* md = nullptr;
      std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(consumer.get(), options.topic, nullptr, err_));
      if (topic && consumer->metadata(false, topic.get(), &md, 2000) == RdKafka::ERR_NO_ERROR && md) {
        for (const auto* t : *md->topics()) {
          if (t->topic() == options.topic && t->err() == RdKafka::ERR_NO_ERROR) {
            topic_partitions = static_cast<int>(t->partitions()->size());
          }
        }
      }
      delete md;
      if (topic_partitions <= 0) return;
    }
    if (static_cast<int>(positions.size()) < topic_partitions) return;
    for (auto& [partition, target] : targets) {
      if (target < 0) {
        int64_t low = 0, high = -1;
        if (consumer->query_watermark_offsets(options.topic, partition, &low, &high, 1000) != RdKafka::ERR_NO_ERROR ||
            high < 0) {
          return;
        }
        target = high;
        auto pos = positions.find(partition);
        if (pos != positions.end() && pos->second < low) pos->second = low;
      }
      auto it = positions.find(partition);
      if (it == positions.end() || it->second < target) return;
    }
    owner->ready_.store(true);
    LogInfo("caught up with the end of every assigned partition: ready");
  }
};

std::vector<std::pair<std::string, std::string>> ConsumerProperties(const std::string& brokers) {
  return {
      {"bootstrap.servers", brokers},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},
      {"fetch.wait.max.ms", "10"},
      {"log_level", "4"},
  };
}

KafkaIngest::KafkaIngest(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->owner = this; }
KafkaIngest::~KafkaIngest() = default;

Status KafkaIngest::Create(const KafkaIngestOptions& options, state::Store* store, Stats* stats,
                           std::unique_ptr<KafkaIngest>* out) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->store = store;
  impl->stats = stats;
  impl->pipeline = std::make_unique<Pipeline>(store, stats);
  std::string err;

  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::vector<std::pair<std::string, std::string>> settings = ConsumerProperties(options.brokers);
  settings.emplace_back("group.id", options.group);
  settings.emplace_back("client.id", "leadflow");
  for (const auto& [k, v] : settings) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) return Status::InvalidArgument(err);
  }
  if (!options.instance_id.empty() &&
      conf->set("group.instance.id", options.instance_id, err) != RdKafka::Conf::CONF_OK) {
    return Status::InvalidArgument(err);
  }
  if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(impl.get()), err) != RdKafka::Conf::CONF_OK) {
    return Status::InvalidArgument(err);
  }
  impl->consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!impl->consumer) return Status::InvalidArgument("kafka consumer: " + err);

  std::unique_ptr<RdKafka::Conf> pconf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  const std::pair<const char*, std::string> psettings[] = {
      {"bootstrap.servers", options.brokers},
      {"acks", "all"},
      {"enable.idempotence", "true"},
      {"linger.ms", "5"},
      {"client.id", "leadflow-dlq"},
  };
  for (const auto& [k, v] : psettings) {
    if (pconf->set(k, v, err) != RdKafka::Conf::CONF_OK) return Status::InvalidArgument(err);
  }
  if (pconf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&impl->delivery), err) !=
      RdKafka::Conf::CONF_OK) {
    return Status::InvalidArgument(err);
  }
  impl->producer.reset(RdKafka::Producer::create(pconf.get(), err));
  if (!impl->producer) return Status::InvalidArgument("kafka producer: " + err);

  out->reset(new KafkaIngest(std::move(impl)));
  return Status::Ok();
}

Status KafkaIngest::Run() {
  Impl& m = *impl_;
  RdKafka::ErrorCode err = m.consumer->subscribe({m.options.topic});
  if (err != RdKafka::ERR_NO_ERROR) return Status::Unavailable("subscribe: " + RdKafka::err2str(err));
  LogInfo("consuming " + m.options.topic + " as group " + m.options.group + " from " + m.options.brokers);
  auto last_lag_update = Clock::now();
  while (!stop_.load() && m.fatal.ok()) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(m.options.batch_max_ms);
    size_t n = 0;
    while (n < m.options.batch_max_messages && !stop_.load()) {
      // Block only for a batch's first message; afterwards take what the
      // local queue holds and close the batch when it runs dry.
      std::unique_ptr<RdKafka::Message> msg(m.consumer->consume(n == 0 ? m.options.idle_wait_ms : 0));
      if (msg->err() == RdKafka::ERR__TIMED_OUT) break;
      if (msg->err() != RdKafka::ERR_NO_ERROR) {
        if (msg->err() != RdKafka::ERR__PARTITION_EOF) LogWarn("consume: " + msg->errstr());
        if (n > 0) break;
        continue;
      }
      if (!m.positions.count(msg->partition())) continue;  // stale message of a revoked partition
      std::optional<std::string_view> key;
      if (msg->key_pointer()) key = std::string_view(static_cast<const char*>(msg->key_pointer()), msg->key_len());
      Status s = m.pipeline->Add(std::string_view(static_cast<const char*>(msg->payload()), msg->len()), key,
                                 SourcePosition{msg->topic_name(), msg->partition()}, msg->offset());
      if (!s.ok()) {
        m.fatal = s;
        break;
      }
      m.NoteConsumed(msg->partition(), msg->offset());
      ++n;
      if (Clock::now() >= deadline) break;
    }
    m.CommitBatch();
    if (n == 0 || Clock::now() - last_lag_update > std::chrono::milliseconds(500)) {
      m.UpdateReadinessAndLag();
      last_lag_update = Clock::now();
    }
    m.producer->poll(0);
  }
  // Anything not committed (a failed dead-letter publish) is consumed again on restart.
  m.pipeline->Reset();
  m.consumer->close();
  m.producer->flush(2000);
  if (!m.fatal.ok()) LogError("ingest stopped: " + m.fatal.ToString());
  return m.fatal;
}

}  // namespace leadflow::ingest
