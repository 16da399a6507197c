// HttpMetrics: the leadflow_http_request_duration_seconds histogram, by route
// and status code, rendered as Prometheus text.
//
// Thread safety: Observe and Render may be called from any thread.
#ifndef LEADFLOW_API_HTTP_METRICS_H_
#define LEADFLOW_API_HTTP_METRICS_H_

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace leadflow::api {

class HttpMetrics {
 public:
  void Observe(const std::string& route, unsigned status, double seconds);
  // Appends the histogram in Prometheus text format to out.
  void Render(std::string* out) const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, unsigned>, Histogram> series_;  // guarded by mu_
};

}  // namespace leadflow::api

#endif  // LEADFLOW_API_HTTP_METRICS_H_
