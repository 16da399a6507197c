#include "views/write/lead_cache.h"

#include <utility>

namespace leadflow::views {

size_t LeadCache::EstimateBytes(std::string_view key, std::string_view lead_id, size_t record_bytes,
                                size_t row_bytes) {
  // Decoded, a record's vectors, strings and field objects take about 3x
  // its compact encoding; the row is kept encoded and as attributes.
  constexpr size_t kOverhead = 320;  // map and list nodes, string and vector headers, the optionals
  return kOverhead + 2 * key.size() + lead_id.size() + 3 * record_bytes + 3 * row_bytes;
}

std::optional<CachedLead> LeadCache::Take(uint64_t hash, std::string_view key) {
  auto it = entries_.find(detail::HashedKeyView{hash, key});
  if (it == entries_.end() || !it->second.cached) return std::nullopt;
  Node& n = it->second;
  std::optional<CachedLead> lead(std::move(n.lead));
  n.lead = CachedLead();
  Unlink(&n);
  n.cached = false;
  bytes_ -= n.bytes;
  n.bytes = 0;
  --cached_;
  return lead;
}

void LeadCache::Put(uint64_t hash, std::string_view key, CachedLead lead, size_t bytes) {
  auto it = entries_.find(detail::HashedKeyView{hash, key});
  if (it == entries_.end()) {
    it = entries_.try_emplace(detail::HashedKey{hash, std::string(key)}).first;
    it->second.key = &it->first;
  }
  Node& n = it->second;
  if (n.cached) {
    Unlink(&n);
    bytes_ -= n.bytes;
    --cached_;
  }
  n.lead = std::move(lead);
  n.bytes = bytes;
  n.cached = true;
  Link(&n);
  bytes_ += bytes;
  ++cached_;
}

void LeadCache::ForgetTaken(uint64_t hash, std::string_view key) {
  auto it = entries_.find(detail::HashedKeyView{hash, key});
  if (it != entries_.end() && !it->second.cached) entries_.erase(it);
}

void LeadCache::Evict() {
  while (bytes_ > limit_ && oldest_ != nullptr) {
    Node* victim = oldest_;
    Unlink(victim);
    bytes_ -= victim->bytes;
    --cached_;
    entries_.erase(entries_.find(*victim->key));
  }
}

void LeadCache::Link(Node* n) {
  n->older = newest_;
  n->newer = nullptr;
  if (newest_ != nullptr) newest_->newer = n;
  newest_ = n;
  if (oldest_ == nullptr) oldest_ = n;
}

void LeadCache::Unlink(Node* n) {
  (n->newer != nullptr ? n->newer->older : newest_) = n->older;
  (n->older != nullptr ? n->older->newer : oldest_) = n->newer;
  n->newer = n->older = nullptr;
}

}  // namespace leadflow::views
