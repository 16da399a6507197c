// The handler of POST /Leads/NotContacted (contract section 3), the
// LeadSquared-compatible Leads Not Contacted report: keys, rate limit,
// response format, body, a consistent snapshot, the evaluation, rendering.
//
// Order of checks (each answers in the LSQ error shape, always JSON):
//   1. method: anything but POST is 405 MXMethodNotAllowedException with
//      `Allow: POST` (nothing else is looked at);
//   2. keys: accessKey/secretKey query parameters (names case-insensitive;
//      an empty value counts as absent), else the x-LSQ-AccessKey /
//      x-LSQ-SecretKey headers, each key on its own; a missing or wrong pair
//      is 401 MXUnAuthorizedAccessException. The pair decides the org; keys
//      are compared in constant time and never logged;
//   3. rate limit of the org (ctx.lsq_rate_limiter; null means none): 429
//      MXAPIRateLimitExceededException "API calls exceeded the limit of N in
//      W second(s)" with Retry-After. Every authenticated call counts, also
//      one that then fails with 400;
//   4. responseformat (name and value case-insensitive): JSON (default) or
//      CSV, else 400 MXInvalidInputException;
//   5. the body: not JSON, not an object or not a valid request is 400;
//   6. evaluation: InvalidArgument is 400 with its message; any other
//      failure is 500 MXUnexpectedException (logged with the org, never keys).
// Success: 200 application/json, or text/csv; charset=utf-8 with
// `Content-Disposition: attachment; filename="LeadsNotContacted.csv"`.
//
// Thread safety: callable from any thread.
#ifndef LEADFLOW_API_LSQ_HANDLER_H_
#define LEADFLOW_API_LSQ_HANDLER_H_

#include <optional>
#include <string>
#include <string_view>

#include "api/router.h"

namespace leadflow::api {

Response HandleNotContacted(const Request& req, const Target& target, const ServiceContext& ctx);

// The org of the request's LeadSquared key pair (step 2 above), nullopt
// when absent or wrong.
std::optional<std::string> LsqRequestOrg(const Request& req, const Target& target, const ServiceContext& ctx);

// A response with the LSQ error body {"Status":"Error","ExceptionType",
// "ExceptionMessage"}; the type follows the status (400
// MXInvalidInputException, 401 MXUnAuthorizedAccessException, 404
// MXApiNotFoundException, 405 MXMethodNotAllowedException, 429
// MXAPIRateLimitExceededException, anything else MXUnexpectedException).
Response LsqErrorResponse(const Request& req, boost::beast::http::status status, std::string_view message);

}  // namespace leadflow::api

#endif  // LEADFLOW_API_LSQ_HANDLER_H_
