// Cf::kLeads joins merge operands after the value (state/append_merge.h):
// in the memtable, after a flush and after a compaction, through Get and
// Scan, with and without a base value, in write order.
#include "state/append_merge.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::state {
namespace {

std::string Read(Store* store, std::string_view key) {
  std::string v;
  Status s = store->Get(Cf::kLeads, key, &v);
  return s.IsNotFound() ? "<none>" : v;
}

TEST_CASE("the leads family appends merge operands to the value") {
  testing::TestDb db;
  Store* store = db.store();
  {
    WriteBatch b;
    b.Put(Cf::kLeads, "a", "base");
    b.Merge(Cf::kLeads, "a", "+1");
    b.Merge(Cf::kLeads, "b", "only");
    REQUIRE_OK(store->Write(&b));
  }
  CHECK(Read(store, "a") == "base+1");
  CHECK(Read(store, "b") == "only");
  for (int round = 0; round < 3; ++round) {
    WriteBatch b;
    b.Merge(Cf::kLeads, "a", "+" + std::to_string(round + 2));
    REQUIRE_OK(store->Write(&b));
    if (round == 1) REQUIRE_OK(store->Flush());
  }
  CHECK(Read(store, "a") == "base+1+2+3+4");
  store->CompactInBackground(Cf::kLeads);
  for (int i = 0; i < 5000 && store->compacting(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(!store->compacting());
  CHECK(Read(store, "a") == "base+1+2+3+4");
  {
    WriteBatch b;
    b.Put(Cf::kLeads, "a", "new");  // a whole value replaces the journal
    b.Merge(Cf::kLeads, "a", "+5");
    REQUIRE_OK(store->Write(&b));
  }
  std::string scanned;
  REQUIRE_OK(store->Scan(Cf::kLeads, "", "\xFF", [&](std::string_view k, std::string_view v) {
    scanned += std::string(k) + "=" + std::string(v) + ";";
    return true;
  }));
  CHECK(scanned == "a=new+5;b=only;");
}

}  // namespace
}  // namespace leadflow::state
