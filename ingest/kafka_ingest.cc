#include "ingest/kafka_ingest.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <thread>
#include <tuple>
#include <vector>

#include "ingest/dead_letter_publisher.h"
#include "ingest/detail/assignment.h"
#include "ingest/detail/kafka_client.h"
#include "ingest/reroute_publisher.h"
#include "state/disk.h"
#include "state/log.h"

namespace leadflow::ingest {
namespace {

using Clock = std::chrono::steady_clock;

// How often the applied positions are committed to the consumer group at
// most (for monitoring; leadflow reads its own from RocksDB).
constexpr auto kGroupCommitInterval = std::chrono::seconds(1);

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Where a re-routed copy of group's cluster was first read (its
// kOriginHeader); nullopt for any other message, and for a header that
// does not parse or names another group (then it is an event like any
// other).
std::optional<Origin> OriginOf(RdKafka::Message& msg, std::string_view group) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(msg.c_ptr(), &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(headers, kOriginHeader, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR || !value) {
    return std::nullopt;
  }
  return ParseOrigin(std::string_view(static_cast<const char*>(value), size), group);
}

// Why a session ended, and what to show until the next one.
struct SessionEnd {
  ConsumerState state = ConsumerState::kStopped;
  Status status;
};

}  // namespace

const char* ConsumerStateName(ConsumerState s) {
  switch (s) {
    case ConsumerState::kStarting: return "starting";
    case ConsumerState::kRunning: return "running";
    case ConsumerState::kRestarting: return "restarting";
    case ConsumerState::kDeadLetterBlocked: return "dead_letter_blocked";
    case ConsumerState::kRerouteBlocked: return "reroute_blocked";
    case ConsumerState::kDiskFull: return "disk_full";
    case ConsumerState::kStoreError: return "store_error";
    case ConsumerState::kStopped: return "stopped";
  }
  return "unknown";
}

std::vector<std::pair<std::string, std::string>> ConsumerProperties(const std::string& brokers, size_t prefetch_bytes) {
  return {
      {"bootstrap.servers", brokers},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},
      {"fetch.wait.max.ms", "10"},
      // librdkafka (2.0 here) stops fetching a partition whose local queue
      // holds queued.min.messages and then waits a fixed second before it
      // looks again (fetch.queue.backoff.ms, which tunes that, came in 2.2).
      // At the default of 100000, equal to a catch-up batch, each batch
      // drained the queue and the next one waited out the backoff: a rebuild
      // of the medium bench's topic took 38 s, 22 s with this. The byte
      // bound below still caps the memory.
      {"queued.min.messages", "1000000"},
      {"queued.max.messages.kbytes", std::to_string(std::max<size_t>(1, prefetch_bytes >> 10))},
      {"log_level", detail::LibrdkafkaLogLevel()},
      // librdkafka's statistics (ingest/kafka_stats.h) for /metrics.
      {"statistics.interval.ms", "10000"},
  };
}

struct KafkaIngest::Impl : public RdKafka::RebalanceCb {
  KafkaIngestOptions options;
  state::Store* store = nullptr;
  Stats* stats = nullptr;
  KafkaIngest* owner = nullptr;

  // --- Used by the ingest thread only (callbacks run inside its consume/poll calls).
  std::unique_ptr<Pipeline> pipeline;
  uint64_t applied_at_session_start = 0;  // stats->events_applied when the pipeline was created
  // Readiness after applying at least this many events starts a compaction
  // of the bitmaps (Store::CompactInBackground).
  static constexpr uint64_t kCompactAfterCatchUpEvents = 500000;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  // Cluster mode: the consumer of the standby copies (options.
  // standby_partitions), assigned by hand, never in the group; made when a
  // first copy is wanted, closed with the session.
  std::unique_ptr<RdKafka::KafkaConsumer> aux;
  // The standby copies this session consumes, their next offsets and
  // targets (Servable: caught up once since the copy began).
  detail::Assignment standby;
  detail::ClientEvents aux_events{"standby"};
  bool prefer_aux = false;  // which consumer TakeMessage asks first (they alternate)
  bool carried_from_aux = false;  // `carried` came from aux
  Clock::time_point last_reconcile{};
  // Cluster mode: since when each dormant shard has been dormant in this
  // process (DropExpiredDormant), those DropShard refused (warned once),
  // and how many were dropped.
  std::map<uint32_t, Clock::time_point> dormant_since;
  std::set<uint32_t> undroppable;
  Clock::time_point last_dormant_check{};
  std::atomic<size_t> dormant_count{0};
  std::atomic<uint64_t> dormant_dropped{0};
  // KafkaIngest::CatchUpRate, and when the last batch committed.
  std::atomic<double> catch_up_rate{0};
  Clock::time_point last_commit_at = Clock::now();
  // Owned partitions not servable yet since assigned: when and how their
  // restore began (for the hand-off metrics), and how each owned one was
  // restored (for its claim).
  struct Restoring {
    Clock::time_point since;
    std::string how;
  };
  std::map<int32_t, Restoring> restoring;
  std::map<int32_t, std::string> restored_how;
  bool subscribed = false;  // consumer has subscribed (it joins the group)
  bool closing = false;     // consumer->close() is running (its revoke ends the session)
  // The group's first assignment reached the consumer (the rebalance
  // callback ran with one, even if it failed to take it).
  bool assignment_received = false;
  // How long a consumer closed before its first assignment waits for it
  // (CloseClients).
  static constexpr int kFirstAssignmentWaitMs = 3000;
  // A message read but left for the next batch because this one had no
  // more room on disk (BatchRoom); taken before the consumer is asked
  // again, and dropped with the consumer's session.
  std::unique_ptr<RdKafka::Message> carried;
  std::unique_ptr<DeadLetterPublisher> dead_letters;  // lives across sessions
  std::unique_ptr<ReroutePublisher> reroutes;         // cluster mode; lives across sessions
  // A client that only asks the broker for metadata and partition ends, so
  // that the lag stays current between sessions (while ingest is blocked,
  // paused or restarting). Lives as long as the object.
  std::unique_ptr<RdKafka::Producer> watcher;
  KafkaStats kafka_stats;
  detail::ClientEvents consumer_events{"consumer", &kafka_stats};
  // The group commits' answers (served by the consumer's polls): at most
  // one commit is in flight (CommitToGroup).
  struct GroupCommits : RdKafka::OffsetCommitCb {
    void offset_commit_cb(RdKafka::ErrorCode err, std::vector<RdKafka::TopicPartition*>&) override {
      in_flight = false;
      if (err != RdKafka::ERR_NO_ERROR && err != RdKafka::ERR__NO_OFFSET) failed = true;
    }
    bool in_flight = false;
    bool failed = false;  // the next commit sends every position again
    Clock::time_point last{};
  } group_commits;
  std::atomic<uint64_t> group_commits_sent{0};
  detail::ClientEvents watcher_events{"watcher"};
  // The partitions this session holds, their next offsets and readiness
  // targets (ingest/detail/assignment.h).
  detail::Assignment assignment;
  // A fault met inside a callback (a stored position that cannot be read):
  // the consume loop ends the session with it.
  std::optional<Status> session_fault;
  int topic_partitions = 0;  // from metadata, once known
  // The last known end (high watermark) and start of each partition, kept
  // across sessions for the lag.
  std::map<int32_t, int64_t> partition_end, partition_start;
  Clock::time_point partitions_checked{};
  Clock::time_point last_progress = Clock::now();
  Clock::time_point last_consume_warning{};
  int sessions = 0;

