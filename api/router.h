// Router: request handling as a plain function from an HTTP request to a
// response, separate from I/O (api/server.h does the I/O). Routes:
//   GET /healthz, GET /readyz, GET /metrics
//   GET /, /lsq/, /search/<query>/, /assets/<name>  (the dashboard, no
//        credential; api/static_assets.h)
//   GET /api/v1/me/                              (the org of a Close key)
//   GET /cluster                                 (cluster mode: members and
//        owners; any valid Close key or LeadSquared pair)
//   GET /openapi.json                            (docs/openapi.json, which
//        describes every route here; api/openapi.h)
//   GET /schemas/events.json                     (docs/events.schema.json, the
//        JSON Schema of the events; api/openapi.h)
//   GET /api/v1/report/statuses/lead/{org_id}/   (contract section 2)
//   GET /api/v1/report/statuses/lead/{org_id}/stream  (the same report as
//        server-sent events, pushed as it changes; api/report_stream.h)
//   GET /api/v1/lead/                            (lead search, section 2a)
//   /api/v1/saved_search/[{id}/]                 (Smart Views, section 2a)
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
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http.hpp>

#include "api/credentials.h"
#include "api/http_metrics.h"
#include "api/close_rate_limit.h"
#include "api/rate_limiter.h"
#include "api/report_cache.h"
#include "state/store.h"
#include "views/change_feed.h"
#include "views/smart_views.h"
#include "views/utf8.h"

