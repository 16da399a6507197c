#include "ingest/batch_metrics.h"

#include <cstdio>

namespace leadflow::ingest {
namespace {

constexpr const char* kPhaseNames[] = {"collect", "apply", "commit", "sync"};

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

template <typename H, typename Bounds>
void Add(H* h, const Bounds& bounds, double v) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (v <= bounds[i]) ++h->buckets[i];
  }
  ++h->count;
  h->sum += v;
}

template <typename H, typename Bounds>
void Append(std::string* out, const std::string& name, const std::string& labels, const H& h, const Bounds& bounds) {
  const std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < bounds.size(); ++i) {
    out->append(name + "_bucket{" + labels + sep + "le=\"" + Number(bounds[i]) + "\"} " + std::to_string(h.buckets[i]) +
                "\n");
  }
  out->append(name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(h.count) + "\n");
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out->append(name + "_sum" + braces + " " + Number(h.sum) + "\n");
  out->append(name + "_count" + braces + " " + std::to_string(h.count) + "\n");
}

}  // namespace

void BatchMetrics::Observe(Phase phase, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  Add(&phases_[phase], kSeconds, seconds);
}

void BatchMetrics::ObserveEvents(size_t events) {
  std::lock_guard<std::mutex> lock(mu_);
  Add(&events_, kEvents, static_cast<double>(events));
}

void BatchMetrics::Render(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  out->append(
      "# HELP leadflow_batch_phase_seconds Time a consumed batch spent in each step: collect, apply, commit, sync.\n"
      "# TYPE leadflow_batch_phase_seconds histogram\n");
  for (int p = 0; p < kPhaseCount; ++p) {
    Append(out, "leadflow_batch_phase_seconds", std::string("phase=\"") + kPhaseNames[p] + "\"", phases_[p], kSeconds);
  }
  out->append(
      "# HELP leadflow_batch_events Messages in a consumed batch.\n"
      "# TYPE leadflow_batch_events histogram\n");
  Append(out, "leadflow_batch_events", "", events_, kEvents);
}

}  // namespace leadflow::ingest
