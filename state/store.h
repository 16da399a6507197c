// Store: leadflow's durable state, a RocksDB database with one column family
// per kind of record (see Cf). Every change goes through one atomic
// WriteBatch, so a reader never sees half of a batch and a crash loses either
// the whole batch or nothing. Consumer positions are written in the same batch
// as the state they produced.
//
// Batches are either written at once (Write) or staged (Stage): applied to
// an in-memory overlay that every read of the store sees at once, and
// written to RocksDB later, every staged batch since the last checkpoint
// in one atomic write (Checkpoint; a thread of the store's own does it every
// Options::checkpoint_interval_ms). A kill -9 loses the staged batches and
// the positions staged with them together, so the consumer reads them again
// from the checkpoint's positions: nothing lost, nothing counted twice.
// Readers see the overlay over the RocksDB snapshot it was staged on, pinned
// together (state/overlay.h), so never half a batch nor one twice.
//
// Thread safety: a Store may be used from any number of threads at once;
// writes, stages and checkpoints are serialized. A WriteBatch or Snapshot
// object must be used by one thread at a time.
#ifndef LEADFLOW_STATE_STORE_H_
#define LEADFLOW_STATE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>
#include <string_view>
#include <utility>

#include "state/bitmap_cache.h"
#include "state/status.h"

namespace rocksdb {
class WriteBatch;
}  // namespace rocksdb

namespace leadflow::state {

// Column families. Key layouts are owned by views/keys.h.
enum class Cf : int {
  kMeta = 0,     // consumer positions, sequence counters
  kEvents,       // the duplicate set, by shard (views/write/dedup_set.h)
  kLeads,        // org, lead_id -> lead record, then its journal (merged: appended bytes)
  kLeadIds,      // org, lead number -> lead_id
  kStatuses,     // org, status_id -> status record
  kUsers,        // org, user_id -> user record
  kBitmaps,      // org, kind, subject, level, unit -> roaring bitmap of lead numbers (merged deltas)
  kLog,          // org, day, hour -> its effective transitions (record set: time, lead number, index -> from, to)
  kPairs,        // org, from, to -> "" (every transition pair ever seen)
  kActivities,   // no longer written (nothing read it); kept so older data dirs open
  kLeadRows,     // org, lead number -> lead attributes (Leads Not Contacted rows)
  kAttrIndex,    // org, column, UTC day -> sorted (instant, lead number) entries (merged deltas)
  kActivityLog,  // org, day, batch -> the batch's activities of the day (window edges)
  kSmartViews,   // org, view id -> Smart View (views/smart_views.h)
  kCount         // not a family: the number of families
};

class Store;

// The name of a family ("events", "bitmaps", ...), as in metrics.
const char* CfName(Cf cf);

// What Store::Write has written since the store was opened, per family:
// operations (puts, deletes and merges) and their key + value bytes. Read from any
// thread.
struct WriteCounters {
  uint64_t batches = 0;
  uint64_t ops[static_cast<size_t>(Cf::kCount)] = {};
  uint64_t bytes[static_cast<size_t>(Cf::kCount)] = {};
  uint64_t TotalOps() const;
  uint64_t TotalBytes() const;
};

// A set of changes applied atomically by Store::Write.
class WriteBatch {
 public:
  WriteBatch();
  ~WriteBatch();
  WriteBatch(const WriteBatch&) = delete;
  WriteBatch& operator=(const WriteBatch&) = delete;

  void Put(Cf cf, std::string_view key, std::string_view value);
  // The same, taking the strings (no copy).
  void PutOwned(Cf cf, std::string&& key, std::string&& value);
  void Delete(Cf cf, std::string_view key);
  // Deletes every key in [begin, end) of the family (a range tombstone).
  void DeleteRange(Cf cf, std::string_view begin, std::string_view end);
  // A merge operand for key. Three families have a merge operator:
  // kBitmaps (state::EncodeBitmapDelta's operands, state/bitmap_merge.h),
  // kAttrIndex (state/entry_set_merge.h) and kLeads (bytes appended,
  // state/append_merge.h).
  void Merge(Cf cf, std::string_view key, std::string_view operand);
  // Number of Put/Delete/Merge operations recorded.
  size_t Count() const;
  // Approximate size in bytes.
  size_t ByteSize() const;
  void Clear();
  // Exchanges the contents of two batches (cheap: no op is copied).
  void Swap(WriteBatch& other) noexcept { rep_.swap(other.rep_); }

