#include "state/bitmap_cache.h"

#include <algorithm>

namespace leadflow::state {
namespace {

// What an entry is taken to hold beyond its bitmap's serialized size: the
// entry, its list node, its map node and the bitmap's own structures.
constexpr size_t kEntryOverhead = 160;

// A derived bitmap's key: its tag and sources, each length-prefixed, so
// that no two (tag, sources) share one.
std::string DerivedKey(std::string_view tag, const std::vector<std::string>& sources) {
  size_t n = 4 + tag.size();
  for (const std::string& g : sources) n += 4 + g.size();
  std::string key;
  key.reserve(n);
  auto append = [&key](std::string_view part) {
    const auto len = static_cast<uint32_t>(part.size());
    key.append(reinterpret_cast<const char*>(&len), sizeof len);
    key.append(part);
  };
  append(tag);
  for (const std::string& g : sources) append(g);
  return key;
}

}  // namespace

BitmapCache::BitmapCache(size_t capacity_bytes)
    : capacity_(capacity_bytes), slots_(new std::atomic<uint64_t>[size_t{1} << kSlotBits]) {
  for (size_t i = 0; i < (size_t{1} << kSlotBits); ++i) slots_[i].store(0, std::memory_order_relaxed);
}

uint64_t BitmapCache::ChangedAt(size_t hash) const {
  return std::max(slots_[hash & ((size_t{1} << kSlotBits) - 1)].load(std::memory_order_relaxed),
                  all_changed_.load(std::memory_order_relaxed));
}

void BitmapCache::NoteChanged(std::string_view group, uint64_t epoch) {
  // Epochs only grow and one writer notes them: a store is the max.
  slots_[Hash()(group) & ((size_t{1} << kSlotBits) - 1)].store(epoch, std::memory_order_relaxed);
}

void BitmapCache::NoteAllChanged(uint64_t epoch) { all_changed_.store(epoch, std::memory_order_relaxed); }

uint64_t BitmapCache::ChangedAt(const std::vector<std::string>& sources) const {
  uint64_t changed = all_changed_.load(std::memory_order_relaxed);
  for (const std::string& g : sources) {
    changed = std::max(changed, slots_[Hash()(g) & ((size_t{1} << kSlotBits) - 1)].load(std::memory_order_relaxed));
  }
  return changed;
}

std::shared_ptr<const Roaring> BitmapCache::Find(std::string_view group, uint64_t epoch) {
  const uint64_t changed = ChangedAt(Hash()(group));
  std::lock_guard lock(mu_);
  return FindIn(map_, group, changed, epoch);
}

void BitmapCache::Offer(std::string_view group, uint64_t epoch, std::shared_ptr<const Roaring> bitmap) {
  if (capacity_ == 0) return;
  OfferIn(map_, false, group, ChangedAt(Hash()(group)), epoch, std::move(bitmap));
}

std::shared_ptr<const Roaring> BitmapCache::FindDerived(std::string_view tag, const std::vector<std::string>& sources,
                                                        uint64_t epoch) {
  if (capacity_ == 0) return nullptr;
  const uint64_t changed = ChangedAt(sources);
  const std::string key = DerivedKey(tag, sources);
  std::lock_guard lock(mu_);
  return FindIn(derived_, key, changed, epoch);
}

void BitmapCache::OfferDerived(std::string_view tag, const std::vector<std::string>& sources, uint64_t epoch,
                               std::shared_ptr<const Roaring> bitmap) {
  if (capacity_ == 0) return;
  OfferIn(derived_, true, DerivedKey(tag, sources), ChangedAt(sources), epoch, std::move(bitmap));
}

std::shared_ptr<const Roaring> BitmapCache::FindIn(Map& map, std::string_view key, uint64_t changed, uint64_t epoch) {
  auto it = map.find(key);
  if (it == map.end()) {
    ++misses_;
    return nullptr;
  }
  List::iterator e = it->second;
  if (changed > e->epoch) {  // changed since it was read: of no use to anyone
    EraseLocked(e);
    ++misses_;
    return nullptr;
  }
  if (changed > epoch) {  // this reader reads from before the last change
    ++misses_;
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, e);
  ++hits_;
  return e->bitmap;
}

void BitmapCache::OfferIn(Map& map, bool derived, std::string_view key, uint64_t changed, uint64_t epoch,
                          std::shared_ptr<const Roaring> bitmap) {
  if (changed > epoch) return;
  const size_t bytes = bitmap->getSizeInBytes(false) + key.size() + kEntryOverhead;
  if (bytes > capacity_ / 4) return;  // one bitmap does not flush the rest
  std::lock_guard lock(mu_);
  auto it = map.find(key);
  if (it != map.end()) {
    if (it->second->epoch >= epoch) return;  // as good or newer
    EraseLocked(it->second);
  }
  lru_.push_front(Entry{std::string(key), epoch, bytes, std::move(bitmap), derived});
  map.emplace(lru_.front().group, lru_.begin());
  bytes_ += bytes;
  while (bytes_ > capacity_ && !lru_.empty()) EraseLocked(std::prev(lru_.end()));
}

void BitmapCache::EraseLocked(List::iterator it) {
  bytes_ -= it->bytes;
  (it->derived ? derived_ : map_).erase(it->group);
  lru_.erase(it);
}

BitmapCache::Stats BitmapCache::stats() const {
  std::lock_guard lock(mu_);
  return Stats{hits_, misses_, lru_.size(), bytes_};
}

}  // namespace leadflow::state
