// Shards: the unit that owns state. A shard is one source of events whose
// order is known: shard 0 is the local source (`leadflow ingest --file`),
// shard p + 1 is partition p of the topic the data directory consumes (one
// topic per directory, bound on the first commit: MetaTopic). A shard has
// its own position (keys::ConsumerOffset of its partition; for the local
// shard, the next offset to number), its own arrival numbers (views/records.h
// ArrivalSeq, from its offsets: the same in any process and after any
// restart), its own persisted totals, and the list of the orgs it has applied
// events of. Keys are org-first, so a shard's state is its orgs' key ranges
// plus its meta: it can be listed, dropped (and then rebuilt from its
// partition by consuming it again from the start) or copied on its own.
//
// An org normally lives in one shard (the message key is the org id, so a
// partitioner sends it to one partition). An org whose events arrived on two
// partitions is listed under both; such a shard cannot be dropped alone
// (DropShard refuses), since its orgs' state holds the other shard's events.
//
// Thread safety: functions over a Store; DropShard needs a store nothing else
// writes (run it on a data directory no service has open).
#ifndef LEADFLOW_INGEST_SHARD_H_
#define LEADFLOW_INGEST_SHARD_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "state/status.h"
#include "state/store.h"

namespace leadflow::ingest {

inline constexpr uint32_t kLocalShard = 0;
// The shard of a partition of the bound topic (partition + 1).
uint32_t ShardOfPartition(int32_t partition);
// The partition of a shard; nullopt for the local shard.
std::optional<int32_t> PartitionOfShard(uint32_t shard);

// Ingest totals of one shard; each event counted once, in the batch that
// applied (or dropped, or dead-lettered) it.
struct ShardTotals {
  uint64_t applied = 0;
  uint64_t duplicate = 0;
  uint64_t dead_lettered = 0;
  uint64_t anomalies = 0;
  ShardTotals& operator+=(const ShardTotals& o);
  friend bool operator==(const ShardTotals&, const ShardTotals&) = default;
};

struct ShardInfo {
  uint32_t shard = 0;
  ShardTotals totals;
  std::vector<std::string> orgs;      // sorted
  std::optional<int64_t> next_offset;  // the local shard's next offset to number
  std::optional<int64_t> position;     // a partition's stored next offset (ConsumerOffset)
  // Cluster mode: origin partition -> the highest offset of it whose
  // re-routed event this shard applied (keys::ShardRerouteMark).
  std::map<int32_t, int64_t> reroute_marks;
};

struct ShardsMeta {
  std::string topic;  // empty until a partition's batch committed
  std::map<uint32_t, ShardInfo> shards;
};

// Reads every shard's meta but the positions (which the consumer reads when a
// partition is assigned). A value that cannot be read or is malformed is an
// error (Corruption), never taken as 0 or "none".
Status LoadShards(const state::Reader& store, ShardsMeta* out);
// LoadShards and each partition's stored position (`leadflow shards`).
Status ListShards(const state::Reader& store, ShardsMeta* out);

// The stored next offset of a partition into *out, nullopt when none is
// stored. A read error or a malformed value (Corruption) is returned as
// such, never taken as "none" (the partition would be read from its start).
Status ReadStoredPosition(const state::Reader& store, std::string_view topic, int32_t partition,
                          std::optional<int64_t>* out);

// The meta puts (keys::ShardTotal) that store a shard's totals.
void AppendShardTotals(uint32_t shard, const ShardTotals& totals,
                       std::vector<std::pair<std::string, std::string>>* meta);

// The error for a partition of topic when the directory is bound to bound.
Status TopicMismatch(std::string_view bound, std::string_view topic);

// OK when the data directory consumes topic or no topic yet; else
// InvalidArgument naming both (a directory's arrival numbers and positions
// belong to one topic).
Status CheckShardTopic(const state::Reader& store, std::string_view topic);

// Deletes a shard's state: every key of its orgs in every family but the
// Smart Views (records of the API, not of the topic, which a rebuild could
// not bring back), their lead counters, its meta and its position, in one
// atomic write. A consumer then reads the shard's partition from the start
// and rebuilds it. NotFound for a shard with no meta; InvalidArgument when one
// of its orgs belongs to another shard too.
Status DropShard(state::Store* store, uint32_t shard, ShardInfo* dropped = nullptr);

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_SHARD_H_
