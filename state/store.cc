#include "state/store.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/sst_file_manager.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include "state/append_merge.h"
#include "state/bitmap_merge.h"
#include "state/disk.h"
#include "state/entry_set_merge.h"
#include "state/record_set_merge.h"
#include "state/log.h"
#include "state/overlay.h"

#include <vector>

namespace leadflow::state {
namespace {

// RocksDB counts comparisons and the like in a thread-local perf context
// by default (PerfLevel::kEnableCount); nothing here reads it, and on the
// write path the counting showed as ~2% of a catch-up's samples. Off for
// each thread that calls in, once.
void NoPerfCounters() {
  thread_local bool off = false;
  if (!off) {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    off = true;
  }
}

const char* const kCfNames[] = {"default", "events", "leads", "lead_ids", "statuses",
                                "users",   "bitmaps", "log",  "pairs", "activities",
                                "lead_rows", "attr_index", "activity_log", "smart_views"};
static_assert(sizeof(kCfNames) / sizeof(kCfNames[0]) == static_cast<size_t>(Cf::kCount));

// The one place where rocksdb::Status becomes a leadflow Status.
Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::Ok();
  if (s.IsNotFound()) return Status::NotFound(s.ToString());
  if (s.IsCorruption()) return Status::Corruption(s.ToString());
  if (s.IsInvalidArgument()) return Status::InvalidArgument(s.ToString());
  return Status::IoError(s.ToString());
}

rocksdb::Slice ToSlice(std::string_view v) { return rocksdb::Slice(v.data(), v.size()); }

// A RocksDB batch is a 12-byte header (sequence: fixed64, count: fixed32,
// little-endian) and its records; batches are joined by appending the
// records of the others to the first and adding up the counts. RocksDB does
// not promise this layout in its headers, so Store::Open checks it on a
// sample (CanJoinBatches) and Store::Write joins only when it holds.
constexpr size_t kBatchHeader = 12;

constexpr size_t kMaxSuccessiveBitmapMerges = 16;

// The checkpoint thread's nice value (see Store::Open).
constexpr int kCheckpointerNice = 10;

std::string JoinBatches(const std::vector<const rocksdb::WriteBatch*>& batches) {
  size_t size = kBatchHeader;
  uint32_t count = 0;
  for (const auto* b : batches) {
    size += b->GetDataSize() - kBatchHeader;
    count += b->Count();
  }
  std::string rep;
  rep.reserve(size);
  rep.append(batches[0]->Data());
  for (size_t i = 1; i < batches.size(); ++i) rep.append(batches[i]->Data(), kBatchHeader, std::string::npos);
  for (int i = 0; i < 4; ++i) rep[8 + i] = static_cast<char>((count >> (8 * i)) & 0xFF);
  return rep;
}

bool CanJoinBatches(const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
  struct Collect : rocksdb::WriteBatch::Handler {
    std::vector<std::string> seen;
    rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
      seen.push_back("P" + std::to_string(cf) + k.ToString() + "=" + v.ToString());
      return rocksdb::Status::OK();
    }
    rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice& k) override {
      seen.push_back("D" + std::to_string(cf) + k.ToString());
      return rocksdb::Status::OK();
    }
    rocksdb::Status MergeCF(uint32_t cf, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
      seen.push_back("M" + std::to_string(cf) + k.ToString() + "=" + v.ToString());
      return rocksdb::Status::OK();
    }
  };
  rocksdb::WriteBatch a, b;
  if (!a.Put(handles[1], "k1", "v1").ok() || !a.Delete(handles[2], "k2").ok() ||
      !b.Put(handles[handles.size() - 1], "k3", std::string(300, 'x')).ok() || !b.Put(handles[1], "k1", "v2").ok() ||
      !b.Merge(handles[2], "k4", "m").ok()) {
    return false;
  }
  rocksdb::WriteBatch joined(JoinBatches({&a, &b}));
  Collect c;
  if (joined.Count() != 5 || !joined.Iterate(&c).ok()) return false;
  const std::string last = std::to_string(handles[handles.size() - 1]->GetID());
  const std::vector<std::string> want = {"P" + std::to_string(handles[1]->GetID()) + "k1=v1",
                                         "D" + std::to_string(handles[2]->GetID()) + "k2",
                                         "P" + last + "k3=" + std::string(300, 'x'),
                                         "P" + std::to_string(handles[1]->GetID()) + "k1=v2",
                                         "M" + std::to_string(handles[2]->GetID()) + "k4=m"};
  return c.seen == want;
}

// The families of sets changed by merge operands (bitmap chunks, date entry
// sets): a set folded to empty is stored as an empty value, which readers
// see as absent, so a set emptied by deltas reads as one never written.
bool EmptyIsAbsent(Cf cf) { return cf == Cf::kBitmaps || cf == Cf::kAttrIndex; }

Status GetImpl(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& handles, const rocksdb::Snapshot* snap,
               Cf cf, std::string_view key, std::string* value) {
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  NoPerfCounters();
  Status s = FromRocks(db->Get(ro, handles[static_cast<size_t>(cf)], ToSlice(key), value));
  if (s.ok() && EmptyIsAbsent(cf) && value->empty()) return Status::NotFound("an emptied set");
  return s;
}

Status ScanImpl(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& handles, const rocksdb::Snapshot* snap,
                Cf cf, std::string_view begin, std::string_view end,
                const std::function<bool(std::string_view, std::string_view)>& fn) {
  const bool skip_empty = EmptyIsAbsent(cf);
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  rocksdb::Slice upper = ToSlice(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, handles[static_cast<size_t>(cf)]));
  for (it->Seek(ToSlice(begin)); it->Valid(); it->Next()) {
    if (skip_empty && it->value().empty()) continue;
    if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
  }
  return FromRocks(it->status());
}

}  // namespace

struct WriteBatch::Rep {
  // Operations are buffered with their family until the batch is written,
  // so that a WriteBatch needs no Store to be filled.
  struct Op {
    Cf cf;
    enum Kind : uint8_t { kPut, kDelete, kMerge, kDeleteRange } kind;  // kDeleteRange: value is the end
    std::string key;
    std::string value;
  };
  std::vector<Op> ops;
  size_t bytes = 0;
  // ops' indexes in (family, key) order, stable; valid while sorted.
  std::vector<uint32_t> order;
  bool sorted = false;
  // The ops in that order as a RocksDB batch (Store::Prepare), with their
  // counts; null until prepared, reset by any change.
  std::unique_ptr<rocksdb::WriteBatch> prepared;
  WriteCounters counts;
  void Changed() {
    sorted = false;
    prepared.reset();
  }
};

WriteBatch::WriteBatch() : rep_(std::make_unique<Rep>()) {}
WriteBatch::~WriteBatch() = default;

