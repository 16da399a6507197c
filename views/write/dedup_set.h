// DedupSet: the exact set of the duplicate keys (keys::Event: org and
// event_id) of every landed event, without a RocksDB key per event.
//
// The contract counts a repeated event_id of an org as a duplicate, however
// late it comes, so the set is exact and unbounded in time. Until state
// format 8 it was a marker key per event in Cf::kEvents: random keys, about
// a fifth of the CPU of a rebuild (their memtable inserts, and compactions
// rewriting them over and over; docs/design.md, session 10). Now:
//
// Durable form (Cf::kEvents, every key under its shard's 4-byte prefix, so a
// shard's set is dropped or copied with one range):
//   - a *generation* is a set of keys of one shard, written once: its
//     fingerprints in one record, `shard 'F' gen` -> u32 bucket count, then
//     each key's 64-bit fingerprint (HashKey); its keys in buckets of ~64,
//     `shard 'K' gen bucket` -> (u16 length, key bytes)*, in EntryLess order;
//   - keys not in a generation yet are *open*: one record per batch and
//     shard, `shard 'O' seq` -> (u16 length, key bytes)*, in EntryLess order.
// A shard's open keys become a generation (sealed, the open records
// deleted) in the batch that brings them to kSealEvents, or when all open
// keys together pass kOpenLimit; a catch-up batch is usually a generation
// of its own. Keys only grow at the end of each shard's range: memtable
// inserts at the tail, flushes that do not overlap, nothing for compactions
// to rewrite. Everything a batch changes here is in the batch's own atomic
// write (Stage), so the set is always exactly the landed events'.
//
// In memory: the open keys, whole (a hash set); and a table of the sealed
// keys' fingerprints: open addressing, 8 bytes a slot (32 bits of the
// fingerprint, 32 of the generation's index), ~11 bytes a key at the
// table's load. A key absent from both is new (exact: equal keys have equal
// fingerprints). A fingerprint found is confirmed by reading the one bucket
// record that would hold the key (a Get of ~64 keys) and comparing whole
// keys, so a fingerprint collision never makes a new event a duplicate. Only
// duplicates (and one new key in ~10^5 at 10^7 keys) pay that read.
//
// Load reads the fingerprints and open records (not the bucket records):
// ~8 bytes a key from the store, then the table is filled.
//
// Thread safety: Contains and Stage (both const: they only read) may run on
// many threads at once, when nothing calls Load or Land (the applier stages
// a catch-up batch on its writer's thread while the next batch's lookups
// run on its workers).
#ifndef LEADFLOW_VIEWS_WRITE_DEDUP_SET_H_
#define LEADFLOW_VIEWS_WRITE_DEDUP_SET_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "state/status.h"
#include "state/store.h"
#include "views/detail/hashed_key.h"
#include "views/detail/worker_pool.h"

namespace leadflow::views {

class DedupSet {
 public:
  // A shard's open keys are sealed into a generation when they reach this
  // many (live traffic: one generation per 16,384 of a shard's events: a
  // seal costs a live batch ~4x this many keys' work, so smaller seals keep
  // its tail short; 65,536 cost ~60 ms per seal at 20,000 events/s)...
  static constexpr size_t kSealEvents = 16384;
  // ... and every shard's when all open keys together pass this (many
  // partitions with little traffic each).
  static constexpr size_t kOpenLimit = 4 * kSealEvents;
  // Generations are numbered in 32 bits of a table slot (at one seal per
  // 16,384 events, 2^32 of them hold 7 * 10^13 events).
  static constexpr uint32_t kMaxGenerations = UINT32_MAX - 1;

  struct Options {
    size_t seal_events = kSealEvents;
    size_t open_limit = kOpenLimit;
    // The fingerprint of a key (tests force collisions with their own).
    std::function<uint64_t(std::string_view)> hash = [](std::string_view k) { return detail::HashKey(k); };
    // A table of at least this many slots grows incrementally (see Table);
    // a smaller one is copied at once.
    size_t incremental_growth_slots = size_t{1} << 20;
  };

  DedupSet();
  explicit DedupSet(Options options);
  DedupSet(const DedupSet&) = delete;
  DedupSet& operator=(const DedupSet&) = delete;

  // Replaces the set by the one in store.
  Status Load(const state::Reader& store);

