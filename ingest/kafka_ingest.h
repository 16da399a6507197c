// KafkaIngest: consumes the events topic in a consumer group and feeds the
// Pipeline in batches; publishes dead letters; tracks readiness, lag and the
// consumer's health; recovers from faults by itself.
//
// Positions live in the store, in the same write batch as the state they
// produced. On every partition assignment the consumer resumes from the
// stored positions (from the beginning when none is stored), so a kill -9 at
// any moment neither loses nor double-applies an event. The group rebalances
// cooperatively (cooperative-sticky, unless a --kafka-prop picks an eager
// strategy): when members join or leave, only the partitions that change
// owner are revoked and assigned; a revoke drops the pending batch and
// rewinds the partitions kept to their stored positions. Several processes
// in one group therefore split the partitions between them: a single
// instance is ready only while it owns every partition, so its reports
// cover every org; in cluster mode (cluster_mode, `serve --advertise`,
// docs/operations.md "Running a cluster") each is ready once the
// partitions it owns have caught up, other instances' orgs are forwarded,
// and standby copies of other instances' partitions may be kept
// (standby_partitions). Dead letters are published (and acknowledged by
// the broker) before the batch that skips them commits.
//
// Faults never stop ingest silently. Run() is a supervisor around consumer
// *sessions*: a session creates a consumer and a dead-letter producer, joins
// the group and consumes until it fails; then the pending batch is
// discarded, the clients are closed, and after a backoff (restart_backoff_*)
// a new session resumes from the stored positions. A session fails on:
//   - a librdkafka fatal error (e.g. "static consumer fenced" after a broker
//     outage longer than the session timeout);
//   - a dead letter the dead-letter topic will not take (missing topic,
//     denied, broker unreachable for message_timeout_ms). Ingest then stays
//     stopped at that message, visibly (state dead_letter_blocked, /readyz
//     and the metrics say why), retrying with backoff; it goes on by itself
//     once the topic takes the letter. Letters the broker acknowledged are
//     not published again by the retries of the same process;
//   - no progress for stall_timeout_ms while messages are waiting;
//   - a failed state write (a full disk): the state is kept as it was before
//     the batch; the session ends in state store_error and the supervisor
//     waits until the store accepts writes again (Store::Resume).
// Before each batch the free space of the data directory is checked; below
// min_free_disk_bytes, ingest pauses (state disk_full) until space returns.
// Broker outages of any length are ridden out by librdkafka's reconnects
// within a session, or by new sessions.
//
// Thread safety: Run() is called by one thread (the ingest thread); Health()
// and the Stats may be read from any thread;
// RequestStop() may be called from any thread.
#ifndef LEADFLOW_INGEST_KAFKA_INGEST_H_
#define LEADFLOW_INGEST_KAFKA_INGEST_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
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
  // Extra librdkafka properties (KEY, VALUE) applied to the consumer and to
  // the dead-letter producer after leadflow's own, e.g. session.timeout.ms
  // or security settings. Default: none.
  std::vector<std::pair<std::string, std::string>> kafka_properties;
  // A batch (one RocksDB write with its offsets) closes when the consumer's
  // local queue runs dry, at batch_max_messages, or when it has been open
  // batch_max_ms (apply time included). Keeping up, the queue runs dry often
  // and batches stay small (fresh events wait little); behind, batches grow
  // to the caps, which amortizes each touched lead's rewrite over more
  // events (measured: 3x the throughput of 1000-event batches; `ingest
  // --file` of the medium stream 1.12x faster at 200000 than at 50000; a
  // full-scale rebuild through Kafka 1.2x faster at 400000 and 4 s than at
  // 100000 and 1 s, docs/design.md session 10). The service sets the
  // message cap from --memory-budget (MemoryBudget::batch_events).
  size_t batch_max_messages = 100000;          // Default: 100000
  int batch_max_ms = 4000;                     // Default: 4000 ms
  int idle_wait_ms = 100;                      // Default: wait up to 100 ms for a first message
  // Largest dead-letter envelope (see ingest/dead_letter.h); the producer's
  // message.max.bytes is raised to fit it. A topic whose max.message.bytes
  // is smaller still gets every letter, without its copy of the original.
  // Default: 1000000 (Kafka's default topic limit is 1048588).
  size_t dlq_max_message_bytes = 1000000;
  // How long the dead-letter producer tries to deliver a letter before the
  // session fails (librdkafka message.timeout.ms). Default: 30000 ms.
  int dlq_message_timeout_ms = 30000;
  // Backoff between sessions: doubles from initial to max after each failed
  // session, back to initial after a session that committed a batch.
  // Default: 500 ms, 30000 ms.
  int restart_backoff_initial_ms = 500;
  int restart_backoff_max_ms = 30000;
  // A session that has consumed nothing for this long while the topic has
  // unconsumed messages is declared stalled and restarted. Default: 120000 ms.
  int stall_timeout_ms = 120000;
  // The data directory, watched for free space. Empty: not watched.
  // Default: empty (main passes --data-dir).
  std::string data_dir;
  // Ingest pauses while the data directory's file system has less free
  // space than this. Default: 64 MiB.
  uint64_t min_free_disk_bytes = 64u << 20;
  // Threads that diff a batch's leads at commit (views::Applier). Default: 1.
  size_t apply_workers = 1;
  // Leads kept decoded between batches, in bytes (views::Applier), and the
  // bytes of fetched messages librdkafka may hold before they are consumed
  // (queued.max.messages.kbytes; a --kafka-prop of it wins). main sizes both
  // from --memory-budget (ingest/memory_budget.h). With standby copies
  // (standby_partitions) the two consumers have half of prefetch_bytes
  // each.
  size_t lead_cache_bytes = views::Applier::kDefaultLeadCacheBytes;
  size_t prefetch_bytes = size_t{64} << 20;
  // Fault injection for tests only: after this many committed batches, the
  // first session's consumer gets a librdkafka fatal error (as after a
  // fencing), so the recovery path runs on demand. main() reads it from
  // LEADFLOW_FAULT_FATAL_AFTER_BATCHES. Default: 0 (never).
  int fault_fatal_after_batches = 0;
  // Tests only: microseconds slept after each message taken from the
  // consumer, so that a rebalance lands while a batch is being collected
  // (tests/integration/group_test.cc). main() reads it from
  // LEADFLOW_FAULT_CONSUME_DELAY_US. Default: 0.
  int fault_consume_delay_us = 0;
  // One of several instances sharing the topic (`serve --advertise`,
  // issue 13): ready while every partition it owns now has caught up with
  // its end since it was assigned, instead of only once it owns every
  // partition; a revoke does not end readiness (the orgs of the partitions
  // kept are still complete). Default: false.
  bool cluster_mode = false;
  // Cluster mode: how orgs' home partitions are computed (ingest/
  // home_partition.h). An event read off its org's home partition is sent
  // on to it (ingest/reroute_publisher.h) instead of applied here, and a
  // re-routed copy is applied at home (ingest/pipeline.h RouteHome).
  // Default: none (a single instance applies every event where it is read
  // and skips re-routed copies).
  std::optional<Partitioner> home_partitioner;
  // Cluster mode with `--standby-replicas`: the partitions this instance
  // should keep warm standby copies of now (a partition it owns is never
  // one). Called on the ingest thread about twice a second; null: none.
  // A standby copy is the partition's shard in this store, applied from a
  // second consumer that is assigned partitions by hand and never joins
  // the group, in the same batches (and atomic writes, with its positions)
  // as the owned ones; when the group then assigns the partition here, the
  // copy is simply consumed on by the group's consumer (a promotion: no
  // copy, no replay). A copy no longer wanted stops being consumed and
  // stays on disk (dormant): taken up again later, it resumes from its
  // position. Standby copies publish no dead letters (their owner does).
  std::function<std::vector<int32_t>()> standby_partitions;
  // Cluster mode: a partition's shard kept here while neither owned nor
  // copied (dormant: revoked, a copy no longer wanted, or found at start)
  // is dropped (ingest/shard.h DropShard, on the ingest thread between
  // batches) once it has been dormant this long in this process, as Kafka
  // Streams' state.cleanup.delay.ms: taken up again before, it resumes
  // from its position; after, it is replayed. 0: never dropped.
  // Default: 600000 ms (10 minutes).
  int64_t dormant_shard_ttl_ms = 600000;
  // Notified of every landed batch's changed orgs (ingest/pipeline.h
  // set_change_feed); may be null. Must outlive the KafkaIngest.
  views::ChangeFeed* change_feed = nullptr;
};