  // --- Shared with readers (Health()) and RequestStop().
  std::atomic<bool> stop_requested{false};
  mutable std::mutex mu;
  ConsumerState state = ConsumerState::kStarting;  // guarded by mu
  std::string reason;                              // guarded by mu
  std::vector<IngestHealth::PartitionLag> partition_lags;  // guarded by mu
  std::map<int32_t, int64_t> group_committed;  // positions last committed to the group (this session)
  std::atomic<uint64_t> restarts{0};
  // Hand-off metrics, by how the shard was restored: standby, dormant, replay.
  static constexpr const char* kRestoreKinds[3] = {"standby", "dormant", "replay"};
  std::atomic<uint64_t> handoffs_in[3] = {};
  std::atomic<uint64_t> handoffs_done[3] = {};
  std::atomic<uint64_t> handoff_micros[3] = {};
  std::atomic<uint64_t> handoffs_out{0};
  static int RestoreIndex(const std::string& how) { return how == "standby" ? 0 : how == "dormant" ? 1 : 2; }
  std::atomic<int64_t> progress_ms{0};  // steady clock ms of the last progress

  void SetState(ConsumerState s, const std::string& why) {
    std::lock_guard<std::mutex> lock(mu);
    if (s != state) {
      const std::string line = std::string("consumer: ") + ConsumerStateName(state) + " -> " + ConsumerStateName(s) +
                               (why.empty() ? "" : " (" + why + ")");
      if (s == ConsumerState::kRunning || s == ConsumerState::kStarting || s == ConsumerState::kStopped) {
        LogInfo(line);
      } else {
        LogError(line);
      }
    }
    state = s;
    reason = why;
  }

  static constexpr size_t kClockEveryMessages = 64;
  void NoteProgress() {
    last_progress = Clock::now();
    progress_ms.store(std::chrono::duration_cast<std::chrono::milliseconds>(last_progress.time_since_epoch()).count());
  }

  // Each consumer's share of the prefetch budget: with standby copies the
  // group's consumer and the standby consumer fetch ahead half each, so
  // that --memory-budget still bounds the two together.
  size_t PrefetchBytes() const {
    return options.standby_partitions ? options.prefetch_bytes / 2 : options.prefetch_bytes;
  }

