// The handler of GET /api/v1/report/statuses/lead/{org_id}/: authentication,
// parameters, a consistent snapshot, the report, its JSON.
//
// Thread safety: callable from any thread.
#ifndef LEADFLOW_API_STATUS_REPORT_HANDLER_H_
#define LEADFLOW_API_STATUS_REPORT_HANDLER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "api/report_cache.h"
#include "api/router.h"

namespace leadflow::api {

// A status report as computed for a request: its JSON and what it was
// computed from.
struct RenderedStatusReport {
  ReportCache::Body body;           // never null
  std::optional<uint64_t> version;  // the org's version at the snapshot (views::ChangeFeed::VersionAt); nullopt: unknown
  uint64_t snapshot_epoch = 0;      // the snapshot's store epoch
};

// The report req asks for, at a new snapshot (from the report cache when it
// has it); nullopt with *error set to the answer HandleStatusReport gives
// instead (401, 404, 405, 400, 500).
std::optional<RenderedStatusReport> ComputeStatusReportAnswer(const Request& req, const Target& target,
                                                             const std::string& org, const ServiceContext& ctx,
                                                             Response* error);

Response HandleStatusReport(const Request& req, const Target& target, const std::string& org,
                            const ServiceContext& ctx);

}  // namespace leadflow::api

#endif  // LEADFLOW_API_STATUS_REPORT_HANDLER_H_
