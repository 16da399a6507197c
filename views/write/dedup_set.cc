#include "views/write/dedup_set.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "views/keys.h"

namespace leadflow::views {

using state::Cf;

namespace {

void AppendU64Be(std::string* out, uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out->push_back(static_cast<char>((v >> s) & 0xFF));
}
uint64_t ReadU64Be(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
void AppendU32Le(std::string* out, uint32_t v) {
  for (int s = 0; s < 32; s += 8) out->push_back(static_cast<char>((v >> s) & 0xFF));
}
// v's 8 little-endian bytes at out.
void WriteU64Le(char* out, uint64_t v) {
  for (int k = 0; k < 8; ++k) out[k] = static_cast<char>((v >> (8 * k)) & 0xFF);
}
uint32_t ReadU32Le(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t ReadU64Le(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

constexpr char kGenTag = 'F', kBucketTag = 'K', kOpenTag = 'O';
constexpr size_t kPrefixBytes = 4;
constexpr size_t kKeysPerBucket = 64;

// (u16 length, key bytes)* -> fn(key) for each; false when malformed.
template <typename Fn>
bool ForEachKey(std::string_view value, Fn&& fn) {
  size_t p = 0;
  while (p < value.size()) {
    if (value.size() - p < 2) return false;
    const size_t len = static_cast<unsigned char>(value[p]) | (static_cast<size_t>(static_cast<unsigned char>(value[p + 1])) << 8);
    p += 2;
    if (value.size() - p < len) return false;
    fn(value.substr(p, len));
    p += len;
  }
  return true;
}

void AppendKey(std::string* out, std::string_view key) {
  out->push_back(static_cast<char>(key.size() & 0xFF));
  out->push_back(static_cast<char>(key.size() >> 8));
  out->append(key);
}

// Heap bytes of a key's string (none within the small-string buffer).
size_t KeyHeapBytes(std::string_view key) { return key.size() > 15 ? key.size() + 1 : 0; }

uint32_t BucketOf(uint64_t hash, uint32_t buckets) { return static_cast<uint32_t>((hash & 0xFFFFFF) % buckets); }

Status Malformed(std::string_view key) {
  std::string hex;
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char c : key.substr(0, 24)) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 15]);
  }
  return Status::Corruption("malformed duplicate-set record (events family, key " + hex + ")");
}

}  // namespace

// --- the table ---

void DedupSet::Table::Reserve(size_t keys, const ParallelFn* parallel) {
  // At most 3/4 full.
  const size_t want = keys + keys / 3 + 16;
  if (want > slots_.size()) Grow(std::max(want, slots_.size() * 2), parallel);
}

void DedupSet::Table::Grow(size_t capacity, const ParallelFn* parallel) {
  Move(old_.size(), parallel);  // a move still under way finishes first
  old_.swap(slots_);
  moved_ = 0;
  slots_ = Slots();
  slots_.resize(capacity);  // not zeroed yet (NoInitAllocator)
  ForRanges(capacity, parallel,
            [this](size_t begin, size_t end, bool) { std::memset(slots_.data() + begin, 0, (end - begin) * sizeof(uint64_t)); });
  if (old_.size() < incremental_growth_slots_) Move(old_.size(), parallel);
}

void DedupSet::Table::ForRanges(size_t n, const ParallelFn* parallel,
                                const std::function<void(size_t, size_t, bool)>& fn) {
  constexpr size_t kMinParallel = 32768;  // below this, waking a thread costs more than it saves
  constexpr size_t kRanges = 16;          // more ranges than threads: a slow thread holds less up
  if (parallel == nullptr || n < kMinParallel) {
    fn(0, n, false);
    return;
  }
  (*parallel)(kRanges, [&](size_t r) { fn(n * r / kRanges, n * (r + 1) / kRanges, true); });
}

void DedupSet::Table::Move(size_t n, const ParallelFn* parallel) {
  const size_t begin = moved_, end = std::min(old_.size(), moved_ + n);
  ForRanges(end - begin, parallel, [&](size_t from, size_t to, bool racing) {
    for (size_t i = begin + from; i < begin + to; ++i) {
      if (!old_[i]) continue;
      if (racing) {
        PlaceAtomic(old_[i]);
      } else {
        Place(old_[i]);
      }
    }
  });
  moved_ = end;
  if (moved_ == old_.size()) {
    old_.clear();
    old_.shrink_to_fit();
    moved_ = 0;
  }
}

