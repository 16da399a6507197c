#include "api/rate_limiter.h"

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace leadflow::api {
namespace {

// A limiter on a hand-driven clock (milliseconds).
struct Fixture {
  explicit Fixture(int64_t limit = 25, int64_t window = 5) : limiter(limit, window, [this] { return now.load(); }) {}

  // "ok" or "wait N".
  std::string Call(const std::string& key = "org1") {
    int64_t wait = -1;
    return limiter.TryAcquire(key, &wait) ? "ok" : "wait " + std::to_string(wait);
  }

  std::atomic<int64_t> now{1'000'000};
  RateLimiter limiter;
};

}  // namespace

TEST_CASE("26 calls within 5 s: the first 25 pass, the 26th waits, and calls pass again after the window") {
  Fixture f;
  const int64_t start = f.now;
  for (int i = 0; i < 25; ++i) {
    CAPTURE(i);
    CHECK(f.Call() == "ok");
    f.now += 100;  // 25 calls over 2.5 s
  }
  CHECK(f.Call() == "wait 3");  // at 2.5 s: the first call frees its slot at 5.0 s
  f.now = start + 4'999;
  CHECK(f.Call() == "wait 1");  // rounded up, never 0
  f.now = start + 5'000;
  CHECK(f.Call() == "ok");  // the first call is a whole window old
  CHECK(f.Call() == "wait 1");  // the second frees at 5.1 s
  f.now = start + 5'100;
  CHECK(f.Call() == "ok");
}

TEST_CASE("the window slides: a burst at the end of one window is not forgiven at the next second") {
  Fixture f(3, 5);
  const int64_t start = f.now;
  f.now = start + 4'900;
  CHECK(f.Call() == "ok");
  CHECK(f.Call() == "ok");
  CHECK(f.Call() == "ok");
  f.now = start + 5'100;  // a fixed window would have reset here
  CHECK(f.Call() == "wait 5");
  f.now = start + 9'899;
  CHECK(f.Call() == "wait 1");
  f.now = start + 9'900;
  CHECK(f.Call() == "ok");
}

TEST_CASE("refused calls do not count against the window") {
  Fixture f(2, 5);
  const int64_t start = f.now;
  CHECK(f.Call() == "ok");
  CHECK(f.Call() == "ok");
  for (int i = 0; i < 100; ++i) {
    f.now += 10;
    CHECK(f.Call() != "ok");
  }
  f.now = start + 5'000;
  CHECK(f.Call() == "ok");
  CHECK(f.Call() == "ok");  // both slots freed; the refusals left no trace
  CHECK(f.Call() == "wait 5");
}

TEST_CASE("each key has its own budget") {
  Fixture f(2, 5);
  CHECK(f.Call("org1") == "ok");
  CHECK(f.Call("org1") == "ok");
  CHECK(f.Call("org1") == "wait 5");
  CHECK(f.Call("org2") == "ok");
  CHECK(f.Call("org2") == "ok");
  CHECK(f.Call("org2") == "wait 5");
}

TEST_CASE("the configured limit and window are used and reported") {
  Fixture f(1, 60);
  CHECK(f.limiter.limit() == 1);
  CHECK(f.limiter.window_seconds() == 60);
  CHECK(f.Call() == "ok");
  CHECK(f.Call() == "wait 60");
  f.now += 59'001;
  CHECK(f.Call() == "wait 1");
  f.now += 999;
  CHECK(f.Call() == "ok");
}

TEST_CASE("concurrent callers together get exactly the limit") {
  Fixture f(25, 5);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        int64_t wait = 0;
        if (f.limiter.TryAcquire("org1", &wait)) ++admitted;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(admitted == 25);
}

TEST_CASE("the default clock is real time") {
  RateLimiter limiter(1, 1);
  int64_t wait = 0;
  CHECK(limiter.TryAcquire("org1", &wait));
  CHECK_FALSE(limiter.TryAcquire("org1", &wait));
  CHECK(wait == 1);
}

}  // namespace leadflow::api