// The librdkafka consumer properties leadflow consumes with (fetching,
// offsets, logging), without group.id and client.id; prefetch_bytes bounds
// the fetched messages not yet consumed (queued.max.messages.kbytes,
// KafkaIngestOptions::prefetch_bytes). The benchmark's raw consumer
// (bench/raw_consume.cc) uses the same, with the default budget's prefetch,
// so that its rate is the ceiling of this very configuration.
std::vector<std::pair<std::string, std::string>> ConsumerProperties(const std::string& brokers, size_t prefetch_bytes);

// What the consumer is doing, for /readyz, the metrics and the logs.
enum class ConsumerState {
  kStarting,            // joining the group, no assignment yet
  kRunning,             // assigned and consuming
  kRestarting,          // between sessions (after a fatal error or a stall)
  kDeadLetterBlocked,   // the dead-letter topic refused a letter; retrying
  kRerouteBlocked,      // cluster mode: the events topic refused a re-routed event; retrying
  kDiskFull,            // paused: the data directory is (nearly) full
  kStoreError,          // a state write failed; waiting for the store
  kStopped,             // RequestStop() or an unrecoverable error
};
const char* ConsumerStateName(ConsumerState s);

struct IngestHealth {
  // True once the consumer has been assigned every partition of the topic
  // and has consumed each up to its end as it stood when assigned (and stays
  // true through restarts and eager rebalances). One leadflow instance owns
  // a whole topic: its state must hold every org it serves, so replicas use
  // consumer groups of their own (a second process in the group takes
  // partitions away, which makes this false again: neither is ready until
  // one owns them all and has caught up on them).
  bool ready = false;
  ConsumerState state = ConsumerState::kStarting;
  // Why the consumer is not running (the last error), else empty.
  std::string reason;
  // Sum over the partitions assigned to this member (over all of the
  // topic's while none is) of (end - next offset to apply), from the stored
  // positions; the last known end while the broker cannot be asked. Never
  // 0 while known messages of those partitions wait.
  int64_t lag_messages = 0;
  // The same per partition, in partition order (empty until first known).
  struct PartitionLag {
    int32_t partition;
    int64_t next;  // the next offset to apply (the stored position, else the partition's start)
    int64_t end;   // the partition's end as last known
    bool assigned = false;  // this member consumes it (else another member of the group, or none yet)
    bool servable = false;  // assigned and caught up with its end since (detail::Assignment::Servable)
    uint64_t assigned_epoch = 0;  // new for every assignment of it, 0 when not assigned
    // Cluster mode: a standby copy of it is kept here (never while
    // assigned); servable then says it has caught up once since it began.
    bool standby = false;
    // How the owned shard was restored when assigned: "standby" (a copy
    // kept here), "dormant" (this store's own earlier state), "replay"
    // (from the partition's start). Empty when not assigned.
    std::string restore;
  };
  std::vector<PartitionLag> partitions;
  std::string topic;
  // The newest Kafka timestamp (create or log-append time, as the topic
  // keeps it) of the messages committed since start, ms since the epoch;
  // -1 before the first.
  int64_t newest_applied_ms = -1;
  uint64_t restarts = 0;             // sessions that ended in a failure
  uint64_t group_commits = 0;        // positions committed to the consumer group (monitoring), requests sent
  uint64_t dead_letter_failures = 0;  // letters the dead-letter topic refused
  size_t dormant_shards = 0;          // cluster mode: partitions' shards kept here, neither owned nor copied
  double seconds_since_progress = 0;  // since the last message consumed or batch committed
};