void WriteBatch::Put(Cf cf, std::string_view key, std::string_view value) {
  rep_->bytes += key.size() + value.size();
  rep_->Changed();
  rep_->ops.push_back({cf, Rep::Op::kPut, std::string(key), std::string(value)});
}
void WriteBatch::PutOwned(Cf cf, std::string&& key, std::string&& value) {
  rep_->bytes += key.size() + value.size();
  rep_->Changed();
  rep_->ops.push_back({cf, Rep::Op::kPut, std::move(key), std::move(value)});
}
void WriteBatch::Merge(Cf cf, std::string_view key, std::string_view operand) {
  rep_->bytes += key.size() + operand.size();
  rep_->Changed();
  rep_->ops.push_back({cf, Rep::Op::kMerge, std::string(key), std::string(operand)});
}
void WriteBatch::Delete(Cf cf, std::string_view key) {
  rep_->bytes += key.size();
  rep_->Changed();
  rep_->ops.push_back({cf, Rep::Op::kDelete, std::string(key), {}});
}
void WriteBatch::DeleteRange(Cf cf, std::string_view begin, std::string_view end) {
  rep_->bytes += begin.size() + end.size();
  rep_->Changed();
  rep_->ops.push_back({cf, Rep::Op::kDeleteRange, std::string(begin), std::string(end)});
}
size_t WriteBatch::Count() const { return rep_->ops.size(); }
size_t WriteBatch::ByteSize() const { return rep_->bytes; }
void WriteBatch::Clear() {
  rep_->ops.clear();
  rep_->bytes = 0;
  rep_->order.clear();
  rep_->Changed();
}
void WriteBatch::Sort() {
  if (rep_->sorted) return;
  const auto& ops = rep_->ops;
  rep_->order.resize(ops.size());
  for (uint32_t i = 0; i < ops.size(); ++i) rep_->order[i] = i;
  std::stable_sort(rep_->order.begin(), rep_->order.end(), [&ops](uint32_t a, uint32_t b) {
    if (ops[a].cf != ops[b].cf) return ops[a].cf < ops[b].cf;
    return ops[a].key < ops[b].key;
  });
  rep_->sorted = true;
}

const char* CfName(Cf cf) {
  const size_t i = static_cast<size_t>(cf);
  return i < static_cast<size_t>(Cf::kCount) ? kCfNames[i] : "unknown";
}

uint64_t WriteCounters::TotalOps() const {
  uint64_t n = 0;
  for (uint64_t v : ops) n += v;
  return n;
}

uint64_t WriteCounters::TotalBytes() const {
  uint64_t n = 0;
  for (uint64_t v : bytes) n += v;
  return n;
}

// What a reader reads: the RocksDB snapshot the overlay's tables were
// staged on, the table being checkpointed (frozen) and the one taking
// stages (active), and the last stage's version. Immutable once published;
// readers hold it for as long as they read (a Snapshot for its life).
struct StagedView {
  std::shared_ptr<const rocksdb::Snapshot> base;
  std::shared_ptr<detail::OverlayTable> frozen;  // null: none
  std::shared_ptr<detail::OverlayTable> active;  // null: no overlay
  uint64_t version = 0;
  // The state's epoch (state/bitmap_cache.h): one more with every Write and
  // Stage, the same through checkpoints (they change no value).
  uint64_t epoch = 0;

  // The key's staged ops as this view reads them: the frozen table's, then
  // the active one's (from the last Put or Delete). Empty: not staged.
  void Find(Cf cf, std::string_view key, detail::OverlayOps* ops) const {
    if (frozen) frozen->Find(cf, key, version, ops);
    if (active) active->Find(cf, key, version, ops);
  }
};

struct Store::Rep {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  // Each family's merge operator (null: none), for resolving staged ops.
  std::vector<std::shared_ptr<rocksdb::MergeOperator>> merges;
  Options options;
  std::string dir;
  // Each family's options, for the table files of WriteTables.
  std::vector<rocksdb::Options> table_options;
  uint64_t next_table_write = 0;  // under write_mu: names WriteTables' files
  // Write counters (relaxed atomics: statistics, read while written).
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> ops[static_cast<size_t>(Cf::kCount)] = {};
  std::atomic<uint64_t> bytes[static_cast<size_t>(Cf::kCount)] = {};
  // Whether prepared batches can be joined by appending their records
  // (checked once at Open, see JoinBatches).
  bool can_join = false;
  // Store::CompactInBackground's thread and whether it is running.
  std::thread compactor;
  std::atomic<bool> compacting{false};

  // The overlay. Lock order: write_mu, then stage_mu, then view_mu.
  std::mutex write_mu;  // RocksDB writes: Write, checkpoints
  std::mutex stage_mu;  // stages, and the changes of the view's tables
  mutable std::mutex view_mu;
  std::shared_ptr<const StagedView> view;  // under view_mu
  // Every view published and maybe still held by a reader, oldest first
  // (under view_mu): Stage drops ops that only older versions read.
  mutable std::deque<std::weak_ptr<const StagedView>> published;
  uint64_t version = 0;              // under stage_mu
  uint64_t epoch = 0;                // under stage_mu: the last epoch published
  std::unique_ptr<BitmapCache> bitmap_cache;
  Status failed;                     // under stage_mu: the failed checkpoint's error
  // The checkpoint thread.
  std::thread checkpointer;
  std::mutex wake_mu;
  std::condition_variable wake;
  bool stopping = false;  // under wake_mu
  // CheckpointStats (relaxed atomics).
  std::atomic<uint64_t> checkpoints{0}, checkpoint_failures{0}, staged_batches{0};
  std::atomic<uint64_t> staged_bytes{0}, staged_keys{0};
  std::atomic<double> last_checkpoint_seconds{0};

  std::shared_ptr<const StagedView> Current() const {
    std::lock_guard lock(view_mu);
    return view;
  }
  void Publish(StagedView v) {
    auto next = std::make_shared<const StagedView>(std::move(v));
    std::lock_guard lock(view_mu);
    published.push_back(next);
    while (published.size() > 1 && published.front().expired()) published.pop_front();
    view = std::move(next);
  }
  // The oldest version a reader may still read (views are published in
  // version order; the current one is always held).
  uint64_t OldestPinnedVersion() const {
    std::lock_guard lock(view_mu);
    while (published.size() > 1 && published.front().expired()) published.pop_front();
    std::shared_ptr<const StagedView> oldest = published.front().lock();
    return oldest ? oldest->version : view->version;
  }
  std::shared_ptr<const rocksdb::Snapshot> NewBase() const {
    rocksdb::DB* d = db.get();
    return std::shared_ptr<const rocksdb::Snapshot>(d->GetSnapshot(),
                                                    [d](const rocksdb::Snapshot* s) { d->ReleaseSnapshot(s); });
  }
  // The next epoch, with every bitmap group the batches change noted at
  // it (state/bitmap_cache.h), before it is published. REQUIRES: stage_mu.
  uint64_t NoteChanges(std::span<WriteBatch* const> changes);
  // Adds a landed write's counts to the totals.
  void CountWritten(const WriteCounters& c) {
    for (size_t cf = 0; cf < static_cast<size_t>(Cf::kCount); ++cf) {
      if (c.ops[cf]) ops[cf].fetch_add(c.ops[cf], std::memory_order_relaxed);
      if (c.bytes[cf]) bytes[cf].fetch_add(c.bytes[cf], std::memory_order_relaxed);
    }
    batches.fetch_add(1, std::memory_order_relaxed);
  }
  void NoteStaged(const StagedView& v) {
    uint64_t b = 0, k = 0;
    for (const auto* t : {v.frozen.get(), v.active.get()}) {
      if (!t) continue;
      std::shared_lock lock(t->mu);
      b += t->bytes();
      k += t->keys();
    }
    staged_bytes.store(b, std::memory_order_relaxed);
    staged_keys.store(k, std::memory_order_relaxed);
  }

  // Keys whose staged operands Stage found many, for FoldStaged (under
  // stage_mu; a key may be listed more than once).
  std::vector<std::pair<Cf, std::string>> fold_candidates;

  // Folds the candidates' operands into values: each value is computed from
  // the key's ops up to the current version without blocking stages, then
  // inserted as a Put of that version after them (readers of that version
  // on read it and the operands after it), and the ops no reader's version
  // reads are dropped. REQUIRES: write_mu held (no checkpoint meanwhile).
  void FoldStaged();
  static constexpr int kFoldIntervalMs = 20;

