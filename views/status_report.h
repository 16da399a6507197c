// Status report: the lead status change report (contract section 2) computed
// from the views, as plain numbers. Rendering to Close's JSON is api/'s job.
//
// Cost: per status and per transition pair, a few range scans of per-unit
// bitmaps (years, months, days) covering the period, plus the transition log
// of the two partial days at its edges. Never proportional to the number of
// events or leads in the org.
//
// Thread safety: pure functions over a Reader (use a snapshot for a
// consistent report).
#ifndef LEADFLOW_VIEWS_STATUS_REPORT_H_
#define LEADFLOW_VIEWS_STATUS_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <roaring/roaring.hh>

#include "state/status.h"
#include "state/store.h"
#include "views/records.h"

namespace leadflow::views {

// A half-open period [start_ms, end_ms).
struct Period {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

struct StatusRef {
  std::string id;
  std::string label;
  bool deleted = false;
};

struct StatusRow {
  StatusRef status;
  int64_t started = 0, ended = 0, gained = 0, lost = 0, entered = 0, left = 0;
};

struct TransitionRow {
  std::optional<StatusRef> from;  // nullopt: creation
  StatusRef to;
  int64_t count = 0;
};

struct StatusReport {
  std::optional<Period> period;  // nullopt: the overall report
  std::vector<StatusRow> rows;   // status order; see contract section 2
  std::vector<TransitionRow> transitions;
  std::vector<TransitionRow> summary;  // empty for the overall report
};

// The org's statuses in report order: by position, then those without one by
// first appearance (then id).
struct OrgStatus {
  std::string id;
  StatusRecord record;
};
Status LoadStatuses(const state::Reader& reader, std::string_view org, std::vector<OrgStatus>* out);

// Computes the report for org over period (nullopt: overall). When universe
// is non-null, only those lead numbers count. REQUIRES: period->start_ms <
// period->end_ms.
Status ComputeStatusReport(const state::Reader& reader, std::string_view org,
                           const std::optional<Period>& period, const Roaring* universe,
                           StatusReport* out);

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_STATUS_REPORT_H_