void DedupSet::Table::Place(uint64_t slot) {
  size_t i = Home(slot >> 32);
  const size_t n = slots_.size();
  while (slots_[i]) {
    if (++i == n) i = 0;
  }
  slots_[i] = slot;
}

void DedupSet::Table::PlaceAtomic(uint64_t slot) {
  size_t i = Home(slot >> 32);
  const size_t n = slots_.size();
  for (;;) {
    uint64_t free = 0;
    // Relaxed: the threads' loop returns through a lock, which orders
    // these stores before any lookup.
    if (__atomic_compare_exchange_n(&slots_[i], &free, slot, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return;
    if (++i == n) i = 0;
  }
}

void DedupSet::Table::InsertMany(const uint64_t* hashes, size_t n, uint32_t gen, const ParallelFn* parallel) {
  Reserve(size_ + n, parallel);
  // Slots are random: fetch a few ahead.
  constexpr size_t kAhead = 16;
  ForRanges(n, parallel, [&](size_t begin, size_t end, bool racing) {
    for (size_t i = begin; i < end; ++i) {
      if (i + kAhead < end) __builtin_prefetch(&slots_[Home(Tag(hashes[i + kAhead]))], 1);
      const uint64_t slot = (Tag(hashes[i]) << 32) | gen;
      if (racing) {
        PlaceAtomic(slot);
      } else {
        Place(slot);
      }
    }
  });
  size_ += n;
  // The new table has at least twice the old one's slots, so moving 8
  // old slots per insert ends the move long before it fills.
  if (growing()) Move(std::max<size_t>(8 * n, incremental_growth_slots_ / 256), parallel);
}

template <typename Fn>
void DedupSet::Table::ForEachMatch(uint64_t hash, Fn&& fn) const {
  const uint64_t tag = Tag(hash);
  // One table's probe chain from the tag's home, reporting the slots from
  // index `from` on with the tag.
  auto probe = [&](const Slots& slots, size_t from) {
    if (slots.empty()) return;
    const size_t n = slots.size();
    for (size_t i = Home(tag, n); slots[i]; i = i + 1 == n ? 0 : i + 1) {
      if (i >= from && (slots[i] >> 32) == tag) fn(static_cast<uint32_t>(slots[i]));
    }
  };
  probe(slots_, 0);
  // The old table's probe chains are intact (moved slots are not cleared);
  // a moved slot was reported above.
  probe(old_, moved_);
}

// --- keys ---

std::string DedupSet::ShardPrefix(uint32_t shard) {
  std::string k;
  keys::AppendU32(&k, shard);
  return k;
}
std::string DedupSet::GenKey(uint32_t shard, uint32_t seq) {
  std::string k = ShardPrefix(shard);
  k.push_back(kGenTag);
  keys::AppendU32(&k, seq);
  return k;
}
std::string DedupSet::BucketKey(uint32_t shard, uint32_t seq, uint32_t bucket) {
  std::string k = ShardPrefix(shard);
  k.push_back(kBucketTag);
  keys::AppendU32(&k, seq);
  keys::AppendU32(&k, bucket);
  return k;
}
std::string DedupSet::OpenKey(uint32_t shard, uint64_t seq) {
  std::string k = ShardPrefix(shard);
  k.push_back(kOpenTag);
  AppendU64Be(&k, seq);
  return k;
}

// --- the set ---

DedupSet::DedupSet() : DedupSet(Options()) {}
DedupSet::DedupSet(Options options)
    : options_(std::move(options)), table_(options_.incremental_growth_slots) {}

size_t DedupSet::bytes() const {
  // A node of the open map: the key's string, hash, shard and the node's
  // links (estimated), its bucket, and the key's own bytes.
  const size_t open_bytes =
      open_.size() * (sizeof(detail::HashedKey) + 48) + open_.bucket_count() * sizeof(void*) + open_key_bytes_;
  return table_.capacity() * sizeof(uint64_t) + gens_.capacity() * sizeof(Gen) + open_bytes;
}

Status DedupSet::Load(const state::Reader& store) {
  table_.Clear();
  sealed_keys_ = 0;
  gens_.clear();
  shards_.clear();
  open_.clear();
  open_key_bytes_ = 0;
  // Shard by shard: its generations' fingerprints, then its open records
  // (the bucket records between them are not read).
  std::string begin;
  for (;;) {
    std::string first;
    Status s = store.Scan(Cf::kEvents, begin, "\xFF\xFF\xFF\xFF\xFF", [&](std::string_view k, std::string_view) {
      first = std::string(k);
      return false;
    });
    if (!s.ok()) return s;
    if (first.empty()) break;
    if (first.size() < kPrefixBytes + 1) return Malformed(first);
    const uint32_t shard = keys::ReadU32(first, 0);
    ShardState& st = shards_[shard];
    const std::string prefix = ShardPrefix(shard);
    Status bad = Status::Ok();
    s = store.Scan(Cf::kEvents, prefix + kGenTag, prefix + static_cast<char>(kGenTag + 1),
                   [&](std::string_view k, std::string_view v) {
                     if (k.size() != kPrefixBytes + 5 || v.size() < 4 || (v.size() - 4) % 8 != 0) {
                       bad = Malformed(k);
                       return false;
                     }
                     const uint32_t seq = keys::ReadU32(k, kPrefixBytes + 1);
                     const uint32_t buckets = ReadU32Le(v.data());
                     const size_t n = (v.size() - 4) / 8;
                     if (buckets == 0 || gens_.size() >= kMaxGenerations) {
                       bad = Malformed(k);
                       return false;
                     }
                     const auto gen = static_cast<uint32_t>(gens_.size());
                     gens_.push_back({shard, seq, buckets});
                     st.next_gen = std::max(st.next_gen, seq + 1);
                     std::vector<uint64_t> hashes(n);
                     for (size_t i = 0; i < n; ++i) hashes[i] = ReadU64Le(v.data() + 4 + 8 * i);
                     table_.InsertMany(hashes.data(), n, gen);
                     sealed_keys_ += n;
                     return true;
                   });
    if (s.ok()) s = bad;
    if (!s.ok()) return s;
    s = store.Scan(Cf::kEvents, prefix + kOpenTag, prefix + static_cast<char>(kOpenTag + 1),
                   [&](std::string_view k, std::string_view v) {
                     if (k.size() != kPrefixBytes + 9) {
                       bad = Malformed(k);
                       return false;
                     }
                     const uint64_t seq = ReadU64Be(k.data() + kPrefixBytes + 1);
                     st.open_records.push_back(seq);
                     st.next_open = std::max(st.next_open, seq + 1);
                     const bool ok = ForEachKey(v, [&](std::string_view key) {
                       if (open_.try_emplace(detail::HashedKey{options_.hash(key), std::string(key)}, shard).second) {
                         ++st.open_keys;
                         open_key_bytes_ += KeyHeapBytes(key);
                       }
                     });
                     if (!ok) bad = Malformed(k);
                     return ok;
                   });
    if (s.ok()) s = bad;
    if (!s.ok()) return s;
    if (shard == UINT32_MAX) break;
    begin = ShardPrefix(shard + 1);
  }
  return Status::Ok();
}

Status DedupSet::Contains(const state::Reader& store, uint64_t hash, std::string_view key, bool* found) const {
  *found = open_.count(detail::HashedKeyView{hash, key}) > 0;
  if (*found) return Status::Ok();
  Status err = Status::Ok();
  table_.ForEachMatch(hash, [&](uint32_t gen_index) {
    if (*found || !err.ok()) return;
    const Gen& gen = gens_[gen_index];
    const std::string bucket_key = BucketKey(gen.shard, gen.seq, BucketOf(hash, gen.buckets));
    std::string value;
    Status s = store.Get(Cf::kEvents, bucket_key, &value);
    if (s.IsNotFound()) return;  // another generation's fingerprint
    if (!s.ok()) {
      err = std::move(s);
      return;
    }
    if (!ForEachKey(value, [&](std::string_view k) { *found = *found || k == key; })) err = Malformed(bucket_key);
  });
  return err;
}

Status DedupSet::Stage(std::vector<Entry> entries, state::WriteBatch* batch, Staged* staged, const ParallelFn* parallel,
                       std::span<state::WriteBatch* const> bucket_batches) const {
  staged->Clear();
  if (!std::is_sorted(entries.begin(), entries.end(), EntryLess)) std::sort(entries.begin(), entries.end(), EntryLess);
  // The batch's keys by shard (ranges of entries), and which shards seal.
  std::map<uint32_t, std::span<const Entry>> by_shard;
  for (size_t b = 0; b < entries.size();) {
    size_t e = b;
    while (e < entries.size() && entries[e].shard == entries[b].shard) ++e;
    by_shard[entries[b].shard] = std::span<const Entry>(entries.data() + b, e - b);
    b = e;
  }
  size_t open_after = open_.size();
  std::map<uint32_t, size_t> shard_open;  // shard -> its open keys after the batch, if not sealed
  for (const auto& [shard, list] : by_shard) {
    auto it = shards_.find(shard);
    shard_open[shard] = (it == shards_.end() ? 0 : it->second.open_keys) + list.size();
    open_after += list.size();
  }
  for (const auto& [shard, st] : shards_) {
    if (st.open_keys && !shard_open.count(shard)) shard_open[shard] = st.open_keys;
  }
  const bool seal_all = open_after > options_.open_limit;
  for (const auto& [shard, n] : shard_open) {
    if (n > 0 && (seal_all || n >= options_.seal_events)) staged->sealed.push_back(shard);
  }
  if (gens_.size() + staged->sealed.size() > kMaxGenerations) {
    return Status::Corruption("the duplicate set's generations are used up (" + std::to_string(kMaxGenerations) +
                              "): rebuild the data directory from the topic");
  }

  // Sealed shards: a generation of their open keys and the batch's (the
  // batch's range itself when the shard has no open keys: a catch-up batch).
  std::map<uint32_t, std::vector<Entry>> with_open;  // sealed shards with open keys
  for (uint32_t shard : staged->sealed) {
    auto it = shards_.find(shard);
    if (it != shards_.end() && it->second.open_keys > 0) with_open[shard];
  }
  if (!with_open.empty()) {
    for (const auto& [k, shard] : open_) {
      auto it = with_open.find(shard);
      if (it != with_open.end()) it->second.push_back({k.hash, k.key, shard});
    }
    for (auto& [shard, list] : with_open) {
      auto batch_keys = by_shard.find(shard);
      if (batch_keys != by_shard.end()) list.insert(list.end(), batch_keys->second.begin(), batch_keys->second.end());
      std::sort(list.begin(), list.end(), EntryLess);
    }
  }
  std::string value;
  for (const auto& [shard, list] : by_shard) {
    if (std::binary_search(staged->sealed.begin(), staged->sealed.end(), shard)) continue;
    // An open record of the batch's keys, in EntryLess order (the same
    // bytes for the same batch, whatever order the applier's parts gave
    // them in).
    value.clear();
    for (const Entry& e : list) AppendKey(&value, e.key);
    auto it = shards_.find(shard);
    const uint64_t seq = it == shards_.end() ? 0 : it->second.next_open;
    batch->Put(Cf::kEvents, OpenKey(shard, seq), value);
    staged->open_records[shard] = seq;
  }
  for (uint32_t shard : staged->sealed) {
    std::span<const Entry> list;
    if (auto o = with_open.find(shard); o != with_open.end()) {
      list = o->second;
    } else if (auto b = by_shard.find(shard); b != by_shard.end()) {
      list = b->second;
    }
    auto it = shards_.find(shard);
    const uint32_t seq = it == shards_.end() ? 0 : it->second.next_gen;
    const auto buckets = static_cast<uint32_t>(std::max<size_t>(1, (list.size() + kKeysPerBucket - 1) / kKeysPerBucket));
    // By bucket, then EntryLess (a counting sort keeps the list's order).
    std::vector<uint32_t> bucket_of(list.size());
    std::vector<uint32_t> order(list.size());
    std::vector<uint32_t> starts(buckets + 1, 0);
    for (size_t i = 0; i < list.size(); ++i) {
      bucket_of[i] = BucketOf(list[i].hash, buckets);
      ++starts[bucket_of[i] + 1];
    }
    for (uint32_t b = 0; b < buckets; ++b) starts[b + 1] += starts[b];
    {
      std::vector<uint32_t> fill(starts.begin(), starts.end() - 1);
      for (size_t i = 0; i < list.size(); ++i) order[fill[bucket_of[i]]++] = static_cast<uint32_t>(i);
    }
    Staged::Gen gen{shard, seq, buckets, {}};
    gen.hashes.resize(list.size());
    std::string fps;
    fps.reserve(4 + 8 * list.size());
    AppendU32Le(&fps, buckets);
    fps.resize(4 + 8 * list.size());
    // Buckets [first, last) into out: their records, and their keys'
    // fingerprints at their places in fps and gen.hashes (a bucket's keys
    // are order[starts[b], starts[b + 1])).
    auto build = [&](uint32_t first, uint32_t last, state::WriteBatch* out) {
      std::string v;
      // The keys' bytes are spread over the applier's memory, and a
      // bucket's entries over the list (order is random in it): each was
      // a cache miss in the copy below (~3% of a two-worker `ingest
      // --file`'s CPU, session 27). So the entries are fetched 2 * kAhead
      // ahead and their keys' bytes kAhead ahead, once the entry is in
      // cache (reading the entry to find its key was the stall, session 37).
      constexpr uint32_t kAhead = 8;
      const uint32_t begin = starts[first], end = starts[last];
      for (uint32_t at = begin; at < end && at < begin + 2 * kAhead; ++at) __builtin_prefetch(&list[order[at]]);
      for (uint32_t at = begin; at < end && at < begin + kAhead; ++at) __builtin_prefetch(list[order[at]].key.data());
      for (uint32_t b = first; b < last; ++b) {
        if (starts[b] == starts[b + 1]) continue;
        v.clear();
        for (uint32_t at = starts[b]; at < starts[b + 1]; ++at) {
          if (at + 2 * kAhead < end) __builtin_prefetch(&list[order[at + 2 * kAhead]]);
          if (at + kAhead < end) __builtin_prefetch(list[order[at + kAhead]].key.data());
          const Entry& e = list[order[at]];
          AppendKey(&v, e.key);
          WriteU64Le(fps.data() + 4 + 8 * at, e.hash);
          gen.hashes[at] = e.hash;
        }
        out->PutOwned(Cf::kEvents, BucketKey(shard, seq, b), std::move(v));
        v = std::string();
      }
    };
    if (parallel && !bucket_batches.empty() && buckets >= 2 * bucket_batches.size()) {
      const size_t n = bucket_batches.size();
      (*parallel)(n, [&](size_t i) {
        build(static_cast<uint32_t>(buckets * i / n), static_cast<uint32_t>(buckets * (i + 1) / n), bucket_batches[i]);
      });
    } else {
      build(0, buckets, batch);
    }
    batch->PutOwned(Cf::kEvents, GenKey(shard, seq), std::move(fps));
    if (it != shards_.end()) {
      for (uint64_t open_seq : it->second.open_records) batch->Delete(Cf::kEvents, OpenKey(shard, open_seq));
    }
    staged->gens.push_back(std::move(gen));
  }
  staged->entries = std::move(entries);
  return Status::Ok();
}

void DedupSet::Land(Staged* staged, const ParallelFn* parallel) {
  for (uint32_t shard : staged->sealed) {
    ShardState& st = shards_[shard];
    st.open_records.clear();
    st.open_keys = 0;
  }
  if (!staged->sealed.empty()) {
    for (auto it = open_.begin(); it != open_.end();) {
      if (std::binary_search(staged->sealed.begin(), staged->sealed.end(), it->second)) {
        open_key_bytes_ -= KeyHeapBytes(it->first.key);
        it = open_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Staged::Gen& gen : staged->gens) {
    const auto index = static_cast<uint32_t>(gens_.size());
    gens_.push_back({gen.shard, gen.seq, gen.buckets});
    table_.InsertMany(gen.hashes.data(), gen.hashes.size(), index, parallel);
    sealed_keys_ += gen.hashes.size();
    shards_[gen.shard].next_gen = gen.seq + 1;
  }
  for (const auto& [shard, seq] : staged->open_records) {
    ShardState& st = shards_[shard];
    st.open_records.push_back(seq);
    st.next_open = seq + 1;
  }
  for (const Entry& e : staged->entries) {
    if (staged->open_records.count(e.shard)) {
      if (open_.try_emplace(detail::HashedKey{e.hash, std::string(e.key)}, e.shard).second) {
        ++shards_[e.shard].open_keys;
        open_key_bytes_ += KeyHeapBytes(e.key);
      }
    }
  }
  staged->Clear();
}

Status DedupSet::ReadAllKeys(const state::Reader& store, std::vector<std::string>* out) {
  out->clear();
  Status bad = Status::Ok();
  Status s = store.Scan(Cf::kEvents, "", "\xFF\xFF\xFF\xFF\xFF", [&](std::string_view k, std::string_view v) {
    if (k.size() <= kPrefixBytes) {
      bad = Malformed(k);
      return false;
    }
    const char tag = k[kPrefixBytes];
    if (tag != kBucketTag && tag != kOpenTag) return true;
    if (!ForEachKey(v, [&](std::string_view key) { out->emplace_back(key); })) {
      bad = Malformed(k);
      return false;
    }
    return true;
  });
  if (s.ok()) s = bad;
  std::sort(out->begin(), out->end());
  return s;
}

}  // namespace leadflow::views
