// The handler of Close's Smart Views, /api/v1/saved_search/ (contract
// section 2a), stored by views/smart_views.h:
//   GET    /api/v1/saved_search/        list: {"data": [...], "has_more": b},
//                                       ordered by creation, `_skip`/`_limit`
//                                       as in lead search (400 when bad)
//   POST   /api/v1/saved_search/        create from {"name", "query"}; 200
//                                       with the view (Close answers its
//                                       creates with 200, not 201)
//   GET    /api/v1/saved_search/{id}/   one view
//   PUT    /api/v1/saved_search/{id}/   replace "name" and/or "query" (at
//                                       least one; the other is kept); 200
//                                       with the view
//   DELETE /api/v1/saved_search/{id}/   200 {}
// A view is {"id": "save_...", "name", "query", "type": "lead",
// "organization_id", "date_created", "date_updated"} with times in RFC 3339
// UTC with milliseconds.
//
// Credentials (Close API key, Basic or Bearer) are checked first: 401
// {"error":"Unauthorized"}. Views are scoped to the key's org: an unknown id,
// or another org's, is 404 {"error":"Not found"}. A body that is not a JSON
// object is 400 {"error":"The request contains invalid JSON."}; a missing or
// non-string name or query, an empty or too long name, a "type" other than
// "lead", or a query that does not parse is 400 {"errors":[],
// "field-errors":{field: message}} (the parser's message names the
// position). Other methods are 405; store failures 500.
//
// Thread safety: callable from any thread, concurrently with ingestion.
#ifndef LEADFLOW_API_SMART_VIEW_HANDLER_H_
#define LEADFLOW_API_SMART_VIEW_HANDLER_H_

#include <optional>
#include <string>

#include "api/router.h"

namespace leadflow::api {

// id: nullopt for the collection, else the percent-decoded {id} of the path.
Response HandleSmartViews(const Request& req, const Target& target, const std::optional<std::string>& id,
                          const ServiceContext& ctx);

}  // namespace leadflow::api

#endif  // LEADFLOW_API_SMART_VIEW_HANDLER_H_
