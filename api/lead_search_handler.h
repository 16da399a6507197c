// The handler of GET /api/v1/lead/ (contract section 2a): Close's lead
// search, the leads a query selects, one page at a time.
//
// Order of checks:
//   1. credentials: Close API key (Basic or Bearer), else 401
//      {"error":"Unauthorized"}; the org is the key's org;
//   2. method: GET, else 405 {"error":"Method not allowed"};
//   3. parameters, each a 400 {"errors":[],"field-errors":{name: message}}:
//      `_limit` 0 to 200 (default 100), `_skip` >= 0 (default 0), `query`
//      valid UTF-8 that parses (the parser's message names the position and
//      what was expected);
//   4. on one snapshot: evaluation (an unknown `in:"save_..."` is a 400 on
//      "query"), the page, the status labels; other failures are 500.
// Success: 200 {"data": [...], "has_more": b, "total_results": n}, items
// {"id", "status_id", "status_label", "owner_id" (null when none),
// "date_created", "date_updated" (the lead's ModifiedOn), "fields"} with
// times in RFC 3339 UTC with milliseconds, ordered by creation, then id.
// `_fields=a,b` keeps only the named keys of each item (unknown names are
// ignored; empty means all). An empty query selects every lead.
//
// Thread safety: callable from any thread.
#ifndef LEADFLOW_API_LEAD_SEARCH_HANDLER_H_
#define LEADFLOW_API_LEAD_SEARCH_HANDLER_H_

#include "api/router.h"

namespace leadflow::api {

Response HandleLeadSearch(const Request& req, const Target& target, const ServiceContext& ctx);

}  // namespace leadflow::api

#endif  // LEADFLOW_API_LEAD_SEARCH_HANDLER_H_
