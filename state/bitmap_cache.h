// BitmapCache: whole bitmaps of Cf::kBitmaps kept decoded between reads.
//
// A logical bitmap (views/keys.h) is stored as chunks, one key per 2^16 lead
// numbers, each a merge of deltas (state/bitmap_merge.h). A report folds tens
// of them per status and pair (a 365-day report at 900k leads in one org:
// ~8 ms, of which reading and decoding the chunks was about half, and
// folding the merge operands a catch-up left uncompacted as much again). The
// store keeps the bitmaps it reads here, by logical key ("group"), and
// serves them to any reader for as long as none of the group's chunks
// changed: a repeated read is a hash lookup and no copy.
//
// Versions. Every change the store makes visible (Store::Write, Stage) has
// an epoch, one more than the last; a reader reads at the epoch of its
// view. Before publishing epoch E the writer notes E for every group it
// changed (NoteChanged; all of them for a range deletion, NoteAllChanged).
// The changes are noted in a fixed table of slots by hash, each holding
// the latest epoch that changed any group hashing to it: a collision only
// makes an entry look changed (a miss), never unchanged. An entry read at
// epoch C answers a reader at epoch V when the group's slot is at most
// min(C, V): the group did not change after either, so both read the same.
//
// Derived bitmaps. A bitmap computed from the bitmaps of some groups alone
// (a report's union of a status's day, month and year bitmaps over a period)
// is kept the same way, under its sources and a tag naming the function:
// it answers a reader at epoch V when no source's slot is past min(C, V),
// C the epoch it was computed at. They share the bytes and the LRU order
// with the groups' bitmaps, in a map of their own.
//
// Thread safety: every method may be called from any thread; the writer
// calls NoteChanged before it publishes the epoch (publishing synchronizes
// with the readers that see it).
#ifndef LEADFLOW_STATE_BITMAP_CACHE_H_
#define LEADFLOW_STATE_BITMAP_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <roaring/roaring.hh>

namespace leadflow::state {

// Bytes a chunk's key adds to its bitmap's logical key (views/keys.h
// BitmapChunk): a written chunk key changes the group of the key without
// them.
inline constexpr size_t kBitmapChunkSuffixBytes = 2;

class BitmapCache {
 public:
  // Holds at most capacity_bytes of bitmaps (estimated); 0: holds none
  // (Find always misses; NoteChanged is still cheap).
  explicit BitmapCache(size_t capacity_bytes);
  BitmapCache(const BitmapCache&) = delete;
  BitmapCache& operator=(const BitmapCache&) = delete;

  size_t capacity() const { return capacity_; }

  // The writer: group changes at epoch (epochs only grow).
  void NoteChanged(std::string_view group, uint64_t epoch);
  // The writer: every group changes at epoch.
  void NoteAllChanged(uint64_t epoch);

  // The bitmap of group as a reader at epoch reads it, or null when not
  // cached (or cached from before a change).
  std::shared_ptr<const Roaring> Find(std::string_view group, uint64_t epoch);
  // What a reader at epoch read for group (an empty bitmap for none),
  // kept unless the group changed since.
  void Offer(std::string_view group, uint64_t epoch, std::shared_ptr<const Roaring> bitmap);

  // The bitmap computed by the function tag names from the bitmaps of
  // sources (groups) as a reader at epoch reads them, or null when not
  // cached (or cached from before a change of any source).
  std::shared_ptr<const Roaring> FindDerived(std::string_view tag, const std::vector<std::string>& sources,
                                             uint64_t epoch);
  // What a reader at epoch computed by tag from sources, kept unless one of
  // them changed since.
  void OfferDerived(std::string_view tag, const std::vector<std::string>& sources, uint64_t epoch,
                    std::shared_ptr<const Roaring> bitmap);

  struct Stats {
    uint64_t hits = 0, misses = 0, entries = 0, bytes = 0;
  };
  Stats stats() const;

 private:
  static constexpr size_t kSlotBits = 20;  // 1M slots, 8 MiB
  uint64_t ChangedAt(size_t hash) const;
  // The latest epoch at which any of sources may have changed.
  uint64_t ChangedAt(const std::vector<std::string>& sources) const;

  struct Entry {
    std::string group;  // or a derived bitmap's key (tag and sources)
    uint64_t epoch;
    size_t bytes;
    std::shared_ptr<const Roaring> bitmap;
    bool derived;  // in derived_ (else in map_)
  };
  using List = std::list<Entry>;  // most recently used first
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
  };
  using Map = std::unordered_map<std::string_view, List::iterator, Hash, Eq>;
  std::shared_ptr<const Roaring> FindIn(Map& map, std::string_view key, uint64_t changed, uint64_t epoch);
  void OfferIn(Map& map, bool derived, std::string_view key, uint64_t changed, uint64_t epoch,
               std::shared_ptr<const Roaring> bitmap);
  void EraseLocked(List::iterator it);

  const size_t capacity_;
  std::unique_ptr<std::atomic<uint64_t>[]> slots_;
  std::atomic<uint64_t> all_changed_{0};

  mutable std::mutex mu_;
  List lru_;                                                            // under mu_
  Map map_;      // under mu_: keys view lru_'s groups
  Map derived_;  // under mu_: keys view lru_'s derived keys (tag and sources)
  size_t bytes_ = 0;                                                    // under mu_
  uint64_t hits_ = 0, misses_ = 0;                                      // under mu_
};

}  // namespace leadflow::state

#endif  // LEADFLOW_STATE_BITMAP_CACHE_H_
