#include "ingest/cluster_view.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "ingest/detail/kafka_client.h"
#include "ingest/detail/routing.h"
#include "state/log.h"
#include "views/keys.h"

namespace leadflow::ingest {
namespace {

using Clock = std::chrono::steady_clock;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The retention settings of the cluster topic: compacted, so each key's
// latest record stays; tombstones of stopped members go after a day.
const std::vector<std::pair<const char*, const char*>> kClusterTopicConfig = {
    {"cleanup.policy", "compact"}, {"segment.ms", "600000"}, {"delete.retention.ms", "86400000"}};

std::string CreateCommand(const std::string& topic) {
  std::string line = "kafka-topics.sh --create --topic " + topic + " --partitions 1";
  for (const auto& [k, v] : kClusterTopicConfig) line += std::string(" --config ") + k + "=" + v;
  return line;
}

// Smart View records: `view/<id>/<org>` (an id never holds '/').
constexpr std::string_view kViewPrefix = "view/";

std::string ViewRecordKey(std::string_view id, std::string_view org) {
  return std::string(kViewPrefix) + std::string(id) + "/" + std::string(org);
}

// (org, id) of a view record's key; false for another key.
bool ParseViewRecordKey(std::string_view key, std::string* org, std::string* id) {
  if (key.substr(0, kViewPrefix.size()) != kViewPrefix) return false;
  key.remove_prefix(kViewPrefix.size());
  const size_t slash = key.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == key.size()) return false;
  *id = std::string(key.substr(0, slash));
  *org = std::string(key.substr(slash + 1));
  return true;
}

}  // namespace

std::string DefaultClusterTopic(const std::string& topic, const std::string& group) {
  std::string g = group;
  for (char& c : g) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return topic + ".leadflow-cluster." + g;
}

struct ClusterView::Impl {
  detail::ClientEvents producer_events{"cluster-producer"};
  detail::ClientEvents consumer_events{"cluster-reader"};
  std::unique_ptr<RdKafka::Producer> producer;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  detail::ClusterState state;
  detail::ClusterConfig mine;  // this instance's config (partitions known once set up)
  bool set_up = false;
  bool read_to_end = false;
  bool conflict = false;
  int64_t initial_end = -1;
  int64_t position = 0;
  int64_t read_to_end_ms = 0;
  int64_t last_heartbeat_ms = 0;
  int64_t seq = 0;
  int64_t started_ms = WallMs();
  std::map<int32_t, uint64_t> claimed;  // partition -> assigned_epoch claimed
  std::vector<detail::MemberRecord::Foreign> foreign;  // as last found
  std::set<detail::MemberRecord::Foreign> warned;
  int64_t foreign_checked_ms = 0;
  std::string last_owned;               // the owned set last published, to publish changes at once
  // Smart Views the topic holds, as read until its end (then reconciled
  // with the store's).
  std::set<std::pair<std::string, std::string>> topic_views;
  // A PublishSmartView's delivery report (the producer's dr_cb fills it;
  // shared: the caller may have given up waiting).
  struct Delivery {
    std::mutex mu;
    bool done = false;
    RdKafka::ErrorCode err = RdKafka::ERR_NO_ERROR;
    int64_t offset = -1;
  };
  struct DeliveryCb : public RdKafka::DeliveryReportCb {
    void dr_cb(RdKafka::Message& msg) override {
      auto* d = static_cast<std::shared_ptr<Delivery>*>(msg.msg_opaque());
      if (d == nullptr) return;
      {
        std::lock_guard<std::mutex> lock((*d)->mu);
        (*d)->done = true;
        (*d)->err = msg.err();
        (*d)->offset = msg.offset();
      }
      delete d;
    }
  } delivery_cb;
};

