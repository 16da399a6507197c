#include "api/report_params.h"

#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

#include "views/time.h"

namespace leadflow::api {
namespace {

std::optional<std::string> Param(const std::multimap<std::string, std::string>& params, const char* name) {
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return it->second;
}

// A date (local midnight at the offset) or an RFC 3339 instant.
std::optional<int64_t> ParseBound(const std::string& text, int64_t offset_ms) {
  if (text.size() == 10) return views::ParseDateMs(text, offset_ms);
  return views::ParseRfc3339Ms(text);
}

}  // namespace

std::string BadRequest::ToJson() const {
  nlohmann::json j = {{"errors", errors}, {"field-errors", nlohmann::json::object()}};
  for (const auto& [k, v] : field_errors) j["field-errors"][k] = v;
  return j.dump();
}

bool ParseReportParams(const std::multimap<std::string, std::string>& params,
                       const std::optional<std::string>& tz_offset, int64_t now_ms, ReportParams* out,
                       BadRequest* bad) {
  *out = ReportParams();
  int64_t offset_ms = 0;
  if (tz_offset) {
    double hours = 0;
    const char* begin = tz_offset->data();
    const char* end = begin + tz_offset->size();
    // One optional sign: from_chars takes a '-' but not a '+'.
    if (begin != end && *begin == '+' && begin + 1 != end && begin[1] != '-') ++begin;
    auto [ptr, ec] = std::from_chars(begin, end, hours);
    if (ec != std::errc() || ptr != end || !std::isfinite(hours) || hours < -24 || hours > 24) {
      bad->errors.push_back("x-tz-offset must be a number of hours between -24 and 24, e.g. -4 or 5.5.");
      return false;
    }
    offset_ms = std::llround(hours * 3'600'000.0);
  }

  auto query = Param(params, "query");
  auto smart_view = Param(params, "smart_view_id");
  if (query && query->empty()) query.reset();
  if (smart_view && smart_view->empty()) smart_view.reset();
  if (query && smart_view) {
    bad->errors.push_back("Provide either query or smart_view_id, but not both.");
    return false;
  }
  if (query) out->filter = {ReportFilter::Kind::kQuery, *query};
  if (smart_view) out->filter = {ReportFilter::Kind::kSmartView, *smart_view};

  auto start = Param(params, "date_start");
  auto end = Param(params, "date_end");
  if (start && start->empty()) start.reset();
  if (end && end->empty()) end.reset();
  std::optional<int64_t> t0, t1;
  if (start) {
    t0 = ParseBound(*start, offset_ms);
    if (!t0) bad->field_errors["date_start"] = "Enter a date (YYYY-MM-DD) or an RFC 3339 timestamp.";
  }
  if (end) {
    t1 = ParseBound(*end, offset_ms);
    if (!t1) bad->field_errors["date_end"] = "Enter a date (YYYY-MM-DD) or an RFC 3339 timestamp.";
    if (!start) bad->field_errors["date_start"] = "date_start is required when date_end is given.";
  }
  // The period's instants must be ones the query language can name (years
  // 0001 to 9999 in UTC): the report's _queries hold them, and a query with
  // a year of 0 or five digits would not parse again.
  constexpr int64_t kFirstMs = -62'135'596'800'000;   // 0001-01-01T00:00:00Z
  constexpr int64_t kEndMs = 253'402'300'800'000;     // 10000-01-01T00:00:00Z
  const char* kRange = "Enter a time from 0001-01-01 to 9999-12-31 in UTC.";
  if (t0 && (*t0 < kFirstMs || *t0 >= kEndMs)) bad->field_errors["date_start"] = kRange;
  if (t1 && (*t1 < kFirstMs || *t1 >= kEndMs)) bad->field_errors["date_end"] = kRange;
  if (!bad->field_errors.empty()) return false;
  if (!start) return true;  // overall report
  if (!end) t1 = now_ms;
  if (*t0 >= *t1) {
    bad->errors.push_back(end ? "date_start must be before date_end."
                              : "date_start must be in the past when date_end is not given.");
    return false;
  }
  out->period = views::Period{*t0, *t1};
  return true;
}

}  // namespace leadflow::api