  // OK when the data directory has room for table's checkpoint
  // (Options::min_free_disk_bytes), else IoError "disk nearly full".
  Status CheckRoomFor(const detail::OverlayTable& table) const {
    if (options.min_free_disk_bytes == 0) return Status::Ok();
    const uint64_t need = options.min_free_disk_bytes + 2 * uint64_t{table.bytes()};
    return CheckRoom(dir, need,
                     "a checkpoint of " + HumanBytes(table.bytes()) + " staged needs " + HumanBytes(need) +
                         " (--min-free-disk-mb and twice the staged bytes); it is written once space is freed");
  }

  // Writes the batches (sorted: WriteBatch::Sort) as one table file per
  // family and ingests them in one atomic change; *counts gets what was
  // written. *fits false (and OK, nothing written) when a table cannot
  // hold the ops as the batches mean them: a key with two ops (a table
  // holds a key once, so ops in order on one key would need merging here)
  // or a range deletion (in a table it would not delete the table's own
  // keys). REQUIRES: write_mu held.
  Status WriteTables(std::span<WriteBatch* const> writes, WriteCounters* counts, bool* fits);
  // The directory WriteTables builds its files in (emptied at Open: files
  // left by a kill -9 were never ingested).
  std::string TableDir() const { return dir + "/table-writes"; }

  // Writes the frozen table, freezing the active one first when none is.
  // REQUIRES: write_mu held, stage_lock locked (released during the
  // RocksDB write when release is true, so stages go on meanwhile).
  Status CheckpointLocked(std::unique_lock<std::mutex>& stage_lock, bool release);
  void RunCheckpointer();

  ~Rep() {
    if (db && checkpointer.joinable()) {
      {
        std::lock_guard lock(wake_mu);
        stopping = true;
      }
      wake.notify_all();
      checkpointer.join();
    }
    if (db && view && (view->frozen || (view->active && !view->active->empty()))) {
      std::lock_guard write_lock(write_mu);
      std::unique_lock stage_lock(stage_mu);
      Status s = CheckpointLocked(stage_lock, false);
      if (!s.ok()) LogError("the last checkpoint failed (its batches are consumed again): " + s.ToString());
    }
    view.reset();  // its snapshot, before the database closes
    if (db && compactor.joinable()) {
      db->DisableManualCompaction();  // the compaction below returns early
      compactor.join();
    }
    if (db) {
      for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
      db->Close();
    }
  }
};

Status ResolveChain(const Store::Rep& rep, const StagedView& v, Cf cf, std::string_view key,
                    const detail::OverlayOps& ops, bool* found, std::string* value);

Status Store::Rep::CheckpointLocked(std::unique_lock<std::mutex>& stage_lock, bool release) {
  std::shared_ptr<const StagedView> v = Current();
  std::shared_ptr<detail::OverlayTable> frozen = v->frozen;
  if (!frozen) {
    if (!v->active || v->active->empty()) return Status::Ok();  // no stage runs: stage_mu is held
    frozen = v->active;
    Publish(StagedView{v->base, frozen, std::make_shared<detail::OverlayTable>(), v->version, v->epoch});
  }
  if (release) stage_lock.unlock();
  const auto t0 = std::chrono::steady_clock::now();
  rocksdb::WriteBatch wb;
  WriteCounters counts;
  Status s = CheckRoomFor(*frozen);
  if (s.ok()) s = detail::AppendCheckpoint(*frozen, handles, merges, &wb, &counts);
  if (s.ok()) {
    rocksdb::WriteOptions wo;
    wo.sync = false;
    NoPerfCounters();
    s = FromRocks(db->Write(wo, &wb));
  }
  if (release) stage_lock.lock();
  if (!s.ok()) {
    failed = s;
    checkpoint_failures.fetch_add(1, std::memory_order_relaxed);
    return s;
  }
  failed = Status::Ok();
  CountWritten(counts);
  checkpoints.fetch_add(1, std::memory_order_relaxed);
  last_checkpoint_seconds.store(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                                std::memory_order_relaxed);
  // RocksDB now holds the frozen table's ops, and nothing written since
  // (write_mu): the new base and the frozen table are one and the same.
  std::shared_ptr<const StagedView> now = Current();
  StagedView next{NewBase(), nullptr, now->active, now->version, now->epoch};
  NoteStaged(next);
  Publish(std::move(next));
  return Status::Ok();
}

void Store::Rep::FoldStaged() {
  std::vector<std::pair<Cf, std::string>> keys;
  std::shared_ptr<const StagedView> v;
  {
    std::lock_guard stage_lock(stage_mu);
    keys.swap(fold_candidates);
    v = Current();
  }
  if (keys.empty() || !v->active) return;
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  struct Fold {
    Cf cf = Cf::kMeta;
    std::string key;
    bool found = false;
    std::string value;
  };
  std::vector<Fold> folds;
  detail::OverlayOps chain;
  for (auto& [cf, key] : keys) {
    chain.clear();
    v->Find(cf, key, &chain);
    if (detail::MergesAtEnd(chain) < detail::OverlayTable::kFoldAfter) continue;
    Fold f;
    f.cf = cf;
    f.key = std::move(key);
    if (!ResolveChain(*this, *v, cf, f.key, chain, &f.found, &f.value).ok()) continue;  // readers meet the error
    folds.push_back(std::move(f));
  }
  if (folds.empty()) return;
  std::lock_guard stage_lock(stage_mu);
  const uint64_t oldest = OldestPinnedVersion();
  {
    std::unique_lock table_lock(v->active->mu);
    for (Fold& f : folds) v->active->InsertFolded(f.cf, f.key, v->version, f.found, std::move(f.value), oldest);
  }
  NoteStaged(*Current());
}

void Store::Rep::RunCheckpointer() {
  bool failing = false;
  auto next_checkpoint = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.checkpoint_interval_ms);
  std::unique_lock wake_lock(wake_mu);
  while (!stopping) {
    const auto fold_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(kFoldIntervalMs);
    wake.wait_until(wake_lock, std::min(fold_at, next_checkpoint));
    if (stopping) break;
    wake_lock.unlock();
    if (std::chrono::steady_clock::now() < next_checkpoint) {
      std::lock_guard write_lock(write_mu);
      FoldStaged();
      wake_lock.lock();
      continue;
    }
    next_checkpoint = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.checkpoint_interval_ms);
    Status s;
    {
      std::lock_guard write_lock(write_mu);
      std::unique_lock stage_lock(stage_mu);
      s = CheckpointLocked(stage_lock, true);
    }
    if (!s.ok() && !failing) LogError("checkpoint failed (ingest stops until it succeeds): " + s.ToString());
    if (s.ok() && failing) LogInfo("checkpoints succeed again");
    failing = !s.ok();
    wake_lock.lock();
  }
}

