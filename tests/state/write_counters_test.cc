// Store::write_counters: every landed write adds its operations and key +
// value bytes to its families; nothing else counts.
#include <doctest/doctest.h>

#include "state/store.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::state {
namespace {

TEST_CASE("write counters add each landed batch's operations and bytes per family") {
  testing::TestDb db;
  const WriteCounters before = db.store()->write_counters();
  WriteBatch batch;
  batch.Put(Cf::kEvents, "k1", "");       // 2 bytes
  batch.Put(Cf::kBitmaps, "key", "val");  // 6 bytes
  batch.Delete(Cf::kBitmaps, "old");      // 3 bytes
  REQUIRE_OK(db.store()->Write(&batch));
  const WriteCounters after = db.store()->write_counters();
  const auto events = static_cast<size_t>(Cf::kEvents), bitmaps = static_cast<size_t>(Cf::kBitmaps);
  CHECK(after.batches == before.batches + 1);
  CHECK(after.ops[events] - before.ops[events] == 1);
  CHECK(after.bytes[events] - before.bytes[events] == 2);
  CHECK(after.ops[bitmaps] - before.ops[bitmaps] == 2);
  CHECK(after.bytes[bitmaps] - before.bytes[bitmaps] == 9);
  CHECK(after.TotalOps() - before.TotalOps() == 3);
  CHECK(after.TotalBytes() - before.TotalBytes() == 11);
  CHECK(std::string(CfName(Cf::kBitmaps)) == "bitmaps");
}

}  // namespace
}  // namespace leadflow::state
