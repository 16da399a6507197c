// Report parameters of GET /api/v1/report/statuses/lead/{org_id}/: the period
// (contract section 2), the filter, and the errors for bad input.
//
// Thread safety: pure functions.
#ifndef LEADFLOW_API_REPORT_PARAMS_H_
#define LEADFLOW_API_REPORT_PARAMS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "api/status_report_json.h"
#include "views/status_report.h"

namespace leadflow::api {

struct ReportParams {
  std::optional<views::Period> period;  // nullopt: overall report
  ReportFilter filter;
};

// A 400 body: {"errors": [...], "field-errors": {...}}.
struct BadRequest {
  std::vector<std::string> errors;
  std::map<std::string, std::string> field_errors;
  std::string ToJson() const;
};

// Parses the parameters. tz_offset is the x-tz-offset header (hours, may be
// fractional) or nullopt. now_ms is the request time. Returns false and
// fills *bad on invalid input.
bool ParseReportParams(const std::multimap<std::string, std::string>& params,
                       const std::optional<std::string>& tz_offset, int64_t now_ms, ReportParams* out,
                       BadRequest* bad);

}  // namespace leadflow::api

#endif  // LEADFLOW_API_REPORT_PARAMS_H_
