#include "ingest/memory_budget.h"

#include <doctest/doctest.h>

namespace leadflow::ingest {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

TEST_CASE("--memory-budget sizes: MiB by default, M and G units, bounds") {
  CHECK(MemoryBudget::Parse("2048") == 2048 * kMiB);
  CHECK(MemoryBudget::Parse("512M") == 512 * kMiB);
  CHECK(MemoryBudget::Parse("512mib") == 512 * kMiB);
  CHECK(MemoryBudget::Parse("2G") == 2048 * kMiB);
  CHECK(MemoryBudget::Parse("2GiB") == 2048 * kMiB);
  CHECK(MemoryBudget::Parse("128") == 128 * kMiB);  // the minimum
  CHECK(MemoryBudget::Parse("1048576") == MemoryBudget::kMaxBytes);
  for (const char* bad : {"", "127", "0", "-1", "2T", "2 G", "1.5G", "G", "1048577", "1025G",
                          "99999999999999999999999", "2Gx", " 2G"}) {
    CAPTURE(bad);
    CHECK_FALSE(MemoryBudget::Parse(bad).has_value());
  }
}

TEST_CASE("the budget's parts fit in it, with room left for the batches") {
  for (uint64_t total : {MemoryBudget::kMinBytes, 512 * kMiB, MemoryBudget::kDefaultBytes, 64 * 1024 * kMiB}) {
    CAPTURE(total);
    const MemoryBudget b = MemoryBudget::Split(total);
    CHECK(b.total == total);
    CHECK(b.lead_cache > 0);
    CHECK(b.write_buffers > 0);
    CHECK(b.block_cache > 0);
    CHECK(b.prefetch >= 16 * kMiB);
    CHECK(b.prefetch <= 256 * kMiB);
    CHECK(b.bitmap_cache > 0);
    CHECK(b.lead_cache + b.write_buffers + b.block_cache + b.bitmap_cache + b.prefetch + b.staged_bytes <= total);
    CHECK(b.staged_bytes == total / 16);
    CHECK(b.batch_events >= 10'000);
    CHECK(b.batch_events <= 1'000'000);
  }
  CHECK(MemoryBudget::Split(MemoryBudget::kMinBytes).batch_events == 26'214);
  CHECK(MemoryBudget::Split(MemoryBudget::kDefaultBytes).batch_events == 419'430);
  CHECK(MemoryBudget::Split(64 * 1024 * kMiB).batch_events == 1'000'000);
  const MemoryBudget d = MemoryBudget::Split(MemoryBudget::kDefaultBytes);
  CHECK(d.lead_cache > d.block_cache);  // leads are what ingest re-reads most
  CHECK(d.Describe().find("lead cache") != std::string::npos);
  // The store's share, as `serve`, `ingest` and the benches open it.
  const state::Store::Options o = d.StoreOptions();
  CHECK(o.block_cache_bytes == d.block_cache);
  CHECK(o.write_buffer_bytes == d.write_buffers);
  CHECK(o.max_staged_bytes == d.staged_bytes);
  CHECK(o.bitmap_cache_bytes == 0);  // the reports' share, set by `serve`
}

}  // namespace
}  // namespace leadflow::ingest
