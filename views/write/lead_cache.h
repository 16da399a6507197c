// LeadCache: leads as the last landed batch left them, kept decoded between
// batches, least recently used evicted beyond a byte limit.
//
// A lead is touched by ~30 events over its life; keeping its record decoded
// (and the attribute facts and row derived from it) spares the next batch
// that touches it the store read, the decoding and the "before" derivation.
// The cache never holds uncommitted state: the applier takes a lead out for a
// batch (Take) and puts it back only once the batch is handed to the store;
// a lead taken for a batch that is then discarded is simply read again.
//
// Bytes are estimated (EstimateBytes), not measured: the limit bounds the
// cache's share of --memory-budget (ingest/memory_budget.h) to within the
// estimate's error (calibrated on the medium bench stream: 2.6 KB estimated
// against ~2.9 KB of RSS per lead; docs/design.md, session 9).
//
// Thread safety: none; each applier part owns one (views/write/applier.h).
#ifndef LEADFLOW_VIEWS_WRITE_LEAD_CACHE_H_
#define LEADFLOW_VIEWS_WRITE_LEAD_CACHE_H_

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "views/lead_attributes.h"
#include "views/records.h"

namespace leadflow::views {

// A lead as the last landed batch left it.
struct CachedLead {
  std::string lead_id;
  LeadRecord record;
  std::optional<LeadAttributes> attributes;  // nullopt: no row
  std::string row;                           // encoded, "" when none
  // The stored value: the size of its record's encoding when last written
  // whole, and of the journal appended since (LeadRecord::Decode).
  size_t record_bytes = 0;
  size_t journal_bytes = 0;
};

class LeadCache {
 public:
  explicit LeadCache(size_t limit_bytes) : limit_(limit_bytes) {}

  // An estimate of the heap a cached lead takes: the encoded record and row
  // times the growth of their decoded forms, the key twice (map and LRU
  // list) and the nodes' and containers' overhead.
  static size_t EstimateBytes(std::string_view key, std::string_view lead_id, size_t record_bytes,
                              size_t row_bytes);

  // Removes key's lead from the cache and returns it; nullopt if absent.
  std::optional<CachedLead> Take(const std::string& key);
  // Caches key's lead as the most recently used, counted as bytes (by
  // EstimateBytes); replaces an entry of the same key. Never evicts: the
  // applier evicts only once the batch's write has landed (Evict).
  void Put(const std::string& key, CachedLead lead, size_t bytes);
  // Evicts least recently used leads until bytes() <= limit().
  void Evict();

  size_t bytes() const { return bytes_; }
  size_t size() const { return entries_.size(); }
  size_t limit() const { return limit_; }

 private:
  struct Entry {
    CachedLead lead;
    std::list<std::string>::iterator lru_pos;
    size_t bytes = 0;
  };
  size_t limit_;
  size_t bytes_ = 0;
  std::unordered_map<std::string, Entry> entries_;  // keys::Lead
  std::list<std::string> lru_;                      // front = most recently used
};

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_WRITE_LEAD_CACHE_H_
