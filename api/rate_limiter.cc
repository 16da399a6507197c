#include "api/rate_limiter.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace leadflow::api {
namespace {

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RateLimiter::RateLimiter(int64_t limit, int64_t window_seconds, Clock clock)
    : limit_(limit), window_seconds_(window_seconds), clock_(clock ? std::move(clock) : Clock(SteadyNowMs)) {}

bool RateLimiter::TryAcquire(std::string_view key, int64_t* retry_after_seconds) {
  const int64_t now = clock_();
  const int64_t window_ms = window_seconds_ * 1000;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = admitted_.find(key);
  if (it == admitted_.end()) it = admitted_.emplace(std::string(key), std::deque<int64_t>()).first;
  std::deque<int64_t>& calls = it->second;
  // A call admitted at t counts while now < t + window.
  while (!calls.empty() && calls.front() + window_ms <= now) calls.pop_front();
  if (static_cast<int64_t>(calls.size()) < limit_) {
    // Threads read the clock before taking the lock; keep the log in order.
    calls.push_back(calls.empty() ? now : std::max(now, calls.back()));
    return true;
  }
  const int64_t wait_ms = calls.front() + window_ms - now;  // > 0 here
  *retry_after_seconds = std::max<int64_t>(1, (wait_ms + 999) / 1000);
  return false;
}

}  // namespace leadflow::api