 private:
  friend class Store;

  // Orders the ops as Store::Write inserts them (by family and key, stable);
  // a later Put or Delete undoes it.
  void Sort();

  struct Rep;
  std::unique_ptr<Rep> rep_;
};

// Read access to the store, either at its latest state or at a snapshot.
class Reader {
 public:
  virtual ~Reader() = default;
  // OK and *value set when found; NotFound when absent; IoError otherwise.
  // In the families of merged sets (kBitmaps, kAttrIndex) a set folded to
  // empty is absent, to Get and Scan alike.
  virtual Status Get(Cf cf, std::string_view key, std::string* value) const = 0;
  // Calls fn(key, value) for every key in [begin, end) in order until fn
  // returns false. The views passed to fn are valid only during the call.
  virtual Status Scan(Cf cf, std::string_view begin, std::string_view end,
                      const std::function<bool(std::string_view, std::string_view)>& fn) const = 0;
  // The bitmap of one logical key of Cf::kBitmaps: the union of the chunks
  // (state/bitmap_merge.h) of every key that starts with group, the logical
  // key (chunk keys are group + kBitmapChunkSuffixBytes bytes, and logical
  // keys are prefix-free: views/keys.h). Empty when there are none. The
  // store and its snapshots keep what they read decoded across readers
  // (Options::bitmap_cache_bytes, state/bitmap_cache.h) for as long as none
  // of the group's chunks changes; this default scans and decodes.
  virtual Status GetBitmap(std::string_view group, std::shared_ptr<const Roaring>* out) const;
  // A bitmap computed by compute from the bitmaps of sources (logical keys,
  // as GetBitmap's group) alone, read through this reader: compute must be
  // a pure function of them, named by tag (say "the union of"). The store
  // and its snapshots keep it decoded as GetBitmap keeps its bitmaps, for
  // as long as none of sources changes (BitmapCache::FindDerived); this
  // default computes it.
  virtual Status GetDerivedBitmap(std::string_view tag, const std::vector<std::string>& sources,
                                  const std::function<Status(Roaring*)>& compute,
                                  std::shared_ptr<const Roaring>* out) const;
  // The store's epoch this reader reads at: one more with every Write and
  // Stage since the store was opened (0 before the first), the same
  // through checkpoints; a snapshot's is the epoch it was taken at, so it
  // sees exactly the batches of epochs <= it (views/change_feed.h). 0 for
  // readers that have none.
  virtual uint64_t epoch() const { return 0; }
};

// Reader::GetBitmap's reading, through reader.Scan and without a cache.
Status FoldBitmapChunks(const Reader& reader, std::string_view group, Roaring* out);

class Store : public Reader {
 public:
  struct Options {
    // Size of the shared block cache in bytes. Default: 512 MiB.
    size_t block_cache_bytes = 512u << 20;
    // Bytes all column families' memtables may hold together (RocksDB's
    // WriteBufferManager flushes the largest when they reach it); 0: no
    // bound beyond each family's own. Default: 0 (the service sets it from
    // --memory-budget, ingest/memory_budget.h).
    size_t write_buffer_bytes = 0;
    // How often staged batches are checkpointed (written to RocksDB);
    // 0: Stage writes at once, like Write. Default: 0 (the service sets
    // it, --checkpoint-interval-ms).
    int checkpoint_interval_ms = 0;
    // Staged bytes (estimated) beyond which Stage checkpoints before it
    // returns. Default: 256 MiB.
    size_t max_staged_bytes = 256u << 20;
    // Free bytes the data directory keeps: a checkpoint that would leave
    // less (it counts twice its staged bytes: the log, then a table file)
    // is not written but fails as IoError "disk nearly full: ..." (RocksDB
    // is not asked to write into a full disk, where Debian's build may
    // abort), and is retried by Resume. 0: no check. Default: 0 (the
    // service passes --min-free-disk-mb).
    uint64_t min_free_disk_bytes = 0;
    // A Write of at least this many ops (a catch-up batch) goes in as
    // table files, one per family, ingested in one atomic change
    // (RocksDB IngestExternalFiles) instead of through the log and the
    // memtables: no memtable inserts and no flush of them, and the same
    // atomicity (a kill -9 leaves all of the files or none). Falls back to
    // the usual write for ops a table cannot hold as the batch means them
    // (a key written twice, a range deletion). 0: never. Default: 65,536.
    //
    // A table per family per batch is a sorted run per family per batch:
    // with 2 runs before a compaction (OptimizeLevelStyleCompaction's), at full scale
    // (31.8M events, 77 batches) the small families were rewritten again
    // and again (compactions wrote 17.5 GB against 9.5 GB through the
    // memtables, session 19, when this was off). Store::Open now lets 8
    // level-0 files gather before a compaction (16 sorted runs in the
    // duplicate set's universal family), and tables are ~8% faster than
    // the log at both scales (session 20: `ingest --file` of the full
    // stream 161.8 / 164.1 s against 175.1 / 180.5 s; medium 13.3 / 14.0
    // against 15.1 / 15.0 s with 2 workers).
    size_t table_write_min_ops = 65536;
    // Bytes of whole bitmaps kept decoded for Reader::GetBitmap
    // (state/bitmap_cache.h); 0: none kept. Default: 0 (the service sets
    // it from --memory-budget).
    size_t bitmap_cache_bytes = 0;
  };

