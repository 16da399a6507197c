// Pipeline: the one path from raw message bytes to applied state, shared by
// the Kafka consumer and `leadflow ingest --file`. Decodes each message,
// applies valid events to the views' pending batch, collects invalid ones as
// dead letters, and commits the batch together with the source positions.
//
// Thread safety: one thread at a time. The counters in Stats are atomics and
// may be read from any thread.
#ifndef LEADFLOW_INGEST_PIPELINE_H_
#define LEADFLOW_INGEST_PIPELINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/batch_metrics.h"
#include "ingest/home_partition.h"
#include "ingest/shard.h"
#include "state/status.h"
#include "state/store.h"
#include "views/change_feed.h"
#include "views/write/applier.h"

namespace leadflow::ingest {

// Counters exported as metrics: the sums of every shard's totals
// (ingest/shard.h). Updated when a batch commits. The totals are persisted
// per shard with every batch, so they survive restarts and count each event
// exactly once however often the process is killed.
struct Stats {
  std::atomic<uint64_t> events_applied{0};
  std::atomic<uint64_t> events_duplicate{0};
  std::atomic<uint64_t> events_dead_lettered{0};
  std::atomic<uint64_t> anomalies{0};
  std::atomic<uint64_t> batches{0};
  // Cluster mode (Pipeline::RouteHome): events read off their org's home
  // partition and re-routed to it, counted when their batch commits; the
  // re-routed copies a home shard skipped as already applied (each copy
  // of a shard's standby and of a replay is sent again); the distinct
  // orgs this process re-routed events of.
  std::atomic<uint64_t> events_rerouted{0};
  std::atomic<uint64_t> reroute_copies_skipped{0};
  std::atomic<uint64_t> rerouted_orgs{0};
  // The duplicate set (views/write/dedup_set.h) as of the last landed batch:
  // its keys and estimated bytes of memory.
  std::atomic<uint64_t> dedup_set_keys{0};
  std::atomic<uint64_t> dedup_set_bytes{0};
  // The Kafka consumer's batches: time per step and size.
  BatchMetrics batch_metrics;
};

// Where a message was read: a partition of a topic (its shard is
// ShardOfPartition(partition)), or, with partition kLocal, the local source
// (shard kLocalShard: `ingest --file`, whose offsets are line numbers that
// only name dead letters).
struct SourcePosition {
  static constexpr int32_t kLocal = -1;
  std::string topic;
  int32_t partition = 0;
  bool local() const { return partition == kLocal; }
  friend bool operator<(const SourcePosition& a, const SourcePosition& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  }
};

// Cluster mode: an event read on a partition that is not its org's home,
// to be sent on to the home partition before its batch commits (ingest/
// reroute_publisher.h), as a copy carrying where it was read (the header
// kOriginHeader, "<consumer group>|<partition>:<offset>": only the
// cluster of that group reads it; to anyone else, a single instance
// included, the copy is an event like any other, a duplicate delivery of
// the original, as the contract's "headers are ignored on input" wants).
struct Reroute {
  std::string value;               // the original bytes
  std::optional<std::string> key;  // the original key
  int32_t home = 0;                // the partition it is sent to
  SourcePosition source;           // where it was read
  int64_t offset = -1;
};
inline constexpr const char* kOriginHeader = "leadflow-origin";

// Where a re-routed copy was first read (Reroute): parsed from its
// kOriginHeader by the consumer.
struct Origin {
  int32_t partition = 0;
  int64_t offset = 0;
};
// The header's value for a copy of group's cluster; and its inverse, which
// is nullopt unless the value is "<group>|<partition>:<offset>" with this
// group and both numbers in range.
std::string OriginHeader(std::string_view group, const Origin& origin);
std::optional<Origin> ParseOrigin(std::string_view header, std::string_view group);

struct DeadLetter {
  std::string reason;
  std::string value;               // the original bytes
  std::optional<std::string> key;  // the original key
  SourcePosition source;
  int64_t offset = -1;
};

class Pipeline {
 public:
  // store and stats must outlive the Pipeline. Loads the shards' persisted
  // totals (ingest/shard.h) into stats; a total that cannot be read is an
  // error (Corruption for a malformed value), never taken as 0: the next
  // commit would persist it.
  // apply_workers: threads that diff a batch's leads at commit
  // (views::Applier); the state is the same for any number.
  // lead_cache_bytes: leads kept decoded between batches (views::Applier;
  // the service sizes it from --memory-budget, ingest/memory_budget.h).
  static Status Create(state::Store* store, Stats* stats, std::unique_ptr<Pipeline>* out, size_t apply_workers = 1,
                       size_t lead_cache_bytes = views::Applier::kDefaultLeadCacheBytes);
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;
  ~Pipeline();

