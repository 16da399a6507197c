// WorkerPool: every index of a loop is run exactly once, by the part that
// owns it, on all workers at once; the pool is reusable and works with one
// worker and with loops shorter than the pool.
#include "views/detail/worker_pool.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <functional>
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

TEST_CASE("ParallelTasks runs every task once, and a thread held up takes fewer of them") {
  for (size_t workers : {1u, 2u, 7u}) {
    CAPTURE(workers);
    WorkerPool pool(workers);
    for (size_t n : {0u, 1u, 3u, 1000u}) {
      std::vector<std::atomic<int>> hits(n);
      pool.ParallelTasks(n, [&](size_t task) { hits[task].fetch_add(1); });
      for (size_t i = 0; i < n; ++i) REQUIRE(hits[i].load() == 1);
    }
    // The runner the duplicate set's steps are given runs on the same.
    std::vector<std::atomic<int>> hits(50);
    pool.Runner()(50, [&](size_t i) { hits[i].fetch_add(1); });
    for (auto& h : hits) REQUIRE(h.load() == 1);
  }
  // The caller's first task stalls (as a thread another process holds up
  // would): the worker takes the tasks meanwhile, where ParallelFor's
  // parts would have given each thread half of them.
  WorkerPool pool(2);
  const auto caller = std::this_thread::get_id();
  std::atomic<int> by_caller{0}, stalls{0};
  pool.ParallelTasks(100, [&](size_t) {
    if (std::this_thread::get_id() != caller) return;
    ++by_caller;
    if (stalls.fetch_add(1) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  });
  CHECK(by_caller.load() < 50);
}

TEST_CASE("a background loop runs every part once, beside foreground loops, and is done when waited for") {
  for (size_t workers : {1u, 2u, 7u}) {
    CAPTURE(workers);
    WorkerPool pool(workers);
    pool.WaitBackground();  // none started: returns at once
    for (int round = 0; round < 50; ++round) {
      const size_t parts = 1 + static_cast<size_t>(round % 9);
      std::vector<std::atomic<int>> bg_hits(parts);
      const std::function<void(size_t, size_t)> bg = [&](size_t part, size_t n) {
        REQUIRE(n == parts);
        bg_hits[part].fetch_add(1);
      };
      pool.StartBackground(parts, &bg);
      // Foreground loops meanwhile run whole, as always.
      for (int loop = 0; loop < 3; ++loop) {
        std::vector<std::atomic<int>> hits(100);
        pool.ParallelFor(100, [&](size_t part, size_t n) {
          for (size_t i = part; i < 100; i += n) hits[i].fetch_add(1);
        });
        for (auto& h : hits) REQUIRE(h.load() == 1);
      }
      pool.WaitBackground();
      for (auto& h : bg_hits) REQUIRE(h.load() == 1);
    }
  }
}

TEST_CASE("the caller runs background parts while it waits for a foreground part running elsewhere") {
  WorkerPool pool(2);
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> bg_by_caller{0}, bg_done{0};
  const std::function<void(size_t, size_t)> bg = [&](size_t, size_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (std::this_thread::get_id() == caller) bg_by_caller.fetch_add(1);
    bg_done.fetch_add(1);
  };
  // The worker's foreground part takes 100 ms; the caller's returns once
  // the worker has claimed its part (so the caller cannot take both).
  std::atomic<bool> worker_started{false};
  pool.StartBackground(1000, &bg);
  pool.ParallelFor(2, [&](size_t, size_t) {
    if (std::this_thread::get_id() != caller) {
      worker_started = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      return;
    }
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!worker_started && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  });
  REQUIRE(worker_started.load());
  // Waiting idle, the caller would have run none (the worker runs none
  // either while its foreground part runs).
  const int during = bg_by_caller.load();
  CHECK(during > 10);
  pool.WaitBackground();
  CHECK(bg_done.load() == 1000);
}

}  // namespace
}  // namespace leadflow::views::detail
