// ReportCache: rendered report bodies by org, parameters and state version
// (views/change_feed.h), so that many dashboards asking the same report
// cost one computation per change of the org's state, not one per request
// (issue 14, docs/dashboard-plan.md section 2).
//
// A key names exactly the state its body was computed from: the caller
// builds it from the org's version at its snapshot (ChangeFeed::VersionAt)
// and computes from that snapshot, so a body is never served for another
// version. Concurrent requests of one missing key wait for one computation
// (single flight). Entries are evicted least recently used beyond
// max_bytes.
//
// Thread safety: every method may be called from any thread.
#ifndef LEADFLOW_API_REPORT_CACHE_H_
#define LEADFLOW_API_REPORT_CACHE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace leadflow::api {

class ReportCache {
 public:
  using Body = std::shared_ptr<const std::string>;
  explicit ReportCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  // key's body: the cached one, or the one another caller is computing
  // (waited for), or compute()'s, kept when it is not null. compute
  // returns null when there is nothing to keep (an error answer): then
  // null is returned to this caller, and a caller that waited for it
  // computes on its own (*computed says whether this call computed).
  Body Get(const std::string& key, const std::function<Body()>& compute, bool* computed = nullptr);

  struct Stats {
    uint64_t hits = 0, misses = 0, entries = 0, bytes = 0, evictions = 0;
  };
  Stats stats() const;

 private:
  struct Entry {
    std::shared_future<Body> body;
    size_t bytes = 0;  // 0 while computing
    std::list<std::string>::iterator lru;
  };
  void EvictLocked();

  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // most recently used first
  size_t bytes_ = 0;
  std::atomic<uint64_t> hits_{0}, misses_{0}, evictions_{0};
};

}  // namespace leadflow::api

#endif  // LEADFLOW_API_REPORT_CACHE_H_
