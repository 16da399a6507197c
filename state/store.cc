#include "state/store.h"

#include <algorithm>
#include <atomic>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_manager.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <vector>

namespace leadflow::state {
namespace {

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

Status ScanImpl(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const rocksdb::Snapshot* snap,
                std::string_view begin, std::string_view end,
                const std::function<bool(std::string_view, std::string_view)>& fn) {
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  rocksdb::Slice upper = ToSlice(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
  for (it->Seek(ToSlice(begin)); it->Valid(); it->Next()) {
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
    bool is_delete;
    std::string key;
    std::string value;
  };
  std::vector<Op> ops;
  size_t bytes = 0;
  // ops' indexes in (family, key) order, stable; valid while sorted.
  std::vector<uint32_t> order;
  bool sorted = false;
};

WriteBatch::WriteBatch() : rep_(std::make_unique<Rep>()) {}
WriteBatch::~WriteBatch() = default;

void WriteBatch::Put(Cf cf, std::string_view key, std::string_view value) {
  rep_->bytes += key.size() + value.size();
  rep_->sorted = false;
  rep_->ops.push_back({cf, false, std::string(key), std::string(value)});
}
void WriteBatch::Delete(Cf cf, std::string_view key) {
  rep_->bytes += key.size();
  rep_->sorted = false;
  rep_->ops.push_back({cf, true, std::string(key), {}});
}
size_t WriteBatch::Count() const { return rep_->ops.size(); }
size_t WriteBatch::ByteSize() const { return rep_->bytes; }
void WriteBatch::Clear() {
  rep_->ops.clear();
  rep_->bytes = 0;
  rep_->order.clear();
  rep_->sorted = false;
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

struct Store::Rep {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  // Write counters (relaxed atomics: statistics, read while written).
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> ops[static_cast<size_t>(Cf::kCount)] = {};
  std::atomic<uint64_t> bytes[static_cast<size_t>(Cf::kCount)] = {};
  ~Rep() {
    if (db) {
      for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
      db->Close();
    }
  }
};

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
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  table.cache_index_and_filter_blocks = false;

  rocksdb::ColumnFamilyOptions cf_opts;
  cf_opts.OptimizeLevelStyleCompaction(64u << 20);
  cf_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_opts.compression = rocksdb::kLZ4Compression;
  cf_opts.bottommost_compression = rocksdb::kZSTD;

  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const char* name : kCfNames) descs.emplace_back(name, cf_opts);
  // Duplicate detection asks for every event's marker, and nearly all are
  // absent: a Bloom filter over the memtable's whole keys answers those
  // without a search of the memtable's skip list (the tables' own filters
  // answer for the flushed ones).
  auto& events = descs[static_cast<size_t>(Cf::kEvents)].options;
  events.memtable_prefix_bloom_size_ratio = 0.05;
  events.memtable_whole_key_filtering = true;

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
  out->reset(new Store(std::move(rep)));
  return Status::Ok();
}

Status Store::Write(WriteBatch* batch) { return Write(std::span<WriteBatch* const>(&batch, 1)); }

Status Store::Write(std::span<WriteBatch* const> batches) {
  // Ops go into RocksDB sorted by (family, key): the memtable's skip list
  // reuses its last insert position, so sorted inserts cost a few key
  // comparisons instead of a search from the top. Each batch is sorted
  // (stable; callers may have sorted theirs on other threads), then the
  // batches are merged, the earlier batch first on equal keys, so several
  // ops on one key keep their order (the last one wins).
  using Op = WriteBatch::Rep::Op;
  auto less = [](const Op& a, const Op& b) {
    if (a.cf != b.cf) return a.cf < b.cf;
    return a.key < b.key;
  };
  size_t bytes = 0, count = 0;
  for (WriteBatch* b : batches) {
    b->Sort();
    count += b->rep_->ops.size();
    bytes += b->rep_->bytes;
  }
  std::vector<const Op*> order;
  order.reserve(count);
  std::vector<size_t> next(batches.size(), 0);
  for (;;) {
    const Op* best = nullptr;
    size_t from = 0;
    for (size_t b = 0; b < batches.size(); ++b) {
      const WriteBatch::Rep& rep = *batches[b]->rep_;
      if (next[b] == rep.order.size()) continue;
      const Op* op = &rep.ops[rep.order[next[b]]];
      if (!best || less(*op, *best)) {
        best = op;
        from = b;
      }
    }
    if (!best) break;
    order.push_back(best);
    ++next[from];
  }
  rocksdb::WriteBatch wb(bytes + 16 * count + 64);
  WriteCounters written;  // this batch's, added to the totals once it lands
  for (const Op* op : order) {
    const size_t cf = static_cast<size_t>(op->cf);
    rocksdb::Status s =
        op->is_delete ? wb.Delete(rep_->handles[cf], op->key) : wb.Put(rep_->handles[cf], op->key, op->value);
    if (!s.ok()) return FromRocks(s);
    ++written.ops[cf];
    written.bytes[cf] += op->key.size() + op->value.size();
  }
  rocksdb::WriteOptions wo;
  wo.sync = false;
  Status s = FromRocks(rep_->db->Write(wo, &wb));
  if (s.ok()) {
    for (size_t cf = 0; cf < static_cast<size_t>(Cf::kCount); ++cf) {
      if (written.ops[cf]) rep_->ops[cf].fetch_add(written.ops[cf], std::memory_order_relaxed);
      if (written.bytes[cf]) rep_->bytes[cf].fetch_add(written.bytes[cf], std::memory_order_relaxed);
    }
    rep_->batches.fetch_add(1, std::memory_order_relaxed);
  }
  return s;
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

Status Store::Get(Cf cf, std::string_view key, std::string* value) const {
  return FromRocks(rep_->db->Get(rocksdb::ReadOptions(), rep_->handles[static_cast<size_t>(cf)],
                                 ToSlice(key), value));
}

Status Store::Scan(Cf cf, std::string_view begin, std::string_view end,
                   const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return ScanImpl(rep_->db.get(), rep_->handles[static_cast<size_t>(cf)], nullptr, begin, end, fn);
}

namespace {

class SnapshotReader : public Reader {
 public:
  SnapshotReader(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>* handles)
      : db_(db), handles_(handles), snap_(db->GetSnapshot()) {}
  ~SnapshotReader() override { db_->ReleaseSnapshot(snap_); }

  Status Get(Cf cf, std::string_view key, std::string* value) const override {
    rocksdb::ReadOptions ro;
    ro.snapshot = snap_;
    return FromRocks(db_->Get(ro, (*handles_)[static_cast<size_t>(cf)], ToSlice(key), value));
  }
  Status Scan(Cf cf, std::string_view begin, std::string_view end,
              const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    return ScanImpl(db_, (*handles_)[static_cast<size_t>(cf)], snap_, begin, end, fn);
  }

 private:
  rocksdb::DB* db_;
  const std::vector<rocksdb::ColumnFamilyHandle*>* handles_;
  const rocksdb::Snapshot* snap_;
};

}  // namespace

std::unique_ptr<Reader> Store::NewSnapshot() const {
  return std::make_unique<SnapshotReader>(rep_->db.get(), &rep_->handles);
}

uint64_t Store::IntProperty(const std::string& name) const {
  uint64_t total = 0;
  for (auto* h : rep_->handles) {
    uint64_t v = 0;
    if (rep_->db->GetIntProperty(h, name, &v)) total += v;
  }
  return total;
}

Status Store::Resume() { return FromRocks(rep_->db->Resume()); }

Status Store::Flush() {
  return FromRocks(rep_->db->Flush(rocksdb::FlushOptions(), rep_->handles));
}

}  // namespace leadflow::state
