// Assignment: what one consumer session holds of the topic, as bookkeeping
// only. For each assigned partition, the next offset to read; until the
// service is ready, the end (high watermark when assigned) it must reach
// first. The rebalance callback fills and empties it, the consume loop
// advances it, and readiness and lag read it; none of it talks to Kafka or
// the store, so its rules are tested on their own (tests/ingest/assignment_test.cc).
//
// Thread safety: the ingest thread's (librdkafka runs the rebalance
// callback inside that thread's consume calls).
#ifndef LEADFLOW_INGEST_DETAIL_ASSIGNMENT_H_
#define LEADFLOW_INGEST_DETAIL_ASSIGNMENT_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace leadflow::ingest::detail {

class Assignment {
 public:
  // partition is read from next on. target: the end it must reach before
  // the service is ready, -1 while not known (never guessed: a failed
  // query must not make an unconsumed partition look caught up); nullopt
  // when readiness is not tracked any more (the service is ready).
  void Assign(int32_t partition, int64_t next, std::optional<int64_t> target);
  // The partition is no longer this session's (its pending batch is dropped
  // by the caller and read again by its next owner).
  void Revoke(int32_t partition);
  // partition stays assigned but is read again from next (a cooperative
  // revoke of other partitions dropped the pending batch, which held some
  // of its messages); its readiness target is kept. Nothing if not assigned.
  void Rewind(int32_t partition, int64_t next);
  // The group gave this session its (possibly empty) assignment: a member
  // of a cluster that owns no partition has still joined.
  void MarkAssigned() { assigned_once_ = true; }
  // A new session: nothing assigned, nothing ever assigned.
  void Reset();

  // Whether a message at offset of partition is to be applied: the
  // partition is assigned and the offset not consumed already (a stale
  // message of a revoked partition, or one read again, is not).
  bool Wants(int32_t partition, int64_t offset) const;
  // offset of partition was applied: the next to read is offset + 1.
  void Consumed(int32_t partition, int64_t offset);

  bool empty() const { return next_.empty(); }
  size_t size() const { return next_.size(); }
  bool assigned_once() const { return assigned_once_; }
  // The assigned partitions, in order.
  std::vector<int32_t> partitions() const;
  // The next offset to read of partition; nullopt when not assigned.
  std::optional<int64_t> next(int32_t partition) const;

  // Partitions whose readiness target is not known yet (-1).
  std::vector<int32_t> UnknownTargets() const;
  // The target of partition learned late: its end high, and its start low
  // (a position below the start, e.g. a stored position of records since
  // deleted by retention, moves up to it: those records are gone).
  void SetTarget(int32_t partition, int64_t high, int64_t low);
  // Whether every one of topic_partitions partitions is assigned (a dead
  // member may still hold some after a crash) and has reached its target.
  // False while any target is unknown.
  bool CaughtUp(int topic_partitions) const;
  // Whether partition is assigned and has reached its readiness target
  // (or has none): its shard's state is complete as of when it was
  // assigned (cluster mode serves an org only from such a shard).
  bool Servable(int32_t partition) const;
  // Whether a partition was ever assigned in this session and every one
  // assigned now is servable (true with none assigned: an instance of a
  // cluster may own nothing and still serve, by forwarding).
  bool AllServable() const;
  // Counts the Assign calls of this object's life: partition's value when
  // it was last assigned, 0 when not assigned. A partition revoked and
  // assigned again gets a new one, so an owner claim follows every
  // assignment (ingest/cluster_view.h).
  uint64_t assigned_epoch(int32_t partition) const;

 private:
  std::map<int32_t, int64_t> next_;     // assigned partition -> next offset to read
  std::map<int32_t, int64_t> targets_;  // partition -> end to reach; -1: unknown
  std::map<int32_t, uint64_t> epochs_;  // assigned partition -> assigned_epoch
  uint64_t assigns_ = 0;
  bool assigned_once_ = false;
};

}  // namespace leadflow::ingest::detail

#endif  // LEADFLOW_INGEST_DETAIL_ASSIGNMENT_H_