class KafkaIngest {
 public:
  // store and stats must outlive the object. Fails (InvalidArgument) on a bad
  // librdkafka configuration (the clients are built once to check it).
  static Status Create(const KafkaIngestOptions& options, state::Store* store, Stats* stats,
                       std::unique_ptr<KafkaIngest>* out);
  ~KafkaIngest();
  KafkaIngest(const KafkaIngest&) = delete;
  KafkaIngest& operator=(const KafkaIngest&) = delete;

  // Consumes until RequestStop(), recovering from faults as described above;
  // then closes the consumer. Returns non-OK only on an error no retry can
  // cure (state corruption).
  Status Run();
  void RequestStop();

  // What ingest is doing now (see IngestHealth).
  IngestHealth Health() const;
  // librdkafka's statistics of the consumer as Prometheus metrics
  // (ingest/kafka_stats.h); callable from any thread.
  void AppendKafkaStats(std::string* out) const;
  // Cluster mode: hand-offs of partitions to and from this instance and how
  // long each took to become servable (leadflow_handoffs_total,
  // leadflow_handoff_duration_seconds).
  void AppendHandoffMetrics(std::string* out) const;
  // Messages a second lately applied while catching up (an average over
  // the recent batches closed by a cap, or of 1,000 messages or more), for
  // a 503's Retry-After (ingest/detail/routing.h); 0 until known.
  double CatchUpRate() const;

 private:
  struct Impl;
  explicit KafkaIngest(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> ready_{false};
  std::atomic<int64_t> lag_{0};
  std::atomic<int64_t> newest_applied_ms_{-1};
};

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_KAFKA_INGEST_H_
