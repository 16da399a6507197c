// Entry sets changed by merge operands (state/entry_set_merge.h): whatever
// the mix of deltas, flushes, snapshots and compactions, a reader sees the
// sorted set that applying the deltas in order gives; a bad delta is a read
// error.
#include "state/entry_set_merge.h"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>
#include <string>

#include "state/store.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::state {
namespace {

// An entry whose bytes order as n does (big-endian), padded to 12 bytes;
// the high byte set for some, so that byte order is not signed char order.
std::string E(uint32_t n) {
  std::string e(kEntryBytes, '\0');
  e[0] = static_cast<char>(n >> 24);
  e[8] = static_cast<char>(n >> 16);
  e[10] = static_cast<char>(n >> 8);
  e[11] = static_cast<char>(n);
  return e;
}

std::string Cat(const std::set<uint32_t>& s) {
  std::string out;
  for (uint32_t n : s) out += E(n);  // ascending n is ascending bytes
  return out;
}

void CheckReads(const Reader& reader, const std::map<std::string, std::set<uint32_t>>& sets) {
  for (const auto& [key, members] : sets) {
    CAPTURE(key);
    std::string v;
    Status s = reader.Get(Cf::kAttrIndex, key, &v);
    if (s.IsNotFound()) {
      CHECK(members.empty());
      continue;
    }
    REQUIRE_OK(s);
    CHECK(v == Cat(members));
  }
}

TEST_CASE("set operations and the delta's encoding") {
  std::string out;
  EntryDifference(Cat({1, 2, 3, 0x80000000u}), Cat({2, 9, 0x80000000u}), &out);
  CHECK(out == Cat({1, 3}));
  EntryUnion(Cat({1, 5, 0x90000000u}), Cat({2, 5, 0x80000000u}), &out);
  CHECK(out == Cat({1, 2, 5, 0x80000000u, 0x90000000u}));
  std::string_view adds, removes;
  const std::string delta = EncodeEntryDelta(Cat({4, 7}), Cat({1}));
  REQUIRE_OK(DecodeEntryDelta(delta, &adds, &removes));
  CHECK(adds == Cat({4, 7}));
  CHECK(removes == Cat({1}));
  for (const std::string& bad : {std::string(), std::string("E"), std::string("D") + delta.substr(1),
                                 delta.substr(0, delta.size() - 1), std::string("E\xff\x00\x00\x00", 5) + Cat({1})}) {
    CHECK(DecodeEntryDelta(bad, &adds, &removes).code() == Status::Code::kCorruption);
  }
}

TEST_CASE("random deltas over many batches, flushes, snapshots and a compaction read as the sets they make") {
  testing::TestDb db;
  Store* store = db.store();
  std::mt19937 rng(3);
  const std::vector<std::string> keys = {"d0", "d1", "d2"};
  std::map<std::string, std::set<uint32_t>> want;
  std::vector<std::pair<std::unique_ptr<Reader>, std::map<std::string, std::set<uint32_t>>>> snapshots;
  for (int round = 0; round < 300; ++round) {
    WriteBatch batch;
    for (const std::string& key : keys) {
      if (rng() % 3 == 0) continue;
      // Up to two operands per key in a batch (two parts), each net.
      for (int part = 0; part < 2; ++part) {
        std::set<uint32_t> adds, removes;
        for (int i = rng() % 20; i > 0; --i) {
          const uint32_t n = rng() % 100 + (rng() % 2 ? 0x80000000u : 0) + part * 1000;
          if (adds.count(n) || removes.count(n)) continue;
          if (rng() % 2) {
            adds.insert(n);
            want[key].insert(n);
          } else {
            removes.insert(n);
            want[key].erase(n);
          }
        }
        batch.Merge(Cf::kAttrIndex, key, EncodeEntryDelta(Cat(adds), Cat(removes)));
      }
    }
    REQUIRE_OK(store->Write(&batch));
    if (round % 37 == 0) REQUIRE_OK(store->Flush());
    if (round % 50 == 0) snapshots.emplace_back(store->NewSnapshot(), want);
  }
  CheckReads(*store, want);
  for (const auto& [snap, sets] : snapshots) CheckReads(*snap, sets);
  store->CompactInBackground(Cf::kAttrIndex);
  REQUIRE_OK(store->Flush());
  CheckReads(*store, want);
}

TEST_CASE("a corrupt delta or value is a read error, never a crash or a wrong set") {
  testing::TestDb db;
  WriteBatch a;
  a.Merge(Cf::kAttrIndex, "k", "not a delta");
  a.Put(Cf::kAttrIndex, "v", "13 bytes long");
  a.Merge(Cf::kAttrIndex, "v", EncodeEntryDelta(Cat({1}), ""));
  REQUIRE_OK(db.store()->Write(&a));
  std::string v;
  CHECK(db.store()->Get(Cf::kAttrIndex, "k", &v).code() == Status::Code::kCorruption);
  CHECK(db.store()->Get(Cf::kAttrIndex, "v", &v).code() == Status::Code::kCorruption);
}

}  // namespace
}  // namespace leadflow::state