  Status NewConsumer(std::unique_ptr<RdKafka::KafkaConsumer>* out) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::vector<std::pair<std::string, std::string>> settings = ConsumerProperties(options.brokers, PrefetchBytes());
    settings.emplace_back("group.id", options.group);
    settings.emplace_back("client.id", "leadflow");
    // Cooperative incremental rebalancing: a member joining or leaving moves
    // only the partitions that change owner; the others are consumed on
    // through the rebalance. A --kafka-prop of an eager strategy (range,
    // roundrobin) still wins, and rebalance_cb follows whichever protocol
    // the group runs. Every member of a group must use the same.
    settings.emplace_back("partition.assignment.strategy", "cooperative-sticky");
    if (!options.instance_id.empty()) settings.emplace_back("group.instance.id", options.instance_id);
    // A cluster's members learn of a rebalance at their next heartbeat, and
    // a cooperative one takes two rounds (revoke, then assign): at
    // librdkafka's default of 3 s an instance joining a running member
    // waited ~6 s for its partitions while the other applied them in vain
    // (bench/cluster.py). 1 s (a --kafka-prop wins; keep it under a third
    // of session.timeout.ms).
    if (options.cluster_mode) settings.emplace_back("heartbeat.interval.ms", "1000");
    Status s = detail::Configure(conf.get(), settings, options.kafka_properties);
    if (!s.ok()) return s;
    std::string err;
    if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) != RdKafka::Conf::CONF_OK ||
        conf->set("event_cb", static_cast<RdKafka::EventCb*>(&consumer_events), err) != RdKafka::Conf::CONF_OK ||
        conf->set("offset_commit_cb", static_cast<RdKafka::OffsetCommitCb*>(&group_commits), err) !=
            RdKafka::Conf::CONF_OK) {
      return Status::InvalidArgument(err);
    }
    out->reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!*out) return Status::InvalidArgument("kafka consumer: " + err);
    return Status::Ok();
  }

  // The standby copies' consumer: the same fetch settings, a group id of
  // its own that it never joins (partitions are assigned by hand, positions
  // come from the store, nothing is committed).
  Status NewAux(std::unique_ptr<RdKafka::KafkaConsumer>* out) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::vector<std::pair<std::string, std::string>> settings = ConsumerProperties(options.brokers, PrefetchBytes());
    settings.emplace_back("group.id", options.group + ".standby");
    settings.emplace_back("client.id", "leadflow-standby");
    Status s = detail::Configure(conf.get(), settings, options.kafka_properties);
    if (!s.ok()) return s;
    std::string err;
    if (conf->set("event_cb", static_cast<RdKafka::EventCb*>(&aux_events), err) != RdKafka::Conf::CONF_OK) {
      return Status::InvalidArgument(err);
    }
    out->reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!*out) return Status::InvalidArgument("kafka standby consumer: " + err);
    return Status::Ok();
  }

  // The next message of either consumer (they alternate while both have
  // some), waiting up to wait_ms for one; *from_aux says whose. Without
  // standby copies, the group's consumer alone, as before.
  RdKafka::Message* TakeMessage(int wait_ms, bool* from_aux) {
    *from_aux = false;
    if (!aux || standby.empty()) return consumer->consume(wait_ms);
    const auto until = Clock::now() + std::chrono::milliseconds(wait_ms);
    for (;;) {
      for (int i = 0; i < 2; ++i) {
        const bool use_aux = prefer_aux == (i == 0);
        RdKafka::Message* m = (use_aux ? aux : consumer)->consume(0);
        if (m->err() != RdKafka::ERR__TIMED_OUT) {
          prefer_aux = !use_aux;
          *from_aux = use_aux;
          return m;
        }
        delete m;
        if (session_fault) return consumer->consume(0);
      }
      const int64_t left =
          std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      RdKafka::Message* m = consumer->consume(static_cast<int>(std::clamp<int64_t>(left, 0, 5)));
      if (m->err() != RdKafka::ERR__TIMED_OUT || left <= 0) return m;
      delete m;
    }
  }

  // After the pending batch was dropped: each partition of held (read by
  // c) that the batch had read past its stored position is read again from
  // there (Assignment::Rewind and a blocking seek, whose fetch barrier
  // discards what was fetched before it). A position that cannot be read or
  // a failed seek ends the session (session_fault). what names the copies
  // in the log ("" for the owned ones, "standby copy of " for the others).
  void RewindPastStored(detail::Assignment& held, RdKafka::KafkaConsumer* c, const std::string& what) {
    for (int32_t p : held.partitions()) {
      std::optional<int64_t> stored;
      Status s = pipeline->StoredPosition({options.topic, p}, &stored);
      if (!s.ok()) {
        session_fault = s;
        return;
      }
      const int64_t from = stored.value_or(0);
      if (held.next(p).value_or(from) <= from) continue;  // nothing read past the stored position
      held.Rewind(p, from);
      std::unique_ptr<RdKafka::TopicPartition> tp(RdKafka::TopicPartition::create(
          options.topic, p, stored ? *stored : static_cast<int64_t>(RdKafka::Topic::OFFSET_BEGINNING)));
      const RdKafka::ErrorCode err = c->seek(*tp, 5000);
      const std::string name = what + options.topic + "[" + std::to_string(p) + "]";
      if (err != RdKafka::ERR_NO_ERROR) {
        session_fault = Status::Unavailable("seek " + name + " back to " + std::to_string(from) +
                                            " after a revoke: " + RdKafka::err2str(err));
        return;
      }
      LogInfo("rewound " + name + " to offset " + std::to_string(from) + " (its part of the dropped batch is read again)");
    }
  }

  // A new pipeline for the session (or after shards were dropped: its
  // caches hold their orgs), routing events home in cluster mode.
  Status NewPipeline() {
    Status created = Pipeline::Create(store, stats, &pipeline, options.apply_workers, options.lead_cache_bytes);
    if (!created.ok()) return created;
    if (options.home_partitioner) pipeline->RouteHome(*options.home_partitioner, topic_partitions);
    pipeline->set_change_feed(options.change_feed);
    return Status::Ok();
  }

  // Cluster mode, between batches (nothing pending): drops the shards that
  // have been dormant (neither owned nor copied here) for
  // options.dormant_shard_ttl_ms, then starts a new pipeline. A shard
  // DropShard refuses (an org also under another shard) is kept, with a
  // WARN once. Non-OK (a store error) ends the session.
  Status DropExpiredDormant() {
    // Only once the group has assigned this session's partitions: before,
    // every shard would look dormant (a broker outage must not drop them).
    if (!options.cluster_mode || !assignment.assigned_once() || MsSince(last_dormant_check) < 1000) {
      return Status::Ok();
    }
    last_dormant_check = Clock::now();
    std::set<uint32_t> dormant;
    for (uint32_t shard : pipeline->shards()) {
      const std::optional<int32_t> p = PartitionOfShard(shard);
      if (p && !assignment.next(*p) && !standby.next(*p)) dormant.insert(shard);
    }
    std::erase_if(dormant_since, [&](const auto& e) { return !dormant.count(e.first); });
    std::vector<uint32_t> expired;
    for (uint32_t shard : dormant) {
      const auto since = dormant_since.try_emplace(shard, Clock::now()).first->second;
      if (options.dormant_shard_ttl_ms > 0 && MsSince(since) >= options.dormant_shard_ttl_ms &&
          !undroppable.count(shard)) {
        expired.push_back(shard);
      }
    }
    dormant_count.store(dormant.size());
    if (expired.empty()) return Status::Ok();
    Status s = pipeline->Sync();
    if (!s.ok()) return s;
    size_t dropped_now = 0;
    for (uint32_t shard : expired) {
      const std::string name = options.topic + "[" + std::to_string(*PartitionOfShard(shard)) + "]";
      ShardInfo dropped;
      s = DropShard(store, shard, &dropped);
      if (s.code() == Status::Code::kInvalidArgument) {
        undroppable.insert(shard);
        LogWarn("the dormant shard of " + name + " is kept: " + s.message());
        continue;
      }
      if (!s.ok()) return s;
      ++dropped_now;
      dormant_since.erase(shard);
      dormant_dropped.fetch_add(1);
      LogInfo("dropped the dormant shard of " + name + " (" + std::to_string(dropped.orgs.size()) + " orgs, " +
              std::to_string(dropped.totals.applied) + " events applied): neither owned nor copied here for " +
              std::to_string(options.dormant_shard_ttl_ms) + " ms; taken up again, it is replayed");
    }
    if (dropped_now == 0) return Status::Ok();
    dormant_count.store(dormant.size() - dropped_now);
    return NewPipeline();
  }

  // Makes the standby copies consumed follow options.standby_partitions:
  // copies no longer wanted stop (their state stays: dormant); new ones
  // start from their stored positions, after the write in flight lands (a
  // copy stopped and wanted again may have messages in it). Called between
  // batches (nothing pending). Non-OK ends the session.
  Status ReconcileStandbys() {
    if (!options.standby_partitions) return Status::Ok();
    std::set<int32_t> want;
    for (int32_t p : options.standby_partitions()) {
      if (!assignment.next(p)) want.insert(p);
    }
    std::vector<int32_t> drop, add;
    for (int32_t p : standby.partitions()) {
      if (!want.count(p)) drop.push_back(p);
    }
    for (int32_t p : want) {
      if (!standby.next(p)) add.push_back(p);
    }
    if (drop.empty() && add.empty()) return Status::Ok();
    if (!aux) {
      Status s = NewAux(&aux);
      if (!s.ok()) return s;
    }
    auto names = [this](const std::vector<int32_t>& ps) {
      std::string out;
      for (int32_t p : ps) out += (out.empty() ? "" : ",") + std::to_string(p);
      return options.topic + "[" + out + "]";
    };
    if (!drop.empty()) {
      std::vector<RdKafka::TopicPartition*> tps;
      for (int32_t p : drop) tps.push_back(RdKafka::TopicPartition::create(options.topic, p));
      std::unique_ptr<RdKafka::Error> error(aux->incremental_unassign(tps));
      RdKafka::TopicPartition::destroy(tps);
      for (int32_t p : drop) standby.Revoke(p);
      if (error) return Status::Unavailable("standby consumer: unassign: " + error->str());
      LogInfo("standby copies of " + names(drop) + " stopped (their state stays here, dormant)");
    }
    if (!add.empty()) {
      Status landed = pipeline->Sync();
      if (!landed.ok()) return landed;
      std::vector<RdKafka::TopicPartition*> tps;
      std::vector<std::optional<int64_t>> stored(add.size());
      for (size_t i = 0; i < add.size(); ++i) {
        Status s = pipeline->StoredPosition({options.topic, add[i]}, &stored[i]);
        if (!s.ok()) {
          RdKafka::TopicPartition::destroy(tps);
          return s;
        }
        tps.push_back(RdKafka::TopicPartition::create(
            options.topic, add[i], stored[i] ? *stored[i] : static_cast<int64_t>(RdKafka::Topic::OFFSET_BEGINNING)));
      }
      std::unique_ptr<RdKafka::Error> error(aux->incremental_assign(tps));
      RdKafka::TopicPartition::destroy(tps);
      if (error) return Status::Unavailable("standby consumer: assign: " + error->str());
      for (size_t i = 0; i < add.size(); ++i) standby.Assign(add[i], stored[i].value_or(0), -1);
      LogInfo("standby copies of " + names(add) + " started from their stored positions");
    }
    return Status::Ok();
  }

  Status NewWatcher(std::unique_ptr<RdKafka::Producer>* out) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    Status s = detail::Configure(conf.get(),
                                 {{"bootstrap.servers", options.brokers},
                                  {"client.id", "leadflow-watch"},
                                  {"log_level", detail::LibrdkafkaLogLevel()}},
                                 options.kafka_properties);
    if (!s.ok()) return s;
    std::string err;
    if (conf->set("event_cb", static_cast<RdKafka::EventCb*>(&watcher_events), err) != RdKafka::Conf::CONF_OK) {
      return Status::InvalidArgument(err);
    }
    out->reset(RdKafka::Producer::create(conf.get(), err));
    if (!*out) return Status::InvalidArgument("kafka client: " + err);
    return Status::Ok();
  }

  // The rebalance callback does what must happen before librdkafka goes
  // on, and no more: on an assignment, the stored positions read and
  // assigned (the readiness targets are asked of the broker later, by the
  // consume loop's UpdateReadiness, never here where a slow broker would
  // hold the group up); on a revoke, the pending batch dropped and the
  // staged batches checkpointed, so the next owner reads final positions.
  // The group's protocol decides the shape: eager (every partition revoked,
  // then all assigned anew) or cooperative (only the partitions that move).
  void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    const bool cooperative = c->rebalance_protocol() == "COOPERATIVE";
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      assignment_received = true;
      if (cooperative) {
        OnIncrementalAssign(c, partitions);
      } else {
        // A message carried to the next batch is read again from the
        // position the partition resumes at. (Callbacks run inside
        // consume(), which is never called while a message is carried.)
        carried.reset();
        OnAssign(c, partitions);
      }
      return;
    }
    carried.reset();  // its partition's batch is dropped: read again
    if (err != RdKafka::ERR__REVOKE_PARTITIONS) {
      // A failed rebalance: give everything up and start a new session.
      session_fault = Status::Unavailable("rebalance failed: " + RdKafka::err2str(err));
    }
    if (cooperative) {
      OnIncrementalRevoke(c, partitions);
    } else {
      OnRevoke(c, partitions);
    }
  }

  // Before partitions are handed to librdkafka (either protocol): a batch
  // still being written lands, then each partition is recorded as assigned
  // from its stored position (set on its TopicPartition too). False, with
  // session_fault set and nothing assigned, when a write failed or a
  // stored position cannot be read (never "start from the beginning",
  // which would count every event again).
  bool TakeFromStored(std::vector<RdKafka::TopicPartition*>& partitions) {
    Status landed = pipeline->Sync();
    if (!landed.ok()) {
      session_fault = landed;
      return false;
    }
    std::vector<std::optional<int64_t>> stored_positions(partitions.size());
    std::vector<bool> promoted(partitions.size(), false);
    for (size_t i = 0; i < partitions.size(); ++i) {
      // A standby copy kept here is consumed on from where it is (its
      // messages in the pending batch included): a promotion.
      if (std::optional<int64_t> copy = standby.next(partitions[i]->partition())) {
        stored_positions[i] = *copy;
        promoted[i] = true;
        continue;
      }
      Status s = pipeline->StoredPosition({partitions[i]->topic(), partitions[i]->partition()}, &stored_positions[i]);
      if (!s.ok()) {
        session_fault = s;
        return false;
      }
    }
    std::vector<RdKafka::TopicPartition*> from_standby;
    for (size_t i = 0; i < partitions.size(); ++i) {
      RdKafka::TopicPartition* tp = partitions[i];
      const std::optional<int64_t>& stored = stored_positions[i];
      tp->set_offset(stored ? *stored : RdKafka::Topic::OFFSET_BEGINNING);
      const std::string how = promoted[i] ? "standby" : stored ? "dormant" : "replay";
      if (promoted[i]) {
        standby.Revoke(tp->partition());
        from_standby.push_back(RdKafka::TopicPartition::create(options.topic, tp->partition()));
      }
      if (options.cluster_mode) {
        restored_how[tp->partition()] = how;
        restoring[tp->partition()] = {Clock::now(), how};
        handoffs_in[RestoreIndex(how)].fetch_add(1);
      }
      // No stored position: from the partition's start, whatever offset
      // that is (UpdateReadiness raises the position to it).
      // In cluster mode every partition taken over must first catch up
      // with its end (its orgs are served from this shard only then).
      assignment.Assign(tp->partition(), stored ? *stored : 0,
                        owner->ready_.load() && !options.cluster_mode ? std::nullopt : std::optional<int64_t>(-1));
      LogInfo("assigned " + tp->topic() + "[" + std::to_string(tp->partition()) + "] from offset " +
              (stored ? std::to_string(*stored) : std::string("beginning")) +
              (promoted[i] ? " (promoted: its standby copy here)" : ""));
    }
    if (!from_standby.empty()) {
      std::unique_ptr<RdKafka::Error> error(aux->incremental_unassign(from_standby));
      RdKafka::TopicPartition::destroy(from_standby);
      if (error) session_fault = Status::Unavailable("standby consumer: unassign: " + error->str());
    }
    return true;
  }

  void OnAssign(RdKafka::KafkaConsumer* c, std::vector<RdKafka::TopicPartition*>& partitions) {
    if (!TakeFromStored(partitions)) return;
    c->assign(partitions);
    NoteProgress();
    SetState(ConsumerState::kRunning, "");
  }

  // Revoked partitions leave Health() at once, not at the next lag update:
  // in cluster mode the HTTP threads decide from it whether an org is
  // served here.
  void ForgetAssigned(const std::set<int32_t>& revoked) {
    for (int32_t p : revoked) {
      restoring.erase(p);
      restored_how.erase(p);
      if (options.cluster_mode) handoffs_out.fetch_add(1);
    }
    std::lock_guard<std::mutex> lock(mu);
    for (auto& l : partition_lags) {
      if (revoked.count(l.partition)) {
        l.assigned = false;
        l.servable = false;
        l.assigned_epoch = 0;
      }
    }
  }

  void OnRevoke(RdKafka::KafkaConsumer* c, std::vector<RdKafka::TopicPartition*>& partitions) {
    // Positions live in the store, so the pending batch is simply
    // dropped: whoever owns a partition next resumes from its stored
    // position. A committed batch still being written lands first (Reset
    // waits for it), so the positions the next owner reads are final.
    // Batches staged in memory (state/store.h Stage) are checkpointed,
    // so that another process taking the partitions reads their
    // positions from the store; one that fails leaves them staged and
    // ingest stops at its next batch. Nothing is published here.
    pipeline->Reset();
    Status checkpointed = store->Checkpoint();
    if (!checkpointed.ok()) LogError("checkpoint on a revoke: " + checkpointed.ToString());
    if (aux) RewindPastStored(standby, aux.get(), "standby copy of ");
    std::set<int32_t> revoked;
    for (auto* tp : partitions) {
      revoked.insert(tp->partition());
      assignment.Revoke(tp->partition());
    }
    ForgetAssigned(revoked);
    c->unassign();
    LogInfo("partitions revoked; the pending batch is consumed again");
  }

  // Cooperative: partitions are added to the ones this member keeps
  // consuming. The pending batch holds only partitions still ours: kept.
  void OnIncrementalAssign(RdKafka::KafkaConsumer* c, std::vector<RdKafka::TopicPartition*>& partitions) {
    const bool taken = TakeFromStored(partitions);
    if (taken) assignment.MarkAssigned();  // joined, even with nothing to own
    // Acknowledged even when not taken: the session then ends
    // (session_fault), but librdkafka 2.0 waits forever for an
    // unacknowledged rebalance when the consumer is closed or destroyed.
    // Partitions not taken are not in `assignment`: nothing read from them
    // is applied.
    std::unique_ptr<RdKafka::Error> error(c->incremental_assign(partitions));
    if (!taken) return;
    if (error) {
      session_fault = Status::Unavailable("incremental assign: " + error->str());
      return;
    }
    NoteProgress();
    SetState(ConsumerState::kRunning, "");
    // Not ready from now until the new partitions are servable (the next
    // readiness check would say so up to 500 ms later: /readyz must never
    // say ready while an owned shard is being restored).
    if (options.cluster_mode && !partitions.empty() && owner->ready_.exchange(false)) {
      LogInfo("not ready: partitions newly assigned to this member are being restored");
    }
  }

  // Cooperative: partitions leave this member (another takes them, or the
  // assignment was lost); the others stay assigned and are consumed on.
  // The pending batch mixes both in one applier, so it is dropped as on an
  // eager revoke, and each kept partition it held messages of is rewound
  // to its stored position: a seek, whose fetch barrier discards what was
  // fetched before it. A seek that fails ends the session (the next one
  // starts every partition from the store). Committing the batch instead
  // would publish its dead letters here, broker I/O that would hold the
  // whole group's rebalance up; a rewind costs one batch read again.
  void OnIncrementalRevoke(RdKafka::KafkaConsumer* c, std::vector<RdKafka::TopicPartition*>& partitions) {
    const bool lost = c->assignment_lost();
    pipeline->Reset();
    Status checkpointed = store->Checkpoint();
    if (!checkpointed.ok()) LogError("checkpoint on a revoke: " + checkpointed.ToString());
    if (aux) RewindPastStored(standby, aux.get(), "standby copy of ");
    std::set<int32_t> revoked;
    for (auto* tp : partitions) {
      revoked.insert(tp->partition());
      assignment.Revoke(tp->partition());
    }
    ForgetAssigned(revoked);
    RewindPastStored(assignment, c, "");
    std::unique_ptr<RdKafka::Error> error(c->incremental_unassign(partitions));
    if (error && !session_fault) session_fault = Status::Unavailable("incremental unassign: " + error->str());
    // Partitions taken by another member in the middle of a session: this
    // process no longer holds every org, so it is not ready until it owns
    // every partition again and has caught up on them (UpdateReadiness).
    // Not when the session itself ends (close), which revokes everything.
    if (!options.cluster_mode && !closing && !partitions.empty() && owner->ready_.exchange(false)) {
      LogWarn("not ready: partitions moved to another member of group " + options.group);
    }
    std::string names;
    for (int32_t p : revoked) names += (names.empty() ? "" : ",") + std::to_string(p);
    LogInfo(std::string("partitions ") + (lost ? "lost" : "revoked") + ": " + options.topic + "[" + names +
            "]; the pending batch is consumed again");
  }

  int TopicPartitions() {
    if (topic_partitions > 0 && MsSince(partitions_checked) < 30000) return topic_partitions;
    RdKafka::Metadata* md = nullptr;
    std::string err;
    std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(watcher.get(), options.topic, nullptr, err));
    if (topic && watcher->metadata(false, topic.get(), &md, 2000) == RdKafka::ERR_NO_ERROR && md) {
      for (const auto* t : *md->topics()) {
        if (t->topic() == options.topic && t->err() == RdKafka::ERR_NO_ERROR) {
          topic_partitions = static_cast<int>(t->partitions()->size());
          partitions_checked = Clock::now();
        }
      }
    }
    delete md;
    return topic_partitions;
  }

  // Lag over the partitions this member is assigned (over every partition
  // of the topic while it has none: between sessions, before the first
  // assignment): from each partition's stored (applied and committed)
  // position to its end, so that messages consumed but not committed (a
  // blocked batch) still count. The partitions of other members of the
  // group are listed with their lag too, but not summed: this member does
  // not consume them (and the stall check must not wait for them). A partition's end is
  // the freshest of: the consumer's cached high watermark (assigned
  // partitions), a query by the watcher, the last end seen, and the next
  // offset the consumer will read (it has seen that much). A failed query
  // (a slow or absent broker) falls back on the others; never an abort.
  void UpdateLag(int query_timeout_ms) {
    const int n = TopicPartitions();
    if (n <= 0) return;
    int64_t lag = 0;
    std::vector<IngestHealth::PartitionLag> lags;
    for (int32_t p = 0; p < n; ++p) {
      int64_t low = -1, high = -1;
      const std::optional<int64_t> owned_pos = assignment.next(p);
      const std::optional<int64_t> copy_pos = owned_pos ? std::nullopt : standby.next(p);
      const std::optional<int64_t> pos = owned_pos ? owned_pos : copy_pos;
      RdKafka::KafkaConsumer* holder = owned_pos ? consumer.get() : copy_pos ? aux.get() : nullptr;
      if (holder && holder->get_watermark_offsets(options.topic, p, &low, &high) != RdKafka::ERR_NO_ERROR) {
        high = -1;
      }
      if (high < 0 &&
          watcher->query_watermark_offsets(options.topic, p, &low, &high, query_timeout_ms) != RdKafka::ERR_NO_ERROR) {
        high = -1;
      }
      int64_t& end = partition_end[p];
      end = std::max({end, high, pos.value_or(0)});
      if (low >= 0) partition_start[p] = low;
      int64_t next = partition_start.count(p) ? partition_start[p] : 0;
      // An unreadable position (the session ends on it) counts from the
      // partition's start: the lag is overstated, never understated.
      std::optional<int64_t> stored;
      if (pipeline->StoredPosition({options.topic, p}, &stored).ok() && stored) next = std::max(next, *stored);
      const bool assigned = owned_pos.has_value();
      // A cluster member that has joined sums only what it owns (another
      // member applies the rest; its standby copies are not its lag).
      const bool sum_all = assignment.empty() && !(options.cluster_mode && assignment.assigned_once());
      if (assigned || sum_all) lag += std::max<int64_t>(0, end - next);
      IngestHealth::PartitionLag l;
      l.partition = p;
      l.next = next;
      l.end = end;
      l.assigned = assigned;
      l.servable = assigned ? assignment.Servable(p) : standby.Servable(p);
      l.assigned_epoch = assignment.assigned_epoch(p);
      l.standby = copy_pos.has_value();
      if (assigned) {
        auto how = restored_how.find(p);
        l.restore = how != restored_how.end() ? how->second : "replay";
        // The hand-off's end: the shard is servable (caught up since assigned).
        auto r = restoring.find(p);
        if (r != restoring.end() && l.servable) {
          const int k = RestoreIndex(r->second.how);
          handoffs_done[k].fetch_add(1);
          handoff_micros[k].fetch_add(static_cast<uint64_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - r->second.since).count()));
          LogInfo("hand-off of " + options.topic + "[" + std::to_string(p) + "] done (" + r->second.how + ") in " +
                  std::to_string(MsSince(r->second.since)) + " ms");
          restoring.erase(r);
        }
      }
      lags.push_back(std::move(l));
    }
    owner->lag_.store(lag);
    {
      std::lock_guard<std::mutex> lock(mu);
      partition_lags = lags;
    }
    CommitToGroup(lags);
  }

  // Commits the applied positions of the assigned partitions to the
  // consumer group, for monitoring only (kafka-consumer-groups --describe,
  // kafka_exporter, Burrow see leadflow's lag): leadflow never reads them
  // back, a session always starts from the positions in RocksDB. Only what
  // changed, asynchronously; a failed commit is retried by the next one.
  // At most one commit in flight and one per kGroupCommitInterval: this
  // runs after every batch (hundreds a second when live), and a broker
  // whose group coordinator falls behind once had thousands of commits
  // queued ahead of the heartbeats (3,802 in flight, 58 s round trips, the
  // session timed out and the partitions were lost for a minute: the sse
  // bench, session 35). An idle consumer still comes here every 500 ms, so
  // the last positions are committed within about a second.
  void CommitToGroup(const std::vector<IngestHealth::PartitionLag>& lags) {
    if (!consumer || assignment.empty()) return;
    const auto now = Clock::now();
    if (group_commits.in_flight || now - group_commits.last < kGroupCommitInterval) return;
    if (group_commits.failed) {
      group_committed.clear();
      group_commits.failed = false;
    }
    std::vector<RdKafka::TopicPartition*> offsets;
    for (const auto& l : lags) {
      if (!assignment.next(l.partition)) continue;  // not ours
      auto [at, fresh] = group_committed.try_emplace(l.partition, -1);
      if (at->second == l.next) continue;
      at->second = l.next;
      offsets.push_back(RdKafka::TopicPartition::create(options.topic, l.partition, l.next));
    }
    if (offsets.empty()) return;
    if (consumer->commitAsync(offsets) == RdKafka::ERR_NO_ERROR) {
      group_commits.in_flight = true;
      group_commits.last = now;
      group_commits_sent.fetch_add(1);
    } else {
      group_commits.failed = true;  // errors: the next commit tries again, with every position
    }
    RdKafka::TopicPartition::destroy(offsets);
  }

  // Cluster mode: ready while every partition this member owns now has
  // caught up with its end since it was assigned (no latch: a partition
  // taken over makes it not ready until its shard is restored). The
  // targets of new partitions are asked for here, as below.
  void UpdateClusterReadiness() {
    bool ready = assignment.assigned_once();
    if (ready) {
      for (int32_t partition : assignment.UnknownTargets()) {
        int64_t low = 0, high = -1;
        if (consumer->query_watermark_offsets(options.topic, partition, &low, &high, 1000) != RdKafka::ERR_NO_ERROR ||
            high < 0) {
          ready = false;
          continue;
        }
        assignment.SetTarget(partition, high, low);
      }
    }
    // The standby copies' targets (their servability; not readiness).
    for (int32_t partition : standby.UnknownTargets()) {
      int64_t low = 0, high = -1;
      if (aux && aux->query_watermark_offsets(options.topic, partition, &low, &high, 1000) == RdKafka::ERR_NO_ERROR &&
          high >= 0) {
        standby.SetTarget(partition, high, low);
      }
    }
    ready = ready && assignment.AllServable() && pipeline->Sync().ok();
    if (ready != owner->ready_.exchange(ready)) {
      if (ready) {
        LogInfo("every partition this member owns has caught up with its end: ready");
      } else {
        LogInfo("not ready: a partition this member owns is being restored");
      }
    }
  }

  void UpdateReadiness() {
    if (options.cluster_mode) return UpdateClusterReadiness();
    if (owner->ready_.load() || !assignment.assigned_once()) return;
    // A dead member of the group may still hold partitions after a crash;
    // readiness waits until this consumer owns them all.
    const int n = TopicPartitions();
    if (n <= 0 || static_cast<int>(assignment.size()) < n) return;
    for (int32_t partition : assignment.UnknownTargets()) {
      int64_t low = 0, high = -1;
      if (consumer->query_watermark_offsets(options.topic, partition, &low, &high, 1000) != RdKafka::ERR_NO_ERROR ||
          high < 0) {
        return;
      }
      assignment.SetTarget(partition, high, low);
    }
    if (!assignment.CaughtUp(n)) return;
    // Ready means the reports have it all: the last batch must have landed
    // (a failed write ends the session at the next commit).
    if (!pipeline->Sync().ok()) return;
    owner->ready_.store(true);
    LogInfo("caught up with the end of every assigned partition: ready");
    // A long catch-up leaves bitmap deltas in the upper levels that readers
    // would fold on every read until compaction reaches them: fold them now
    // (the store flushes every memtable first, so a kill -9 soon after does
    // not replay the catch-up's last WAL: its batches are large).
    if (stats->events_applied.load() - applied_at_session_start >= kCompactAfterCatchUpEvents) {
      store->CompactInBackground(state::Cf::kBitmaps);
    }
  }

  // Non-OK (disk full) when the data directory has less free space than
  // allowed, plus room for a batch about to be written: Debian's RocksDB is
  // built with assertions, and a write that fails for space can abort the
  // process inside RocksDB, so ingest stops short of that. The state write
  // of a batch (WAL and memtable, later an SST) is estimated at
  // kBatchWriteFactor times the batch's message bytes.
  static constexpr uint64_t kBatchWriteFactor = 4;
  // The room kept free before any batch: the threshold, and the live
  // batches staged since the last checkpoint, still to be written (state/
  // store.h Stage), counted at their memory estimate.
  uint64_t ReservedBytes() const { return options.min_free_disk_bytes + store->checkpoint_stats().staged_bytes; }
  Status CheckDisk(uint64_t batch_message_bytes = 0) const {
    if (options.data_dir.empty()) return Status::Ok();
    const uint64_t need = ReservedBytes() + kBatchWriteFactor * batch_message_bytes;
    return state::CheckRoom(options.data_dir, need,
                            "ingest pauses below " + state::HumanBytes(options.min_free_disk_bytes) +
                                " (--min-free-disk-mb) plus room for the next batch");
  }

  // The message bytes a batch may hold so that CheckDisk passes for it:
  // a batch is closed before it outgrows the disk's room, since a batch
  // larger than the room would wait for space forever though smaller ones
  // fit. 0 when not even the threshold is left (CheckDisk then stops).
  uint64_t BatchRoom() const {
    if (options.data_dir.empty()) return UINT64_MAX;
    const std::optional<uint64_t> free = state::FreeBytes(options.data_dir);
    if (!free) return UINT64_MAX;
    const uint64_t reserved = ReservedBytes();
    return *free > reserved ? (*free - reserved) / kBatchWriteFactor : 0;
  }

  // The letters of owned partitions (all of them without standby copies).
  std::vector<DeadLetter> owned_letters;
  const std::vector<DeadLetter>& OwnedLetters(const std::vector<DeadLetter>& all) {
    if (!aux) return all;
    owned_letters.clear();
    for (const DeadLetter& l : all) {
      if (assignment.next(l.source.partition)) owned_letters.push_back(l);
    }
    return owned_letters;
  }

  // What a store fault makes of ingest: corrupt state is a stop (a human
  // must look), anything else a store error retried once writes work.
  static ConsumerState FaultState(const Status& s) {
    return s.code() == Status::Code::kCorruption ? ConsumerState::kStopped : ConsumerState::kStoreError;
  }

  // One consumer session: new clients, join, consume and commit batches
  // until stopped or a fault (see the header).
  SessionEnd RunSession();
  SessionEnd ConsumeBatches();
  void CloseClients();
};

