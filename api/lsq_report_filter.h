// The ReportFilter node of a Leads Not Contacted request (UserFilter,
// LeadFilters, ActivityFilters), parsed into a views::NotContactedQuery.
// api/lsq_request.h documents the accepted forms; this is its part.
//
// Thread safety: pure function.
#ifndef LEADFLOW_API_LSQ_REPORT_FILTER_H_
#define LEADFLOW_API_LSQ_REPORT_FILTER_H_

#include <string>

#include <nlohmann/json.hpp>

#include "views/not_contacted.h"

namespace leadflow::api {

// Sets out->user_filter, out->lead_filters and out->activity_codes from
// report_filter (a ReportFilter value, not null). Returns false with *error
// naming the problem; *out may then be partly written.
bool ParseReportFilter(const nlohmann::json& report_filter, views::NotContactedQuery* out, std::string* error);

}  // namespace leadflow::api

#endif  // LEADFLOW_API_LSQ_REPORT_FILTER_H_