  // Adds one message at (source, offset) to the batch. Messages are copied
  // and taken in blocks of kBlockMessages: a block is decoded in parallel on
  // the applier's workers, then applied (views::Applier::ApplyBlock).
  // Invalid messages become dead letters. The message's arrival number is
  // ArrivalSeq(its shard, offset) for a partition, and for the local source
  // the local shard's next offset (a counter persisted with the batch).
  // For a partition, Commit stores offset + 1 as its next position.
  // InvalidArgument (nothing added) for a partition of a topic other than
  // the one the state is bound to (ingest/shard.h CheckShardTopic), a
  // partition or offset beyond what arrival numbers hold; otherwise non-OK
  // only when the store fails, and the batch is then discarded.
  //
  // origin: the message is a re-routed copy (Reroute) of the message read
  // at origin. With RouteHome, a copy at its org's home partition is
  // applied with the arrival number of where it was first read
  // (ArrivalSeq(ShardOfPartition(origin.partition), origin.offset)), so
  // ties order as in a single instance, and counted in the home shard; a
  // copy of an origin offset at or below the home shard's mark for that
  // partition (keys::ShardRerouteMark: the highest one applied) is skipped
  // uncounted. Every sender sends its copies in offset order and has them
  // acknowledged before it commits the position past them, so the copies
  // a home shard has applied from a partition are always all of them up to
  // its mark (docs/design.md, "Issue 13": re-routing). Without RouteHome
  // origin is ignored: the copy is an event like any other.
  Status Add(std::string_view value, std::optional<std::string_view> key, const SourcePosition& source,
             int64_t offset, std::optional<Origin> origin = std::nullopt);

  // Each committed batch that applied events is noted in feed (may be null:
  // none) once it is visible, with its store epoch and the orgs whose
  // events it applied (views/change_feed.h). feed must outlive the Pipeline.
  void set_change_feed(views::ChangeFeed* feed) { feed_ = feed; }

  // Cluster mode: every org has a home partition (ingest/home_partition.h)
  // of the topic's partitions. An event read on another partition is not
  // applied: it goes to reroutes() (and is applied by its home shard, from
  // the copy). Call before the first Add.
  void RouteHome(Partitioner partitioner, int32_t partitions);
  // The pending batch's events to re-route, in the order read, as of the
  // last ApplyAdded (as dead_letters()).
  const std::vector<Reroute>& reroutes() const { return reroutes_; }
  // A block's steps (views::Applier::ApplyBlock) end in a wait for every
  // worker: 4,096 messages a block left the second worker idle ~3% more of
  // a two-worker `ingest --file` than 16,384 (session 26: 1.60x against
  // 1.68x the one-worker rate on the medium stream; 65,536 was no better
  // and holds ~100 MB more).
  static constexpr size_t kBlockMessages = 16384;
  static constexpr size_t kMinStagedHandOff = 16384;

  // Decodes and applies the messages added and not yet taken. After it,
  // dead_letters() lists every dead letter of the batch. Non-OK only when
  // the store fails; the batch is then discarded.
  Status ApplyAdded();

  // Dead letters of the pending batch, as of the last ApplyAdded (which
  // Commit also calls first). A caller that publishes them calls ApplyAdded,
  // publishes, then commits.
  const std::vector<DeadLetter>& dead_letters() const { return dead_letters_; }

  // Messages added since the last commit.
  size_t pending() const { return pending_; }

  // Every shard the store holds state of (ingest/shard.h LoadShards's, as
  // of Create, and those the commits since added), without reading it.
  std::vector<uint32_t> shards() const;

  // Atomically writes the pending state and, for every source seen, the next
  // offset to read. Then starts an empty batch. Applies the added messages
  // first (ApplyAdded); any dead letters this finds are counted as
  // dead-lettered, so a caller that publishes them must call ApplyAdded first.
  //
  // A batch of views::Applier::kMinParallelEvents messages or more (catch-up)
  // is handed to a writer thread (views::Applier::CommitMode::kHandOff): OK
  // then means it lands, whole, before the next Commit, Sync or Reset
  // returns, while the next batch is read and applied. A smaller batch (live
  // traffic) has landed when Commit returns. When the store stages
  // (state::Store::stages), batches below kMinStagedHandOff are staged and
  // visible when Commit returns: a live backlog after a hiccup (a few
  // thousand events) is not made to wait for a checkpoint and a write of
  // its own. The stats count a batch when it
  // is handed off. A handed-off write that fails makes every later call fail:
  // the owner builds a new Pipeline.
  Status Commit();
  // Waits until every committed batch has landed (its error, if one failed).
  // Call it before reading the store for what the last Commit wrote.
  Status Sync() { return applier_.Sync(); }
  // Discards the pending batch (a committed batch in flight lands first).
  void Reset();

  // The stored next offset of a source into *out, nullopt when none is
  // stored (as of the last landed batch: Sync first for the newest). Reads
  // the store; a read error or a malformed value (Corruption)
  // is returned as such, never taken as "none" (the caller would read the
  // partition from its start and count its events again).
  Status StoredPosition(const SourcePosition& source, std::optional<int64_t>* out) const;

