#include "api/http_metrics.h"

#include <cstdio>

namespace leadflow::api {

void HttpMetrics::Observe(const std::string& route, unsigned status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  Histogram& h = series_[{route, status}];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void HttpMetrics::Render(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  out->append(
      "# HELP leadflow_http_request_duration_seconds Time to answer an HTTP request.\n"
      "# TYPE leadflow_http_request_duration_seconds histogram\n");
  char buf[256];
  for (const auto& [key, h] : series_) {
    const std::string labels = "route=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"";
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      std::snprintf(buf, sizeof(buf), "le=\"%g\"", kBuckets[i]);
      out->append("leadflow_http_request_duration_seconds_bucket{" + labels + "," + buf + "} " +
                  std::to_string(h.buckets[i]) + "\n");
    }
    out->append("leadflow_http_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " +
                std::to_string(h.count) + "\n");
    std::snprintf(buf, sizeof(buf), "%.6f", h.sum);
    out->append("leadflow_http_request_duration_seconds_sum{" + labels + "} " + buf + "\n");
    out->append("leadflow_http_request_duration_seconds_count{" + labels + "} " + std::to_string(h.count) + "\n");
  }
}

}  // namespace leadflow::api
