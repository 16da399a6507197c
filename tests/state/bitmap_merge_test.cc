// Bitmap chunks changed by merge operands (state/bitmap_merge.h): whatever
// the mix of deltas, flushes and snapshots, a reader sees exactly the bitmap
// that applying the deltas in order gives, in its canonical bytes, and an
// emptied chunk as absent.
#include "state/bitmap_merge.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>
#include <chrono>

#include "state/store.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::state {
namespace {

Roaring Of(std::initializer_list<uint32_t> v) {
  Roaring r;
  for (uint32_t x : v) r.add(x);
  return r;
}

std::string Canonical(const std::set<uint32_t>& members) {
  Roaring r;
  for (uint32_t x : members) r.add(x);
  return EncodeBitmapChunk(&r);
}

// Every key of sets reads, through reader, as its set in canonical bytes, or
// as absent when the set is empty.
void CheckReads(const Reader& reader, const std::map<std::string, std::set<uint32_t>>& sets) {
  for (const auto& [key, members] : sets) {
    CAPTURE(key);
    std::string v;
    Status s = reader.Get(Cf::kBitmaps, key, &v);
    if (members.empty()) {
      CHECK(s.IsNotFound());
    } else {
      REQUIRE_OK(s);
      CHECK(v == Canonical(members));
    }
  }
}

TEST_CASE("a delta round-trips, and bytes that are not a delta are refused") {
  Roaring adds, removes;
  REQUIRE_OK(DecodeBitmapDelta(EncodeBitmapDelta(Of({1, 70000, 5}), Of({2})), &adds, &removes));
  CHECK(adds == Of({1, 5, 70000}));
  CHECK(removes == Of({2}));
  const std::string good = EncodeBitmapDelta(Of({1}), Of({}));
  for (const std::string& bad : {std::string(), std::string("D"), std::string("X") + good.substr(1),
                                 good.substr(0, good.size() - 1), std::string("D\xff\xff\xff\x7f", 5) + good}) {
    CHECK(DecodeBitmapDelta(bad, &adds, &removes).code() == Status::Code::kCorruption);
  }
}

TEST_CASE("a delta from sorted lists has the bytes of the delta from bitmaps, small or large") {
  std::mt19937 rng(17);
  auto check = [](std::vector<uint32_t> adds, std::vector<uint32_t> removes) {
    std::sort(adds.begin(), adds.end());
    std::sort(removes.begin(), removes.end());
    Roaring a, r;
    a.addMany(adds.size(), adds.data());
    r.addMany(removes.size(), removes.data());
    REQUIRE(EncodeBitmapDelta(adds, removes) == EncodeBitmapDelta(a, r));
  };
  check({}, {});
  check({7}, {});
  check({}, {65535});
  check({5, 6}, {9});          // consecutive: a run container
  check({5, 5, 9}, {9, 9});    // duplicates
  check({3, 65536 + 3}, {});   // two containers
  check({65536 * 7 + 1, 65536 * 7 + 3, 65536 * 7 + 60000}, {65536 * 7 + 2});
  for (int round = 0; round < 3000; ++round) {
    const uint32_t base = (rng() % 20) << 16;
    const int shape = round % 4;
    const size_t n = shape == 0 ? rng() % 6 : shape == 1 ? rng() % 300 : shape == 2 ? 4000 + rng() % 200 : rng() % 5000;
    const uint32_t span = shape == 3 ? 1u << 17 : 1u << 16;  // shape 3 crosses into the next container
    std::vector<uint32_t> adds, removes;
    for (size_t i = 0; i < n; ++i) adds.push_back(base + rng() % span);
    for (size_t i = 0; i < rng() % 4; ++i) removes.push_back(base + rng() % span);
    if (shape == 1) {  // spread out: never consecutive, the direct path
      for (auto& v : adds) v = base + ((v - base) & ~1u);
      for (auto& v : removes) v = base + ((v - base) | 1u);
    }
    check(adds, removes);
  }
}

TEST_CASE("deltas fold in order: a later delta wins for a lead both touch") {
  testing::TestDb db;
  Store* store = db.store();
  WriteBatch base;
  Roaring start = Of({1, 2, 3});
  base.Put(Cf::kBitmaps, "k", EncodeBitmapChunk(&start));
  REQUIRE_OK(store->Write(&base));
  const auto before = store->NewSnapshot();
  WriteBatch a, b;
  a.Merge(Cf::kBitmaps, "k", EncodeBitmapDelta(Of({4}), Of({1})));
  b.Merge(Cf::kBitmaps, "k", EncodeBitmapDelta(Of({1}), Of({4, 2})));
  WriteBatch* both[] = {&a, &b};
  REQUIRE_OK(store->Write(both));
  std::string v;
  REQUIRE_OK(store->Get(Cf::kBitmaps, "k", &v));
  CHECK(v == Canonical({1, 3}));
  REQUIRE_OK(before->Get(Cf::kBitmaps, "k", &v));  // a snapshot keeps its version
  CHECK(v == Canonical({1, 2, 3}));
}

TEST_CASE("a chunk emptied by deltas reads as absent") {
  testing::TestDb db;
  Store* store = db.store();
  WriteBatch a, b;
  a.Merge(Cf::kBitmaps, "a", EncodeBitmapDelta(Of({7}), Of({})));
  a.Merge(Cf::kBitmaps, "b", EncodeBitmapDelta(Of({8}), Of({})));
  a.Merge(Cf::kBitmaps, "c", EncodeBitmapDelta(Of({9}), Of({})));
  REQUIRE_OK(store->Write(&a));
  b.Merge(Cf::kBitmaps, "b", EncodeBitmapDelta(Of({}), Of({8})));
  REQUIRE_OK(store->Write(&b));
  for (bool flushed : {false, true}) {
    CAPTURE(flushed);
    if (flushed) REQUIRE_OK(store->Flush());
    std::string v;
    CHECK(store->Get(Cf::kBitmaps, "b", &v).IsNotFound());
    CHECK(store->NewSnapshot()->Get(Cf::kBitmaps, "b", &v).IsNotFound());
    std::vector<std::string> keys;
    REQUIRE_OK(store->Scan(Cf::kBitmaps, "", "z", [&](std::string_view k, std::string_view) {
      keys.emplace_back(k);
      return true;
    }));
    CHECK(keys == std::vector<std::string>{"a", "c"});
  }
}

TEST_CASE("a corrupt delta is a read error, never a crash or a wrong bitmap") {
  testing::TestDb db;
  WriteBatch a;
  a.Merge(Cf::kBitmaps, "k", "not a delta");
  REQUIRE_OK(db.store()->Write(&a));
  std::string v;
  CHECK(db.store()->Get(Cf::kBitmaps, "k", &v).code() == Status::Code::kCorruption);
}

TEST_CASE("random deltas over many batches, flushes and snapshots read as the sets they make") {
  // More batches per key than the memtable keeps as operands
  // (max_successive_merges), flushes in between (partial merges of deltas
  // whose chunk is in a table file), chunks across the 2^16 boundary.
  testing::TestDb db;
  Store* store = db.store();
  std::mt19937 rng(11);
  const std::vector<std::string> keys = {"k0", "k1", "k2"};
  std::map<std::string, std::set<uint32_t>> want;
  std::vector<std::pair<std::unique_ptr<Reader>, std::map<std::string, std::set<uint32_t>>>> snapshots;
  for (int round = 0; round < 300; ++round) {
    WriteBatch batch;
    for (const std::string& key : keys) {
      if (rng() % 3 == 0) continue;
      Roaring adds, removes;
      std::set<uint32_t> touched;
      for (int i = rng() % 40; i > 0; --i) {
        const uint32_t n = rng() % 200 + (rng() % 2 ? 65500 : 0);
        if (!touched.insert(n).second) continue;  // a batch's ops are net: one per lead
        if (rng() % 2) {
          adds.add(n);
          want[key].insert(n);
        } else {
          removes.add(n);
          want[key].erase(n);
        }
      }
      batch.Merge(Cf::kBitmaps, key, EncodeBitmapDelta(adds, removes));
    }
    REQUIRE_OK(store->Write(&batch));
    if (round % 37 == 0) REQUIRE_OK(store->Flush());
    if (round % 50 == 0) snapshots.emplace_back(store->NewSnapshot(), want);
  }
  CheckReads(*store, want);
  for (const auto& [snap, sets] : snapshots) CheckReads(*snap, sets);
  REQUIRE_OK(store->Flush());
  CheckReads(*store, want);
}

TEST_CASE("a background compaction folds the deltas and changes no bitmap; closing the store cancels it") {
  std::map<std::string, std::set<uint32_t>> want;
  auto fill = [&](Store* store) {
    std::mt19937 rng(5);
    for (int round = 0; round < 200; ++round) {
      WriteBatch batch;
      for (int k = 0; k < 50; ++k) {
        const std::string key = "k" + std::to_string(k);
        Roaring adds, removes;
        const uint32_t n = rng() % 5000;
        if (rng() % 3) {
          adds.add(n);
          want[key].insert(n);
        } else {
          removes.add(n);
          want[key].erase(n);
        }
        batch.Merge(Cf::kBitmaps, key, EncodeBitmapDelta(adds, removes));
      }
      REQUIRE_OK(store->Write(&batch));
      if (round % 20 == 0) REQUIRE_OK(store->Flush());
    }
  };
  testing::TestDb db;
  fill(db.store());
  // Another family's unflushed write: the compaction flushes every family
  // first, so that a restart replays none of the WAL written before it.
  WriteBatch other_family;
  other_family.Put(Cf::kLeads, "lead", "record");
  REQUIRE_OK(db.store()->Write(&other_family));
  CHECK(db.store()->IntProperty("rocksdb.num-entries-active-mem-table") > 0);
  db.store()->CompactInBackground(Cf::kBitmaps);
  db.store()->CompactInBackground(Cf::kBitmaps);  // while one runs: nothing more
  for (int i = 0; i < 3000 && db.store()->compacting(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK_FALSE(db.store()->compacting());
  CHECK(db.store()->IntProperty("rocksdb.num-entries-active-mem-table") == 0);
  CheckReads(*db.store(), want);
  // A store closed while its compaction runs closes promptly.
  testing::TestDb other;
  fill(other.store());
  other.store()->CompactInBackground(Cf::kBitmaps);
}

}  // namespace
}  // namespace leadflow::state
