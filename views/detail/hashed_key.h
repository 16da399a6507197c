// HashedKeySet: a set of strings whose hash the caller computes once
// (HashKey) and passes along, so that the part a key belongs to, its lookups
// and its insert never hash it again. Lookups take a HashedKeyView (no copy).
//
// Thread safety: a plain container; the usual rules.
#ifndef LEADFLOW_VIEWS_DETAIL_HASHED_KEY_H_
#define LEADFLOW_VIEWS_DETAIL_HASHED_KEY_H_

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace leadflow::views::detail {

// A 64-bit hash of key's bytes (MurmurHash64A, written out here so that it
// never changes with the standard library: the duplicate set stores it,
// views/write/dedup_set.h). Reads 8-byte words little-endian.
inline uint64_t HashKey(std::string_view key) {
  constexpr uint64_t m = 0xc6a4a7935bd1e995ull;
  constexpr int r = 47;
  const size_t len = key.size();
  uint64_t h = 0x5bd1e9955bd1e995ull ^ (len * m);
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const unsigned char* end = data + (len & ~size_t{7});
  for (; data != end; data += 8) {
    uint64_t k = 0;
    for (int i = 7; i >= 0; --i) k = (k << 8) | data[i];
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  const size_t tail = len & 7;
  if (tail) {
    for (size_t i = tail; i-- > 0;) h ^= static_cast<uint64_t>(data[i]) << (8 * i);
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

struct HashedKey {
  size_t hash;
  std::string key;
};
struct HashedKeyView {
  size_t hash;
  std::string_view key;
};

struct HashedKeyHash {
  using is_transparent = void;
  size_t operator()(const HashedKey& k) const { return k.hash; }
  size_t operator()(const HashedKeyView& k) const { return k.hash; }
};
struct HashedKeyEq {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return a.hash == b.hash && std::string_view(a.key) == std::string_view(b.key);
  }
};

using HashedKeySet = std::unordered_set<HashedKey, HashedKeyHash, HashedKeyEq>;

// An insert-only map from hashed keys to values, for one batch's keys
// (the duplicate keys of a batch, the chunks an outbox sends to):
// the entries in a vector in order of insertion, and an open-addressing
// index of their positions (linear probing, at most half full) whose slots
// also hold 32 bits of each key's hash, so a lookup reads one slot, and an
// entry's bytes only when those bits match. No node per key, no rehash of
// strings when it grows, and clear() keeps the memory for the next batch.
// Storage std::deque keeps every entry (its key's bytes and its value) where
// it was added until clear(), at the cost of a deque's indexing (the
// applier's lead slots, views/write/applier.h).
template <typename V, template <typename...> class Storage = std::vector>
class HashedKeyMap {
 public:
  struct Entry {
    uint64_t hash;
    std::string key;
    V value;
  };

  // Adds (hash, key) -> value unless the key is there; whether it was added.
  bool TryEmplace(uint64_t hash, std::string&& key, V value) {
    uint64_t* slot = Probe(hash, key);
    if (*slot != 0) return false;
    entries_.push_back(Entry{hash, std::move(key), std::move(value)});
    *slot = Tag(hash) | entries_.size();
    return true;
  }
  // The entry of (hash, key), added with V{} (key copied) when missing,
  // and whether it was added. With Storage std::deque the entry never
  // moves; with std::vector the pointer is good until the next insert.
  std::pair<Entry*, bool> TryEmplaceEntry(uint64_t hash, std::string_view key) {
    uint64_t* slot = Probe(hash, key);
    const bool added = *slot == 0;
    if (added) {
      Entry& e = entries_.emplace_back();  // a large V is built in place, not moved
      e.hash = hash;
      e.key.assign(key);
      *slot = Tag(hash) | entries_.size();
    }
    return {&entries_[(*slot & ~kTagMask) - 1], added};
  }
  // The value of (hash, key), added as V{} (key copied) when missing. The
  // pointer is good until the next insert (with std::vector storage).
  V* FindOrEmplace(uint64_t hash, std::string_view key) { return &TryEmplaceEntry(hash, key).first->value; }
  bool Contains(uint64_t hash, std::string_view key) const {
    if (entries_.empty()) return false;
    for (size_t i = SlotOf(hash);; i = (i + 1) & (slots_.size() - 1)) {
      const uint64_t slot = slots_[i];
      if (slot == 0) return false;
      if (Matches(slot, hash, key)) return true;
    }
  }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // In order of insertion. The non-const form is for changing values: an
  // entry's hash and key must stay as added.
  const Storage<Entry>& entries() const { return entries_; }
  Storage<Entry>& entries() { return entries_; }
  // Keeps the capacity; costs the entries, not the capacity, when few (a
  // small live batch after a catch-up's big one).
  void clear() {
    if (entries_.empty()) return;
    if (entries_.size() * 16 < slots_.size()) {
      for (size_t n = 0; n < entries_.size(); ++n) {
        for (size_t i = SlotOf(entries_[n].hash);; i = (i + 1) & (slots_.size() - 1)) {
          if ((slots_[i] & ~kTagMask) == n + 1) {
            slots_[i] = 0;
            break;
          }
        }
      }
    } else {
      std::fill(slots_.begin(), slots_.end(), 0);
    }
    entries_.clear();
  }
  void swap(HashedKeyMap& other) noexcept {
    entries_.swap(other.entries_);
    slots_.swap(other.slots_);
    std::swap(shift_, other.shift_);
  }

 private:
  static constexpr uint64_t kTagMask = 0xFFFFFFFF00000000ull;
  static uint64_t Tag(uint64_t hash) { return hash & kTagMask; }
  // The slot index from the hash's middle bits: the owner part of a key is
  // its hash modulo the number of parts, so the low bits are skewed within
  // a part, and the high bits are the tag.
  size_t SlotOf(uint64_t hash) const { return static_cast<size_t>((hash * 0x9E3779B97F4A7C15ull) >> shift_); }
  // The slot holding (hash, key), or the empty slot it would go to, with
  // room for one more entry.
  uint64_t* Probe(uint64_t hash, std::string_view key) {
    if ((entries_.size() + 1) * 2 > slots_.size()) Grow();
    for (size_t i = SlotOf(hash);; i = (i + 1) & (slots_.size() - 1)) {
      const uint64_t slot = slots_[i];
      if (slot == 0 || Matches(slot, hash, key)) return &slots_[i];
    }
  }
  bool Matches(uint64_t slot, uint64_t hash, std::string_view key) const {
    if ((slot & kTagMask) != Tag(hash)) return false;
    const Entry& e = entries_[(slot & ~kTagMask) - 1];
    return e.hash == hash && e.key == key;
  }
  void Grow() {
    const size_t capacity = slots_.empty() ? 1024 : slots_.size() * 2;
    slots_.assign(capacity, 0);
    shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(capacity));
    for (size_t n = 0; n < entries_.size(); ++n) {
      for (size_t i = SlotOf(entries_[n].hash);; i = (i + 1) & (capacity - 1)) {
        if (slots_[i] == 0) {
          slots_[i] = Tag(entries_[n].hash) | (n + 1);
          break;
        }
      }
    }
  }

  Storage<Entry> entries_;
  std::vector<uint64_t> slots_;  // 0: empty; else tag | (index in entries_ + 1)
  unsigned shift_ = 64;
};

}  // namespace leadflow::views::detail

#endif  // LEADFLOW_VIEWS_DETAIL_HASHED_KEY_H_
