// Applier: applies validated events to the materialized views, in batches.
//
// Events are applied to an in-memory batch (lead, status and user records,
// duplicate keys); Commit derives every touched lead's facts, diffs them
// against the facts stored before the batch, and writes the records, the
// bitmap and log changes and the caller's consumer positions in one atomic
// store write. A batch either lands whole or not at all.
//
// Thread safety: one thread at a time (the ingest thread); a handed-off write
// runs on a thread of its own (Commit). Readers use store snapshots and never
// see a half-applied batch.
#ifndef LEADFLOW_VIEWS_WRITE_APPLIER_H_
#define LEADFLOW_VIEWS_WRITE_APPLIER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "state/status.h"
#include "state/store.h"
#include "views/detail/hashed_key.h"
#include "views/detail/worker_pool.h"
#include "views/event.h"
#include "views/keys.h"
#include "views/write/applier_part.h"
#include "views/write/dedup_set.h"
#include "views/write/org_records.h"
#include "views/write/write_hand_off.h"

namespace leadflow::views {

enum class ApplyOutcome { kApplied, kDuplicate };

// The layout version of the state this code reads and writes (2: bitmaps in
// chunks of 2^16 lead numbers; 3: the activity log keyed by day and batch,
// keys::ActivityLogBatch; 4: bitmap chunks changed by merge operands,
// state/bitmap_merge.h; 5: arrival numbers from shard and offset,
// views/records.h ArrivalSeq, and per-shard meta, ingest/shard.h; 6: the
// exact date index as entry sets per day, state/entry_set_merge.h; 7: lead
// records in a binary layout, views/records.cc; 8: the duplicate set as
// generations and open records per shard, views/write/dedup_set.h; 9: lead
// records followed by journals, views/records.h lead_journal; 10: the
// transition log as record sets per org and hour, keys::SplitLogEntry,
// state/record_set_merge.h). A new data directory is stamped with it; a
// directory of another layout is refused (Corruption, saying to rebuild it
// from the topic) instead of being misread.
inline constexpr int kStateFormat = 10;
Status CheckStateFormat(state::Store* store);

class Applier {
 public:
  struct Counters {
    uint64_t applied = 0;
    uint64_t duplicates = 0;
    uint64_t anomalies = 0;  // early status changes, second creations, late updates
  };

  // Blocks and batches of fewer events run on the calling thread (live
  // traffic: waking the workers would cost more than it saves).
  static constexpr size_t kMinParallelEvents = 1024;
  // A block's keys, hashes and duplicate lookups (ApplyBlock's first step)
  // are split into tasks of about this many events.
  static constexpr size_t kKeyTaskEvents = 1024;

  // Bytes of leads kept decoded between batches (see ApplierPart::lead_cache), by
  // the estimate of LeadCache::EstimateBytes. The service sizes it from
  // --memory-budget (ingest/memory_budget.h); this default is for tests and
  // tools.
  static constexpr size_t kDefaultLeadCacheBytes = size_t{64} << 20;

  // store must outlive the Applier, and nothing else may write lead records
  // while it lives (the lead cache assumes it sees every change).
  // lead_cache_bytes is split evenly between the workers; 0 keeps no lead
  // between batches.
  // workers: threads that apply a block's lead events and commit a batch
  // (the caller's thread is one of them); the state is the same for any
  // number.
  explicit Applier(state::Store* store, size_t lead_cache_bytes = kDefaultLeadCacheBytes, size_t workers = 1);
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  // Adds events, in this order, to the pending batch; (*outcomes)[i] says
  // whether events[i] was a duplicate (same org and event_id seen before;
  // then nothing changes). The pending state is the same as after applying
  // them one by one. Non-OK only on a store read failure; the batch must
  // then be discarded with Reset().
  //
  // How (the write path's shape, docs/design.md "Issue 11"): the dedup
  // lookups run in parallel; one serial pass sequences the block (dedup,
  // arrival sequence, status and user records, lead events grouped by the
  // worker that owns their lead); the owners read their new leads in
  // parallel; new leads are numbered in order of first sight; the owners
  // apply their leads' events in parallel.
  Status ApplyBlock(std::span<const Event> events, std::vector<ApplyOutcome>* outcomes);
  // One event: ApplyBlock of a block of one.
  Status Apply(const Event& e, ApplyOutcome* outcome);

  // How Commit returns: once the batch's write has landed (kWait), or once
  // it is handed to the writer thread (kHandOff), so that the next batch is
  // applied while the store inserts this one.
  enum class CommitMode { kWait, kHandOff };

  // Writes the pending batch and meta_puts (state::Cf::kMeta key/values, e.g.
  // consumer positions) atomically, then starts an empty batch. On failure
  // nothing of this batch was written and the batch is discarded.
  //
  // The owners of the leads diff them (views/write/lead_diff.h) and send each
  // bitmap operation to the owner of its chunk; a chunk owner writes one
  // delta per chunk, a merge operand that the store folds into the chunk
  // (state/bitmap_merge.h: no chunk is read back); every worker fills its
  // own part of the write, and the parts are written as one atomic write.
  //
  // With kHandOff, an OK means the write is on its way: it lands before the
  // next Commit, Sync, Reset or the destructor returns, in order, each one
  // whole (a kill -9 leaves the store at some batch's end, with that
  // batch's positions). Until it lands the applier's memory is the
  // authority: the in-flight batch's duplicate keys are checked beside
  // the duplicate set's, its leads stay cached and are not evicted, and
  // status, user and lead counter records are kept across batches. A write
  // that fails poisons the applier: every later call returns its error, and
  // the owner must build a new applier (the store holds every batch before
  // the failed one; the caller consumes the rest again).
  //
  // on_landed (may be empty) is called with the store epoch the write got
  // (state::Reader::epoch) as soon as it is visible, on the thread that
  // wrote it (this one with kWait, the writer's with kHandOff), never for
  // a write that failed.
  Status Commit(const std::vector<std::pair<std::string, std::string>>& meta_puts,
                CommitMode mode = CommitMode::kWait, std::function<void(uint64_t)> on_landed = nullptr);

