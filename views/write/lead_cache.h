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
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "views/detail/hashed_key.h"
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
  LeadCache(const LeadCache&) = delete;
  LeadCache& operator=(const LeadCache&) = delete;

  // An estimate of the heap a cached lead takes: the encoded record and row
  // times the growth of their decoded forms, the key twice and the nodes'
  // and containers' overhead.
  static size_t EstimateBytes(std::string_view key, std::string_view lead_id, size_t record_bytes,
                              size_t row_bytes);

  // Keys come with their hash (detail::HashKey(key)), which the applier
  // computes once per event: the cache never hashes a key.
  //
  // Takes key's lead out of the cache; nullopt if absent. Its entry stays,
  // empty and outside the LRU order, for the Put that returns it (no entry
  // freed and made again per lead per batch).
  std::optional<CachedLead> Take(uint64_t hash, std::string_view key);
  // Caches key's lead as the most recently used, counted as bytes (by
  // EstimateBytes); replaces an entry of the same key. Never evicts: the
  // applier evicts only once the batch's write has landed (Evict).
  void Put(uint64_t hash, std::string_view key, CachedLead lead, size_t bytes);
  // Removes key's entry if its lead is taken out (the batch that took it
  // was discarded: its lead is read again from the store next time).
  void ForgetTaken(uint64_t hash, std::string_view key);
  // Evicts least recently used leads until bytes() <= limit().
  void Evict();

  size_t bytes() const { return bytes_; }
  size_t size() const { return cached_; }  // leads cached (not taken out)
  size_t limit() const { return limit_; }

 private:
  struct Node {
    CachedLead lead;
    size_t bytes = 0;
    bool cached = false;  // false: taken out, and outside the LRU list
    // The LRU list, through the nodes (a map's nodes never move).
    Node* newer = nullptr;
    Node* older = nullptr;
    const detail::HashedKey* key = nullptr;  // the map's key of this node
  };
  using Map = std::unordered_map<detail::HashedKey, Node, detail::HashedKeyHash, detail::HashedKeyEq>;

  void Link(Node* n);    // as the most recently used
  void Unlink(Node* n);  // from the LRU list

  size_t limit_;
  size_t bytes_ = 0;
  size_t cached_ = 0;
  Map entries_;              // keys::Lead
  Node* newest_ = nullptr;   // the LRU list's ends
  Node* oldest_ = nullptr;
};

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_WRITE_LEAD_CACHE_H_