Status Store::Rep::WriteTables(std::span<WriteBatch* const> writes, WriteCounters* counts, bool* fits) {
  using Op = WriteBatch::Rep::Op;
  *fits = false;
  // Each batch's ops in (family, key) order; the families' ranges of it.
  struct Cursor {
    const WriteBatch::Rep* r;
    size_t at = 0;
    const Op* op() const { return at < r->order.size() ? &r->ops[r->order[at]] : nullptr; }
    // The ops are visited in key order, which is no order in memory (they
    // were added lead by lead): each op, its key and its value were a cache
    // miss, charged to the compares and to the table builder's copies (~40%
    // of the writer's CPU, session 27). So the op a few steps ahead is
    // fetched, and the key and value of a nearer one.
    void Next() {
      ++at;
      constexpr size_t kOpAhead = 16, kBytesAhead = 8;
      const std::vector<uint32_t>& order = r->order;
      if (at + kOpAhead < order.size()) __builtin_prefetch(&r->ops[order[at + kOpAhead]]);
      if (at + kBytesAhead < order.size()) {
        const Op& o = r->ops[order[at + kBytesAhead]];
        __builtin_prefetch(o.key.data());
        __builtin_prefetch(o.value.data());
      }
    }
  };
  std::vector<Cursor> cursors;
  for (WriteBatch* b : writes) {
    b->Sort();
    for (const Op& op : b->rep_->ops) {
      if (op.kind == Op::kDeleteRange) return Status::Ok();
    }
    if (!b->rep_->ops.empty()) cursors.push_back({b->rep_.get()});
  }
  std::error_code ec;
  std::filesystem::create_directories(TableDir(), ec);
  if (ec) return Status::IoError("creating " + TableDir() + ": " + ec.message());
  const uint64_t write_no = next_table_write++;
  // The files built, removed whatever the outcome: an ingestion moves its
  // own, and files not ingested are never needed again.
  struct Files {
    std::vector<std::string> paths;
    ~Files() {
      std::error_code ignored;
      for (const auto& f : paths) std::filesystem::remove(f, ignored);
    }
  } built;
  std::vector<std::string>& files = built.paths;
  std::vector<rocksdb::IngestExternalFileArg> args;
  WriteCounters written;
  std::vector<const Op*> same;  // one key's ops, in order
  std::deque<rocksdb::Slice> operands;
  std::string combined;
  std::vector<Cursor*> active;  // the cursors with ops left in this family, in batch order
  std::vector<Cursor*> ties;    // those whose next key is the smallest, in batch order
  for (size_t cf = 0; cf < static_cast<size_t>(Cf::kCount); ++cf) {
    std::unique_ptr<rocksdb::SstFileWriter> writer;
    auto in_family = [cf](const Cursor& c) { return c.op() && static_cast<size_t>(c.op()->cf) == cf; };
    active.clear();
    for (Cursor& c : cursors) {
      if (in_family(c)) active.push_back(&c);
    }
    while (!active.empty()) {
      // The smallest key among the batches' next ops, and every batch whose
      // next op has it (three-way compares: one per batch per key; the
      // merge of a catch-up batch's ~110,000 keys from 5 batches compared
      // each key ~15 times before, ~a third of the writer's CPU, session 27).
      ties.assign(1, active[0]);
      for (size_t i = 1; i < active.size(); ++i) {
        const int r = active[i]->op()->key.compare(ties[0]->op()->key);
        if (r < 0) {
          ties.assign(1, active[i]);
        } else if (r == 0) {
          ties.push_back(active[i]);
        }
      }
      const std::string& key = ties[0]->op()->key;
      same.clear();
      // Every op on this key, in order: the earlier batch's first (ops on
      // one key keep the batches' order), each batch's in its order.
      for (Cursor* c : ties) {
        const Op* op = c->op();
        do {
          same.push_back(op);
          c->Next();
          op = c->op();
        } while (op && static_cast<size_t>(op->cf) == cf && op->key == key);
      }
      bool exhausted = false;
      for (Cursor* c : ties) exhausted = exhausted || !in_family(*c);
      if (exhausted) {
        std::erase_if(active, [&](const Cursor* c) { return !in_family(*c); });
      }
      // One op with their effect: the last Put or Delete when no merge
      // follows it; merges alone folded into one (the family's partial
      // merge, as RocksDB would); anything else is not for a table.
      const Op* op = same.back();
      if (op->kind == Op::kMerge && same.size() > 1) {
        operands.clear();
        for (const Op* o : same) {
          if (o->kind != Op::kMerge) return Status::Ok();
          operands.emplace_back(o->value);
        }
        combined.clear();
        if (!merges[cf] || !merges[cf]->PartialMergeMulti(key, operands, &combined, nullptr)) return Status::Ok();
      }
      if (!writer) {
        // The pages written stay in the page cache: by default the writer
        // drops them every MB (fadvise DONTNEED, which also starts their
        // writeback on this thread), and the ingestion's reads of the
        // file's index and the compactions' reads of its blocks then went
        // to the disk (~10% of the writer's CPU, session 38).
        writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), table_options[cf], handles[cf],
                                                          /*invalidate_page_cache=*/false);
        files.push_back(TableDir() + "/" + std::to_string(write_no) + "-" + kCfNames[cf] + ".sst");
        rocksdb::Status st = writer->Open(files.back());
        if (!st.ok()) return FromRocks(st);
      }
      const bool folded = op->kind == Op::kMerge && same.size() > 1;
      rocksdb::Status st = op->kind == Op::kDelete ? writer->Delete(key)
                           : op->kind == Op::kMerge ? writer->Merge(key, folded ? combined : op->value)
                                                    : writer->Put(key, op->value);
      if (!st.ok()) return FromRocks(st);
      for (const Op* o : same) {  // what the batches wrote, as a log write counts it
        ++written.ops[cf];
        written.bytes[cf] += o->key.size() + o->value.size();
      }
    }
    if (!writer) continue;
    rocksdb::Status st = writer->Finish();
    if (!st.ok()) return FromRocks(st);
    rocksdb::IngestExternalFileArg arg;
    arg.column_family = handles[cf];
    arg.external_files = {files.back()};
    arg.options.move_files = true;
    arg.options.snapshot_consistency = true;  // readers' snapshots do not see it
    arg.options.allow_global_seqno = true;
    arg.options.allow_blocking_flush = true;  // a memtable with these keys is flushed first
    arg.options.write_global_seqno = false;
    args.push_back(std::move(arg));
  }
  *fits = true;
  if (args.empty()) return Status::Ok();
  NoPerfCounters();
  Status s = FromRocks(db->IngestExternalFiles(args));
  if (s.ok()) *counts = written;
  return s;
}

