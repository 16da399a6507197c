#include "api/close_rate_limit.h"

#include <algorithm>
#include <chrono>
#include <functional>

namespace leadflow::api {

CloseRateLimiter::CloseRateLimiter(int64_t limit, int64_t window_seconds, Clock clock)
    : limit_(limit), window_seconds_(window_seconds), clock_(clock ? std::move(clock) : [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
      }) {}

CloseRateLimiter::Decision CloseRateLimiter::Acquire(std::string_view group, std::string_view api_key,
                                                     std::string_view org) {
  const int64_t now = clock_();
  const int64_t window_ms = window_seconds_ * 1000;
  const int64_t window = now / window_ms;
  const int64_t left_ms = (window + 1) * window_ms - now;  // > 0
  std::string key_id(group);
  key_id.push_back('\0');
  const size_t hash = std::hash<std::string_view>()(api_key);
  key_id.append(reinterpret_cast<const char*>(&hash), sizeof hash);
  std::string org_id(group);
  org_id.push_back('\0');
  org_id.append(org);

  Decision d;
  d.reset_seconds = std::max<int64_t>(1, (left_ms + 999) / 1000);
  std::lock_guard lock(mu_);
  Counter& k = keys_[key_id];
  Counter& o = orgs_[org_id];
  if (k.window != window) k = Counter{window, 0};
  if (o.window != window) o = Counter{window, 0};
  const int64_t org_limit = limit_ * kOrgMultiple;
  d.admitted = k.count < limit_ && o.count < org_limit;
  if (d.admitted) {
    ++k.count;
    ++o.count;
  }
  const int64_t key_left = limit_ - k.count, org_left = org_limit - o.count;
  d.org_limit = org_left < key_left;
  d.limit = d.org_limit ? org_limit : limit_;
  d.remaining = d.org_limit ? org_left : key_left;
  return d;
}

}  // namespace leadflow::api