  // Whether key, whose fingerprint is hash, is in the landed set. Reads the
  // store only to confirm a fingerprint found in the table.
  Status Contains(const state::Reader& store, uint64_t hash, std::string_view key, bool* found) const;
  // Starts fetching the table slots Contains(hash) reads first: the table
  // is large and its slots random, so a caller with many keys prefetches a
  // few keys ahead of the one it asks about.
  void Prefetch(uint64_t hash) const { table_.Prefetch(hash); }

  struct Entry {
    uint64_t hash;  // options.hash(key)
    std::string_view key;
    uint32_t shard;
  };
  // By shard, then fingerprint, then key: the order Stage writes a
  // shard's records in (it takes entries in any order, and costs least in
  // this one). Readers scan a record whole, so any fixed order would do;
  // this one compares integers, not strings, for all but colliding
  // fingerprints (sorting a catch-up batch's keys by key was ~4% of
  // `ingest --file`'s CPU, in memcmp).
  static bool EntryLess(const Entry& a, const Entry& b) {
    if (a.shard != b.shard) return a.shard < b.shard;
    if (a.hash != b.hash) return a.hash < b.hash;
    return a.key < b.key;
  }
  // What a staged batch changes in memory once its write lands.
  struct Staged {
    std::vector<Entry> entries;  // the batch's keys (their bytes must live until Land)
    std::vector<uint32_t> sealed;  // shards whose open keys are sealed with the batch
    struct Gen {
      uint32_t shard, seq, buckets;
      std::vector<uint64_t> hashes;
    };
    std::vector<Gen> gens;
    std::map<uint32_t, uint64_t> open_records;  // shard -> the seq of the batch's open record
    void Clear() { *this = Staged(); }
  };
  // Writes a batch of new keys (none in the set, no two equal) into batch,
  // Cf::kEvents: open records, or generations of the shards sealed now (and
  // the deletion of their open records). *staged says what Land then does.
  // ResourceExhausted (nothing written) when the generations' numbers are
  // used up. Entries in EntryLess order cost least (no copy, no sort).
  //
  // With parallel (it calls fn(i) for every i in [0, n), in parallel, and
  // returns when all are done) and bucket_batches, a generation's bucket
  // records are built in n = bucket_batches.size() ranges, range i's
  // records put into bucket_batches[i] (they are written with batch, in
  // one atomic write); the records are the same either way.
  using ParallelFn = detail::ParallelRunner;
  Status Stage(std::vector<Entry> entries, state::WriteBatch* batch, Staged* staged,
               const ParallelFn* parallel = nullptr, std::span<state::WriteBatch* const> bucket_batches = {}) const;
  // The batch staged as *staged landed: the set holds its keys. With
  // parallel, a generation's fingerprints (a catch-up batch's: hundreds of
  // thousands) go into the table on every thread (Table::InsertMany): the
  // applier lands a batch while its workers would otherwise wait.
  void Land(Staged* staged, const ParallelFn* parallel = nullptr);

  // Keys in the set, and estimated bytes of memory it holds.
  size_t size() const { return sealed_keys_ + open_.size(); }
  size_t open_keys() const { return open_.size(); }
  size_t generations() const { return gens_.size(); }
  // Whether the fingerprint table is moving into a bigger one (tests).
  bool table_growing() const { return table_.growing(); }
  size_t bytes() const;

  // Every key of the set in store, sorted (tests and tools).
  static Status ReadAllKeys(const state::Reader& store, std::vector<std::string>* out);

  // Keys of the durable form.
  static std::string ShardPrefix(uint32_t shard);
  static std::string GenKey(uint32_t shard, uint32_t seq);
  static std::string BucketKey(uint32_t shard, uint32_t seq, uint32_t bucket);
  static std::string OpenKey(uint32_t shard, uint64_t seq);

