#include "api/report_cache.h"

namespace leadflow::api {

ReportCache::Body ReportCache::Get(const std::string& key, const std::function<Body()>& compute, bool* computed) {
  if (computed) *computed = false;
  std::promise<Body> promise;
  {
    std::unique_lock lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      std::shared_future<Body> body = it->second.body;
      hits_.fetch_add(1, std::memory_order_relaxed);
      lock.unlock();
      Body b = body.get();  // waits while another caller computes it
      if (b) return b;
      // That computation kept nothing (an error): this caller's own answer.
      if (computed) *computed = true;
      return compute();
    }
    misses_.fetch_add(1, std::memory_order_relaxed);
    lru_.push_front(key);
    entries_.emplace(key, Entry{promise.get_future().share(), 0, lru_.begin()});
  }
  if (computed) *computed = true;
  // The entry this call computes, dropped when it keeps nothing (entries
  // being computed are never evicted, so it is still there).
  auto drop = [&] {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    lru_.erase(it->second.lru);
    entries_.erase(it);
  };
  Body b;
  try {
    b = compute();
  } catch (...) {
    promise.set_value(nullptr);
    drop();
    throw;
  }
  promise.set_value(b);
  if (!b) {
    drop();
    return b;
  }
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  it->second.bytes = key.size() + b->size() + 128;  // the entry's own memory, roughly
  bytes_ += it->second.bytes;
  EvictLocked();
  return b;
}

void ReportCache::EvictLocked() {
  // From the least recently used end; entries being computed (bytes 0)
  // stay (their callers wait for them).
  auto it = lru_.end();
  while (bytes_ > max_bytes_ && it != lru_.begin()) {
    --it;
    auto e = entries_.find(*it);
    if (e == entries_.end() || e->second.bytes == 0) continue;
    bytes_ -= e->second.bytes;
    entries_.erase(e);
    it = lru_.erase(it);
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
}

ReportCache::Stats ReportCache::stats() const {
  std::lock_guard lock(mu_);
  Stats s;
  s.hits = hits_.load();
  s.misses = misses_.load();
  s.evictions = evictions_.load();
  s.entries = entries_.size();
  s.bytes = bytes_;
  return s;
}

}  // namespace leadflow::api