SessionEnd KafkaIngest::Impl::RunSession() {
  ++sessions;
  session_fault.reset();
  assignment.Reset();
  standby.Reset();
  topic_partitions = 0;
  if (options.home_partitioner && TopicPartitions() <= 0) {
    // Homes are computed over the topic's partitions: known before the
    // first message is added (the cluster's config record stops an
    // instance that counts them otherwise).
    return {ConsumerState::kRestarting,
            Status::Unavailable("the partition count of " + options.topic + " is not known (no metadata from " +
                                options.brokers + ")")};
  }
  // A fresh pipeline: nothing of a failed batch survives in its caches.
  Status created = NewPipeline();
  if (!created.ok()) return {FaultState(created), created};
  applied_at_session_start = stats->events_applied.load();
  consumer_events.Clear();
  aux_events.Clear();
  group_committed.clear();  // a new member: commit every position again
  group_commits.in_flight = false;  // the old consumer's answer never comes
  Status s = NewConsumer(&consumer);
  if (s.ok()) s = dead_letters->Open();
  if (s.ok() && reroutes) s = reroutes->Open();
  if (!s.ok()) {
    CloseClients();
    return {ConsumerState::kRestarting, s};
  }
  RdKafka::ErrorCode err = consumer->subscribe({options.topic});
  subscribed = err == RdKafka::ERR_NO_ERROR;
  if (err != RdKafka::ERR_NO_ERROR) {
    CloseClients();
    return {ConsumerState::kRestarting, Status::Unavailable("subscribe: " + RdKafka::err2str(err))};
  }
  SetState(ConsumerState::kStarting, "");
  LogInfo("consuming " + options.topic + " as group " + options.group + " from " + options.brokers);
  NoteProgress();
  SessionEnd end = ConsumeBatches();
  pipeline->Reset();  // anything not committed is consumed again
  CloseClients();
  return end;
}

