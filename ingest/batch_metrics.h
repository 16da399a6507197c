// BatchMetrics: where the Kafka consumer's batches spend their time, for
// /metrics (leadflow_batch_phase_seconds{phase}, leadflow_batch_events):
//   collect  reading messages until the local queue runs dry or a cap;
//   apply    decoding and applying them (Pipeline::ApplyAdded) and
//            publishing their dead letters;
//   commit   Pipeline::Commit: the lead diffs, the chunk owners, the wait
//            for the previous write and, for a small (live) batch, its own
//            write; a big batch's write is handed off;
//   sync     waiting for a handed-off write where the loop waits for it.
// At 20,000 events/s the commit of a live batch is what freshness is made
// of (docs/design.md, issue 11, session 12).
//
// Thread safety: Observe and Render may be called from any thread.
#ifndef LEADFLOW_INGEST_BATCH_METRICS_H_
#define LEADFLOW_INGEST_BATCH_METRICS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

namespace leadflow::ingest {

class BatchMetrics {
 public:
  enum Phase { kCollect = 0, kApply, kCommit, kSync, kPhaseCount };

  void Observe(Phase phase, double seconds);
  void ObserveEvents(size_t events);
  // Appends both histograms in Prometheus text format to out.
  void Render(std::string* out) const;

 private:
  static constexpr std::array<double, 12> kSeconds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1.0,  2.5,   10.0};
  static constexpr std::array<double, 7> kEvents = {10, 100, 1000, 10000, 100000, 1000000, 10000000};
  template <size_t N>
  struct Histogram {
    std::array<uint64_t, N> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::array<Histogram<kSeconds.size()>, kPhaseCount> phases_;  // guarded by mu_
  Histogram<kEvents.size()> events_;                              // guarded by mu_
};

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_BATCH_METRICS_H_