  // Waits for the write in flight, if any: OK when it landed (or none was
  // in flight), else its error (then the applier is poisoned).
  Status Sync();

  // Discards the pending batch (a write in flight lands first).
  void Reset();

  ~Applier();

  // Tests: called before each write (on the writer thread for a handed-off
  // one), to hold it in flight; a non-OK result fails the write instead (as
  // a full disk would).
  void set_before_write_for_tests(std::function<Status()> fn) { hand_off_.set_before_write_for_tests(std::move(fn)); }
  // Whether a handed-off write has not landed yet (Sync not called).
  bool WriteInFlight() const { return hand_off_.InFlight(); }

  size_t PendingEvents() const { return pending_events_; }
  // The lead cache: its estimated bytes (LeadCache::EstimateBytes) and leads, summed
  // over the parts. Not while a step runs.
  size_t LeadCacheBytes() const;
  size_t LeadCacheLeads() const;
  // Anomalies found in the pending batch, by shard (of the event found
  // anomalous: views/records.h ShardOfArrival).
  std::map<uint32_t, uint64_t> PendingAnomalies() const;
  // Totals since construction, over landed batches.
  const Counters& counters() const { return counters_; }

  // The duplicate set of the landed batches (not while a step runs).
  const DedupSet& dedup() const { return dedup_; }

  // Below how many events a block or batch runs on the calling thread
  // (default kMinParallelEvents; 0: always on the workers, as tests do).
  void set_min_parallel_events(size_t n) { min_parallel_events_ = n; }

  // Runs fn(task) for every task in [0, tasks), each claimed by whichever
  // worker is free, when the work covers at least the minimum above of
  // events, else every task on this thread. fn must be safe to run
  // concurrently for different tasks (the pipeline's decode uses it too).
  void ForEachTask(size_t events, size_t tasks, const std::function<void(size_t)>& fn);

  // The workers, for callers that have parallel work of their own between
  // calls (decoding a block).
  detail::WorkerPool& pool() { return pool_; }

 private:
  using Part = ApplierPart;
  using LeadSlot = ApplierPart::LeadSlot;
  using LeadSlots = ApplierPart::LeadSlots;
  using DedupKeys = ApplierPart::DedupKeys;

  size_t PartOf(std::string_view key) const { return PartOfHash(detail::HashKey(key)); }
  size_t PartOfHash(size_t hash) const { return parts_.size() == 1 ? 0 : hash % parts_.size(); }
  // The in-flight write landed (s OK) or failed (poisons the applier).
  Status Land(Status s);
  // Commit's failure path: waits for the write in flight, forgets the
  // pending batch.
  void Discard();
  // Commit's parallel steps. DiffLeads: the diffs of every part's slots
  // [from, to) (a pure function of a slot, views/write/lead_diff.h), in
  // tasks of kDiffTaskLeads leads claimed by whichever thread is free: it
  // is half of a commit's work, and one part per thread waited for the
  // thread that the write in flight held up (session 36); then each part's
  // DiffSlots and FinishDiffs (views/write/applier_part.h).
  void DiffLeads(size_t from, size_t to);
  static constexpr size_t kDiffTaskLeads = 128;
  static constexpr size_t kDiffRoundLeads = 16384;
  Status ApplyChunkOps(size_t q);
  // Runs fn(index of a part) for every part, on the workers when the work
  // covers at least min_parallel_events_ events, else on this thread; the
  // first error, if any.
  Status ForEachPart(size_t events, const std::function<Status(size_t)>& fn);

  state::Store* store_;
  detail::WorkerPool pool_;
  size_t min_parallel_events_ = kMinParallelEvents;
  std::vector<std::unique_ptr<Part>> parts_;
  Counters counters_;
  Counters pending_counters_;  // applied and duplicates; anomalies are counted per part (Part::anomalies)
  // The largest arrival number the pending batch applied: its activity
  // log keys' suffix (unique per batch: no two batches apply one event).
  uint64_t batch_arrival_ = 0;
  size_t pending_events_ = 0;


  // Transition pairs (keys::Pair) this process has written: the set is tiny
  // (statuses squared per org) and never shrinks, so a pair is written once
  // instead of with every transition.
  std::set<std::string> known_pairs_;
  // Statuses, users and lead counters (views/write/org_records.h).
  OrgRecords org_;

  // The duplicate set of the landed batches (views/write/dedup_set.h),
  // read from the store before the first block.
  DedupSet dedup_;
  bool dedup_loaded_ = false;

  // Whether the commit under way stages its write (state::Store::Stage).
  bool stage_commit_ = false;
  // The counts of the batch in flight, added to counters_ when it lands.
  Counters inflight_counters_;
  size_t inflight_events_ = 0;
  // The write in flight, what lands with it besides the parts' shares, and
  // the poison (views/write/write_hand_off.h). Last: destroyed first, so a
  // write still queued runs while everything it uses is alive.
  WriteHandOff hand_off_;
};

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_WRITE_APPLIER_H_
