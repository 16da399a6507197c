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

uint32_t ChunkOutbox::StatusRef(std::string_view org, const std::string* status) {
  scratch_.assign(org);
  scratch_.push_back('\0');
  if (status) {
    scratch_.push_back('s');
    scratch_.append(*status);
  } else {
    scratch_.push_back('n');
  }
  auto [it, added] = status_ids_.try_emplace(scratch_, static_cast<uint32_t>(statuses_.size()));
  if (added) {
    statuses_.push_back({std::string(org), status ? std::optional<std::string>(*status) : std::nullopt});
  }
  return it->second;
}

uint64_t ChunkOutbox::HashOf(const FactChunk& c) {
  uint64_t h = (static_cast<uint64_t>(c.fact.a) << 32 | c.fact.b) * 0x9E3779B97F4A7C15ull;
  h ^= (static_cast<uint64_t>(c.fact.unit) + (static_cast<uint64_t>(c.chunk) << 48)) * 0xC2B2AE3D27D4EB4Full;
  h ^= static_cast<uint64_t>(static_cast<unsigned char>(c.fact.kind)) << 8 |
       static_cast<unsigned char>(c.fact.level);
  h *= 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 29);
}

void ChunkOutbox::SendFactRef(const FactRef& f, uint32_t num, bool add) {
  const FactChunk c{f, num >> keys::kChunkBits};
  if ((facts_.size() + 1) * 2 > fact_slots_.size()) {
    fact_slots_.assign(fact_slots_.empty() ? 1024 : fact_slots_.size() * 2, 0);
    const size_t mask = fact_slots_.size() - 1;
    for (size_t n = 0; n < facts_.size(); ++n) {
      size_t i = HashOf(facts_[n].first) & mask;
      while (fact_slots_[i] != 0) i = (i + 1) & mask;
      fact_slots_[i] = static_cast<uint32_t>(n + 1);
    }
  }
  const size_t mask = fact_slots_.size() - 1;
  for (size_t i = HashOf(c) & mask;; i = (i + 1) & mask) {
    const uint32_t slot = fact_slots_[i];
    if (slot == 0) {
      facts_.emplace_back(c, Ops{{num, add}});
      fact_slots_[i] = static_cast<uint32_t>(facts_.size());
      return;
    }
    if (facts_[slot - 1].first == c) {
      facts_[slot - 1].second.emplace_back(num, add);
      return;
    }
  }
}

void ChunkOutbox::FlushFacts() {
  for (auto& [c, ops] : facts_) {
    const StatusOf& a = statuses_[c.fact.a];
    const bool pair = c.fact.kind == keys::Kind::kTransition;
    scratch_.clear();
    AppendBitmapKeyOf(&scratch_, a.org, c.fact.kind, a.status ? &*a.status : nullptr,
                      pair ? &*statuses_[c.fact.b].status : nullptr, c.fact.level, c.fact.unit);
    keys::AppendBitmapChunkSuffix(&scratch_, c.chunk);
    Ops* out = ListOfScratch();
    if (out->empty()) {
      out->swap(ops);
    } else {
      out->insert(out->end(), ops.begin(), ops.end());
    }
  }
  facts_.clear();
  std::fill(fact_slots_.begin(), fact_slots_.end(), 0);
}

void ChunkOutbox::Clear() {
  for (Box& box : boxes_) box.clear();
  facts_.clear();
  std::fill(fact_slots_.begin(), fact_slots_.end(), 0);
  statuses_.clear();
  status_ids_.clear();
}

namespace {

// Sorts numbers of one chunk (equal above keys::kChunkBits) and drops
// repeats: through a bitset of the chunk when there are many (a year's or
// month's chunk gathers thousands per batch; a sort of them was ~3% of a
// catch-up), else by a sort.
void SortChunkNumbers(std::vector<uint32_t>* nums, std::vector<uint64_t>* bits) {
  constexpr size_t kMinForBitset = 256;
  constexpr uint32_t kLow = (uint32_t{1} << keys::kChunkBits) - 1;
  const uint32_t high = nums->empty() ? 0 : (*nums)[0] & ~kLow;
  bool one_chunk = nums->size() >= kMinForBitset;
  for (size_t i = 0; one_chunk && i < nums->size(); ++i) one_chunk = ((*nums)[i] & ~kLow) == high;
  if (!one_chunk) {
    std::sort(nums->begin(), nums->end());
    nums->erase(std::unique(nums->begin(), nums->end()), nums->end());
    return;
  }
  bits->assign(size_t{1} << (keys::kChunkBits - 6), 0);
  for (uint32_t n : *nums) (*bits)[(n & kLow) >> 6] |= uint64_t{1} << (n & 63);
  nums->clear();
  for (size_t w = 0; w < bits->size(); ++w) {
    for (uint64_t word = (*bits)[w]; word != 0; word &= word - 1) {
      nums->push_back(high | static_cast<uint32_t>(w * 64 + static_cast<size_t>(__builtin_ctzll(word))));
    }
  }
}

}  // namespace

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
  std::vector<uint64_t> bits;
  for (auto& [key, delta] : deltas) {
    for (auto* list : {&delta.first, &delta.second}) SortChunkNumbers(list, &bits);
    batch->Merge(state::Cf::kBitmaps, key.key, state::EncodeBitmapDelta(delta.first, delta.second));
  }
}

}  // namespace leadflow::views