void KafkaIngest::Impl::CloseClients() {
  carried.reset();  // before its consumer goes
  carried_from_aux = false;
  if (consumer) {
    // librdkafka 2.0's cooperative-sticky assignor aborts on an assertion
    // when a consumer is destroyed after its group answered JoinGroup but
    // before the first assignment reached it (the assignor's state is made
    // then; librdkafka #4312, fixed in 2.3). So a consumer that has not
    // received its assignment yet is polled a little longer, until it
    // arrives (the rebalance callback takes it; messages read meanwhile
    // are not applied: every partition resumes from its stored position),
    // and one that still has none (the group not reached: a broker down, a
    // refused login) is destroyed without the close, which leaves nothing
    // behind: nothing was assigned or committed, and a static member sends
    // no LeaveGroup anyway. Deleting a KafkaConsumer that was not closed
    // destroys it with RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE.
    const auto until = Clock::now() + std::chrono::milliseconds(kFirstAssignmentWaitMs);
    while (subscribed && !assignment_received && consumer_events.last_error.empty() && Clock::now() < until) {
      std::unique_ptr<RdKafka::Message> dropped(consumer->consume(50));
    }
    closing = true;
    if (assignment_received) consumer->close();
    closing = false;
    consumer.reset();
  }
  if (aux) {
    aux->close();
    aux.reset();
  }
  standby.Reset();
  restoring.clear();
  restored_how.clear();
  subscribed = false;
  assignment_received = false;
  dead_letters->Close();
  if (reroutes) reroutes->Close();
  assignment.Reset();
}