Status ClusterView::Create(ClusterViewOptions options, std::unique_ptr<ClusterView>* out) {
  if (options.brokers.empty()) return Status::InvalidArgument("cluster view: no brokers");
  if (options.instance_id.empty()) return Status::InvalidArgument("cluster view: no instance id");
  if (options.advertise.empty() || options.advertise.find(':') == std::string::npos) {
    return Status::InvalidArgument("--advertise must be HOST:PORT, not \"" + options.advertise + "\"");
  }
  if (options.heartbeat_ms <= 0 || options.member_timeout_ms <= options.heartbeat_ms) {
    return Status::InvalidArgument("--member-timeout-ms (" + std::to_string(options.member_timeout_ms) +
                                   ") must be greater than --heartbeat-ms (" + std::to_string(options.heartbeat_ms) +
                                   ")");
  }
  if (options.cluster_topic.empty()) options.cluster_topic = DefaultClusterTopic(options.topic, options.group);
  if (options.cluster_topic.size() > 249) {
    return Status::InvalidArgument("the cluster topic's name is longer than Kafka's 249 characters: set --cluster-topic");
  }
  std::unique_ptr<ClusterView> view(new ClusterView(std::move(options)));
  Impl& m = *view->impl_;
  const ClusterViewOptions& o = view->options_;
  {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    Status s = detail::Configure(conf.get(),
                                 {{"bootstrap.servers", o.brokers},
                                  {"client.id", "leadflow-cluster"},
                                  {"enable.idempotence", "true"},
                                  {"linger.ms", "5"},
                                  {"message.timeout.ms", "30000"},
                                  {"log_level", detail::LibrdkafkaLogLevel()}},
                                 o.kafka_properties);
    if (!s.ok()) return s;
    std::string err;
    if (conf->set("event_cb", static_cast<RdKafka::EventCb*>(&m.producer_events), err) != RdKafka::Conf::CONF_OK ||
        conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&m.delivery_cb), err) != RdKafka::Conf::CONF_OK) {
      return Status::InvalidArgument(err);
    }
    m.producer.reset(RdKafka::Producer::create(conf.get(), err));
    if (!m.producer) return Status::InvalidArgument("kafka producer: " + err);
  }
  {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    // A group id is required by the consumer API, but this consumer never
    // joins it (assign only) and never commits.
    Status s = detail::Configure(conf.get(),
                                 {{"bootstrap.servers", o.brokers},
                                  {"client.id", "leadflow-cluster"},
                                  {"group.id", o.group + ".leadflow-cluster-reader"},
                                  {"enable.auto.commit", "false"},
                                  {"enable.auto.offset.store", "false"},
                                  {"auto.offset.reset", "earliest"},
                                  {"log_level", detail::LibrdkafkaLogLevel()}},
                                 o.kafka_properties);
    if (!s.ok()) return s;
    std::string err;
    if (conf->set("event_cb", static_cast<RdKafka::EventCb*>(&m.consumer_events), err) != RdKafka::Conf::CONF_OK) {
      return Status::InvalidArgument(err);
    }
    m.consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!m.consumer) return Status::InvalidArgument("kafka consumer: " + err);
  }
  m.mine.topic = o.topic;
  m.mine.partitioner = PartitionerName(o.partitioner);
  *out = std::move(view);
  return Status::Ok();
}

ClusterView::ClusterView(ClusterViewOptions options)
    : options_(std::move(options)),
      impl_(std::make_unique<Impl>()),
      snapshot_(std::make_shared<const detail::ClusterSnapshot>()) {}

ClusterView::~ClusterView() {
  Stop();
  if (impl_ && impl_->consumer) {
    // Never subscribed: close() only stops the fetcher.
    impl_->consumer->close();
  }
}

void ClusterView::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void ClusterView::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  thread_.join();
  Impl& m = *impl_;
  if (m.read_to_end && !m.conflict) {
    // A clean stop leaves the cluster at once (others need not wait for
    // the member timeout).
    const std::string key = detail::MemberKey(options_.instance_id);
    (void)m.producer->produce(options_.cluster_topic, 0, RdKafka::Producer::RK_MSG_COPY, nullptr, 0, key.data(),
                              key.size(), 0, nullptr);
    m.producer->flush(2000);
  }
}

std::shared_ptr<const detail::ClusterSnapshot> ClusterView::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

