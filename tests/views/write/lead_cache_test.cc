#include "views/write/lead_cache.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>
#include <string_view>

namespace leadflow::views {
namespace {

uint64_t H(std::string_view key) { return detail::HashKey(key); }

CachedLead Lead(const std::string& id, uint32_t num) {
  CachedLead c;
  c.lead_id = id;
  c.record.num = num;
  c.row = "row of " + id;
  return c;
}

TEST_CASE("the lead cache counts bytes, takes leads out and evicts the least recently used beyond its limit") {
  LeadCache cache(300);
  cache.Put(H("a"), "a", Lead("a", 1), 100);
  cache.Put(H("b"), "b", Lead("b", 2), 100);
  cache.Put(H("c"), "c", Lead("c", 3), 100);
  CHECK(cache.bytes() == 300);
  CHECK(cache.size() == 3);

  // Put never evicts (the applier evicts only once a write has landed).
  cache.Put(H("d"), "d", Lead("d", 4), 150);
  CHECK(cache.bytes() == 450);
  CHECK(cache.size() == 4);

  // Taking a lead out makes it the caller's; putting it back makes it the
  // most recently used.
  std::optional<CachedLead> a = cache.Take(H("a"), "a");
  REQUIRE(a);
  CHECK(a->lead_id == "a");
  CHECK(a->record.num == 1);
  CHECK(a->row == "row of a");
  CHECK(cache.bytes() == 350);
  CHECK_FALSE(cache.Take(H("a"), "a"));
  cache.Put(H("a"), "a", std::move(*a), 100);

  // Least recently used first: b, then c, until within the limit.
  cache.Evict();
  CHECK(cache.bytes() == 250);
  CHECK_FALSE(cache.Take(H("b"), "b"));
  CHECK_FALSE(cache.Take(H("c"), "c"));
  CHECK(cache.Take(H("d"), "d"));
  CHECK(cache.Take(H("a"), "a"));
  CHECK(cache.bytes() == 0);
  CHECK(cache.size() == 0);
}

TEST_CASE("putting a cached key again replaces its entry and its bytes") {
  LeadCache cache(1000);
  cache.Put(H("a"), "a", Lead("a", 1), 100);
  cache.Put(H("a"), "a", Lead("a", 7), 40);
  CHECK(cache.size() == 1);
  CHECK(cache.bytes() == 40);
  std::optional<CachedLead> a = cache.Take(H("a"), "a");
  REQUIRE(a);
  CHECK(a->record.num == 7);
  CHECK(cache.bytes() == 0);
}

TEST_CASE("a cache of limit 0 keeps nothing once evicted; estimates grow with what is kept") {
  LeadCache cache(0);
  cache.Put(H("a"), "a", Lead("a", 1), 10);
  CHECK(cache.Take(H("a"), "a"));  // until Evict, a put lead is there
  cache.Put(H("a"), "a", Lead("a", 1), 10);
  cache.Evict();
  CHECK(cache.size() == 0);
  CHECK(cache.bytes() == 0);

  const size_t base = LeadCache::EstimateBytes("org/lead", "lead", 100, 50);
  CHECK(base > 100 + 50);
  CHECK(LeadCache::EstimateBytes("org/lead", "lead", 200, 50) > base);
  CHECK(LeadCache::EstimateBytes("org/lead", "lead", 100, 80) > base);
  CHECK(LeadCache::EstimateBytes("org/a-longer-lead", "a-longer-lead", 100, 50) > base);
}

TEST_CASE("a taken lead's entry waits for its Put; a discarded batch's is forgotten") {
  LeadCache cache(1000);
  cache.Put(H("a"), "a", Lead("a", 1), 100);
  std::optional<CachedLead> a = cache.Take(H("a"), "a");
  REQUIRE(a);
  CHECK(cache.size() == 0);
  CHECK(cache.bytes() == 0);
  cache.Evict();  // a taken lead is not the cache's to evict
  CHECK_FALSE(cache.Take(H("a"), "a"));
  cache.Put(H("a"), "a", std::move(*a), 60);
  CHECK(cache.size() == 1);
  CHECK(cache.bytes() == 60);

  // ForgetTaken leaves a cached lead alone, and drops a taken one's entry.
  cache.ForgetTaken(H("a"), "a");
  CHECK(cache.size() == 1);
  REQUIRE(cache.Take(H("a"), "a"));
  cache.ForgetTaken(H("a"), "a");
  CHECK_FALSE(cache.Take(H("a"), "a"));
  cache.Put(H("a"), "a", Lead("a", 2), 30);
  std::optional<CachedLead> again = cache.Take(H("a"), "a");
  REQUIRE(again);
  CHECK(again->record.num == 2);
}

TEST_CASE("the lead cache does what a plain LRU list does, with colliding hashes") {
  // The model: (key, num, bytes), most recently used first; taken keys apart.
  struct Model {
    std::vector<std::tuple<std::string, uint32_t, size_t>> lru;
    std::set<std::string> taken;
    size_t Bytes() const {
      size_t b = 0;
      for (const auto& [k, n, bytes] : lru) b += bytes;
      return b;
    }
  };
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    const size_t limit = 200 + rng() % 400;
    LeadCache cache(limit);
    Model model;
    // Four hash values for twelve keys: most lookups meet another key's hash.
    auto hash = [](const std::string& k) { return detail::HashKey(k) & 3; };
    for (int step = 0; step < 2000; ++step) {
      const std::string key = "org\x1flead-" + std::to_string(rng() % 12);
      auto in_lru = std::find_if(model.lru.begin(), model.lru.end(),
                                 [&](const auto& t) { return std::get<0>(t) == key; });
      switch (rng() % 4) {
        case 0: {  // Put (a taken lead returned, or a new or cached one replaced)
          const uint32_t num = static_cast<uint32_t>(rng() % 1000);
          const size_t bytes = 10 + rng() % 90;
          cache.Put(hash(key), key, Lead(key, num), bytes);
          if (in_lru != model.lru.end()) model.lru.erase(in_lru);
          model.lru.insert(model.lru.begin(), {key, num, bytes});
          model.taken.erase(key);
          break;
        }
        case 1: {  // Take
          std::optional<CachedLead> got = cache.Take(hash(key), key);
          REQUIRE(got.has_value() == (in_lru != model.lru.end()));
          if (got) {
            CHECK(got->lead_id == key);
            CHECK(got->record.num == std::get<1>(*in_lru));
            model.lru.erase(in_lru);
            model.taken.insert(key);
          }
          break;
        }
        case 2:  // ForgetTaken
          cache.ForgetTaken(hash(key), key);
          model.taken.erase(key);
          break;
        default:  // Evict
          cache.Evict();
          while (model.Bytes() > limit && !model.lru.empty()) model.lru.pop_back();
          break;
      }
      REQUIRE(cache.size() == model.lru.size());
      REQUIRE(cache.bytes() == model.Bytes());
    }
  }
}

}  // namespace
}  // namespace leadflow::views