SessionEnd KafkaIngest::Impl::ConsumeBatches() {
  auto last_lag_update = Clock::now() - std::chrono::seconds(10);
  auto last_disk_check = Clock::now() - std::chrono::seconds(10);
  auto last_readiness_check = Clock::now() - std::chrono::seconds(10);
  while (!stop_requested.load()) {
    if (MsSince(last_disk_check) >= 1000) {
      last_disk_check = Clock::now();
      Status disk = CheckDisk();
      if (!disk.ok()) return {ConsumerState::kDiskFull, disk};
    }
    const auto deadline = Clock::now() + std::chrono::milliseconds(options.batch_max_ms);
    const auto collect_start = Clock::now();
    size_t n = 0;
    int64_t batch_newest_ms = -1;  // the newest message timestamp of the batch (ms since the epoch)
    uint64_t batch_bytes = 0;
    const uint64_t batch_room = BatchRoom();
    bool ran_dry = false;  // closed because the local queue had no more (not by a cap)
    while (n < options.batch_max_messages && !stop_requested.load()) {
      // Block only for a batch's first message; afterwards take what the
      // local queue holds and close the batch when it runs dry.
      bool from_aux = false;
      std::unique_ptr<RdKafka::Message> msg;
      if (carried) {
        msg = std::move(carried);
        from_aux = carried_from_aux;
      } else {
        msg.reset(TakeMessage(n == 0 ? options.idle_wait_ms : 0, &from_aux));
      }
      if (session_fault) return {FaultState(*session_fault), *session_fault};
      const RdKafka::ErrorCode code = msg->err();
      if (code == RdKafka::ERR__TIMED_OUT) {
        // Nothing assigned yet while the client reports an error (a refused
        // authentication, a broker it cannot reach): /readyz says why.
        if (assignment.empty() && !consumer_events.last_error.empty()) {
          SetState(ConsumerState::kStarting, consumer_events.last_error);
        }
        ran_dry = true;
        break;
      }
      if (code == RdKafka::ERR__FATAL || consumer_events.fatal) {
        std::string why;
        consumer->fatal_error(why);
        return {ConsumerState::kRestarting, Status::Unavailable("consumer fatal error: " + why)};
      }
      if (code != RdKafka::ERR_NO_ERROR) {
        if (code != RdKafka::ERR__PARTITION_EOF && MsSince(last_consume_warning) > 5000) {
          last_consume_warning = Clock::now();
          LogWarn("consume: " + msg->errstr());
          // Not assigned yet (e.g. the topic does not exist): say why.
          if (assignment.empty()) SetState(ConsumerState::kStarting, msg->errstr());
        }
        if (n > 0) {
          ran_dry = true;
          break;
        }
        continue;
      }
      // A stale message of a revoked partition (or stopped copy), or one
      // already consumed.
      detail::Assignment& held = from_aux ? standby : assignment;
      if (!held.Wants(msg->partition(), msg->offset())) continue;
      const uint64_t message_bytes = msg->len() + msg->key_len();
      if (n > 0 && batch_bytes + message_bytes > batch_room) {
        carried = std::move(msg);  // the first of the next batch
        carried_from_aux = from_aux;
        break;
      }
      std::optional<std::string_view> key;
      if (msg->key_pointer()) key = std::string_view(static_cast<const char*>(msg->key_pointer()), msg->key_len());
      Status s = pipeline->Add(std::string_view(static_cast<const char*>(msg->payload()), msg->len()), key,
                               SourcePosition{msg->topic_name(), msg->partition()}, msg->offset(),
                               options.home_partitioner ? OriginOf(*msg, options.group) : std::nullopt);
      if (!s.ok()) return {FaultState(s), s};
      held.Consumed(msg->partition(), msg->offset());
      if (options.fault_consume_delay_us > 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(options.fault_consume_delay_us));
      }
      batch_newest_ms = std::max(batch_newest_ms, msg->timestamp().timestamp);
      ++n;
      batch_bytes += message_bytes;
      // The clock every kClockEveryMessages messages, not each: two reads
      // a message were ~0.5% of a full-scale catch-up's CPU (session 38).
      // The loop only goes on while the local queue has messages (it
      // closes the batch when the queue runs dry), so the deadline is
      // passed by at most that many messages' Adds.
      if (n % kClockEveryMessages == 0) {
        NoteProgress();
        if (Clock::now() >= deadline) break;
      }
    }
    if (n > 0) NoteProgress();
    if (n == 0) {
      // Nothing more to read: a batch still being written lands before the
      // lag and readiness below can count it.
      Status landed = pipeline->Sync();
      if (!landed.ok()) return {FaultState(landed), landed};
    }
    if (n == 0 || MsSince(last_lag_update) > 500) {
      UpdateLag(1000);
      last_lag_update = Clock::now();
    }
    if (pipeline->pending() > 0) {
      Status s = CheckDisk(batch_bytes);
      if (!s.ok()) return {ConsumerState::kDiskFull, s};  // the batch is consumed again later
      BatchMetrics& bm = stats->batch_metrics;
      auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
      bm.Observe(BatchMetrics::kCollect, seconds_since(collect_start));
      bm.ObserveEvents(n);
      const auto apply_start = Clock::now();
      s = pipeline->ApplyAdded();  // every dead letter of the batch is known after it
      if (!s.ok()) return {FaultState(s), s};
      // Standby copies publish none: their owner does.
      const std::vector<DeadLetter>& letters = OwnedLetters(pipeline->dead_letters());
      s = dead_letters->Publish(letters);
      if (!s.ok()) {
        if (stop_requested.load()) break;
        return {ConsumerState::kDeadLetterBlocked, s};
      }
      // Every copy (standby ones too) sends its events read off their
      // home on: the home shard applies each once (Pipeline::Add).
      if (reroutes) s = reroutes->Publish(pipeline->reroutes());
      if (!s.ok()) {
        if (stop_requested.load()) break;
        return {ConsumerState::kRerouteBlocked, s};
      }
      bm.Observe(BatchMetrics::kApply, seconds_since(apply_start));
      const auto commit_start = Clock::now();
      s = pipeline->Commit();  // on failure the batch is discarded and nothing was written
      bm.Observe(BatchMetrics::kCommit, seconds_since(commit_start));
      // A batch closed by a cap (catching up: batch_max_messages or
      // batch_max_ms) is written while the next one is read and applied;
      // one closed because the queue ran dry (live traffic) lands now, so
      // the lag below and readiness never run ahead of the reports.
      if (s.ok() && (ran_dry || stop_requested.load())) {
        const auto sync_start = Clock::now();
        s = pipeline->Sync();
        bm.Observe(BatchMetrics::kSync, seconds_since(sync_start));
      }
      if (!s.ok()) return {FaultState(s), s};
      dead_letters->Forget(letters);
      {
        const double secs = std::chrono::duration<double>(Clock::now() - last_commit_at).count();
        last_commit_at = Clock::now();
        if ((!ran_dry || n >= 1000) && secs > 0) {
          const double now_rate = static_cast<double>(n) / secs, before = catch_up_rate.load();
          catch_up_rate.store(before > 0 ? 0.7 * before + 0.3 * now_rate : now_rate);
        }
      }
      if (batch_newest_ms > owner->newest_applied_ms_.load()) owner->newest_applied_ms_.store(batch_newest_ms);
      batch_newest_ms = -1;
      NoteProgress();
      UpdateLag(0);  // at once: a report that shows the batch never comes with the lag from before it
      if (sessions == 1 && options.fault_fatal_after_batches > 0 && --options.fault_fatal_after_batches == 0) {
        LogWarn("fault injection: a fatal consumer error (LEADFLOW_FAULT_FATAL_AFTER_BATCHES)");
        rd_kafka_test_fatal_error(consumer->c_ptr(), RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID, "injected by a test");
      }
    }
    if (n == 0 || MsSince(last_readiness_check) > 500) {
      UpdateReadiness();
      last_readiness_check = Clock::now();
    }
    if (options.standby_partitions && pipeline->pending() == 0 && !carried && MsSince(last_reconcile) >= 500) {
      last_reconcile = Clock::now();
      Status r = ReconcileStandbys();
      if (!r.ok()) return {FaultState(r), r};
    }
    if (pipeline->pending() == 0 && !carried) {
      Status d = DropExpiredDormant();
      if (!d.ok()) return {FaultState(d), d};
    }
    if (owner->lag_.load() > 0 && MsSince(last_progress) > options.stall_timeout_ms) {
      return {ConsumerState::kRestarting,
              Status::Unavailable("stalled: " + std::to_string(owner->lag_.load()) + " messages waiting and none consumed for " +
                                  std::to_string(MsSince(last_progress) / 1000) + " s")};
    }
    dead_letters->Poll();
  }
  return {ConsumerState::kStopped, Status::Ok()};
}

