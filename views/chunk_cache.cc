#include "views/chunk_cache.h"

#include <exception>

namespace leadflow::views {

size_t ChunkCache::Estimate(const Roaring& bitmap) {
  // The portable size tracks the containers' memory closely; the key and
  // the node cost about 100 bytes more.
  return bitmap.getSizeInBytes(true) + 100;
}

void ChunkCache::Forget(std::unordered_map<std::string, Entry>::iterator it) {
  bytes_ -= it->second.bytes;
  lru_.erase(it->second.lru_pos);
  chunks_.erase(it);
}

Status ChunkCache::Apply(const state::Reader& reader, const std::string& key,
                         const std::vector<std::pair<uint32_t, bool>>& ops) {
  auto it = chunks_.find(key);
  if (it == chunks_.end()) {
    Entry fresh;
    std::string bytes;
    Status s = reader.Get(state::Cf::kBitmaps, key, &bytes);
    if (s.ok()) {
      try {
        fresh.bitmap = Roaring::readSafe(bytes.data(), bytes.size());
      } catch (const std::exception& e) {
        return Status::Corruption(std::string("bad bitmap: ") + e.what());
      }
    } else if (!s.IsNotFound()) {
      return s;
    }
    lru_.push_front(key);
    fresh.lru_pos = lru_.begin();
    it = chunks_.emplace(key, std::move(fresh)).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru_pos);
    bytes_ -= it->second.bytes;
  }
  Entry& e = it->second;
  for (const auto& [num, add] : ops) {
    if (add) {
      e.bitmap.add(num);
    } else {
      e.bitmap.remove(num);
    }
  }
  e.bytes = Estimate(e.bitmap);
  bytes_ += e.bytes;
  if (!e.dirty) {
    e.dirty = true;
    dirty_.push_back(key);
  }
  return Status::Ok();
}

void ChunkCache::WriteDirty(state::WriteBatch* batch) {
  std::string encoded;
  for (const std::string& key : dirty_) {
    Roaring& bitmap = chunks_.at(key).bitmap;
    if (bitmap.isEmpty()) {
      batch->Delete(state::Cf::kBitmaps, key);
      continue;
    }
    bitmap.runOptimize();
    encoded.resize(bitmap.getSizeInBytes(true));
    bitmap.write(encoded.data(), true);
    batch->Put(state::Cf::kBitmaps, key, encoded);
  }
}

void ChunkCache::Committed() {
  for (const std::string& key : dirty_) {
    auto it = chunks_.find(key);
    if (it == chunks_.end()) continue;
    if (it->second.bitmap.isEmpty()) {
      Forget(it);  // deleted in the store; nothing worth keeping
    } else {
      it->second.dirty = false;
    }
  }
  dirty_.clear();
  // Evict from the least recently used end; dirty entries cannot be there
  // any more, so the loop ends at the budget or when the cache is empty.
  while (bytes_ > budget_bytes_ && !lru_.empty()) Forget(chunks_.find(lru_.back()));
}

void ChunkCache::DropDirty() {
  for (const std::string& key : dirty_) {
    auto it = chunks_.find(key);
    if (it != chunks_.end()) Forget(it);
  }
  dirty_.clear();
}

}  // namespace leadflow::views
