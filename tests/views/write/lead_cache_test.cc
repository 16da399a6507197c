#include "views/write/lead_cache.h"

#include <doctest/doctest.h>

#include <string>

namespace leadflow::views {
namespace {

CachedLead Lead(const std::string& id, uint32_t num) {
  CachedLead c;
  c.lead_id = id;
  c.record.num = num;
  c.row = "row of " + id;
  return c;
}

TEST_CASE("the lead cache counts bytes, takes leads out and evicts the least recently used beyond its limit") {
  LeadCache cache(300);
  cache.Put("a", Lead("a", 1), 100);
  cache.Put("b", Lead("b", 2), 100);
  cache.Put("c", Lead("c", 3), 100);
  CHECK(cache.bytes() == 300);
  CHECK(cache.size() == 3);

  // Put never evicts (the applier evicts only once a write has landed).
  cache.Put("d", Lead("d", 4), 150);
  CHECK(cache.bytes() == 450);
  CHECK(cache.size() == 4);

  // Taking a lead out makes it the caller's; putting it back makes it the
  // most recently used.
  std::optional<CachedLead> a = cache.Take("a");
  REQUIRE(a);
  CHECK(a->lead_id == "a");
  CHECK(a->record.num == 1);
  CHECK(a->row == "row of a");
  CHECK(cache.bytes() == 350);
  CHECK_FALSE(cache.Take("a"));
  cache.Put("a", std::move(*a), 100);

  // Least recently used first: b, then c, until within the limit.
  cache.Evict();
  CHECK(cache.bytes() == 250);
  CHECK_FALSE(cache.Take("b"));
  CHECK_FALSE(cache.Take("c"));
  CHECK(cache.Take("d"));
  CHECK(cache.Take("a"));
  CHECK(cache.bytes() == 0);
  CHECK(cache.size() == 0);
}

TEST_CASE("putting a cached key again replaces its entry and its bytes") {
  LeadCache cache(1000);
  cache.Put("a", Lead("a", 1), 100);
  cache.Put("a", Lead("a", 7), 40);
  CHECK(cache.size() == 1);
  CHECK(cache.bytes() == 40);
  std::optional<CachedLead> a = cache.Take("a");
  REQUIRE(a);
  CHECK(a->record.num == 7);
  CHECK(cache.bytes() == 0);
}

TEST_CASE("a cache of limit 0 keeps nothing once evicted; estimates grow with what is kept") {
  LeadCache cache(0);
  cache.Put("a", Lead("a", 1), 10);
  CHECK(cache.Take("a"));  // until Evict, a put lead is there
  cache.Put("a", Lead("a", 1), 10);
  cache.Evict();
  CHECK(cache.size() == 0);
  CHECK(cache.bytes() == 0);

  const size_t base = LeadCache::EstimateBytes("org/lead", "lead", 100, 50);
  CHECK(base > 100 + 50);
  CHECK(LeadCache::EstimateBytes("org/lead", "lead", 200, 50) > base);
  CHECK(LeadCache::EstimateBytes("org/lead", "lead", 100, 80) > base);
  CHECK(LeadCache::EstimateBytes("org/a-longer-lead", "a-longer-lead", 100, 50) > base);
}

}  // namespace
}  // namespace leadflow::views