namespace leadflow::api {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// What ingest says about the state the answers come from (for /readyz and
// the freshness headers of every API response).
struct IngestView {
  bool ready = true;         // caught up once (contract section 4)
  int64_t lag_messages = 0;  // messages of the topic not yet applied
  std::string consumer = "running";  // ingest::ConsumerStateName
  std::string reason;        // why the consumer is not running, else empty
};

class Forwarder;     // api/forwarder.h
class ReportStream;  // api/report_stream.h
class ReportStreams;  // api/report_stream.h

// Where a request of a cluster instance goes instead of being answered
// here: the owner of its org (issue 13).
struct ForwardTarget {
  std::string host, port;  // the owner's advertised address
  std::string instance;    // the owner's id
  bool https = false;      // it serves HTTPS (--tls-cert)
};

struct ServiceContext {
  state::Store* store = nullptr;             // required; only Smart Views write
  const Credentials* credentials = nullptr;  // required
  std::function<IngestView()> ingest;        // ingest's state; nullptr means ready, lag 0
  std::function<void(std::string*)> append_metrics;  // appends other metrics; may be null
  HttpMetrics* http_metrics = nullptr;       // may be null
  std::function<int64_t()> now_ms;           // clock; nullptr means the system clock
  RateLimiter* lsq_rate_limiter = nullptr;   // per-org limit of /Leads/*; null means no limit
  CloseRateLimiter* close_rate_limiter = nullptr;  // Close endpoints' limits; null means no limit
  // Which orgs' state changed at which store epoch (ingest notes every
  // landed batch), and the status reports rendered by org, parameters and
  // version (api/report_cache.h); both may be null (nothing cached).
  const views::ChangeFeed* change_feed = nullptr;
  ReportCache* report_cache = nullptr;
  // What the report streams (GET .../stream) share: counters and results;
  // may be null (then nothing is shared).
  ReportStreams* streams = nullptr;
  // The dashboard's files (api/static_assets.h): empty, the ones built in;
  // else read from this directory at each request (`serve --web-dir`).
  std::string web_dir;
  // Cluster mode (`serve --advertise`, issue 13); both null in a single
  // instance. cluster: GET /cluster's body (members, addresses, owners;
  // behind any valid credential; 404 when null). serve_org: nullopt when
  // this instance serves org's reports now, else why not: the request is
  // answered 503 with Retry-After before any handler or rate limit runs
  // (until requests are forwarded to the owner, issue 13 slice 3).
  std::function<std::string()> cluster;
  struct Unserved {
    std::string reason;
    int retry_after_seconds = 1;  // the Retry-After header: when an answer is likely (1-30)
  };
  std::function<std::optional<Unserved>(const std::string& org)> serve_org;
  // Cluster mode: the owner a request is sent on to (api/forwarder.h),
  // nullopt to answer it here; called by the HTTP session before
  // HandleRequest, with forwarder doing the sending. instance: this
  // instance's id, sent as Leadflow-Served-By on the answers computed here.
  std::function<std::optional<ForwardTarget>(const Request&)> forward_target;
  Forwarder* forwarder = nullptr;
  std::string instance;
  // Cluster mode: org's home partition and, when this instance owns it or
  // keeps a standby copy of it, that copy's lag (messages not applied yet). An answer for an org says
  // `Leadflow-Partition` and the lag of that partition's shard, not of
  // every partition this instance owns.
  struct OrgShard {
    int32_t partition = 0;
    std::optional<int64_t> lag;  // nullopt: no copy here
    // "owner" or "standby": the copy here (a standby's answer may be up to
    // lag messages stale: the owner is dead or restoring); empty: none.
    std::string replica;
  };
  std::function<std::optional<OrgShard>(const std::string& org)> org_shard;
  // Cluster mode: how a Smart View change is made durable (published to
  // the cluster topic, so that it moves with its org; views/smart_views.h);
  // empty: written to store.
  views::SmartViewWrite smart_view_write;
};

// The org a request of the reports' APIs is for, by its credential (a
// Close API key on the Close routes, the LeadSquared pair on
// /Leads/NotContacted), and the route label it is counted under; nullopt
// for other routes and bad credentials (answered here, as by the owner).
struct RequestOrgInfo {
  std::string org;
  std::string route;
};
std::optional<RequestOrgInfo> RequestOrg(const Request& req, const ServiceContext& ctx);

// 503 with Retry-After: 1 and the reason, in the shape of the request's API
// (LeadSquared's error under /Leads/, else {"error","reason"}).
Response UnavailableResponse(const Request& req, const std::string& reason, int retry_after_seconds = 1);

// Answers req. *route is set to a low-cardinality route label for metrics.
// A report stream (GET /api/v1/report/statuses/lead/{org_id}/stream) that
// opens is answered 200 with the stream's header fields and no body, and
// *stream is set: the caller writes the header, then the stream's events
// (api/report_stream.h); without stream, the answer is the stream's start
// (its first event) as a whole body.
Response HandleRequest(const Request& req, const ServiceContext& ctx, std::string* route,
                       std::unique_ptr<ReportStream>* stream = nullptr);

// Target parsing, exposed for tests.
struct Target {
  std::string path;                            // percent-decoded
  std::multimap<std::string, std::string> params;  // percent-decoded, '+' as space
};
bool ParseTarget(std::string_view target, Target* out);

// A response with a JSON body, keep-alive as the request asks.
Response JsonResponse(const Request& req, boost::beast::http::status status, const std::string& body);
// 405 {"error":"Method not allowed"} with the Allow header HTTP requires
// (RFC 9110 15.5.6), e.g. allow = "GET, POST".
Response MethodNotAllowed(const Request& req, std::string_view allow);

// Helpers shared by the Close-compatible handlers.

// The org of the request's Close API key (Authorization: Basic with the key
// as user name, or Bearer); nullopt when the header is absent, malformed or
// names no known key.
std::optional<std::string> OrgForCloseApiKey(const Request& req, const ServiceContext& ctx);

// Offset paging of Close's list endpoints: `_skip` (default 0) and `_limit`
// (default 100), each a decimal integer, 0 <= _skip and 0 <= _limit <= 200.
// Returns false and sets (*field_errors)[name] to a message for each bad one.
struct Paging {
  uint64_t skip = 0;
  uint64_t limit = 100;
};
constexpr uint64_t kMaxPageLimit = 200;
bool ParsePaging(const std::multimap<std::string, std::string>& params, Paging* out,
                 std::map<std::string, std::string>* field_errors);

// The JSON renderer throws on text that is not UTF-8: check with this.
using views::IsValidUtf8;

}  // namespace leadflow::api

#endif  // LEADFLOW_API_ROUTER_H_
