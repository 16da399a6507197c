// Store::Write of several batches: one atomic write whose result is that of
// the batches written one after another (ops on one key: the later batch,
// then the later op, wins), whether a batch was prepared beforehand or not.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "state/store.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::state {
namespace {

std::string Value(Store* store, Cf cf, const std::string& key) {
  std::string v;
  Status s = store->Get(cf, key, &v);
  if (s.IsNotFound()) return "<none>";
  REQUIRE_OK(s);
  return v;
}

TEST_CASE("several batches written together land as if written in order") {
  for (size_t tables_from : {size_t{0}, size_t{1}}) {  // through the log, or as table files
  for (bool prepare : {false, true}) {  // prepared for RocksDB beforehand, or by Write
    CAPTURE(tables_from);
    CAPTURE(prepare);
    Store::Options options;
    options.table_write_min_ops = tables_from;
    testing::TestDb db(options);
    // This RocksDB's batches can be joined, so Write takes the fast path.
    CHECK(db.store()->joins_prepared_batches());
    WriteBatch seed;
    seed.Put(Cf::kLeads, "gone", "x");
    REQUIRE_OK(db.store()->Write(&seed));

    WriteBatch a, b, c;
    a.Put(Cf::kLeads, "k", "a1");
    a.Put(Cf::kLeads, "k", "a2");  // later op of the same batch wins over a1
    a.Put(Cf::kLeads, "z", "a");
    a.Put(Cf::kBitmaps, "k", "bitmap");
    b.Put(Cf::kLeads, "k", "b");  // later batch wins over a
    b.Delete(Cf::kLeads, "gone");
    b.Put(Cf::kLeads, "m", "b");
    c.Delete(Cf::kLeads, "z");  // a delete in a later batch wins over a put
    c.Put(Cf::kLeads, "a", "c");
    if (prepare) {
      for (WriteBatch* x : {&a, &b, &c}) db.store()->Prepare(x);
    }
    WriteBatch* all[] = {&a, &b, &c};
    const uint64_t before = db.store()->write_counters().batches;
    REQUIRE_OK(db.store()->Write(all));
    CHECK(db.store()->write_counters().batches == before + 1);  // one write
    CHECK(Value(db.store(), Cf::kLeads, "k") == "b");
    CHECK(Value(db.store(), Cf::kLeads, "z") == "<none>");
    CHECK(Value(db.store(), Cf::kLeads, "gone") == "<none>");
    CHECK(Value(db.store(), Cf::kLeads, "m") == "b");
    CHECK(Value(db.store(), Cf::kLeads, "a") == "c");
    CHECK(Value(db.store(), Cf::kBitmaps, "k") == "bitmap");
  }
  }
}

// Every key and value of two families, raw.
std::map<std::string, std::string> Raw(const Reader& r) {
  std::map<std::string, std::string> all;
  for (Cf cf : {Cf::kLeads, Cf::kMeta}) {
    REQUIRE_OK(r.Scan(cf, "", "\xFF", [&](std::string_view k, std::string_view v) {
      all.emplace(std::string(CfName(cf)) + "|" + std::string(k), std::string(v));
      return true;
    }));
  }
  return all;
}

TEST_CASE("writes as table files read exactly as writes through the log, and snapshots do not see later ones") {
  // Random puts, deletes and merges (kLeads appends its operands) over a few
  // keys, one to three batches a write, with flushes between: a key with
  // several ops in one write (merges folded, or the last put or delete), a
  // put then merges (not for a table: the write goes through the log), a
  // range deletion (likewise), keys already in the memtable or in tables.
  Store::Options tables_opts, log_opts;
  tables_opts.table_write_min_ops = 1;
  log_opts.table_write_min_ops = 0;
  testing::TestDb tables(tables_opts), log(log_opts);
  std::mt19937_64 rng(42);
  auto key = [&] { return "k" + std::to_string(rng() % 24); };
  std::vector<std::pair<std::unique_ptr<Reader>, std::map<std::string, std::string>>> held;
  for (int round = 0; round < 300; ++round) {
    CAPTURE(round);
    const int n_batches = 1 + static_cast<int>(rng() % 3);
    std::vector<WriteBatch> a(n_batches), b(n_batches);
    for (int i = 0; i < n_batches; ++i) {
      const int ops = 1 + static_cast<int>(rng() % 12);
      for (int j = 0; j < ops; ++j) {
        const int what = static_cast<int>(rng() % 100);
        const Cf cf = rng() % 4 == 0 ? Cf::kMeta : Cf::kLeads;
        const std::string k = key(), v = "v" + std::to_string(rng() % 1000) + ";";
        for (WriteBatch* w : {&a[i], &b[i]}) {
          if (what < 1) {
            w->DeleteRange(Cf::kMeta, "k1", "k3");
          } else if (what < 20) {
            w->Delete(cf, k);
          } else if (what < 45 || cf == Cf::kMeta) {
            w->Put(cf, k, v);
          } else {
            w->Merge(Cf::kLeads, k, v);
          }
        }
      }
    }
    std::vector<WriteBatch*> pa, pb;
    for (int i = 0; i < n_batches; ++i) {
      pa.push_back(&a[i]);
      pb.push_back(&b[i]);
    }
    REQUIRE_OK(tables.store()->Write(pa));
    REQUIRE_OK(log.store()->Write(pb));
    const auto now = Raw(*log.store());
    REQUIRE(Raw(*tables.store()) == now);
    if (round % 37 == 0) {
      REQUIRE_OK(tables.store()->Flush());
      REQUIRE_OK(log.store()->Flush());
    }
    if (round % 50 == 7) held.emplace_back(tables.store()->NewSnapshot(), now);
  }
  for (const auto& [snap, then] : held) CHECK(Raw(*snap) == then);
}

TEST_CASE("table files left by a write that never landed are removed when the store opens") {
  testing::TempDir dir;
  {
    std::unique_ptr<Store> store = testing::OpenTestStore(dir.path());
    WriteBatch a;
    a.Put(Cf::kLeads, "kept", "1");
    REQUIRE_OK(store->Write(&a));
  }
  std::filesystem::create_directories(dir.path() + "/table-writes");
  { std::ofstream(dir.path() + "/table-writes/7-leads.sst") << "half a table"; }
  std::unique_ptr<Store> store = testing::OpenTestStore(dir.path());
  CHECK(!std::filesystem::exists(dir.path() + "/table-writes"));
  CHECK(Value(store.get(), Cf::kLeads, "kept") == "1");
}

TEST_CASE("a put after Prepare is still written") {
  testing::TestDb db;
  WriteBatch a;
  a.Put(Cf::kLeads, "b", "1");
  db.store()->Prepare(&a);
  a.Put(Cf::kLeads, "c", "4");
  db.store()->Prepare(&a);
  a.Put(Cf::kLeads, "a", "2");
  a.Put(Cf::kLeads, "b", "3");
  REQUIRE_OK(db.store()->Write(&a));
  CHECK(Value(db.store(), Cf::kLeads, "a") == "2");
  CHECK(Value(db.store(), Cf::kLeads, "b") == "3");
  CHECK(Value(db.store(), Cf::kLeads, "c") == "4");
}

}  // namespace
}  // namespace leadflow::state

