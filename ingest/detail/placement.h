// Placement: the pure part of a cluster's shared view (docs/scale-out-plan.md
// section 2). Every leadflow instance of a cluster reads the same compacted
// topic (`<topic>.leadflow-cluster`, one partition, so one order for all)
// and folds its records into a ClusterState; none of this talks to Kafka
// (ingest/cluster_view.h does), so its rules are tested on their own
// (tests/ingest/placement_test.cc).
//
// Records (UTF-8 keys, JSON values):
//   config      {"v":1,"topic","partitions","partitioner"}: written once, by
//               the first instance; every other must agree with it (a
//               different partition count or partitioner moves every org's
//               home partition: the state must be rebuilt).
//   owner/<p>   {"instance","advertise","claimed_ms","restore"}: a claim,
//               written by an instance when the group assigns it partition p.
//   member/<id> {"v":1,"instance","advertise","scheme","version",
//               "started_ms","seq","ready","draining",
//               "owned":[{"p","next","end","servable"}],"standby":[],
//               "foreign":[{"org","p"}]}:
//               written by every instance each heartbeat and on every
//               change; a tombstone (null value) on a clean stop.
//
// Liveness is judged on the *reader's* steady clock (when it saw a member's
// last record), so instances' clocks never need to agree. The owner of p is
// the instance of the latest `owner/<p>` claim if that instance is live and
// its latest member record lists p as owned: a process that lost p but
// still heartbeats (a zombie) never wins, because only claims write
// `owner/<p>` and a later claim is later in the log; a dead owner (no
// record within the timeout) leaves p without an owner until the group
// gives p to someone else, whose claim follows.
//
// Thread safety: none; ClusterView owns one ClusterState on its thread and
// publishes immutable ClusterSnapshots.
#ifndef LEADFLOW_INGEST_DETAIL_PLACEMENT_H_
#define LEADFLOW_INGEST_DETAIL_PLACEMENT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace leadflow::ingest::detail {

struct ClusterConfig {
  std::string topic;
  int32_t partitions = 0;
  std::string partitioner;  // ingest/home_partition.h PartitionerName
  bool operator==(const ClusterConfig&) const = default;
};

struct OwnerClaim {
  std::string instance;
  std::string advertise;  // HOST:PORT the instance serves HTTP on
  int64_t claimed_ms = 0;  // the claimant's wall clock, for people only
  std::string restore = "replay";  // how the shard is restored: standby | dormant | replay
};

struct MemberRecord {
  struct Shard {
    int32_t partition = 0;
    int64_t next = 0;  // the next offset to apply
    int64_t end = 0;   // the partition's end as last known
    bool servable = false;  // caught up since the role began
  };
  std::string instance;
  std::string advertise;
  std::string scheme = "http";
  std::string version;
  int64_t started_ms = 0;
  int64_t seq = 0;  // counts the instance's records since it started
  bool ready = false;
  bool draining = false;
  std::vector<Shard> owned;    // in partition order
  std::vector<Shard> standby;  // in partition order (issue 13 slice 5)
  // Orgs with events on an owned partition that is not their home (a
  // producer that keys or partitions them otherwise): in a cluster their
  // reports would be split between shards, so every instance refuses them
  // (503) until re-routing exists (docs/scale-out-plan.md slice 4).
  struct Foreign {
    std::string org;
    int32_t partition = 0;
    bool operator<(const Foreign& o) const { return std::tie(org, partition) < std::tie(o.org, o.partition); }
    bool operator==(const Foreign&) const = default;
  };
  std::vector<Foreign> foreign;  // sorted
};

// Keys and codecs. Decode returns false, with *error saying why, on a value
// that is not the record's JSON (the record is then ignored and counted).
std::string OwnerKey(int32_t partition);
std::string MemberKey(std::string_view instance);
inline constexpr std::string_view kConfigKey = "config";