std::string ClusterView::Waiting() const {
  if (complete_.load()) return "";
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

std::optional<int32_t> ClusterView::HomeOf(std::string_view org) const {
  auto snap = Snapshot();
  if (!snap->config) return std::nullopt;
  std::optional<Partitioner> p = ParsePartitioner(snap->config->partitioner);
  if (!p) return std::nullopt;
  return HomePartition(*p, org, snap->config->partitions);
}

std::vector<int32_t> ClusterView::WantedStandbys() const {
  std::vector<int32_t> out;
  if (options_.standby_replicas <= 0 || !complete_.load()) return out;
  auto snap = Snapshot();
  std::set<int32_t> owned, held;
  if (options_.local) {
    for (const auto& pl : options_.local().partitions) {
      if (pl.assigned) owned.insert(pl.partition);
      if (pl.standby) held.insert(pl.partition);
    }
  }
  for (const auto& part : snap->partitions) {
    const int32_t p = part.partition;
    if (owned.count(p)) continue;
    const std::vector<std::string> chosen = detail::StandbysFor(*snap, p, options_.standby_replicas);
    if (std::find(chosen.begin(), chosen.end(), options_.instance_id) != chosen.end()) {
      out.push_back(p);
      continue;
    }
    if (!held.count(p)) continue;
    // Kept until each copy chosen instead has caught up.
    const bool replaced = std::all_of(chosen.begin(), chosen.end(), [&](const std::string& id) {
      return std::any_of(part.standbys.begin(), part.standbys.end(),
                         [&](const auto& c) { return c.instance == id && c.servable; });
    });
    if (!replaced) out.push_back(p);
  }
  return out;
}

void ClusterView::Run() {
  Impl& m = *impl_;
  const ClusterViewOptions& o = options_;
  auto set_waiting = [&](const std::string& why) {
    std::lock_guard<std::mutex> lock(mu_);
    if (waiting_ != why) LogInfo("cluster view: " + why);
    waiting_ = why;
  };
  int64_t next_setup_ms = 0;
  while (!stop_.load()) {
    const int64_t now = SteadyMs();
    if (!m.set_up) {
      if (now < next_setup_ms) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      next_setup_ms = now + 1000;
      // 1. The events topic's partition count: part of the config.
      RdKafka::Metadata* md = nullptr;
      std::string err;
      std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(m.producer.get(), o.topic, nullptr, err));
      int32_t partitions = 0;
      if (topic && m.producer->metadata(false, topic.get(), &md, 5000) == RdKafka::ERR_NO_ERROR && md) {
        for (const auto* t : *md->topics()) {
          if (t->topic() == o.topic && t->err() == RdKafka::ERR_NO_ERROR) {
            partitions = static_cast<int32_t>(t->partitions()->size());
          }
        }
      }
      delete md;
      if (partitions <= 0) {
        set_waiting("waiting for the events topic " + o.topic + " (its partition count)");
        continue;
      }
      m.mine.partitions = partitions;
      // 2. The cluster topic, created if absent (the broker may not
      // auto-create topics; a compacted one never should be).
      rd_kafka_t* rk = m.producer->c_ptr();
      char errstr[512];
      rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(o.cluster_topic.c_str(), 1, -1, errstr, sizeof(errstr));
      for (const auto& [k, v] : kClusterTopicConfig) rd_kafka_NewTopic_set_config(nt, k, v);
      rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
      rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
      rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 10000);
      rd_kafka_resp_err_t create_err = RD_KAFKA_RESP_ERR__TIMED_OUT;
      std::string create_msg = "timed out";
      if (ev) {
        const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
        size_t cnt = 0;
        const rd_kafka_topic_result_t** results = res ? rd_kafka_CreateTopics_result_topics(res, &cnt) : nullptr;
        if (cnt == 1) {
          create_err = rd_kafka_topic_result_error(results[0]);
          const char* msg = rd_kafka_topic_result_error_string(results[0]);
          create_msg = msg ? msg : rd_kafka_err2str(create_err);
        } else {
          create_err = rd_kafka_event_error(ev);
          create_msg = rd_kafka_event_error_string(ev) ? rd_kafka_event_error_string(ev) : "no result";
        }
        rd_kafka_event_destroy(ev);
      }
      rd_kafka_queue_destroy(q);
      rd_kafka_NewTopic_destroy(nt);
      if (create_err != RD_KAFKA_RESP_ERR_NO_ERROR && create_err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        const std::string why = "cannot create the cluster topic " + o.cluster_topic + ": " + create_msg +
                                "; create it with: " + CreateCommand(o.cluster_topic);
        if (create_err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
            create_err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED) {
          // Not created by a retry: an operator must create it (or grant).
          LogError("cluster view: " + why);
        }
        set_waiting(why);
        continue;
      }
      // 3. Its end now: the view is read to the end once past it.
      int64_t low = 0, high = -1;
      if (m.consumer->query_watermark_offsets(o.cluster_topic, 0, &low, &high, 5000) != RdKafka::ERR_NO_ERROR ||
          high < 0) {
        set_waiting("cannot read the end of the cluster topic " + o.cluster_topic);
        continue;
      }
      m.initial_end = high;
      std::unique_ptr<RdKafka::TopicPartition> tp(
          RdKafka::TopicPartition::create(o.cluster_topic, 0, RdKafka::Topic::OFFSET_BEGINNING));
      std::vector<RdKafka::TopicPartition*> tps = {tp.get()};
      if (m.consumer->assign(tps) != RdKafka::ERR_NO_ERROR) {
        set_waiting("cannot assign the cluster topic " + o.cluster_topic);
        continue;
      }
      m.set_up = true;
      set_waiting("reading the cluster topic " + o.cluster_topic + " (" + std::to_string(high) + " records)");
    }

    // Read what is there (bounded, so heartbeats are never late).
    for (int i = 0; i < 1000 && !stop_.load(); ++i) {
      std::unique_ptr<RdKafka::Message> msg(m.consumer->consume(i == 0 ? 100 : 0));
      if (msg->err() == RdKafka::ERR__TIMED_OUT || msg->err() == RdKafka::ERR__PARTITION_EOF) break;
      if (msg->err() != RdKafka::ERR_NO_ERROR) {
        LogWarn("cluster view: reading " + o.cluster_topic + ": " + msg->errstr());
        break;
      }
      const std::string key = msg->key() ? *msg->key() : std::string();
      std::optional<std::string_view> value;
      if (msg->payload() != nullptr) value = std::string_view(static_cast<const char*>(msg->payload()), msg->len());
      m.state.Apply(key, value, SteadyMs());
      ApplyViewRecord(key, value);
      m.position = msg->offset() + 1;
      applied_position_.store(m.position);
    }
    const int64_t t = SteadyMs();
    if (!m.read_to_end && m.position >= m.initial_end) {
      m.read_to_end = true;
      m.read_to_end_ms = t;
      ReconcileViews();
      if (!m.state.config()) {
        const std::string value = detail::EncodeConfig(m.mine);
        const std::string key(detail::kConfigKey);
        RdKafka::ErrorCode e =
            m.producer->produce(o.cluster_topic, 0, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                                value.size(), key.data(), key.size(), 0, nullptr);
        if (e != RdKafka::ERR_NO_ERROR) LogWarn("cluster view: config not published: " + RdKafka::err2str(e));
        LogInfo("cluster view: the first instance of " + o.cluster_topic + ": config " + value);
      }
    }
    if (m.read_to_end && !m.conflict && !agreed_.load() && m.state.config() && *m.state.config() == m.mine) {
      agreed_.store(true);
    }
    if (m.read_to_end && !m.conflict && m.state.config() && !(*m.state.config() == m.mine)) {
      m.conflict = true;
      const detail::ClusterConfig& c = *m.state.config();
      Status why = Status::InvalidArgument(
          "this instance's cluster config (topic " + m.mine.topic + ", " + std::to_string(m.mine.partitions) +
          " partitions, partitioner " + m.mine.partitioner + ") differs from the cluster's in " + o.cluster_topic +
          " (topic " + c.topic + ", " + std::to_string(c.partitions) + " partitions, partitioner " + c.partitioner +
          "): orgs would have other home partitions; start with the cluster's --partitioner, or rebuild the "
          "cluster's state (a new topic, or delete " + o.cluster_topic + " and every instance's data directory)");
      LogError("cluster view: " + why.message());
      {
        std::lock_guard<std::mutex> lock(mu_);
        waiting_ = why.message();
      }
      if (o.on_conflict) o.on_conflict(why);
    }

    // This member's records: claims for partitions newly assigned, then
    // the member record (on a change at once, else every heartbeat).
    if (m.read_to_end && !m.conflict) {
      const IngestHealth h = o.local ? o.local() : IngestHealth();
      detail::MemberRecord rec;
      rec.instance = o.instance_id;
      rec.advertise = o.advertise;
      rec.scheme = o.scheme;
      rec.version = o.version;
      rec.started_ms = m.started_ms;
      rec.draining = draining_.load();
      rec.ready = h.ready && complete_.load() && !rec.draining;
      if (o.foreign_orgs && t - m.foreign_checked_ms >= 5000) {
        m.foreign_checked_ms = t;
        m.foreign = o.foreign_orgs();
        std::sort(m.foreign.begin(), m.foreign.end());
        foreign_orgs_.store(static_cast<int64_t>(m.foreign.size()));
        for (const auto& f : m.foreign) {
          if (!m.warned.insert(f).second) continue;
          LogWarn("org " + f.org + " has state in the shard of " + o.topic + "[" + std::to_string(f.partition) +
                  "], not its home partition's (applied before this data directory was in a cluster, which "
                  "re-routes such events): the cluster answers 503 for it until this "
                  "instance's data directory is rebuilt (docs/operations.md, \"Running a cluster\")");
        }
      }
      rec.foreign = m.foreign;
      std::string owned_sig;
      std::vector<int32_t> to_claim;
      for (const auto& pl : h.partitions) {
        if (pl.standby) {
          rec.standby.push_back({pl.partition, pl.next, pl.end, pl.servable});
          owned_sig += "b" + std::to_string(pl.partition) + (pl.servable ? "s," : ",");
        }
        if (!pl.assigned) continue;
        rec.owned.push_back({pl.partition, pl.next, pl.end, pl.servable});
        owned_sig += std::to_string(pl.partition) + (pl.servable ? "s," : ",");
        auto c = m.claimed.find(pl.partition);
        if (c == m.claimed.end() || c->second != pl.assigned_epoch) to_claim.push_back(pl.partition);
      }
      for (auto it = m.claimed.begin(); it != m.claimed.end();) {
        const bool still = std::any_of(h.partitions.begin(), h.partitions.end(),
                                       [&](const auto& pl) { return pl.assigned && pl.partition == it->first; });
        it = still ? std::next(it) : m.claimed.erase(it);
      }
      for (int32_t p : to_claim) {
        detail::OwnerClaim claim{o.instance_id, o.advertise, WallMs(), "replay"};
        for (const auto& pl : h.partitions) {
          if (pl.partition == p && !pl.restore.empty()) claim.restore = pl.restore;
        }
        const std::string key = detail::OwnerKey(p);
        const std::string value = detail::EncodeOwner(claim);
        RdKafka::ErrorCode e =
            m.producer->produce(o.cluster_topic, 0, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                                value.size(), key.data(), key.size(), 0, nullptr);
        if (e == RdKafka::ERR_NO_ERROR) {
          for (const auto& pl : h.partitions) {
            if (pl.partition == p) m.claimed[p] = pl.assigned_epoch;
          }
          LogInfo("cluster view: claimed " + o.topic + "[" + std::to_string(p) + "]");
        }
      }
      owned_sig += rec.ready ? "R" : "-";
      owned_sig += rec.draining ? "D" : "";
      owned_sig += "|" + std::to_string(rec.foreign.size());
      if (!to_claim.empty() || owned_sig != m.last_owned || t - m.last_heartbeat_ms >= o.heartbeat_ms) {
        rec.seq = ++m.seq;
        const std::string key = detail::MemberKey(o.instance_id);
        const std::string value = detail::EncodeMember(rec);
        RdKafka::ErrorCode e =
            m.producer->produce(o.cluster_topic, 0, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                                value.size(), key.data(), key.size(), 0, nullptr);
        if (e == RdKafka::ERR_NO_ERROR) {
          m.last_owned = owned_sig;
          m.last_heartbeat_ms = t;
        }
      }
    }
    m.producer->poll(0);

    if (m.read_to_end && !m.conflict && !complete_.load() && t - m.read_to_end_ms >= o.member_timeout_ms) {
      complete_.store(true);
      LogInfo("cluster view: complete (" + o.cluster_topic + " read to its end, members' liveness known)");
    } else if (m.read_to_end && !complete_.load() && !m.conflict) {
      set_waiting("learning which members are live (" + std::to_string(o.member_timeout_ms) + " ms)");
    }
    int64_t low = 0, high = -1;
    if (m.consumer->get_watermark_offsets(o.cluster_topic, 0, &low, &high) == RdKafka::ERR_NO_ERROR && high >= 0) {
      metadata_lag_.store(std::max<int64_t>(0, high - m.position));
    }
    metadata_offset_.store(m.position);
    auto snap = std::make_shared<const detail::ClusterSnapshot>(m.state.Snapshot(t, o.member_timeout_ms));
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_ = std::move(snap);
  }
}

