#include "views/chunk_cache.h"

#include <exception>
#include <iterator>

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
  HandedOff();
  Landed();
}

void ChunkCache::HandedOff() {
  for (const std::string& key : dirty_) {
    auto it = chunks_.find(key);
    if (it == chunks_.end()) continue;
    // An empty chunk is deleted by the write, but stays cached until the
    // write lands: until then the store still has it as it was.
    it->second.dirty = false;
    if (it->second.bitmap.isEmpty()) emptied_.push_back(key);
  }
  dirty_.clear();
}

void ChunkCache::Landed() {
  // Chunks deleted by the write: nothing worth keeping (unless the next
  // batch has changed them already).
  for (const std::string& key : emptied_) {
    auto it = chunks_.find(key);
    if (it != chunks_.end() && !it->second.dirty && it->second.bitmap.isEmpty()) Forget(it);
  }
  emptied_.clear();
  // Evict clean chunks from the least recently used end. The next batch's
  // dirty chunks may already be there (its chunk operations run while the
  // write is in flight): they are skipped.
  auto it = lru_.end();
  while (bytes_ > budget_bytes_ && it != lru_.begin()) {
    auto cur = std::prev(it);
    auto entry = chunks_.find(*cur);
    if (entry->second.dirty) {
      it = cur;
      continue;
    }
    Forget(entry);  // erases cur; it stays valid
  }
}

void ChunkCache::DropDirty() {
  for (const std::string& key : dirty_) {
    auto it = chunks_.find(key);
    if (it != chunks_.end()) Forget(it);
  }
  dirty_.clear();
}

}  // namespace leadflow::views