  // Opens (creating if missing) the database in dir. On success *out owns it.
  static Status Open(const std::string& dir, const Options& options, std::unique_ptr<Store>* out);
  // Checkpoints what is staged (a failure is logged: those batches are
  // consumed again after the restart).
  ~Store() override;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Applies batch atomically (WAL on, no fsync: a killed process loses
  // nothing; a power loss may lose the last batches but never half of one).
  Status Write(WriteBatch* batch);
  // Applies several batches as one atomic write (e.g. the parts of one
  // commit filled by different threads). Ops on one key keep the order of
  // the batches, then their order within a batch.
  // *epoch (when given): the epoch (Reader::epoch) at which the write
  // became visible.
  Status Write(std::span<WriteBatch* const> batches, uint64_t* epoch = nullptr);

  // Applies the batches as one atomic change that readers see when this
  // returns and that RocksDB gets with the next checkpoint (with every
  // batch staged before it, in order). Without an overlay
  // (checkpoint_interval_ms 0), or for batches with a DeleteRange, it is
  // Write. After a checkpoint failed, its error until Resume succeeds.
  Status Stage(std::span<WriteBatch* const> batches, uint64_t* epoch = nullptr);
  // Whether Stage stages (checkpoint_interval_ms > 0) rather than writes.
  bool stages() const;
  // Writes every staged batch to RocksDB now, as one atomic write (OK when
  // none is staged). On failure the staged batches stay staged and later
  // Stage calls fail with the error until Resume writes them.
  Status Checkpoint();
  // The overlay and its checkpoints.
  struct CheckpointStats {
    uint64_t checkpoints = 0;        // successful, since Open
    uint64_t failures = 0;           // failed attempts, since Open
    uint64_t staged_batches = 0;     // Stage calls that staged, since Open
    uint64_t staged_bytes = 0;       // estimated memory of the staged ops now
    uint64_t staged_keys = 0;        // keys with staged ops now
    double last_seconds = 0;         // the last checkpoint's write
  };
  CheckpointStats checkpoint_stats() const;

  // Puts batch into the form Write writes (its ops sorted by family and
  // key, encoded for RocksDB), so that Write has only to join and write.
  // Write prepares every batch not prepared yet; callers with several
  // batches prepare them on their own threads first. Thread-safe for
  // distinct batches; a later Put or Delete undoes it.
  void Prepare(WriteBatch* batch) const;
  // Whether Write joins prepared batches by appending their encoded records
  // (checked at Open on a sample); if not, it encodes them again into one.
  bool joins_prepared_batches() const;

  Status Get(Cf cf, std::string_view key, std::string* value) const override;
  Status Scan(Cf cf, std::string_view begin, std::string_view end,
              const std::function<bool(std::string_view, std::string_view)>& fn) const override;
  Status GetBitmap(std::string_view group, std::shared_ptr<const Roaring>* out) const override;
  // GetDerivedBitmap: Reader's (computed, not kept: compute reads through
  // the store, whose state may move on meanwhile; read a NewSnapshot).
  // Whether each key is present, in one batched lookup (RocksDB MultiGet:
  // the memtables, filters and index blocks visited once for all the keys);
  // (*found)[i] for keys[i]. Non-OK if any lookup failed.
  Status Contains(Cf cf, std::span<const std::string_view> keys, std::vector<char>* found) const;

  // A consistent read-only view of the state as of now. It stays valid after
  // later writes; the Store must outlive it.
  std::unique_ptr<Reader> NewSnapshot() const;
  // The epoch of the latest state (a snapshot taken now has it or later).
  uint64_t epoch() const override;

  // The bitmap cache's hits, misses and size (Reader::GetBitmap).
  BitmapCache::Stats bitmap_cache_stats() const;

  // Totals of every successful Write since Open.
  WriteCounters write_counters() const;

  // A RocksDB integer property summed over the families, e.g.
  // "rocksdb.estimate-live-data-size".
  uint64_t IntProperty(const std::string& name) const;
  // The same per family (CfName order), for what an operator watches per
  // family ("rocksdb.num-files-at-level0", also those RocksDB gives as
  // text); a family without the property is left out.
  std::vector<std::pair<std::string, uint64_t>> FamilyIntProperty(const std::string& name) const;
  // A database-wide one ("rocksdb.num-running-compactions",
  // "rocksdb.block-cache-usage": the families share the cache), nullopt
  // when RocksDB does not know it.
  std::optional<uint64_t> DbIntProperty(const std::string& name) const;

  // Checkpoints, then flushes memtables to disk files.
  Status Flush();

  // Starts a flush of every family's memtable (so that a restart replays
  // no WAL written before) and a compaction of one family's whole key range,
  // on a thread of the store's own (no-op while one runs), and returns.
  // For Cf::kBitmaps it folds every pending delta into its chunk
  // (state/bitmap_merge.h): after a long catch-up, readers otherwise fold
  // the deltas left in upper levels on every read until background
  // compaction reaches them. Shares the background threads with RocksDB's
  // own compactions; the destructor cancels it.
  void CompactInBackground(Cf cf);
  // Whether a compaction started by CompactInBackground is still running.
  bool compacting() const;

  // After a failed Write or Checkpoint (a full disk puts RocksDB in a
  // read-only error state; reads go on working), tries to leave that state
  // and writes the staged batches: OK when writes are accepted again, else
  // the error that still stands. Call it once the cause is gone (space was
  // freed).
  Status Resume();

  // Internal (state/store.cc): public so that its readers can name it.
  struct Rep;

 private:
  explicit Store(std::unique_ptr<Rep> rep);
  // Appends batch's ops, in Sort's order, to *wb, adding them to *counts
  // when given.
  Status Encode(const WriteBatch& batch, rocksdb::WriteBatch* wb, WriteCounters* counts) const;
  // Puts batch into the form a log write writes (sorted, encoded for
  // RocksDB, with its counts) unless it is already; InvalidArgument past
  // RocksDB's size limits (4 GiB).
  Status EncodeForLog(WriteBatch* batch) const;
  // Writes the batches through the log and memtables as one atomic write,
  // adding their counts to *written. REQUIRES: write_mu held.
  Status WriteLogLocked(std::span<WriteBatch* const> batches, WriteCounters* written);
  std::unique_ptr<Rep> rep_;
};

}  // namespace leadflow::state

#endif  // LEADFLOW_STATE_STORE_H_
