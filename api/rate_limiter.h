// RateLimiter: at most `limit` admitted calls per key in any `window_seconds`
// long sliding window (the key is the org, so every key pair of an org shares
// one budget; contract section 3).
//
// Sliding window log: a call at time t is admitted when fewer than `limit`
// calls were admitted in (t - window, t]; refused calls are not counted.
// So with 25 per 5 s, 26 calls within 5 s: the 26th is refused, and a call
// succeeds again once the first admitted call is a whole window old. A
// refusal says how long until that happens, in whole seconds rounded up
// (at least 1): the Retry-After value. Memory: at most `limit` timestamps per
// key that made a call (keys are orgs, bounded by the credentials file).
//
// Thread safety: TryAcquire may be called from any number of threads at
// once (one mutex, held only for the bookkeeping; the clock is read outside
// it). Not copyable.
#ifndef LEADFLOW_API_RATE_LIMITER_H_
#define LEADFLOW_API_RATE_LIMITER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace leadflow::api {

class RateLimiter {
 public:
  // A monotonic clock in milliseconds; must be callable from any thread.
  using Clock = std::function<int64_t()>;

  // REQUIRES: limit >= 1, window_seconds >= 1. A null clock means
  // std::chrono::steady_clock.
  RateLimiter(int64_t limit, int64_t window_seconds, Clock clock = nullptr);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Admits one call for key and returns true, or returns false and sets
  // *retry_after_seconds (>= 1) to the whole seconds until a call of key
  // would be admitted.
  bool TryAcquire(std::string_view key, int64_t* retry_after_seconds);

  int64_t limit() const { return limit_; }
  int64_t window_seconds() const { return window_seconds_; }

 private:
  const int64_t limit_;
  const int64_t window_seconds_;
  const Clock clock_;

  std::mutex mu_;
  // Admission times of the calls inside the window, oldest first; guarded by mu_.
  std::map<std::string, std::deque<int64_t>, std::less<>> admitted_;
};

}  // namespace leadflow::api

#endif  // LEADFLOW_API_RATE_LIMITER_H_
