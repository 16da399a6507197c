// api::ReportCache: a body per key, computed once however many ask at once,
// errors never kept, the least recently used evicted beyond the budget.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "api/report_cache.h"

namespace leadflow::api {
namespace {

ReportCache::Body Text(const std::string& s) { return std::make_shared<const std::string>(s); }

TEST_CASE("a body is computed once per key and served after") {
  ReportCache cache(1 << 20);
  int computed = 0;
  auto compute = [&] {
    ++computed;
    return Text("body");
  };
  bool did = false;
  CHECK(*cache.Get("k", compute, &did) == "body");
  CHECK(did);
  CHECK(*cache.Get("k", compute, &did) == "body");
  CHECK_FALSE(did);
  CHECK(computed == 1);
  CHECK(*cache.Get("k2", [] { return Text("other"); }) == "other");
  CHECK(cache.stats().hits == 1);
  CHECK(cache.stats().misses == 2);
  CHECK(cache.stats().entries == 2);
}

TEST_CASE("an error answer is not kept: the next caller computes again") {
  ReportCache cache(1 << 20);
  int computed = 0;
  CHECK(cache.Get("k", [&] {
    ++computed;
    return ReportCache::Body();
  }) == nullptr);
  CHECK(*cache.Get("k", [&] {
    ++computed;
    return Text("ok");
  }) == "ok");
  CHECK(computed == 2);
  CHECK(cache.stats().entries == 1);
}

TEST_CASE("callers of one missing key at once wait for one computation") {
  ReportCache cache(1 << 20);
  std::atomic<int> computed{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  std::vector<std::string> got(16);
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      got[i] = *cache.Get("k", [&] {
        computed.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        return Text("slow");
      });
    });
  }
  go.store(true);
  for (auto& t : threads) t.join();
  CHECK(computed.load() == 1);
  for (const std::string& g : got) CHECK(g == "slow");
}

TEST_CASE("beyond its budget the least recently used bodies go") {
  ReportCache cache(3 * (1000 + 130));  // about three entries of 1,000 bytes
  const std::string big(1000, 'x');
  for (const char* k : {"a", "b", "c"}) cache.Get(k, [&] { return Text(big); });
  cache.Get("a", [&] { return Text(big); });  // a is used again: b is the oldest
  cache.Get("d", [&] { return Text(big); });
  CHECK(cache.stats().evictions == 1);
  bool did = false;
  cache.Get("a", [&] { return Text(big); }, &did);
  CHECK_FALSE(did);
  cache.Get("b", [&] { return Text(big); }, &did);
  CHECK(did);  // evicted, computed again
  CHECK(cache.stats().bytes <= 3 * (1000 + 130));
}

}  // namespace
}  // namespace leadflow::api