void ClusterView::ApplyViewRecord(const std::string& key, std::optional<std::string_view> value) {
  Impl& m = *impl_;
  std::string org, id;
  if (!ParseViewRecordKey(key, &org, &id)) return;
  views::SmartView view;
  if (value) {
    Status d = views::DecodeSmartView(*value, &view);
    if (!d.ok() || view.organization_id != org || view.id != id) {
      LogWarn("cluster view: a Smart View record " + key + " that is not one (ignored): " +
              (d.ok() ? std::string("its org or id differ from the key's") : d.ToString()));
      return;
    }
  }
  if (!m.read_to_end) {
    if (value) {
      m.topic_views.insert({org, id});
    } else {
      m.topic_views.erase({org, id});
    }
  }
  if (options_.store == nullptr) return;
  Status s = views::ApplySmartView(options_.store, org, id, value ? &view : nullptr);
  // A failed write (a full disk) leaves this instance's copy behind until
  // it restarts and reads the topic again; the cluster's record is safe.
  if (!s.ok()) LogError("cluster view: Smart View " + id + " of org " + org + " not stored here: " + s.ToString());
}

void ClusterView::ReconcileViews() {
  Impl& m = *impl_;
  const ClusterViewOptions& o = options_;
  if (o.store == nullptr) return;
  std::string marker;
  Status g = o.store->Get(state::Cf::kMeta, views::keys::MetaClusterViews(), &marker);
  const bool synced = g.ok() && marker == o.cluster_topic;
  std::vector<views::SmartView> local;
  Status s = views::ListAllSmartViews(*o.store, &local);
  if (!s.ok()) {
    LogError("cluster view: this directory's Smart Views cannot be read to sync them: " + s.ToString());
    return;
  }
  size_t published = 0, deleted = 0;
  for (const views::SmartView& v : local) {
    if (m.topic_views.count({v.organization_id, v.id})) continue;
    if (synced) {
      // Deleted in the cluster while this instance was away.
      Status d = views::ApplySmartView(o.store, v.organization_id, v.id, nullptr);
      if (d.ok()) ++deleted;
      continue;
    }
    // The first time this directory joins: its views become the cluster's.
    std::string value;
    if (!views::EncodeSmartView(v, &value).ok()) continue;
    const std::string key = ViewRecordKey(v.id, v.organization_id);
    if (m.producer->produce(o.cluster_topic, 0, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                            value.size(), key.data(), key.size(), 0, nullptr) == RdKafka::ERR_NO_ERROR) {
      ++published;
    }
  }
  m.topic_views.clear();
  if (!synced) {
    state::WriteBatch batch;
    batch.Put(state::Cf::kMeta, views::keys::MetaClusterViews(), o.cluster_topic);
    Status w = o.store->Write(&batch);
    if (!w.ok()) LogError("cluster view: " + w.ToString());
  }
  if (published + deleted > 0) {
    LogInfo("cluster view: Smart Views synced with " + o.cluster_topic + ": " + std::to_string(published) +
            " of this directory's published, " + std::to_string(deleted) + " deleted in the cluster removed here");
  }
}

