// ChunkCache: decoded bitmap chunks (state::Cf::kBitmaps, keys::BitmapChunk)
// kept in memory across batches, so that a batch's bitmap changes cost no
// store read and no decoding for the chunks touched recently (at 1M leads a
// chunk holds up to 65,536 lead numbers, and a busy one is touched by most
// batches).
//
// The cache is the applier's working copy: a chunk changed by the pending
// batch is dirty until the batch's write lands (Committed) or is given up
// (DropDirty, which forgets the changed chunks: the store still has them as
// they were). Clean chunks beyond the byte budget are evicted, least
// recently used first; dirty ones never are, nor any while a write is in
// flight (HandedOff .. Landed).
//
// Nothing else may write bitmap chunks while a ChunkCache holds them (the
// applier is the only writer of Cf::kBitmaps).
//
// Thread safety: one thread at a time.
#ifndef LEADFLOW_VIEWS_CHUNK_CACHE_H_
#define LEADFLOW_VIEWS_CHUNK_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <roaring/roaring.hh>

#include "state/status.h"
#include "state/store.h"

namespace leadflow::views {

class ChunkCache {
 public:
  // Default budget: 256 MiB of decoded chunks.
  static constexpr size_t kDefaultBudgetBytes = size_t{256} << 20;

  explicit ChunkCache(size_t budget_bytes = kDefaultBudgetBytes) : budget_bytes_(budget_bytes) {}
  ChunkCache(const ChunkCache&) = delete;
  ChunkCache& operator=(const ChunkCache&) = delete;

  // Applies ops (lead number, add?) in order to the chunk stored under key,
  // reading it from reader when it is not cached. The chunk becomes dirty.
  // Non-OK when the read fails or the stored chunk is not a bitmap
  // (Corruption); the cache is then unchanged.
  Status Apply(const state::Reader& reader, const std::string& key, const std::vector<std::pair<uint32_t, bool>>& ops);

  // Puts every dirty chunk into batch (a Delete for an empty one).
  void WriteDirty(state::WriteBatch* batch);

  // The batch with the dirty chunks was written: they are clean now. Then
  // evicts clean chunks beyond the budget. Same as HandedOff(); Landed().
  void Committed();

  // The dirty chunks were put into a write that is still in flight: they
  // are clean for the next batch (which may change them again), but none of
  // them is evicted until Landed(), because until then the store still has
  // them as they were before.
  void HandedOff();
  // The write in flight landed: its chunks may be evicted again; evicts
  // clean chunks beyond the budget.
  void Landed();

  // The pending changes are given up: dirty chunks are forgotten (so no
  // write may be in flight: they are read again from the store).
  void DropDirty();

  size_t size() const { return chunks_.size(); }
  size_t bytes() const { return bytes_; }
  size_t dirty() const { return dirty_.size(); }

 private:
  struct Entry {
    Roaring bitmap;
    size_t bytes = 0;  // the estimate counted in bytes_
    bool dirty = false;
    std::list<std::string>::iterator lru_pos;
  };
  static size_t Estimate(const Roaring& bitmap);
  void Forget(std::unordered_map<std::string, Entry>::iterator it);

  size_t budget_bytes_;
  size_t bytes_ = 0;
  std::unordered_map<std::string, Entry> chunks_;
  std::list<std::string> lru_;                // front = most recently used
  std::vector<std::string> dirty_;            // keys of dirty entries
  std::vector<std::string> emptied_;          // handed off empty (deleted by the write in flight)
};

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_CHUNK_CACHE_H_