KafkaIngest::KafkaIngest(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->owner = this; }
KafkaIngest::~KafkaIngest() = default;

Status KafkaIngest::Create(const KafkaIngestOptions& options, state::Store* store, Stats* stats,
                           std::unique_ptr<KafkaIngest>* out) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->store = store;
  impl->stats = stats;
  Status created = Pipeline::Create(store, stats, &impl->pipeline, options.apply_workers, options.lead_cache_bytes);  // the totals, readable now
  if (!created.ok()) return created;
  // Build each client once to check the configuration now, not in Run().
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  Status s = impl->NewConsumer(&consumer);
  if (!s.ok()) return s;
  consumer->close();
  consumer.reset();
  DeadLetterPublisherOptions dopts;
  dopts.brokers = options.brokers;
  dopts.topic = options.dlq_topic;
  dopts.max_message_bytes = options.dlq_max_message_bytes;
  dopts.message_timeout_ms = options.dlq_message_timeout_ms;
  dopts.kafka_properties = options.kafka_properties;
  s = DeadLetterPublisher::Create(dopts, &impl->stop_requested, &impl->dead_letters);
  if (s.ok() && options.home_partitioner) {
    ReroutePublisherOptions ropts;
    ropts.brokers = options.brokers;
    ropts.group = options.group;
    ropts.message_timeout_ms = options.dlq_message_timeout_ms;
    ropts.kafka_properties = options.kafka_properties;
    s = ReroutePublisher::Create(ropts, &impl->stop_requested, &impl->reroutes);
  }
  if (!s.ok()) return s;
  s = impl->NewWatcher(&impl->watcher);
  if (!s.ok()) return s;
  out->reset(new KafkaIngest(std::move(impl)));
  return Status::Ok();
}