std::string EncodeConfig(const ClusterConfig& c);
std::string EncodeOwner(const OwnerClaim& c);
std::string EncodeMember(const MemberRecord& m);
bool DecodeConfig(std::string_view value, ClusterConfig* out, std::string* error);
bool DecodeOwner(std::string_view value, OwnerClaim* out, std::string* error);
bool DecodeMember(std::string_view value, MemberRecord* out, std::string* error);

// The resolved view at one moment, for /cluster, the metrics and routing.
struct ClusterSnapshot {
  struct Member {
    MemberRecord record;
    bool live = false;
    int64_t last_seen_ago_ms = 0;  // on the reader's clock
  };
  struct Partition {
    int32_t partition = 0;
    std::optional<OwnerClaim> claim;  // the latest claim, whoever made it
    // The resolved owner (claim's instance, live, listing the partition),
    // else nullopt: no owner now (a hand-off, a dead owner).
    std::optional<std::string> owner;
    bool servable = false;  // the owner says the shard is caught up
    int64_t lag = 0;        // the owner's end - next
    // Live members that keep a standby copy of the partition's shard
    // (--standby-replicas), by instance id, as their records say.
    struct Copy {
      std::string instance;
      bool servable = false;  // caught up once since the copy began
      int64_t lag = 0;        // its end - next
    };
    std::vector<Copy> standbys;
  };
  std::optional<ClusterConfig> config;
  std::vector<Member> members;       // by instance id
  std::vector<Partition> partitions;  // 0 .. config.partitions - 1 (empty without a config)
  // Every org some member (live or not) reports on a partition other than
  // its home, with those partitions.
  std::map<std::string, std::vector<int32_t>, std::less<>> split_orgs;
  uint64_t records = 0;              // records read
  uint64_t bad_records = 0;          // records ignored (not decodable)

  const Member* FindMember(std::string_view instance) const;
  size_t LiveMembers() const;
};

// Rendezvous (highest random weight) rank of instance for partition: the
// same on every member, independent of who else is in the cluster.
uint64_t RendezvousRank(std::string_view instance, int32_t partition);

// The members that should keep standby copies of partition
// (`--standby-replicas n`): the n live, not draining members, other than
// the instance of the partition's latest claim (its owner, or a dead one
// whose partitions the group has not moved yet), ranked highest by
// RendezvousRank; fewer when fewer are live. Every member computes the same
// from the same snapshot, and a member joining or leaving moves only the
// copies it ranks into or out of.
std::vector<std::string> StandbysFor(const ClusterSnapshot& snap, int32_t partition, int n);

class ClusterState {
 public:
  // Folds one record read from the cluster topic at seen_ms (the reader's
  // steady clock); value nullopt is a tombstone. Unknown keys are ignored,
  // bad values counted.
  void Apply(std::string_view key, std::optional<std::string_view> value, int64_t seen_ms);

  const std::optional<ClusterConfig>& config() const { return config_; }
  // The instance that owns partition at now_ms, as the header says.
  std::optional<std::string> OwnerOf(int32_t partition, int64_t now_ms, int64_t member_timeout_ms) const;
  ClusterSnapshot Snapshot(int64_t now_ms, int64_t member_timeout_ms) const;

 private:
  struct Seen {
    MemberRecord record;
    int64_t seen_ms = 0;
  };
  bool Live(const Seen& m, int64_t now_ms, int64_t timeout_ms) const { return now_ms - m.seen_ms <= timeout_ms; }
  const MemberRecord::Shard* OwnedShard(const std::string& instance, int32_t partition) const;

  std::optional<ClusterConfig> config_;
  std::map<int32_t, OwnerClaim> claims_;
  std::map<std::string, Seen, std::less<>> members_;
  uint64_t records_ = 0;
  uint64_t bad_records_ = 0;
};

}  // namespace leadflow::ingest::detail

#endif  // LEADFLOW_INGEST_DETAIL_PLACEMENT_H_