namespace leadflow::state {
namespace {

TEST_CASE("Contains answers like Get for each key: memtable, flushed tables, deletes, range deletes, emptied chunks") {
  testing::TestDb db;
  Store* store = db.store();
  WriteBatch a;
  for (int i = 0; i < 100; i += 2) a.Put(Cf::kEvents, "e" + std::to_string(i), "");
  a.Put(Cf::kBitmaps, "chunk-empty", "");  // an emptied chunk reads as absent
  REQUIRE_OK(store->Write(&a));
  REQUIRE_OK(store->Flush());
  WriteBatch b;
  b.Delete(Cf::kEvents, "e10");
  b.DeleteRange(Cf::kEvents, "e20", "e30");  // e20 e22 e24 e26 e28
  b.Put(Cf::kEvents, "e101", "");            // only in the memtable
  REQUIRE_OK(store->Write(&b));
  std::vector<std::string> keys = {"e101", "chunk-empty"};
  for (int i = 0; i < 100; ++i) keys.push_back("e" + std::to_string(i));
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::vector<char> found;
  REQUIRE_OK(store->Contains(Cf::kEvents, views, &found));
  REQUIRE(found.size() == keys.size());
  std::string ignored;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == "chunk-empty") continue;
    CAPTURE(keys[i]);
    CHECK(static_cast<bool>(found[i]) == store->Get(Cf::kEvents, keys[i], &ignored).ok());
  }
  CHECK(found[0]);
  CHECK_FALSE(found[2 + 10]);
  CHECK_FALSE(found[2 + 24]);
  CHECK(found[2 + 30]);
  std::string_view chunk = "chunk-empty";
  REQUIRE_OK(store->Contains(Cf::kBitmaps, std::span<const std::string_view>(&chunk, 1), &found));
  CHECK_FALSE(found[0]);
  REQUIRE_OK(store->Contains(Cf::kEvents, {}, &found));
  CHECK(found.empty());
}

}  // namespace
}  // namespace leadflow::state
