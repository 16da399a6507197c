// Rendering of the lead status change report as Close's JSON, with the
// `_queries` and `_leads_page_urls` of contract section 2.
//
// Thread safety: pure functions.
#ifndef LEADFLOW_API_STATUS_REPORT_JSON_H_
#define LEADFLOW_API_STATUS_REPORT_JSON_H_

#include <string>
#include <string_view>

#include "views/status_report.h"

namespace leadflow::api {

// How a report's lead universe was narrowed; every query is ANDed with it.
struct ReportFilter {
  enum class Kind { kNone, kQuery, kSmartView };
  Kind kind = Kind::kNone;
  std::string value;  // the query text or the smart view id
};

// The JSON body of GET /api/v1/report/statuses/lead/{org}/.
std::string RenderStatusReport(const views::StatusReport& report, const ReportFilter& filter);

// `"label"` with `"` and `\` escaped by `\`.
std::string QuoteQueryString(std::string_view s);
// "/search/" + query with every byte outside A-Za-z0-9_.-~ percent-encoded + "/".
std::string LeadsPageUrl(std::string_view query);
// The span literal that starts at ms ("YYYY-MM-DD HH:MM:SS", ".mmm" unless a
// whole second), and the last span before ms (the second before a whole
// second, else the millisecond before).
std::string SpanStarting(int64_t ms);
std::string SpanBefore(int64_t ms);

}  // namespace leadflow::api

#endif  // LEADFLOW_API_STATUS_REPORT_JSON_H_
