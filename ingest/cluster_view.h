// ClusterView: this instance's part in a cluster of leadflow instances that
// share one events topic and consumer group (`serve --advertise`, issue 13,
// docs/scale-out-plan.md section 2), and its view of the others. Kafka is
// the only coordinator: the view is the fold (detail::ClusterState) of a
// compacted topic of one partition (DefaultClusterTopic) that every
// instance reads from its start and writes to:
//   - `config` once, by the first instance (topic, partition count,
//     partitioner: what makes every instance compute the same home
//     partition for an org); an instance whose own differs stops (exit 2):
//     its orgs would have other homes;
//   - `owner/<p>` when the group assigns it partition p (a claim);
//   - `member/<id>` every heartbeat_ms and when what it owns changes (its
//     address, readiness, owned partitions with their positions), and a
//     tombstone when it stops cleanly.
// It runs on a thread of its own; the HTTP threads read the latest
// immutable snapshot. The view is *complete* once it has read the topic to
// the end it had at start and then one member timeout has passed (a
// member record read from history looks fresh until then); until complete,
// the instance is not ready. Broker faults are ridden out: the thread
// retries (creating the topic, reading, producing) and the view only ages.
//
// Thread safety: Start, Stop from one thread; everything else from any.
#ifndef LEADFLOW_INGEST_CLUSTER_VIEW_H_
#define LEADFLOW_INGEST_CLUSTER_VIEW_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "ingest/detail/placement.h"
#include "ingest/home_partition.h"
#include "ingest/kafka_ingest.h"
#include "state/status.h"
#include "views/smart_views.h"

namespace leadflow::ingest {

struct ClusterViewOptions {
  std::string brokers;                // required
  std::string topic;                  // the events topic
  std::string cluster_topic;          // empty: DefaultClusterTopic(topic, group)
  std::string group;                  // the consumer group (shown in /cluster)
  std::string instance_id;            // required: the static member id
  std::string advertise;              // required: HOST:PORT others reach this instance's HTTP at
  std::string scheme = "http";        // http | https
  std::string version;                // leadflow's version, shown to the others
  Partitioner partitioner = Partitioner::kConsistent;
  int heartbeat_ms = 1000;            // member record period
  int member_timeout_ms = 3000;       // a member with no record for this long is not live
  int standby_replicas = 0;           // --standby-replicas (shown in /cluster; ingest keeps the copies)
  int64_t max_stale_messages = 10000;  // --max-stale-messages: the most a standby answer may lag
  std::vector<std::pair<std::string, std::string>> kafka_properties;  // --kafka-prop (security etc.)
  // What this instance owns now (KafkaIngest::Health); called on the
  // view's thread.
  std::function<IngestHealth()> local;
  // The orgs with events on a partition this instance owns that is not
  // their home (called on the view's thread every few seconds; may be null).
  std::function<std::vector<detail::MemberRecord::Foreign>()> foreign_orgs;
  // Called once, on the view's thread, when the cluster's config and this
  // instance's disagree (the process should stop, exit 2).
  std::function<void(const Status&)> on_conflict;
  // The store whose Smart Views mirror the cluster topic's `view/<id>/<org>`
  // records (null: views are not mirrored; tests of the view alone).
  state::Store* store = nullptr;
};

// `<topic>.leadflow-cluster.<group>`, the group's characters that a topic
// name cannot hold (other than [A-Za-z0-9._-]) as '_': each consumer group
// on a topic is a cluster of its own.
std::string DefaultClusterTopic(const std::string& topic, const std::string& group);

class ClusterView {
 public:
  // Checks the options (InvalidArgument) and builds the clients; does not
  // talk to the broker yet.
  static Status Create(ClusterViewOptions options, std::unique_ptr<ClusterView>* out);
  ~ClusterView();
  ClusterView(const ClusterView&) = delete;
  ClusterView& operator=(const ClusterView&) = delete;

  void Start();
  // Publishes this member's tombstone (best effort, bounded) and joins.
  void Stop();
  // From now on this member's record says draining (at once, not at the
  // next heartbeat) and not ready: the others route its orgs' requests to
  // standby copies when they have them (ingest/detail/routing.h) and place
  // no new copies here. For a clean stop (SIGTERM, --drain-ms).
  void Drain() { draining_.store(true); }
  bool draining() const { return draining_.load(); }

  // The latest view (never null after Create; empty before the first read).
  std::shared_ptr<const detail::ClusterSnapshot> Snapshot() const;
  // Read to the end it had at start, plus one member timeout.
  bool Complete() const { return complete_.load(); }
  // Read to the end it had at start, and this instance's config is the
  // cluster's (ingest starts only then: an instance that would stop on a
  // conflict never joins the group).
  bool Agreed() const { return agreed_.load(); }
  // Why the view is not complete (for /readyz), empty when it is.
  std::string Waiting() const;
  const ClusterViewOptions& options() const { return options_; }
  const std::string& cluster_topic() const { return options_.cluster_topic; }

  // The partitions this instance should keep standby copies of now
  // (detail::StandbysFor, --standby-replicas), none it owns; an outgoing
  // copy is kept until every copy that replaces it has caught up, so a
  // member joining never leaves a partition without a servable copy.
  // Empty until the view is complete.
  std::vector<int32_t> WantedStandbys() const;
  // The home partition of org under the cluster's config (nullopt until
  // the config is known).
  std::optional<int32_t> HomeOf(std::string_view org) const;

  // Smart Views in a cluster (issue 13: they move with their org). Every
  // instance applies every view record of the cluster topic to its store
  // (`view/<id>/<org>` -> the view's JSON, a tombstone for a deletion), so
  // whoever owns or keeps a copy of an org's partition has its views. Once
  // the topic has been read to its end, the store's views that the topic
  // does not hold are deleted (their tombstones may have been compacted
  // away while this instance was down), except the first time a data
  // directory joins a cluster: then they are published (a single instance
  // becoming a cluster keeps its views).
  //
  // PublishSmartView makes one change durable for the whole cluster:
  // produced, acknowledged by the broker, and applied here before it
  // returns (read-your-writes on this instance; the others apply it within
  // their read loop's ~100 ms). view nullptr deletes (org, id).
  // Unavailable when the view is not complete or the broker does not
  // acknowledge within timeout. Any thread.
  Status PublishSmartView(std::string_view org, std::string_view id, const views::SmartView* view,
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

  // GET /cluster's body (docs/scale-out-plan.md section 5).
  std::string Json() const;
  // leadflow_cluster_* metrics.
  void AppendMetrics(std::string* out) const;

 private:
  struct Impl;
  explicit ClusterView(ClusterViewOptions options);
  void Run();
  // On the view's thread: a `view/...` record read (other keys: nothing),
  // and the sync of the store's views once the topic was read to its end.
  void ApplyViewRecord(const std::string& key, std::optional<std::string_view> value);
  void ReconcileViews();

  ClusterViewOptions options_;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> complete_{false};
  std::atomic<bool> agreed_{false};
  std::atomic<int64_t> metadata_lag_{-1};
  std::atomic<int64_t> metadata_offset_{-1};
  std::atomic<int64_t> foreign_orgs_{0};
  std::atomic<bool> draining_{false};
  std::atomic<int64_t> applied_position_{0};  // the next cluster-topic offset to apply
  std::mutex publish_mu_;                     // one PublishSmartView at a time
  mutable std::mutex mu_;  // guards snapshot_, waiting_
  std::shared_ptr<const detail::ClusterSnapshot> snapshot_;
  std::string waiting_ = "reading the cluster topic";
};

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_CLUSTER_VIEW_H_
