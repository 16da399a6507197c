#include "views/write/dedup_set.h"

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::views {
namespace {

using state::Cf;

// Drives a DedupSet against a plain std::set through batches of random
// keys (a share of them repeats), writing every staged batch to a real
// store, reloading a fresh set from the store now and then, and checking
// that both sets always agree with the model.
struct Model {
  explicit Model(DedupSet::Options o) : options(std::move(o)), set(std::make_unique<DedupSet>(options)) {}
  const DedupSet::ParallelFn* parallel = nullptr;  // Land's

  // One batch: each key is looked up, then the new ones are staged,
  // written and landed. Returns how many were new.
  size_t Batch(const std::vector<std::pair<std::string, uint32_t>>& keys, bool land = true) {
    std::vector<std::string> batch_keys;  // owned here until Land
    std::vector<uint32_t> shards;
    std::set<std::string> in_batch;
    for (const auto& [key, shard] : keys) {
      bool found = false;
      REQUIRE_OK(set->Contains(*db.store(), options.hash(key), key, &found));
      CHECK_MESSAGE(found == (landed.count(key) > 0), key);
      if (found || !in_batch.insert(key).second) continue;
      batch_keys.push_back(key);
      shards.push_back(shard);
    }
    std::vector<DedupSet::Entry> entries;
    for (size_t i = 0; i < batch_keys.size(); ++i) entries.push_back({options.hash(batch_keys[i]), batch_keys[i], shards[i]});
    state::WriteBatch wb;
    DedupSet::Staged staged;
    REQUIRE_OK(set->Stage(std::move(entries), &wb, &staged));
    if (!land) {
      // The write failed: nothing of it is in the store; the owner builds a
      // new set from the store (as the applier does once poisoned).
      set = std::make_unique<DedupSet>(options);
      REQUIRE_OK(set->Load(*db.store()));
      return 0;
    }
    REQUIRE_OK(db.store()->Write(&wb));
    set->Land(&staged, parallel);
    landed.insert(in_batch.begin(), in_batch.end());
    CHECK(set->size() == landed.size());
    return in_batch.size();
  }

  void Reload() {
    auto fresh = std::make_unique<DedupSet>(options);
    REQUIRE_OK(fresh->Load(*db.store()));
    CHECK(fresh->size() == set->size());
    CHECK(fresh->open_keys() == set->open_keys());
    CHECK(fresh->generations() == set->generations());
    set = std::move(fresh);
    std::vector<std::string> all;
    REQUIRE_OK(DedupSet::ReadAllKeys(*db.store(), &all));
    CHECK(std::vector<std::string>(landed.begin(), landed.end()) == all);
  }

  DedupSet::Options options;
  testing::TestDb db;
  std::unique_ptr<DedupSet> set;
  std::set<std::string> landed;
};

std::vector<std::pair<std::string, uint32_t>> RandomBatch(std::mt19937_64* rng, size_t n, size_t universe) {
  std::vector<std::pair<std::string, uint32_t>> out;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t id = (*rng)() % universe;
    // An org's events come from one shard, mostly; org 5 from two (another
    // partitioner), which the set must still see as one org.
    const uint32_t org = static_cast<uint32_t>(id % 7);
    uint32_t shard = org % 3;
    if (org == 5 && (*rng)() % 2) shard = 2;
    out.emplace_back("org" + std::to_string(org) + std::string(1, '\0') + "ev-" + std::to_string(id), shard);
  }
  return out;
}

void Run(DedupSet::Options options, uint64_t seed) {
  Model m(std::move(options));
  std::mt19937_64 rng(seed);
  size_t batches = 0;
  for (int round = 0; round < 60; ++round) {
    // Live-like small batches, and now and then a catch-up batch.
    const size_t n = round % 13 == 5 ? 700 : 1 + rng() % 40;
    m.Batch(RandomBatch(&rng, n, 3000), /*land=*/round % 17 != 9);
    ++batches;
    if (round % 9 == 4) m.Reload();
  }
  m.Reload();
  CHECK(m.landed.size() > 500);
  CHECK(m.set->generations() > 0);
  // Every key landed is found, after a reload too; none of a fresh range is.
  for (const auto& key : m.landed) {
    bool found = false;
    REQUIRE_OK(m.set->Contains(*m.db.store(), m.options.hash(key), key, &found));
    CHECK(found);
  }
  for (int i = 0; i < 200; ++i) {
    const std::string key = "org1" + std::string(1, '\0') + "never-" + std::to_string(i);
    bool found = true;
    REQUIRE_OK(m.set->Contains(*m.db.store(), m.options.hash(key), key, &found));
    CHECK(!found);
  }
}

TEST_CASE("the duplicate set agrees with a plain set through batches, seals, failed writes and reloads") {
  DedupSet::Options o;
  o.seal_events = 50;  // small: many generations, sealed by size and all at once
  o.open_limit = 120;
  for (uint64_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    Run(o, seed);
  }
  o.incremental_growth_slots = 0;  // every growth of the table incremental
  for (uint64_t seed : {4u, 5u}) {
    CAPTURE(seed);
    Run(o, seed);
  }
}

TEST_CASE("the fingerprint table grows incrementally: every key is found while its slots move") {
  DedupSet::Options o;
  o.seal_events = 64;  // every batch below seals: the table takes its keys
  o.open_limit = 256;
  o.incremental_growth_slots = 0;
  Model m(o);
  size_t growing = 0;
  for (int b = 0; b < 150; ++b) {
    std::vector<std::pair<std::string, uint32_t>> keys;
    for (int i = 0; i < 64; ++i) keys.emplace_back("org" + std::string(1, '\0') + "b" + std::to_string(b) + "-" + std::to_string(i), 1);
    REQUIRE(m.Batch(keys) == 64);
    growing += m.set->table_growing();
    // Batch() looked every key of this batch up; look every earlier one up
    // now, while the table may be moving.
    if (b % 10 == 9) {
      for (const auto& key : m.landed) {
        bool found = false;
        REQUIRE_OK(m.set->Contains(*m.db.store(), o.hash(key), key, &found));
        REQUIRE(found);
      }
    }
  }
  CHECK(growing > 10);  // the moves spanned batches
  CHECK(m.set->generations() == 150);
  m.Reload();
}

// Runs fn(i) for every i in [0, n) on two threads of its own at once.
const DedupSet::ParallelFn kTwoThreads = [](size_t n, const std::function<void(size_t)>& fn) {
  std::thread other([&] {
    for (size_t i = 1; i < n; i += 2) fn(i);
  });
  for (size_t i = 0; i < n; i += 2) fn(i);
  other.join();
};

TEST_CASE("catch-up generations land on two threads at once: every key is found, no new key is") {
  for (size_t incremental : {size_t{0}, size_t{1} << 20}) {
    CAPTURE(incremental);
    DedupSet::Options o;
    o.incremental_growth_slots = incremental;  // 0: the moves run on the threads too
    Model m(o);
    m.parallel = &kTwoThreads;
    for (int b = 0; b < 4; ++b) {
      std::vector<std::pair<std::string, uint32_t>> keys;
      // A generation each (the default seal), big enough to be placed in
      // parallel; every fifth key of the batch before repeats.
      for (int i = 0; i < 40000; ++i) keys.emplace_back("org" + std::string(1, '\0') + std::to_string(b) + "-" + std::to_string(i), 1);
      for (int i = 0; b > 0 && i < 40000; i += 5) keys.emplace_back("org" + std::string(1, '\0') + std::to_string(b - 1) + "-" + std::to_string(i), 1);
      REQUIRE(m.Batch(keys) == 40000);
    }
    CHECK(m.set->generations() == 4);
    for (const auto& key : m.landed) {
      bool found = false;
      REQUIRE_OK(m.set->Contains(*m.db.store(), o.hash(key), key, &found));
      REQUIRE(found);
    }
    for (int i = 0; i < 2000; ++i) {
      const std::string key = "org" + std::string(1, '\0') + "new-" + std::to_string(i);
      bool found = true;
      REQUIRE_OK(m.set->Contains(*m.db.store(), o.hash(key), key, &found));
      REQUIRE_FALSE(found);
    }
    m.Reload();
  }
}

TEST_CASE("fingerprint collisions never make a new key a duplicate") {
  // Every key's fingerprint is one of four values: every lookup of a new
  // key finds fingerprints in the table, and only the bucket records'
  // whole keys tell them apart.
  DedupSet::Options o;
  o.seal_events = 40;
  o.open_limit = 100;
  o.hash = [](std::string_view k) { return detail::HashKey(k) & 3; };
  Run(o, 7);
}

TEST_CASE("the default thresholds: a catch-up batch is a generation of its own, live batches stay open") {
  Model m{DedupSet::Options()};
  std::vector<std::pair<std::string, uint32_t>> big, small;
  for (int i = 0; i < 70000; ++i) big.emplace_back("org" + std::string(1, '\0') + "e" + std::to_string(i), 1);
  for (int i = 0; i < 100; ++i) small.emplace_back("org" + std::string(1, '\0') + "s" + std::to_string(i), 1);
  CHECK(m.Batch(big) == 70000);
  CHECK(m.set->generations() == 1);
  CHECK(m.set->open_keys() == 0);
  CHECK(m.Batch(small) == 100);
  CHECK(m.set->generations() == 1);
  CHECK(m.set->open_keys() == 100);
  CHECK(m.set->bytes() >= 70000 * 8);
  // A batch's keys in one open record; a generation in buckets of ~64 keys
  // plus one record of fingerprints: far fewer keys than events.
  size_t records = 0;
  REQUIRE_OK(m.db.store()->Scan(Cf::kEvents, "", "\xFF\xFF\xFF\xFF\xFF", [&](std::string_view, std::string_view) {
    ++records;
    return true;
  }));
  CHECK(records == 1 + (70000 + 63) / 64 + 1);
  m.Reload();
  CHECK(m.Batch(big) == 0);  // all duplicates now
}

TEST_CASE("a shard's records sit under its prefix, apart from other shards'") {
  Model m{DedupSet::Options()};
  m.Batch({{"a" + std::string(1, '\0') + "1", 0}, {"b" + std::string(1, '\0') + "1", 7}});
  std::vector<std::string> keys;
  REQUIRE_OK(m.db.store()->Scan(Cf::kEvents, "", "\xFF\xFF\xFF\xFF\xFF", [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  }));
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].rfind(DedupSet::ShardPrefix(0), 0) == 0);
  CHECK(keys[1].rfind(DedupSet::ShardPrefix(7), 0) == 0);
}

}  // namespace
}  // namespace leadflow::views