void KafkaIngest::RequestStop() { impl_->stop_requested.store(true); }

void KafkaIngest::AppendKafkaStats(std::string* out) const { impl_->kafka_stats.Render(out); }

void KafkaIngest::AppendHandoffMetrics(std::string* out) const {
  const Impl& m = *impl_;
  *out += "# HELP leadflow_handoffs_total Partitions handed to this instance (in, by how its shard was restored) or "
          "taken from it (out).\n# TYPE leadflow_handoffs_total counter\n";
  for (int k = 0; k < 3; ++k) {
    *out += std::string("leadflow_handoffs_total{direction=\"in\",restore=\"") + Impl::kRestoreKinds[k] + "\"} " +
            std::to_string(m.handoffs_in[k].load()) + "\n";
  }
  *out += "leadflow_handoffs_total{direction=\"out\",restore=\"\"} " + std::to_string(m.handoffs_out.load()) + "\n";
  *out += "# HELP leadflow_dormant_shards_dropped_total Shards dropped here after --dormant-shard-ttl-ms neither owned "
          "nor copied.\n# TYPE leadflow_dormant_shards_dropped_total counter\n";
  *out += "leadflow_dormant_shards_dropped_total " + std::to_string(m.dormant_dropped.load()) + "\n";
  *out += "# HELP leadflow_handoff_duration_seconds From a partition's assignment here to its shard being servable.\n"
          "# TYPE leadflow_handoff_duration_seconds summary\n";
  for (int k = 0; k < 3; ++k) {
    const std::string label = std::string("{restore=\"") + Impl::kRestoreKinds[k] + "\"}";
    char sum[32];
    std::snprintf(sum, sizeof(sum), "%.6f", static_cast<double>(m.handoff_micros[k].load()) / 1e6);
    *out += "leadflow_handoff_duration_seconds_sum" + label + " " + sum + "\n";
    *out += "leadflow_handoff_duration_seconds_count" + label + " " + std::to_string(m.handoffs_done[k].load()) + "\n";
  }
}

double KafkaIngest::CatchUpRate() const { return impl_->catch_up_rate.load(); }

IngestHealth KafkaIngest::Health() const {
  IngestHealth h;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    h.state = impl_->state;
    h.reason = impl_->reason;
    h.partitions = impl_->partition_lags;
  }
  h.topic = impl_->options.topic;
  h.ready = ready_.load();
  h.lag_messages = lag_.load();
  h.newest_applied_ms = newest_applied_ms_.load();
  h.restarts = impl_->restarts.load();
  h.group_commits = impl_->group_commits_sent.load();
  h.dead_letter_failures = impl_->dead_letters->failures();
  h.dormant_shards = impl_->dormant_count.load();
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
  h.seconds_since_progress = static_cast<double>(now_ms - impl_->progress_ms.load()) / 1000.0;
  return h;
}

Status KafkaIngest::Run() {
  Impl& m = *impl_;
  int backoff_ms = m.options.restart_backoff_initial_ms;
  while (!m.stop_requested.load()) {
    const uint64_t batches_before = m.stats->batches.load();
    SessionEnd end = m.RunSession();
    if (m.stop_requested.load()) break;
    if (end.state == ConsumerState::kStopped) {
      if (end.status.ok()) break;
      m.SetState(ConsumerState::kStopped, end.status.ToString());
      LogError("ingest stopped: " + end.status.ToString());
      return end.status;
    }
    if (m.stats->batches.load() != batches_before) backoff_ms = m.options.restart_backoff_initial_ms;
    m.restarts.fetch_add(1);
    m.SetState(end.state, end.status.message());
    LogError(std::string("ingest ") + ConsumerStateName(end.state) + ": " + end.status.message() + "; retrying in " +
             std::to_string(backoff_ms) + " ms");
    // Wait out the backoff, and for disk and store faults until they clear.
    auto retry_at = Clock::now() + std::chrono::milliseconds(backoff_ms);
    bool store_failed = end.state == ConsumerState::kStoreError;
    auto last_lag_update = Clock::now() - std::chrono::seconds(10);
    while (!m.stop_requested.load()) {
      if (MsSince(last_lag_update) >= 1000) {
        m.UpdateLag(2000);
        last_lag_update = Clock::now();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (Clock::now() < retry_at) continue;
      Status disk = m.CheckDisk();
      if (!disk.ok()) {
        m.SetState(ConsumerState::kDiskFull, disk.message());
        retry_at = Clock::now() + std::chrono::seconds(1);
        continue;
      }
      if (store_failed) {
        Status resumed = m.store->Resume();
        if (!resumed.ok()) {
          m.SetState(ConsumerState::kStoreError, "state writes still fail: " + resumed.ToString());
          retry_at = Clock::now() + std::chrono::milliseconds(backoff_ms);
          continue;
        }
        LogInfo("state store accepts writes again");
      }
      break;
    }
    backoff_ms = std::min(backoff_ms * 2, m.options.restart_backoff_max_ms);
    if (!m.stop_requested.load()) m.SetState(ConsumerState::kRestarting, "restarting the consumer");
  }
  m.SetState(ConsumerState::kStopped, "");
  return Status::Ok();
}

}  // namespace leadflow::ingest