 private:
  struct Gen {
    uint32_t shard, seq, buckets;
  };
  struct ShardState {
    uint32_t next_gen = 0;
    uint64_t next_open = 0;
    std::vector<uint64_t> open_records;  // seqs of its open records, landed
    size_t open_keys = 0;
  };
  // Open addressing, linear probing; slot = tag (32 bits) << 32 | gen
  // index; 0 is empty. The home slot comes from the tag alone, so the table
  // grows without the whole fingerprints.
  //
  // Growth is incremental once the table is big (at 34M keys a copy of the
  // 512 MiB table took about a second, all of it inside one live batch):
  // the old slots stay readable while each later InsertMany moves a share
  // of them (several times what it inserts) into the new table; lookups
  // probe both, reporting an old slot only if it was not moved yet, so each
  // key is reported once. A Reserve that needs yet another growth finishes
  // the move first.
  // A table's slots: zeroed by Grow in ranges on every thread (as one
  // memset, with its page faults, it was ~0.5% of a two-worker `ingest
  // --file` with the second worker waiting, session 27), so they are not
  // zeroed when allocated.
  template <typename T>
  struct NoInitAllocator : std::allocator<T> {
    template <typename U>
    struct rebind {
      using other = NoInitAllocator<U>;
    };
    template <typename U>
    void construct(U* p) noexcept {
      ::new (static_cast<void*>(p)) U;
    }
    template <typename U, typename... Args>
    void construct(U* p, Args&&... args) {
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
  };
  using Slots = std::vector<uint64_t, NoInitAllocator<uint64_t>>;
  class Table {
   public:
    explicit Table(size_t incremental_growth_slots) : incremental_growth_slots_(incremental_growth_slots) {}
    // With parallel (and enough hashes to be worth it), the hashes are
    // placed by every thread at once: slots are claimed by compare-and-swap,
    // so two threads never take one slot. Which free slot of its probe chain
    // a key lands in then depends on the threads' timing, which no lookup
    // can tell (ForEachMatch reports every slot of the chain with the tag).
    void InsertMany(const uint64_t* hashes, size_t n, uint32_t gen, const ParallelFn* parallel = nullptr);
    // Calls fn(gen) for each slot whose tag is hash's.
    template <typename Fn>
    void ForEachMatch(uint64_t hash, Fn&& fn) const;
    void Prefetch(uint64_t hash) const {
      if (!slots_.empty()) __builtin_prefetch(&slots_[Home(Tag(hash))]);
      if (!old_.empty()) __builtin_prefetch(&old_[Home(Tag(hash), old_.size())]);
    }
    size_t capacity() const { return slots_.size() + old_.size(); }
    size_t size() const { return size_; }
    bool growing() const { return !old_.empty(); }
    void Clear() {
      slots_.clear();
      slots_.shrink_to_fit();
      old_.clear();
      old_.shrink_to_fit();
      moved_ = 0;
      size_ = 0;
    }
    void Reserve(size_t keys, const ParallelFn* parallel = nullptr);

   private:
    static uint64_t Tag(uint64_t hash) {
      const uint64_t t = hash >> 32;
      return t ? t : 1;
    }
    static size_t Home(uint64_t tag, size_t slots) {
      return static_cast<size_t>((static_cast<unsigned __int128>(tag << 32) * slots) >> 64);
    }
    size_t Home(uint64_t tag) const { return Home(tag, slots_.size()); }
    void Grow(size_t capacity, const ParallelFn* parallel = nullptr);
    // Moves up to n more old slots into the new table (on every thread
    // with parallel).
    void Move(size_t n, const ParallelFn* parallel = nullptr);
    void Place(uint64_t slot);
    void PlaceAtomic(uint64_t slot);  // Place, racing other PlaceAtomic calls
    // fn(begin, end, racing) over [0, n) in ranges: on every thread of
    // parallel (racing true: places must be PlaceAtomic), or, with no
    // parallel or n too small to be worth it, once on this thread.
    static void ForRanges(size_t n, const ParallelFn* parallel,
                          const std::function<void(size_t, size_t, bool)>& fn);
    size_t incremental_growth_slots_;
    Slots slots_;
    Slots old_;  // being moved into slots_; [0, moved_) done
    size_t moved_ = 0;
    size_t size_ = 0;
  };

  Options options_;
  Table table_;
  size_t sealed_keys_ = 0;
  std::vector<Gen> gens_;
  std::unordered_map<uint32_t, ShardState> shards_;
  // The open keys, and their shards.
  std::unordered_map<detail::HashedKey, uint32_t, detail::HashedKeyHash, detail::HashedKeyEq> open_;
  size_t open_key_bytes_ = 0;  // the open keys' heap bytes (estimated), kept as they come and go
};

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_WRITE_DEDUP_SET_H_
