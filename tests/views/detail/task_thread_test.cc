// TaskThread: tasks run in order, one at a time, on one thread for the
// TaskThread's life (a thread per task let jemalloc purge its arena at
// every exit); statuses reach their futures; the destructor runs what is
// queued.
#include "views/detail/task_thread.h"

#include <doctest/doctest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace leadflow::views::detail {
namespace {

long KernelThreadId() { return static_cast<long>(syscall(SYS_gettid)); }

TEST_CASE("a TaskThread runs every task in order on one thread that is not the caller's") {
  TaskThread runner;
  std::vector<int> order;  // written by the tasks only, read after their futures
  std::set<long> threads;
  std::vector<std::future<Status>> results;
  for (int i = 0; i < 50; ++i) {
    results.push_back(runner.Run([&, i] {
      order.push_back(i);
      threads.insert(KernelThreadId());
      if (i % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
      return i % 7 == 3 ? Status::IoError("task " + std::to_string(i)) : Status::Ok();
    }));
    // Waiting on some futures between Runs: the thread stays for later ones.
    if (i % 10 == 9) REQUIRE(results.back().get().ok());
  }
  for (int i = 0; i < 50; ++i) {
    if (i % 10 == 9) continue;
    const Status s = results[i].get();
    CHECK(s.ok() == (i % 7 != 3));
  }
  REQUIRE(order.size() == 50);
  for (int i = 0; i < 50; ++i) CHECK(order[i] == i);
  CHECK(threads.size() == 1);
  CHECK(threads.count(KernelThreadId()) == 0);
}

TEST_CASE("a TaskThread's destructor runs the tasks still queued") {
  std::atomic<int> ran{0};
  std::vector<std::future<Status>> results;
  {
    TaskThread runner;
    for (int i = 0; i < 5; ++i) {
      results.push_back(runner.Run([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        ran.fetch_add(1);
        return Status::Ok();
      }));
    }
  }
  CHECK(ran.load() == 5);
  for (auto& r : results) CHECK(r.get().ok());
}

TEST_CASE("a TaskThread never given a task starts no thread and is destroyed at once") {
  TaskThread runner;  // the destructor must not hang or crash
}

}  // namespace
}  // namespace leadflow::views::detail