Store::Store(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
Store::~Store() = default;

Status Store::Open(const std::string& dir, const Options& options, std::unique_ptr<Store>* out) {
  rocksdb::Options db_opts;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.IncreaseParallelism(2);
  // Every table stays open with its index and Bloom filter in memory
  // (~10 bits per key). With filters in the block cache instead, at 1M
  // leads the bitmap data evicted them and every dedup Get re-read and
  // re-checksummed a whole filter block from its file (perf: ingest fell
  // tenfold after the first 3M events).
  db_opts.max_open_files = -1;
  // Restart time after a kill -9 is mostly WAL replay: cap the WAL (older
  // memtables are flushed once it grows past this) and do not flush the
  // replayed memtables before opening.
  db_opts.max_total_wal_size = 128u << 20;
  db_opts.avoid_flush_during_recovery = true;
  // With an SstFileManager, RocksDB checks the free space before a
  // compaction and postpones one that would not fit, instead of failing in
  // the middle of writing its output (a write error can end in an assertion
  // of Debian's RocksDB build). Ingest stops itself before the WAL and
  // flushes run out of room (kafka_ingest.h, --min-free-disk-mb).
  db_opts.sst_file_manager.reset(rocksdb::NewSstFileManager(rocksdb::Env::Default()));

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  if (options.write_buffer_bytes > 0) {
    db_opts.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(options.write_buffer_bytes);
  }
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  table.cache_index_and_filter_blocks = false;

  rocksdb::ColumnFamilyOptions cf_opts;
  cf_opts.OptimizeLevelStyleCompaction(64u << 20);
  cf_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // LZ4 on every level. ZSTD on the bottommost level saved ~9% of the disk
  // (medium bench: 205 vs 223 MB) but at full scale its compression was 16%
  // of all CPU samples during a rebuild, and compactions took a quarter of
  // the CPU (LZ4 there: compaction threads 163 -> 115 s of CPU in a 31.8M
  // event rebuild; docs/design.md, session 9).
  cf_opts.compression = rocksdb::kLZ4Compression;
  cf_opts.bottommost_compression = rocksdb::kLZ4Compression;
  // Catch-up batches go in as table files, one per family per batch
  // (Options::table_write_min_ops): a family's level 0 gathers 8 of them
  // before a compaction merges them down (OptimizeLevelStyleCompaction's
  // 2 rewrote the small families at every other batch; session 20).
  // Writes slow down at 20 files, as by default.
  cf_opts.level0_file_num_compaction_trigger = 8;

  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const char* name : kCfNames) descs.emplace_back(name, cf_opts);
  // The duplicate set's records (views/write/dedup_set.h) are written once
  // and only appended at the end of each shard's range; runs merged by size
  // rewrite them least.
  auto& events = descs[static_cast<size_t>(Cf::kEvents)].options;
  events.compaction_style = rocksdb::kCompactionStyleUniversal;
  // A sorted run per catch-up batch: merge them 16 at a time, not 2 (at
  // full scale this family's compactions wrote 6.6 GB against 2.7 through
  // the memtables with 2; session 20).
  events.level0_file_num_compaction_trigger = 16;
  // Bitmap chunks change by merge operands (state/bitmap_merge.h). A key
  // with this many operands at the head of the memtable is folded at the
  // next write (RocksDB reads and merges it then), so a reader never folds
  // more than that many from the memtable.
  auto& bitmaps = descs[static_cast<size_t>(Cf::kBitmaps)].options;
  bitmaps.merge_operator = NewBitmapMergeOperator();
  bitmaps.max_successive_merges = kMaxSuccessiveBitmapMerges;
  // The exact date index is kept as sorted entry sets per attribute and day,
  // changed by merge operands too (state/entry_set_merge.h).
  auto& attr_index = descs[static_cast<size_t>(Cf::kAttrIndex)].options;
  attr_index.merge_operator = NewEntrySetMergeOperator();
  attr_index.max_successive_merges = kMaxSuccessiveBitmapMerges;
  // The transition log is kept as record sets per org and hour, changed by
  // merge operands too (state/record_set_merge.h).
  auto& log = descs[static_cast<size_t>(Cf::kLog)].options;
  log.merge_operator = NewRecordSetMergeOperator();
  log.max_successive_merges = kMaxSuccessiveBitmapMerges;
  // Lead records grow by appended journals (state/append_merge.h); the
  // applier bounds a record's journal itself, so RocksDB need not count.
  descs[static_cast<size_t>(Cf::kLeads)].options.merge_operator = NewAppendMergeOperator();

  auto rep = std::make_unique<Rep>();
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_opts, dir, descs, &rep->handles, &raw);
  if (!s.ok() && (s.IsNotSupported() || s.IsInvalidArgument()) &&
      s.ToString().find("ompression") != std::string::npos) {
    // LZ4/ZSTD may be unavailable in a minimal build; fall back to none.
    // Only then: a second Open after an I/O error (a full disk) tripped an
    // assertion in RocksDB's file writer instead of failing cleanly.
    for (auto& d : descs) {
      d.options.compression = rocksdb::kNoCompression;
      d.options.bottommost_compression = rocksdb::kDisableCompressionOption;
    }
    rep->handles.clear();
    s = rocksdb::DB::Open(db_opts, dir, descs, &rep->handles, &raw);
  }
  if (!s.ok()) return FromRocks(s);
  rep->db.reset(raw);
  rep->can_join = CanJoinBatches(rep->handles);
  rep->options = options;
  rep->dir = dir;
  for (const auto& d : descs) {
    // Catch-up tables go into level 0, which flushes write uncompressed
    // (OptimizeLevelStyleCompaction); SstFileWriter would take the
    // bottommost level's LZ4 instead, in the commit's write.
    rocksdb::Options& o = rep->table_options.emplace_back(db_opts, d.options);
    o.compression = rocksdb::kNoCompression;
    o.bottommost_compression = rocksdb::kDisableCompressionOption;
    o.compression_per_level.clear();
  }
  {
    std::error_code ignored;  // files of a write that never landed
    std::filesystem::remove_all(rep->TableDir(), ignored);
  }
  for (const auto& d : descs) rep->merges.push_back(d.options.merge_operator);
  rep->bitmap_cache = std::make_unique<BitmapCache>(options.bitmap_cache_bytes);
  rep->Publish(StagedView{rep->NewBase(), nullptr,
                    options.checkpoint_interval_ms > 0 ? std::make_shared<detail::OverlayTable>() : nullptr, 0, 0});
  if (options.checkpoint_interval_ms > 0) {
    // A service: what readers and the live path wait for (the ingest
    // thread, HTTP) goes first; flushes, compactions and checkpoints take
    // the CPU that is left (they run behind, never in the way: a reader
    // or a stage never waits for them).
    db_opts.env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW, rocksdb::CpuPriority::kLow).PermitUncheckedError();
    db_opts.env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::HIGH, rocksdb::CpuPriority::kLow).PermitUncheckedError();
    rep->checkpointer = std::thread([r = rep.get()] {
      (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kCheckpointerNice);
      r->RunCheckpointer();
    });
  }
  out->reset(new Store(std::move(rep)));
  return Status::Ok();
}

bool Store::joins_prepared_batches() const { return rep_->can_join; }

Status Store::Encode(const WriteBatch& batch, rocksdb::WriteBatch* wb, WriteCounters* counts) const {
  const WriteBatch::Rep& r = *batch.rep_;
  for (uint32_t i : r.order) {
    const auto& op = r.ops[i];
    const size_t cf = static_cast<size_t>(op.cf);
    using Op = WriteBatch::Rep::Op;
    rocksdb::Status s = op.kind == Op::kDelete        ? wb->Delete(rep_->handles[cf], op.key)
                        : op.kind == Op::kMerge       ? wb->Merge(rep_->handles[cf], op.key, op.value)
                        : op.kind == Op::kDeleteRange ? wb->DeleteRange(rep_->handles[cf], op.key, op.value)
                                                      : wb->Put(rep_->handles[cf], op.key, op.value);
    if (!s.ok()) return FromRocks(s);
    if (counts) {
      ++counts->ops[cf];
      counts->bytes[cf] += op.key.size() + op.value.size();
    }
  }
  return Status::Ok();
}

Status Store::EncodeForLog(WriteBatch* batch) const {
  WriteBatch::Rep& r = *batch->rep_;
  if (r.prepared) return Status::Ok();
  batch->Sort();
  auto wb = std::make_unique<rocksdb::WriteBatch>(r.bytes + 16 * r.ops.size() + 64);
  r.counts = WriteCounters();
  Status s = Encode(*batch, wb.get(), &r.counts);
  if (!s.ok()) return Status::InvalidArgument("a write batch is too large: " + s.ToString());
  r.prepared = std::move(wb);
  return Status::Ok();
}

void Store::Prepare(WriteBatch* batch) const {
  // A batch this big goes in as tables (Write): sorted is all it needs.
  const size_t tables_from = rep_->options.table_write_min_ops;
  if (tables_from > 0 && batch->rep_->ops.size() >= tables_from / 2) {
    batch->Sort();
    return;
  }
  // A failure (past RocksDB's size limits) leaves the batch unprepared:
  // Write reports it.
  (void)EncodeForLog(batch);
}

Status Store::Write(WriteBatch* batch) { return Write(std::span<WriteBatch* const>(&batch, 1)); }

