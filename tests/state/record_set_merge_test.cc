// Record sets changed by merge operands (state/record_set_merge.h): whatever
// the mix of deltas, flushes, snapshots and compactions, a reader sees the
// records that applying the deltas in order gives (a later put of an id
// replacing an earlier one); a bad delta or value is a read error.
#include "state/record_set_merge.h"

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

// An id whose bytes order as n does (big-endian), padded to 16 bytes; the
// high byte set for some, so that byte order is not signed char order.
std::string Id(uint32_t n) {
  std::string id(kRecordIdBytes, '\0');
  id[0] = static_cast<char>(n >> 24);
  id[9] = static_cast<char>(n >> 16);
  id[14] = static_cast<char>(n >> 8);
  id[15] = static_cast<char>(n);
  return id;
}

std::string Records(const std::map<uint32_t, std::string>& m) {
  std::string out;
  for (const auto& [n, payload] : m) AppendRecord(&out, Id(n), payload);  // ascending n is ascending bytes
  return out;
}

std::string Ids(const std::set<uint32_t>& s) {
  std::string out;
  for (uint32_t n : s) out += Id(n);
  return out;
}

void CheckReads(const Reader& reader, const std::map<std::string, std::map<uint32_t, std::string>>& sets) {
  for (const auto& [key, records] : sets) {
    CAPTURE(key);
    std::string v;
    Status s = reader.Get(Cf::kLog, key, &v);
    if (s.IsNotFound()) {
      CHECK(records.empty());
      continue;
    }
    REQUIRE_OK(s);
    CHECK(v == Records(records));
  }
}

TEST_CASE("records, the delta's encoding and a walk over a set") {
  const std::string set = Records({{1, "a"}, {2, ""}, {0x80000000u, std::string(300, 'x')}});
  std::vector<std::pair<std::string, std::string>> seen;
  REQUIRE_OK(ForEachRecord(set, [&](std::string_view id, std::string_view payload) {
    seen.emplace_back(id, payload);
    return true;
  }));
  REQUIRE(seen.size() == 3);
  CHECK(seen[0] == std::make_pair(Id(1), std::string("a")));
  CHECK(seen[1] == std::make_pair(Id(2), std::string()));
  CHECK(seen[2] == std::make_pair(Id(0x80000000u), std::string(300, 'x')));
  size_t calls = 0;
  REQUIRE_OK(ForEachRecord(set, [&](std::string_view, std::string_view) { return ++calls < 2; }));
  CHECK(calls == 2);  // stopped early
  CHECK(ForEachRecord(set.substr(0, set.size() - 1), [](std::string_view, std::string_view) { return true; }).code() ==
        Status::Code::kCorruption);
  std::string_view puts, removes;
  const std::string delta = EncodeRecordDelta(Records({{4, "p"}}), Ids({1, 7}));
  REQUIRE_OK(DecodeRecordDelta(delta, &puts, &removes));
  CHECK(puts == Records({{4, "p"}}));
  CHECK(removes == Ids({1, 7}));
  for (const std::string& bad : {std::string(), std::string("R"), std::string("E") + delta.substr(1),
                                 delta.substr(0, delta.size() - 1), std::string("R\xff\x00\x00\x00", 5) + Ids({1})}) {
    CHECK(DecodeRecordDelta(bad, &puts, &removes).code() == Status::Code::kCorruption);
  }
}

TEST_CASE("random record deltas over many batches, flushes, snapshots and a compaction read as the sets they make") {
  testing::TestDb db;
  Store* store = db.store();
  std::mt19937 rng(5);
  const std::vector<std::string> keys = {"h0", "h1", "h2"};
  std::map<std::string, std::map<uint32_t, std::string>> want;
  std::vector<std::pair<std::unique_ptr<Reader>, std::map<std::string, std::map<uint32_t, std::string>>>> snapshots;
  for (int round = 0; round < 300; ++round) {
    WriteBatch batch;
    for (const std::string& key : keys) {
      if (rng() % 3 == 0) continue;
      // Up to two operands per key in a batch (two parts), each net: an id
      // is removed or put, not both; ids are shared between the parts and
      // the rounds, so later puts replace earlier payloads.
      for (int part = 0; part < 2; ++part) {
        std::map<uint32_t, std::string> puts;
        std::set<uint32_t> removes;
        for (int i = rng() % 20; i > 0; --i) {
          const uint32_t n = rng() % 60 + (rng() % 2 ? 0x80000000u : 0);
          if (puts.count(n) || removes.count(n)) continue;
          if (rng() % 3) {
            const std::string payload = std::to_string(round) + ":" + std::string(rng() % 5, 'p');
            puts[n] = payload;
            want[key][n] = payload;
          } else {
            removes.insert(n);
            want[key].erase(n);
          }
        }
        batch.Merge(Cf::kLog, key, EncodeRecordDelta(Records(puts), Ids(removes)));
      }
    }
    REQUIRE_OK(store->Write(&batch));
    if (round % 37 == 0) REQUIRE_OK(store->Flush());
    if (round % 50 == 0) snapshots.emplace_back(store->NewSnapshot(), want);
  }
  CheckReads(*store, want);
  for (const auto& [snap, sets] : snapshots) CheckReads(*snap, sets);
  store->CompactInBackground(Cf::kLog);
  REQUIRE_OK(store->Flush());
  CheckReads(*store, want);
}

TEST_CASE("a corrupt record delta or value is a read error, never a crash or a wrong set") {
  testing::TestDb db;
  WriteBatch a;
  a.Merge(Cf::kLog, "k", "not a delta");
  a.Put(Cf::kLog, "v", "short");
  a.Merge(Cf::kLog, "v", EncodeRecordDelta(Records({{1, "a"}}), ""));
  REQUIRE_OK(db.store()->Write(&a));
  std::string v;
  CHECK(db.store()->Get(Cf::kLog, "k", &v).code() == Status::Code::kCorruption);
  CHECK(db.store()->Get(Cf::kLog, "v", &v).code() == Status::Code::kCorruption);
}

}  // namespace
}  // namespace leadflow::state
