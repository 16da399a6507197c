// Bitmap chunks changed by merge operands (state/bitmap_merge.h): whatever
// the mix of deltas, flushes and snapshots, a reader sees exactly the bitmap
// that applying the deltas in order gives, in its canonical bytes, and an
// emptied chunk as absent.
#include "state/bitmap_merge.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>
#include <chrono>

#include "state/store.h"
#include <rocksdb/merge_operator.h>
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

// The merge operator alone, on chains of operands of every form CRoaring
// writes (a few numbers: arrays; consecutive ones: runs; thousands: bitsets):
// the full merge equals applying each operand in order to the chunk, and the
// partial merge is one operand with that effect, in the bytes of the delta of
// the same sets.
TEST_CASE("the merge operator combines chains of small, run and large deltas exactly as applying them in order") {
  const auto op = NewBitmapMergeOperator();
  std::mt19937 rng(29);
  auto random_set = [&](int kind) {
    std::set<uint32_t> out;
    const uint32_t base = (rng() % 3) * 65536 + rng() % 60000;
    if (kind == 0) {  // a lead or a few
      for (int i = static_cast<int>(rng() % 4); i > 0; --i) out.insert(base + rng() % 300);
    } else if (kind == 1) {  // consecutive: a run
      for (uint32_t i = 0, n = 2 + rng() % 40; i < n; ++i) out.insert(base + i);
    } else {  // thousands in one chunk: a bitset container
      for (int i = 0; i < 5000; ++i) out.insert(base / 65536 * 65536 + rng() % 65536);
    }
    return out;
  };
  auto bitmap = [](const std::set<uint32_t>& s) {
    Roaring r;
    for (uint32_t x : s) r.add(x);
    return r;
  };
  for (int round = 0; round < 300; ++round) {
    CAPTURE(round);
    std::set<uint32_t> model = random_set(static_cast<int>(rng() % 3));
    Roaring start = bitmap(model);
    const std::string existing = EncodeBitmapChunk(&start);
    std::vector<std::string> operands;
    const int n = 1 + static_cast<int>(rng() % 40);
    const int large_every = round % 3 == 0 ? 7 : 1000;  // some chains all small
    for (int i = 0; i < n; ++i) {
      const int kind = i % large_every == large_every - 1 ? 2 : static_cast<int>(rng() % 4 == 0);
      std::set<uint32_t> adds = random_set(kind), removes = random_set(static_cast<int>(rng() % 2));
      if (rng() % 3 == 0) removes.clear();
      if (rng() % 5 == 0) adds.clear();
      for (uint32_t x : removes) model.erase(x);  // remove, then add
      model.insert(adds.begin(), adds.end());
      operands.push_back(EncodeBitmapDelta(bitmap(adds), bitmap(removes)));
    }
    std::vector<rocksdb::Slice> list(operands.begin(), operands.end());
    const rocksdb::Slice existing_slice(existing);
    const rocksdb::Slice key("k");
    rocksdb::MergeOperator::MergeOperationInput in(key, &existing_slice, list, nullptr);
    std::string merged;
    rocksdb::Slice existing_operand;
    rocksdb::MergeOperator::MergeOperationOutput out(merged, existing_operand);
    REQUIRE(op->FullMergeV2(in, &out));
    CHECK(merged == Canonical(model));
    // The partial merge: one delta that does what the chain does, to the
    // chunk and to any other.
    std::string partial;
    const std::deque<rocksdb::Slice> deque(list.begin(), list.end());
    REQUIRE(op->PartialMergeMulti(key, deque, &partial, nullptr));
    Roaring p_adds, p_removes;
    REQUIRE_OK(DecodeBitmapDelta(partial, &p_adds, &p_removes));
    CHECK(partial == EncodeBitmapDelta(p_adds, p_removes));
    Roaring after = start;
    after -= p_removes;
    after |= p_adds;
    CHECK(EncodeBitmapChunk(&after) == Canonical(model));
    Roaring empty;
    after = empty;
    after -= p_removes;
    after |= p_adds;
    std::set<uint32_t> from_empty;
    for (uint32_t x : model) {
      if (p_adds.contains(x)) from_empty.insert(x);
    }
    CHECK(EncodeBitmapChunk(&after) == Canonical(from_empty));
  }
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