 private:
  Pipeline(state::Store* store, Stats* stats, size_t apply_workers, size_t lead_cache_bytes);
  void ClearPending();  // the pipeline's own pending state (not the applier's)
  // Notes that the pending batch applied an event of org in shard.
  void NoteShardOrg(uint32_t shard, std::string_view org);

  state::Store* store_;
  Stats* stats_;
  views::Applier applier_;
  // A block of added messages: their bytes in arena, then their decode.
  struct Added {
    size_t value_begin, value_size;
    size_t key_begin, key_size;
    bool has_key;
    size_t source;  // index in sources_
    int64_t offset;
    uint64_t arrival;  // views::ArrivalSeq
    std::optional<Origin> origin;  // a re-routed copy's
  };
  struct Block {
    std::string arena;
    std::vector<Added> added;
    std::vector<views::Event> events;  // added[i]'s decode
    std::vector<Status> decoded;       // OK, or why added[i] is a dead letter
    std::string_view value(const Added& a) const { return std::string_view(arena).substr(a.value_begin, a.value_size); }
    std::optional<std::string_view> key(const Added& a) const {
      if (!a.has_key) return std::nullopt;
      return std::string_view(arena).substr(a.key_begin, a.key_size);
    }
    std::optional<std::string> KeyCopy(const Added& a) const {
      std::optional<std::string_view> k = key(a);
      return k ? std::optional<std::string>(*k) : std::nullopt;
    }
    void Clear() {  // keeps the capacity
      arena.clear();
      added.clear();
    }
    // Makes room for the decode; returns its parts of kDecodePartMessages.
    size_t StartDecode();
    // Decodes added[i] for i in [begin, end).
    void Decode(size_t begin, size_t end);
  };
  // A full block is decoded in the background (WorkerPool::StartBackground)
  // while the one before it is applied, so the workers decode during the
  // applier's serial steps and while this thread reads the next block:
  // adding_ fills, decoding_ decodes (when decoding_started_), ready_ is
  // applied. Blocks are applied in the order they were added.
  Block adding_, decoding_, ready_;
  bool decoding_started_ = false;
  std::function<void(size_t, size_t)> decode_fn_;  // the background loop over decoding_
  // A background part should end within ~100 us (a worker busy with one
  // holds up the next foreground step by what is left of it): 256 messages
  // took ~400 us, and the second worker joined a step ~300 us late on
  // average (session 36).
  static constexpr size_t kDecodePartMessages = 64;
  // Block full: starts its decode in the background and applies the block
  // before it.
  Status TakeFullBlock();
  // Applies block b, decoded: dead letters, then views::Applier::ApplyBlock.
  Status ApplyDecoded(Block* b);
  // With RouteHome: whether the valid event e read as a (at source) is
  // applied, after it was readied for it (a copy's arrival and shard), or
  // else re-routed or skipped.
  bool RouteEvent(const Block& b, const Added& a, const SourcePosition& source, views::Event* e);
  // Waits for the background decode, if one runs, and moves its block to
  // ready_.
  void FinishDecoding();
  // Waits for the background decode and applies its block.
  Status ApplyDecoding();
  // Waits for the background decode and drops it (a reset).
  void DropDecoding();
  std::vector<SourcePosition> sources_;
  std::vector<DeadLetter> dead_letters_;
  std::vector<Reroute> reroutes_;
  views::ChangeFeed* feed_ = nullptr;
  std::set<std::string, std::less<>> batch_orgs_;  // orgs the pending batch applied events of (with a feed)
  std::optional<std::pair<Partitioner, int32_t>> home_;  // RouteHome's
  std::set<std::string, std::less<>> rerouted_orgs_;     // warned of once
  // Home shard -> origin partition -> mark (keys::ShardRerouteMark): as
  // landed, and the pending batch's; Mark: the pending batch's, else the
  // landed one, else -1.
  std::map<uint32_t, std::map<int32_t, int64_t>> marks_, pending_marks_;
  int64_t Mark(uint32_t shard, int32_t origin) const;
  uint64_t pending_skipped_ = 0;
  std::map<SourcePosition, int64_t> next_offsets_;
  size_t pending_ = 0;

  // Shards (ingest/shard.h): the bound topic, each shard's landed totals and
  // orgs, and the pending batch's share of them.
  std::string topic_;          // empty until bound
  bool binds_topic_ = false;   // the pending batch binds topic_
  std::map<uint32_t, ShardTotals> totals_;
  std::map<uint32_t, std::set<std::string, std::less<>>> orgs_;
  std::map<uint32_t, ShardTotals> pending_totals_;
  std::set<std::pair<uint32_t, std::string>> pending_orgs_;
  std::pair<uint32_t, std::string> last_org_{UINT32_MAX, ""};  // the last one noted
  int64_t local_next_ = 0;      // the local shard's next offset, as landed
  int64_t local_pending_ = 0;   // local messages added since
};

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_PIPELINE_H_
