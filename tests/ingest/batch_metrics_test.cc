// The consumer's batch histograms render as Prometheus text: cumulative
// buckets, +Inf equal to the count, the sum, per phase.
#include "ingest/batch_metrics.h"

#include <doctest/doctest.h>

#include <string>

namespace leadflow::ingest {
namespace {

bool Has(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST_CASE("batch metrics render as cumulative Prometheus histograms") {
  BatchMetrics m;
  m.Observe(BatchMetrics::kCommit, 0.003);
  m.Observe(BatchMetrics::kCommit, 0.2);
  m.Observe(BatchMetrics::kCollect, 20.0);
  m.ObserveEvents(700);
  std::string out;
  m.Render(&out);
  CHECK(Has(out, "# TYPE leadflow_batch_phase_seconds histogram"));
  CHECK(Has(out, R"(leadflow_batch_phase_seconds_bucket{phase="commit",le="0.0025"} 0)"));
  CHECK(Has(out, R"(leadflow_batch_phase_seconds_bucket{phase="commit",le="0.005"} 1)"));
  CHECK(Has(out, R"(leadflow_batch_phase_seconds_bucket{phase="commit",le="0.25"} 2)"));
  CHECK(Has(out, R"(leadflow_batch_phase_seconds_bucket{phase="commit",le="+Inf"} 2)"));
  CHECK(Has(out, R"(leadflow_batch_phase_seconds_count{phase="commit"} 2)"));
  CHECK(Has(out, R"(leadflow_batch_phase_seconds_sum{phase="commit"} 0.203)"));
  CHECK(Has(out, R"(leadflow_batch_phase_seconds_bucket{phase="collect",le="10"} 0)"));
  CHECK(Has(out, R"(leadflow_batch_phase_seconds_bucket{phase="collect",le="+Inf"} 1)"));
  CHECK(Has(out, R"(leadflow_batch_phase_seconds_count{phase="sync"} 0)"));
  CHECK(Has(out, "# TYPE leadflow_batch_events histogram"));
  CHECK(Has(out, R"(leadflow_batch_events_bucket{le="100"} 0)"));
  CHECK(Has(out, R"(leadflow_batch_events_bucket{le="1000"} 1)"));
  CHECK(Has(out, "leadflow_batch_events_sum 700"));
  CHECK(Has(out, "leadflow_batch_events_count 1"));
}

}  // namespace
}  // namespace leadflow::ingest
