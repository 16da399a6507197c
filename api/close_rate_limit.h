// CloseRateLimiter: Close's rate limits for the Close-compatible endpoints
// (contract section 2: 429 with `RateLimit: limit=N, remaining=0, reset=S`
// and `Retry-After`; compatibility notes section 5: limits apply per
// endpoint group, path and method, and an organization's limit is 3x an API
// key's).
//
// Fixed windows of window_seconds (aligned to the clock's multiples of the
// window): in each, an API key may make `limit` calls to one endpoint group,
// and all the keys of an org together 3 x limit. A call is admitted when
// both budgets have room, and then counts against both; a refused call
// counts against neither. `reset` is the whole seconds until the window
// ends, rounded up (at least 1), the Retry-After of a refusal.
//
// Keys are kept as a hash of the API key (never the key: nothing here
// holds or logs a secret); two keys with one hash would share a budget,
// never exceed the org's. Memory: one counter per (group, key) and per
// (group, org) that made a call: bounded by the credentials file's keys and
// the API's endpoint groups (only authenticated calls are counted).
//
// Thread safety: Acquire from any number of threads (one mutex, held for
// the bookkeeping only). Not copyable.
#ifndef LEADFLOW_API_CLOSE_RATE_LIMIT_H_
#define LEADFLOW_API_CLOSE_RATE_LIMIT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace leadflow::api {

class CloseRateLimiter {
 public:
  // A monotonic clock in milliseconds; must be callable from any thread.
  using Clock = std::function<int64_t()>;
  static constexpr int64_t kOrgMultiple = 3;

  // REQUIRES: limit >= 1, window_seconds >= 1. A null clock means
  // std::chrono::steady_clock.
  CloseRateLimiter(int64_t limit, int64_t window_seconds, Clock clock = nullptr);
  CloseRateLimiter(const CloseRateLimiter&) = delete;
  CloseRateLimiter& operator=(const CloseRateLimiter&) = delete;

  struct Decision {
    bool admitted = false;
    // The budget that binds (the one with fewer calls left: the key's, or
    // the org's when it has fewer), after this call: the RateLimit header.
    int64_t limit = 0;
    int64_t remaining = 0;
    int64_t reset_seconds = 1;
    bool org_limit = false;  // the org's budget binds (else the key's)
  };
  // One call of api_key (of org) to group ("GET /api/v1/lead/").
  Decision Acquire(std::string_view group, std::string_view api_key, std::string_view org);

  int64_t limit() const { return limit_; }
  int64_t window_seconds() const { return window_seconds_; }

 private:
  struct Counter {
    int64_t window = -1;  // the window index its count is of
    int64_t count = 0;
  };
  const int64_t limit_;
  const int64_t window_seconds_;
  const Clock clock_;

  std::mutex mu_;
  std::map<std::string, Counter, std::less<>> keys_;  // group, '\0', key hash; under mu_
  std::map<std::string, Counter, std::less<>> orgs_;  // group, '\0', org; under mu_
};

}  // namespace leadflow::api

#endif  // LEADFLOW_API_CLOSE_RATE_LIMIT_H_