uint64_t Store::Rep::NoteChanges(std::span<WriteBatch* const> changes) {
  const uint64_t next = ++epoch;
  if (bitmap_cache->capacity() == 0) return next;  // nothing kept: nothing to invalidate
  using Op = WriteBatch::Rep::Op;
  for (const WriteBatch* b : changes) {
    for (const Op& op : b->rep_->ops) {
      if (op.cf != Cf::kBitmaps) continue;
      if (op.kind == Op::kDeleteRange || op.key.size() < kBitmapChunkSuffixBytes) {
        bitmap_cache->NoteAllChanged(next);
      } else {
        bitmap_cache->NoteChanged(std::string_view(op.key).substr(0, op.key.size() - kBitmapChunkSuffixBytes), next);
      }
    }
  }
  return next;
}

Status Store::Write(std::span<WriteBatch* const> batches, uint64_t* epoch_out) {
  // A big write (catch-up) goes in as table files (Rep::WriteTables), the
  // rest through the log. There each batch goes in as prepared (Prepare:
  // its ops sorted by family and key, so the memtable's skip list reuses
  // its last insert position instead of searching from the top; callers
  // may prepare theirs on other threads), the batches one after another:
  // ops on one key keep the order of the batches, then their order within
  // a batch (the last one wins).
  size_t total_ops = 0;
  for (WriteBatch* b : batches) total_ops += b->rep_->ops.size();
  const size_t tables_from = rep_->options.table_write_min_ops;
  const bool as_tables = tables_from > 0 && total_ops >= tables_from;
  if (!as_tables) {  // encoded before the locks
    for (WriteBatch* b : batches) {
      Status e = EncodeForLog(b);
      if (!e.ok()) return e;
    }
  }
  // Staged batches go first (ops on one key keep their order), and no
  // stage runs until this write is in the view.
  std::lock_guard write_lock(rep_->write_mu);
  std::unique_lock stage_lock(rep_->stage_mu);
  Status staged = rep_->CheckpointLocked(stage_lock, false);
  if (!staged.ok()) return staged;
  WriteCounters written;  // this write's, added to the totals once it lands
  bool fits = false;
  if (as_tables) {
    Status s = rep_->WriteTables(batches, &written, &fits);
    if (!s.ok()) return s;
  }
  if (!fits) {
    Status s = WriteLogLocked(batches, &written);
    if (!s.ok()) return s;
  }
  rep_->CountWritten(written);
  const uint64_t epoch = rep_->NoteChanges(batches);
  std::shared_ptr<const StagedView> v = rep_->Current();
  rep_->Publish(StagedView{rep_->NewBase(), nullptr, v->active, v->version, epoch});
  if (epoch_out) *epoch_out = epoch;
  return Status::Ok();
}

