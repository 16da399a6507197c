// Store::Write of several batches: one atomic write whose result is that of
// the batches written one after another (ops on one key: the later batch,
// then the later op, wins), whether a batch was prepared beforehand or not.
#include <doctest/doctest.h>

#include <string>

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
  for (bool prepare : {false, true}) {  // prepared for RocksDB beforehand, or by Write
    CAPTURE(prepare);
    testing::TestDb db;
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
