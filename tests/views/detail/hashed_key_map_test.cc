// detail::HashedKeyMap (views/detail/hashed_key.h) against std::unordered_map:
// random keys, hashes that collide in full or in their tag or slot bits,
// growth, clear after a big batch and after a small one, swap; inserts by
// TryEmplace and FindOrEmplace; a deque-backed map whose entries stay put.
#include <doctest/doctest.h>

#include <deque>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "views/detail/hashed_key.h"

namespace leadflow::views::detail {
namespace {

// Checks m against the model: every key in the model is found with its
// value (the first one inserted), keys not in it are not found, and the
// entries are the model's in insertion order.
void CheckSame(const HashedKeyMap<uint32_t>& m, const std::vector<std::pair<uint64_t, std::string>>& order,
               const std::unordered_map<std::string, uint32_t>& model,
               const std::vector<std::pair<uint64_t, std::string>>& absent) {
  REQUIRE(m.size() == model.size());
  REQUIRE(m.entries().size() == order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const auto& e = m.entries()[i];
    CHECK(e.hash == order[i].first);
    CHECK(e.key == order[i].second);
    CHECK(e.value == model.at(order[i].second));
    CHECK(m.Contains(order[i].first, order[i].second));
  }
  for (const auto& [h, k] : absent) {
    if (!model.count(k)) CHECK_FALSE(m.Contains(h, k));
  }
}

// Hashes of a few shapes: real ones, ones that share everything (a full
// collision of different keys), ones that share the tag (high 32 bits) or
// the low bits only.
uint64_t HashFor(const std::string& key, int shape) {
  const uint64_t h = HashKey(key);
  switch (shape) {
    case 0: return h;
    case 1: return 42;                                   // every key the same hash
    case 2: return (0xABCDull << 32) | (h & 0xFFFFFFFF);  // one tag
    default: return h & 0xFFFFFFFF00000003ull;            // few low bits
  }
}

}  // namespace

TEST_CASE("HashedKeyMap finds what std::unordered_map finds, with colliding hashes, growth, clear and swap, by either insert") {
  std::mt19937_64 rng(7);
  for (int shape = 0; shape < 4; ++shape) {
    CAPTURE(shape);
    HashedKeyMap<uint32_t> m, other;
    for (int batch = 0; batch < 6; ++batch) {
      CAPTURE(batch);
      // Big and small batches alternate: a clear after 5,000 keys, and a
      // small batch's clear (by entry) on the grown index.
      const size_t n = shape == 1 ? 300 : (batch % 2 == 0 ? 5000 : 37);
      std::unordered_map<std::string, uint32_t> model;
      std::vector<std::pair<uint64_t, std::string>> order, absent;
      for (size_t i = 0; i < n; ++i) {
        std::string key = "org_" + std::to_string(rng() % (n * 2)) + "\x1f" + "event";
        const uint64_t h = HashFor(key, shape);
        const auto value = static_cast<uint32_t>(i);
        bool added = false;
        if (i % 2 == 0) {
          added = m.TryEmplace(h, std::string(key), value);
        } else {
          // FindOrEmplace: a new key's value is V{}, a known key's its own.
          const size_t before = m.size();
          uint32_t* v = m.FindOrEmplace(h, key);
          added = m.size() == before + 1;
          if (added) {
            CHECK(*v == 0u);
            *v = value;
          } else {
            CHECK(*v == model.at(key));
          }
        }
        CHECK(added == !model.count(key));
        if (added) {
          model.emplace(key, value);
          order.emplace_back(h, key);
        }
      }
      for (size_t i = 0; i < 200; ++i) {
        std::string key = "org_" + std::to_string(rng() % (n * 4)) + "\x1f" + "event";
        absent.emplace_back(HashFor(key, shape), key);
      }
      CheckSame(m, order, model, absent);
      // swap: the other map answers, this one is what the other was.
      m.swap(other);
      CheckSame(other, order, model, absent);
      m.swap(other);
      CheckSame(m, order, model, absent);
      m.clear();
      CHECK(m.empty());
      for (const auto& [h, k] : order) CHECK_FALSE(m.Contains(h, k));
    }
  }
}

TEST_CASE("HashedKeyMap over a deque: TryEmplaceEntry adds once, and no entry moves as the map grows") {
  for (int shape = 0; shape < 4; ++shape) {
    CAPTURE(shape);
    HashedKeyMap<std::string, std::deque> m;
    std::vector<std::pair<const void*, const void*>> where;  // each entry's key bytes and value
    for (int round = 0; round < 2; ++round) {
      m.clear();
      where.clear();
      for (int i = 0; i < 5000; ++i) {
        // Short keys (in the string's own buffer) would move with a vector.
        const std::string key = "k" + std::to_string(i);
        auto [entry, added] = m.TryEmplaceEntry(HashFor(key, shape), key);
        REQUIRE(added);
        entry->value = "v" + std::to_string(i);
        where.emplace_back(entry->key.data(), &entry->value);
        if (i % 7 == 0) {
          auto [again, added_again] = m.TryEmplaceEntry(HashFor(key, shape), key);
          CHECK_FALSE(added_again);
          CHECK(again == entry);
        }
      }
      REQUIRE(m.size() == 5000);
      for (int i = 0; i < 5000; ++i) {
        const auto& e = m.entries()[i];
        CHECK(e.key == "k" + std::to_string(i));
        CHECK(e.value == "v" + std::to_string(i));
        CHECK(static_cast<const void*>(e.key.data()) == where[i].first);
        CHECK(static_cast<const void*>(&e.value) == where[i].second);
      }
    }
  }
}

}  // namespace leadflow::views::detail