Status Store::WriteLogLocked(std::span<WriteBatch* const> batches, WriteCounters* written) {
  std::vector<const rocksdb::WriteBatch*> prepared;
  for (WriteBatch* b : batches) {
    if (b->rep_->ops.empty()) continue;
    Status e = EncodeForLog(b);  // only those that were to go as tables
    if (!e.ok()) return e;
    const WriteBatch::Rep& r = *b->rep_;
    prepared.push_back(r.prepared.get());
    for (size_t cf = 0; cf < static_cast<size_t>(Cf::kCount); ++cf) {
      written->ops[cf] += r.counts.ops[cf];
      written->bytes[cf] += r.counts.bytes[cf];
    }
  }
  rocksdb::WriteBatch joined;
  const rocksdb::WriteBatch* wb = &joined;
  if (prepared.size() == 1) {
    wb = prepared[0];
  } else if (prepared.size() > 1 && rep_->can_join) {
    joined = rocksdb::WriteBatch(JoinBatches(prepared));
  } else if (prepared.size() > 1) {
    // The slow way: the ops again, one by one, into one batch.
    for (WriteBatch* b : batches) {
      Status s = Encode(*b, &joined, nullptr);
      if (!s.ok()) return s;
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = false;
  // RocksDB's Write takes a non-const batch but does not change it.
  NoPerfCounters();
  return FromRocks(rep_->db->Write(wo, const_cast<rocksdb::WriteBatch*>(wb)));
}

Status Store::Stage(std::span<WriteBatch* const> batches, uint64_t* epoch_out) {
  bool direct = !stages();
  for (WriteBatch* b : batches) {
    for (const auto& op : b->rep_->ops) direct = direct || op.kind == WriteBatch::Rep::Op::kDeleteRange;
  }
  if (direct) return Write(batches, epoch_out);
  std::unique_lock stage_lock(rep_->stage_mu);
  if (!rep_->failed.ok()) return rep_->failed;
  std::shared_ptr<const StagedView> v = rep_->Current();
  detail::OverlayTable& table = *v->active;
  const uint64_t version = rep_->version + 1;
  {
    std::unique_lock table_lock(table.mu);
    using Op = WriteBatch::Rep::Op;
    for (WriteBatch* b : batches) {
      b->Sort();  // keys in order: each insert next to the last
      detail::OverlayTable::Hint hints[static_cast<size_t>(Cf::kCount)];
      const WriteBatch::Rep& r = *b->rep_;
      for (uint32_t i : r.order) {
        const Op& op = r.ops[i];
        const auto kind = op.kind == Op::kPut      ? detail::OverlayOp::kPut
                          : op.kind == Op::kDelete ? detail::OverlayOp::kDelete
                                                   : detail::OverlayOp::kMerge;
        detail::OverlayTable::Hint& hint = hints[static_cast<size_t>(op.cf)];
        table.Add(op.cf, op.key, kind, op.value, version, &hint);
        // A key with many operands (a hot bitmap chunk takes one per live
        // batch): the store's thread folds them into its value (FoldStaged),
        // so that readers do not.
        if (kind == detail::OverlayOp::kMerge &&
            detail::OverlayTable::MergesAtEnd(hint) % detail::OverlayTable::kFoldAfter == 0) {
          rep_->fold_candidates.emplace_back(op.cf, op.key);
        }
      }
    }
  }
  rep_->version = version;
  const uint64_t epoch = rep_->NoteChanges(batches);
  StagedView next{v->base, v->frozen, v->active, version, epoch};
  rep_->NoteStaged(next);
  rep_->Publish(std::move(next));
  if (epoch_out) *epoch_out = epoch;
  rep_->staged_batches.fetch_add(1, std::memory_order_relaxed);
  const bool full = rep_->staged_bytes.load(std::memory_order_relaxed) > rep_->options.max_staged_bytes;
  stage_lock.unlock();
  // Staged either way: a checkpoint that fails here fails the next Stage.
  if (full) (void)Checkpoint();
  return Status::Ok();
}

bool Store::stages() const { return rep_->options.checkpoint_interval_ms > 0; }

Status Store::Checkpoint() {
  std::lock_guard write_lock(rep_->write_mu);
  std::unique_lock stage_lock(rep_->stage_mu);
  return rep_->CheckpointLocked(stage_lock, true);
}

Store::CheckpointStats Store::checkpoint_stats() const {
  CheckpointStats c;
  c.checkpoints = rep_->checkpoints.load(std::memory_order_relaxed);
  c.failures = rep_->checkpoint_failures.load(std::memory_order_relaxed);
  c.staged_batches = rep_->staged_batches.load(std::memory_order_relaxed);
  c.staged_bytes = rep_->staged_bytes.load(std::memory_order_relaxed);
  c.staged_keys = rep_->staged_keys.load(std::memory_order_relaxed);
  c.last_seconds = rep_->last_checkpoint_seconds.load(std::memory_order_relaxed);
  return c;
}

WriteCounters Store::write_counters() const {
  WriteCounters c;
  c.batches = rep_->batches.load(std::memory_order_relaxed);
  for (size_t i = 0; i < static_cast<size_t>(Cf::kCount); ++i) {
    c.ops[i] = rep_->ops[i].load(std::memory_order_relaxed);
    c.bytes[i] = rep_->bytes[i].load(std::memory_order_relaxed);
  }
  return c;
}

// A key's value after its staged ops (not empty), over the view's base
// when they hold no Put or Delete. *found false: absent.
Status ResolveChain(const Store::Rep& rep, const StagedView& v, Cf cf, std::string_view key,
                    const detail::OverlayOps& ops, bool* found, std::string* value) {
  const rocksdb::MergeOperator* merge = rep.merges[static_cast<size_t>(cf)].get();
  bool needs_base = false;
  Status s = detail::ResolveOps(merge, key, ops, false, nullptr, &needs_base, found, value);
  if (s.ok() && needs_base) {
    rocksdb::ReadOptions ro;
    ro.snapshot = v.base.get();
    std::string base;
    NoPerfCounters();
    Status g = FromRocks(rep.db->Get(ro, rep.handles[static_cast<size_t>(cf)], ToSlice(key), &base));
    if (!g.ok() && g.code() != Status::Code::kNotFound) return g;
    s = detail::ResolveOps(merge, key, ops, true, g.ok() ? &base : nullptr, &needs_base, found, value);
  }
  return s;
}

namespace {

// A staged key (ops: its staged ops, not empty) as a reader at view v sees it.
Status ReadStaged(const Store::Rep& rep, const StagedView& v, Cf cf, std::string_view key,
                  const detail::OverlayOps& ops, std::string* value) {
  bool found = false;
  Status s = ResolveChain(rep, v, cf, key, ops, &found, value);
  if (!s.ok()) return s;
  if (!found) return Status::NotFound("deleted");
  if (EmptyIsAbsent(cf) && value->empty()) return Status::NotFound("an emptied set");
  return Status::Ok();
}

// A key as a reader at view v sees it: its staged ops over the base.
Status ReadKey(const Store::Rep& rep, const StagedView& v, Cf cf, std::string_view key, std::string* value) {
  detail::OverlayOps ops;
  v.Find(cf, key, &ops);
  if (ops.empty()) return GetImpl(rep.db.get(), rep.handles, v.base.get(), cf, key, value);
  return ReadStaged(rep, v, cf, key, ops, value);
}

// A range as a reader at view v sees it: the base's keys and the staged
// ones, merged in order.
Status ScanView(const Store::Rep& rep, const StagedView& v, Cf cf, std::string_view begin, std::string_view end,
                const std::function<bool(std::string_view, std::string_view)>& fn) {
  std::vector<std::pair<std::string, detail::OverlayOps>> staged, later;
  if (v.frozen) v.frozen->CopyRange(cf, begin, end, v.version, &staged);
  if (v.active) v.active->CopyRange(cf, begin, end, v.version, &later);
  if (staged.empty()) {
    staged.swap(later);
  } else if (!later.empty()) {  // one list: a key's frozen ops, then its active ones
    std::vector<std::pair<std::string, detail::OverlayOps>> all;
    all.reserve(staged.size() + later.size());
    size_t i = 0, j = 0;
    while (i < staged.size() || j < later.size()) {
      if (j == later.size() || (i < staged.size() && staged[i].first < later[j].first)) {
        all.push_back(std::move(staged[i++]));
      } else if (i == staged.size() || later[j].first < staged[i].first) {
        all.push_back(std::move(later[j++]));
      } else {
        all.push_back(std::move(staged[i++]));
        auto& ops = all.back().second;
        for (auto& op : later[j].second) ops.push_back(std::move(op));
        ++j;
      }
    }
    staged.swap(all);
  }
  if (staged.empty()) return ScanImpl(rep.db.get(), rep.handles, v.base.get(), cf, begin, end, fn);

  const bool skip_empty = EmptyIsAbsent(cf);
  const rocksdb::MergeOperator* merge = rep.merges[static_cast<size_t>(cf)].get();
  rocksdb::ReadOptions ro;
  ro.snapshot = v.base.get();
  rocksdb::Slice upper = ToSlice(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(rep.db->NewIterator(ro, rep.handles[static_cast<size_t>(cf)]));
  it->Seek(ToSlice(begin));
  size_t next = 0;
  std::string base, value;
  while (it->Valid() || next < staged.size()) {
    const bool take_base = it->Valid() && (next == staged.size() || it->key().ToStringView() < staged[next].first);
    if (take_base) {
      if (!(skip_empty && it->value().empty()) && !fn(it->key().ToStringView(), it->value().ToStringView())) {
        return Status::Ok();
      }
      it->Next();
      continue;
    }
    const auto& [key, ops] = staged[next++];
    const bool both = it->Valid() && it->key().ToStringView() == key;
    if (both) base.assign(it->value().data(), it->value().size());
    bool needs_base = false, found = false;
    Status s = detail::ResolveOps(merge, key, ops, true, both ? &base : nullptr, &needs_base, &found, &value);
    if (!s.ok()) return s;
    if (both) it->Next();
    if (found && !(skip_empty && value.empty()) && !fn(key, value)) return Status::Ok();
  }
  return FromRocks(it->status());
}

}  // namespace

Status FoldBitmapChunks(const Reader& reader, std::string_view group, Roaring* out) {
  // The chunk keys are group + kBitmapChunkSuffixBytes bytes, and no other
  // key starts with group (logical keys are prefix-free): every key in
  // [group, group + 0xFF... + 0x00) is one of them.
  std::string end(group);
  end.append(kBitmapChunkSuffixBytes, '\xFF');
  end.push_back('\0');
  std::vector<Roaring> chunks;
  Status failure;
  Status s = reader.Scan(Cf::kBitmaps, group, end, [&](std::string_view, std::string_view value) {
    Roaring b;
    if (!(failure = DecodeBitmapChunk(value, &b)).ok()) return false;
    chunks.push_back(std::move(b));
    return true;
  });
  if (!s.ok()) return s;
  if (!failure.ok()) return failure;
  // Chunks hold disjoint ranges of numbers: one many-way OR.
  if (chunks.size() == 1) {
    *out = std::move(chunks[0]);
  } else if (chunks.size() > 1) {
    std::vector<const roaring_bitmap_t*> inputs;
    for (const Roaring& c : chunks) inputs.push_back(&c.roaring);
    roaring_bitmap_t* all = roaring_bitmap_or_many(inputs.size(), inputs.data());
    if (all == nullptr) return Status::IoError("out of memory folding bitmap chunks");
    *out = Roaring(all);
  }
  return Status::Ok();
}

Status Store::Get(Cf cf, std::string_view key, std::string* value) const {
  return ReadKey(*rep_, *rep_->Current(), cf, key, value);
}

Status Store::Contains(Cf cf, std::span<const std::string_view> keys, std::vector<char>* found) const {
  found->assign(keys.size(), 0);
  if (keys.empty()) return Status::Ok();
  std::shared_ptr<const StagedView> v = rep_->Current();
  // Staged keys are resolved one by one; the others in one MultiGet.
  std::vector<size_t> rest;
  std::vector<rocksdb::Slice> slices;
  detail::OverlayOps ops;
  std::string value;
  for (size_t i = 0; i < keys.size(); ++i) {
    ops.clear();
    v->Find(cf, keys[i], &ops);
    if (ops.empty()) {
      rest.push_back(i);
      slices.push_back(ToSlice(keys[i]));
      continue;
    }
    Status s = ReadStaged(*rep_, *v, cf, keys[i], ops, &value);
    if (s.ok()) {
      (*found)[i] = 1;
    } else if (s.code() != Status::Code::kNotFound) {
      return s;
    }
  }
  if (rest.empty()) return Status::Ok();
  const size_t n = slices.size();
  std::vector<rocksdb::PinnableSlice> values(n);
  std::vector<rocksdb::Status> statuses(n);
  rocksdb::ReadOptions ro;
  ro.snapshot = v->base.get();
  NoPerfCounters();
  rep_->db->MultiGet(ro, rep_->handles[static_cast<size_t>(cf)], n, slices.data(), values.data(), statuses.data());
  for (size_t j = 0; j < n; ++j) {
    if (statuses[j].ok()) {
      (*found)[rest[j]] = !EmptyIsAbsent(cf) || !values[j].empty();
    } else if (!statuses[j].IsNotFound()) {
      return FromRocks(statuses[j]);
    }
  }
  return Status::Ok();
}

Status Store::Scan(Cf cf, std::string_view begin, std::string_view end,
                   const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return ScanView(*rep_, *rep_->Current(), cf, begin, end, fn);
}

BitmapCache::Stats Store::bitmap_cache_stats() const { return rep_->bitmap_cache->stats(); }

Status Reader::GetBitmap(std::string_view group, std::shared_ptr<const Roaring>* out) const {
  auto bitmap = std::make_shared<Roaring>();
  Status s = FoldBitmapChunks(*this, group, bitmap.get());
  if (s.ok()) *out = std::move(bitmap);
  return s;
}

Status Reader::GetDerivedBitmap(std::string_view, const std::vector<std::string>&,
                                const std::function<Status(Roaring*)>& compute,
                                std::shared_ptr<const Roaring>* out) const {
  auto bitmap = std::make_shared<Roaring>();
  Status s = compute(bitmap.get());
  if (s.ok()) *out = std::move(bitmap);
  return s;
}

namespace {

class SnapshotReader : public Reader {
 public:
  SnapshotReader(const Store::Rep* rep, std::shared_ptr<const StagedView> view) : rep_(rep), view_(std::move(view)) {}

  Status Get(Cf cf, std::string_view key, std::string* value) const override {
    return ReadKey(*rep_, *view_, cf, key, value);
  }
  Status Scan(Cf cf, std::string_view begin, std::string_view end,
              const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    return ScanView(*rep_, *view_, cf, begin, end, fn);
  }
  // From the store's cache when it holds the group as of this view, else
  // read at this view and offered to it.
  Status GetBitmap(std::string_view group, std::shared_ptr<const Roaring>* out) const override {
    if (std::shared_ptr<const Roaring> hit = rep_->bitmap_cache->Find(group, view_->epoch)) {
      *out = std::move(hit);
      return Status::Ok();
    }
    auto bitmap = std::make_shared<Roaring>();
    Status s = FoldBitmapChunks(*this, group, bitmap.get());
    if (!s.ok()) return s;
    rep_->bitmap_cache->Offer(group, view_->epoch, bitmap);
    *out = std::move(bitmap);
    return Status::Ok();
  }
  // The same for a derived bitmap: computed at this view (compute reads
  // through this reader) and offered.
  Status GetDerivedBitmap(std::string_view tag, const std::vector<std::string>& sources,
                          const std::function<Status(Roaring*)>& compute,
                          std::shared_ptr<const Roaring>* out) const override {
    if (std::shared_ptr<const Roaring> hit = rep_->bitmap_cache->FindDerived(tag, sources, view_->epoch)) {
      *out = std::move(hit);
      return Status::Ok();
    }
    auto bitmap = std::make_shared<Roaring>();
    Status s = compute(bitmap.get());
    if (!s.ok()) return s;
    rep_->bitmap_cache->OfferDerived(tag, sources, view_->epoch, bitmap);
    *out = std::move(bitmap);
    return Status::Ok();
  }
  uint64_t epoch() const override { return view_->epoch; }

 private:
  const Store::Rep* rep_;
  std::shared_ptr<const StagedView> view_;
};

}  // namespace

std::unique_ptr<Reader> Store::NewSnapshot() const {
  return std::make_unique<SnapshotReader>(rep_.get(), rep_->Current());
}

uint64_t Store::epoch() const { return rep_->Current()->epoch; }

Status Store::GetBitmap(std::string_view group, std::shared_ptr<const Roaring>* out) const {
  return SnapshotReader(rep_.get(), rep_->Current()).GetBitmap(group, out);  // one view for the whole read
}

uint64_t Store::IntProperty(const std::string& name) const {
  uint64_t total = 0;
  for (auto* h : rep_->handles) {
    uint64_t v = 0;
    if (rep_->db->GetIntProperty(h, name, &v)) total += v;
  }
  return total;
}

std::vector<std::pair<std::string, uint64_t>> Store::FamilyIntProperty(const std::string& name) const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (size_t i = 0; i < rep_->handles.size(); ++i) {
    uint64_t v = 0;
    std::string text;
    if (rep_->db->GetIntProperty(rep_->handles[i], name, &v)) {
      out.emplace_back(CfName(static_cast<Cf>(i)), v);
    } else if (rep_->db->GetProperty(rep_->handles[i], name, &text) && !text.empty() &&
               text.find_first_not_of("0123456789") == std::string::npos) {
      // Some are numbers as text only ("rocksdb.num-files-at-level0").
      out.emplace_back(CfName(static_cast<Cf>(i)), std::stoull(text));
    }
  }
  return out;
}

std::optional<uint64_t> Store::DbIntProperty(const std::string& name) const {
  uint64_t v = 0;
  if (!rep_->db->GetIntProperty(name, &v)) return std::nullopt;
  return v;
}

Status Store::Resume() {
  std::lock_guard write_lock(rep_->write_mu);
  Status s = FromRocks(rep_->db->Resume());
  if (!s.ok()) return s;
  std::unique_lock stage_lock(rep_->stage_mu);
  return rep_->CheckpointLocked(stage_lock, true);  // what a failed checkpoint left staged
}

void Store::CompactInBackground(Cf cf) {
  if (rep_->compacting.exchange(true)) return;
  if (rep_->compactor.joinable()) rep_->compactor.join();  // the last one, finished
  rep_->compactor = std::thread([rep = rep_.get(), cf] {
    const auto t0 = std::chrono::steady_clock::now();
    // Every family's memtable first: the WAL they pin goes with them, so a
    // restart soon after replays only what was written since (a long
    // catch-up ends with up to max_total_wal_size of WAL to replay).
    rocksdb::FlushOptions flush;
    flush.allow_write_stall = true;
    rocksdb::Status s = rep->db->Flush(flush, rep->handles);
    if (!s.ok()) LogWarn(std::string("flushing before a compaction: ") + s.ToString());
    rocksdb::CompactRangeOptions o;
    o.exclusive_manual_compaction = false;  // RocksDB's own compactions go on
    s = rep->db->CompactRange(o, rep->handles[static_cast<size_t>(cf)], nullptr, nullptr);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s.ok()) {
      LogInfo(std::string("flushed every family and compacted the ") + CfName(cf) + " family in " + std::to_string(seconds) + " s");
    } else if (!s.IsIncomplete()) {  // Incomplete: cancelled at shutdown
      LogWarn(std::string("compacting the ") + CfName(cf) + " family: " + s.ToString());
    }
    rep->compacting.store(false);
  });
}

bool Store::compacting() const { return rep_->compacting.load(); }

Status Store::Flush() {
  Status s = Checkpoint();
  if (!s.ok()) return s;
  return FromRocks(rep_->db->Flush(rocksdb::FlushOptions(), rep_->handles));
}

}  // namespace leadflow::state