Status ClusterView::PublishSmartView(std::string_view org, std::string_view id, const views::SmartView* view,
                                     std::chrono::milliseconds timeout) {
  if (!complete_.load()) return Status::Unavailable("the cluster view is not complete yet: " + Waiting());
  std::string value;
  if (view != nullptr) {
    Status s = views::EncodeSmartView(*view, &value);
    if (!s.ok()) return s;
  }
  const std::string key = ViewRecordKey(id, org);
  std::lock_guard<std::mutex> lock(publish_mu_);
  Impl& m = *impl_;
  auto delivery = std::make_shared<Impl::Delivery>();
  auto* opaque = new std::shared_ptr<Impl::Delivery>(delivery);
  const RdKafka::ErrorCode e = m.producer->produce(
      options_.cluster_topic, 0, RdKafka::Producer::RK_MSG_COPY, view ? const_cast<char*>(value.data()) : nullptr,
      view ? value.size() : 0, key.data(), key.size(), 0, opaque);
  if (e != RdKafka::ERR_NO_ERROR) {
    delete opaque;
    return Status::Unavailable("the cluster topic " + options_.cluster_topic + " refused the Smart View: " +
                               RdKafka::err2str(e));
  }
  const auto deadline = Clock::now() + timeout;
  int64_t offset = -1;
  for (;;) {
    m.producer->poll(20);
    {
      std::lock_guard<std::mutex> dl(delivery->mu);
      if (delivery->done) {
        if (delivery->err != RdKafka::ERR_NO_ERROR) {
          return Status::Unavailable("the cluster topic " + options_.cluster_topic +
                                     " did not take the Smart View: " + RdKafka::err2str(delivery->err));
        }
        offset = delivery->offset;
        break;
      }
    }
    if (Clock::now() >= deadline) {
      return Status::Unavailable("the cluster topic " + options_.cluster_topic +
                                 " did not acknowledge the Smart View in time (it may still be applied)");
    }
  }
  while (applied_position_.load() <= offset) {
    if (Clock::now() >= deadline) {
      return Status::Unavailable("the Smart View is in the cluster topic but not applied here yet");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Status::Ok();
}

std::string ClusterView::Json() const {
  using nlohmann::json;
  auto snap = Snapshot();
  const ClusterViewOptions& o = options_;
  json members = json::array();
  for (const auto& mem : snap->members) {
    json owned = json::array(), standby = json::array();
    for (const auto& s : mem.record.owned) owned.push_back(s.partition);
    for (const auto& s : mem.record.standby) standby.push_back(s.partition);
    members.push_back({{"instance", mem.record.instance},
                       {"advertise", mem.record.advertise},
                       {"scheme", mem.record.scheme},
                       {"version", mem.record.version},
                       {"live", mem.live},
                       {"last_seen_ms", mem.last_seen_ago_ms},
                       {"ready", mem.record.ready},
                       {"draining", mem.record.draining},
                       {"owned", owned},
                       {"standby", standby},
                       {"foreign", json::parse(detail::EncodeMember(mem.record))["foreign"]}});
  }
  json split = json::object();
  for (const auto& [org, parts] : snap->split_orgs) split[org] = parts;
  json assignment = json::array();
  for (const auto& p : snap->partitions) {
    json entry = {{"partition", p.partition}};
    if (p.owner) {
      const detail::ClusterSnapshot::Member* mem = snap->FindMember(*p.owner);
      entry["owner"] = {{"instance", *p.owner},
                        {"advertise", mem ? mem->record.advertise : std::string()},
                        {"restore", p.claim ? p.claim->restore : std::string()},
                        {"servable", p.servable},
                        {"lag", p.lag},
                        {"claimed_ms", p.claim ? p.claim->claimed_ms : 0}};
    } else {
      entry["owner"] = nullptr;
    }
    json standbys = json::array();
    for (const auto& c : p.standbys) {
      standbys.push_back({{"instance", c.instance}, {"servable", c.servable}, {"lag", c.lag}});
    }
    entry["standbys"] = std::move(standbys);
    // Who answers the partition's orgs now: where a client's request would
    // be sent by routing (ingest/detail/routing.h), seen from no member
    // (its owner once caught up, unless it drains; else the least stale
    // standby copy in bounds; else the draining owner).
    detail::RouteOptions neutral;
    neutral.max_stale_messages = options_.max_stale_messages;
    neutral.https_peers = true;
    const detail::Route serving = detail::RouteOrg(*snap, p.partition, detail::LocalCopy{}, neutral);
    entry["serving"] = serving.kind == detail::Route::Kind::kForward ? json(serving.instance) : json(nullptr);
    assignment.push_back(std::move(entry));
  }
  json out = {{"instance", o.instance_id},
              {"advertise", o.advertise},
              {"group", o.group},
              {"topic", o.topic},
              {"partitions", snap->config ? json(snap->config->partitions) : json(nullptr)},
              {"partitioner", snap->config ? json(snap->config->partitioner) : json(PartitionerName(o.partitioner))},
              {"standby_replicas", o.standby_replicas},
              {"max_stale_messages", o.max_stale_messages},
              {"metadata",
               {{"topic", o.cluster_topic},
                {"offset", metadata_offset_.load()},
                {"complete", complete_.load()},
                {"records", snap->records},
                {"bad_records", snap->bad_records}}},
              {"members", members},
              {"assignment", assignment},
              {"split_orgs", split}};
  return out.dump();
}

void ClusterView::AppendMetrics(std::string* out) const {
  auto snap = Snapshot();
  const size_t live = snap->LiveMembers();
  *out += "# HELP leadflow_cluster_members Members of the cluster in its metadata topic, by liveness.\n"
          "# TYPE leadflow_cluster_members gauge\n";
  *out += "leadflow_cluster_members{state=\"live\"} " + std::to_string(live) + "\n";
  *out += "leadflow_cluster_members{state=\"stale\"} " + std::to_string(snap->members.size() - live) + "\n";
  *out += "# HELP leadflow_cluster_metadata_lag_messages Records of the cluster topic not read yet.\n"
          "# TYPE leadflow_cluster_metadata_lag_messages gauge\n";
  *out += "leadflow_cluster_metadata_lag_messages " + std::to_string(std::max<int64_t>(0, metadata_lag_.load())) + "\n";
  *out += "# HELP leadflow_cluster_view_complete 1 once the cluster topic was read to its end and members' liveness "
          "is known.\n# TYPE leadflow_cluster_view_complete gauge\n";
  *out += std::string("leadflow_cluster_view_complete ") + (complete_.load() ? "1" : "0") + "\n";
  size_t owned = 0, owners_known = 0;
  for (const auto& p : snap->partitions) {
    if (p.owner) ++owners_known;
    if (p.owner == options_.instance_id) ++owned;
  }
  *out += "# HELP leadflow_partitions Partitions of the events topic by this instance's role.\n"
          "# TYPE leadflow_partitions gauge\n";
  *out += "leadflow_partitions{role=\"owner\"} " + std::to_string(owned) + "\n";
  size_t standby = 0;
  if (options_.local) {
    for (const auto& pl : options_.local().partitions) standby += pl.standby ? 1 : 0;
  }
  *out += "leadflow_partitions{role=\"standby\"} " + std::to_string(standby) + "\n";
  *out += "leadflow_partitions{role=\"dormant\"} " +
          std::to_string(options_.local ? options_.local().dormant_shards : 0) + "\n";
  *out += "# HELP leadflow_cluster_partitions_without_owner Partitions of the events topic no live member owns.\n"
          "# TYPE leadflow_cluster_partitions_without_owner gauge\n";
  *out += "leadflow_cluster_partitions_without_owner " + std::to_string(snap->partitions.size() - owners_known) + "\n";
  *out += "# HELP leadflow_orgs_on_foreign_partitions Orgs with events on a partition this instance owns that is "
          "not their home partition.\n# TYPE leadflow_orgs_on_foreign_partitions gauge\n";
  *out += "leadflow_orgs_on_foreign_partitions " + std::to_string(foreign_orgs_.load()) + "\n";
  *out += "# HELP leadflow_cluster_split_orgs Orgs whose events some member saw off their home partition (answered "
          "503 by the cluster).\n# TYPE leadflow_cluster_split_orgs gauge\n";
  *out += "leadflow_cluster_split_orgs " + std::to_string(snap->split_orgs.size()) + "\n";
}

}  // namespace leadflow::ingest
