// Router: request handling as a plain function from an HTTP request to a
// response, separate from I/O (api/server.h does the I/O). Routes:
//   GET /healthz, GET /readyz, GET /metrics
//   GET /api/v1/report/statuses/lead/{org_id}/   (contract section 2)
//   POST /Leads/NotContacted[/]                  (contract section 3; path
//        matched ASCII case-insensitively, as LeadSquared's IIS does; other
//        paths under /Leads/ are 404 in the LeadSquared error shape)
//
// Thread safety: HandleRequest may be called from any number of threads at
// once; everything in ServiceContext must be safe for that.
#ifndef LEADFLOW_API_ROUTER_H_
#define LEADFLOW_API_ROUTER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <boost/beast/http.hpp>

#include "api/credentials.h"
#include "api/http_metrics.h"
#include "api/rate_limiter.h"
#include "state/store.h"

namespace leadflow::api {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

struct ServiceContext {
  const state::Store* store = nullptr;       // required
  const Credentials* credentials = nullptr;  // required
  std::function<bool()> ready;               // readiness; nullptr means ready
  std::function<void(std::string*)> append_metrics;  // appends other metrics; may be null
  HttpMetrics* http_metrics = nullptr;       // may be null
  std::function<int64_t()> now_ms;           // clock; nullptr means the system clock
  RateLimiter* lsq_rate_limiter = nullptr;   // per-org limit of /Leads/*; null means no limit
};

// Answers req. *route is set to a low-cardinality route label for metrics.
Response HandleRequest(const Request& req, const ServiceContext& ctx, std::string* route);

// Target parsing, exposed for tests.
struct Target {
  std::string path;                            // percent-decoded
  std::multimap<std::string, std::string> params;  // percent-decoded, '+' as space
};
bool ParseTarget(std::string_view target, Target* out);

// A response with a JSON body, keep-alive as the request asks.
Response JsonResponse(const Request& req, boost::beast::http::status status, const std::string& body);

}  // namespace leadflow::api

#endif  // LEADFLOW_API_ROUTER_H_
