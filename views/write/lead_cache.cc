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

std::optional<CachedLead> LeadCache::Take(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  std::optional<CachedLead> lead(std::move(it->second.lead));
  lru_.erase(it->second.lru_pos);
  bytes_ -= it->second.bytes;
  entries_.erase(it);
  return lead;
}

void LeadCache::Put(const std::string& key, CachedLead lead, size_t bytes) {
  auto [it, inserted] = entries_.try_emplace(key);
  if (!inserted) {
    lru_.erase(it->second.lru_pos);
    bytes_ -= it->second.bytes;
  }
  lru_.push_front(key);
  it->second = Entry{std::move(lead), lru_.begin(), bytes};
  bytes_ += bytes;
}

void LeadCache::Evict() {
  while (bytes_ > limit_ && !lru_.empty()) {
    auto victim = entries_.find(lru_.back());
    bytes_ -= victim->second.bytes;
    entries_.erase(victim);
    lru_.pop_back();
  }
}

}  // namespace leadflow::views
