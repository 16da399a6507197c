// WorkerPool: every index of a loop is run exactly once, by the part that
// owns it, on all workers at once; the pool is reusable and works with one
// worker and with loops shorter than the pool.
#include "views/detail/worker_pool.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <vector>

namespace leadflow::views::detail {
namespace {

TEST_CASE("every index is run once, over many loops, for any number of workers and items") {
  for (size_t workers : {1u, 2u, 7u}) {
    WorkerPool pool(workers);
    CHECK(pool.workers() == workers);
    for (size_t n : {0u, 1u, 3u, 1000u}) {
      for (int round = 0; round < 20; ++round) {
        std::vector<std::atomic<int>> hits(n);
        std::atomic<size_t> parts_seen{0};
        pool.ParallelFor(n, [&](size_t part, size_t parts) {
          parts_seen.fetch_add(1);
          for (size_t i = part; i < n; i += parts) hits[i].fetch_add(1);
        });
        for (size_t i = 0; i < n; ++i) REQUIRE(hits[i].load() == 1);
        CHECK(parts_seen.load() == std::max<size_t>(1, std::min(workers, n)));
      }
    }
  }
}

}  // namespace
}  // namespace leadflow::views::detail
