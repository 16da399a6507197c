// The handler of GET /api/v1/report/statuses/lead/{org_id}/: authentication,
// parameters, a consistent snapshot, the report, its JSON.
//
// Thread safety: callable from any thread.
#ifndef LEADFLOW_API_STATUS_REPORT_HANDLER_H_
#define LEADFLOW_API_STATUS_REPORT_HANDLER_H_

#include <string>

#include "api/router.h"

namespace leadflow::api {

Response HandleStatusReport(const Request& req, const Target& target, const std::string& org,
                            const ServiceContext& ctx);

}  // namespace leadflow::api

#endif  // LEADFLOW_API_STATUS_REPORT_HANDLER_H_
