#include "views/write/chunk_outbox.h"

#include <algorithm>

#include "state/bitmap_merge.h"
#include "views/keys.h"

namespace leadflow::views {

ChunkOutbox::Ops* ChunkOutbox::ListOf(std::string_view logical, uint32_t chunk) {
  keys::AssignBitmapChunk(&scratch_, logical, chunk);
  return ListOfScratch();
}

ChunkOutbox::Ops* ChunkOutbox::ListOfScratch() {
  const size_t hash = detail::HashKey(scratch_);
  return boxes_[boxes_.size() == 1 ? 0 : hash % boxes_.size()].FindOrEmplace(hash, scratch_);
}

void ChunkOutbox::SendFact(std::string_view org, const BitmapFact& fact, const StatusNames& names, uint32_t num,
                           bool add) {
  scratch_.clear();
  AppendBitmapFactKey(&scratch_, org, fact, names);
  keys::AppendBitmapChunkSuffix(&scratch_, num >> keys::kChunkBits);
  ListOfScratch()->emplace_back(num, add);
}

void ChunkOutbox::Send(std::string_view logical, uint32_t num, bool add) {
  ListOf(logical, num >> keys::kChunkBits)->emplace_back(num, add);
}

void ChunkOutbox::SendAdds(std::string_view logical, std::span<const uint32_t> nums) {
  uint32_t chunk = UINT32_MAX;
  Ops* out = nullptr;
  for (uint32_t num : nums) {
    if (num >> keys::kChunkBits != chunk) {
      chunk = num >> keys::kChunkBits;
      out = ListOf(logical, chunk);
    }
    out->emplace_back(num, true);
  }
}

void ChunkOutbox::Clear() {
  for (Box& box : boxes_) box.clear();
}

void WriteChunkDeltas(std::span<const ChunkOutbox* const> senders, size_t owner, state::WriteBatch* batch) {
  // The numbers are gathered and sorted first: a bitmap built from sorted
  // numbers appends, where adding them one by one in arrival order inserts
  // into the middle of its arrays.
  std::unordered_map<detail::HashedKeyView, std::pair<std::vector<uint32_t>, std::vector<uint32_t>>,
                     detail::HashedKeyHash, detail::HashedKeyEq>
      deltas;  // chunk -> adds, removes
  for (const ChunkOutbox* sender : senders) {
    for (const auto& chunk : sender->to(owner).entries()) {
      auto& [adds, removes] = deltas[detail::HashedKeyView{chunk.hash, chunk.key}];
      for (const auto& [num, add] : chunk.value) (add ? adds : removes).push_back(num);
    }
  }
  for (auto& [key, delta] : deltas) {
    for (auto* list : {&delta.first, &delta.second}) std::sort(list->begin(), list->end());
    batch->Merge(state::Cf::kBitmaps, key.key, state::EncodeBitmapDelta(delta.first, delta.second));
  }
}

}  // namespace leadflow::views
