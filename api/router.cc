#include "api/router.h"

#include <charconv>
#include <chrono>
#include <set>

#include <nlohmann/json.hpp>

#include "api/lsq_fields.h"
#include "api/lead_search_handler.h"
#include "api/lsq_handler.h"
#include "api/openapi.h"
#include "api/report_stream.h"
#include "api/smart_view_handler.h"
#include "api/static_assets.h"
#include "api/status_report_handler.h"

namespace leadflow::api {
namespace {

namespace http = boost::beast::http;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      int hi = i + 1 < in.size() ? HexValue(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? HexValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plus_is_space && in[i] == '+') {
      out->push_back(' ');
    } else {
      out->push_back(in[i]);
    }
  }
  return true;
}

// A decimal integer in [0, max], no sign, no blanks.
std::optional<uint64_t> ParseCount(const std::string& text, uint64_t max) {
  uint64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end || v > max) return std::nullopt;
  return v;
}

constexpr std::string_view kLsqPrefix = "/Leads/";
constexpr std::string_view kNotContacted = "/Leads/NotContacted";

Response Simple(const Request& req, http::status status, std::string content_type, std::string body) {
  Response res{status, req.version()};
  res.set(http::field::content_type, content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

}  // namespace

bool ParseTarget(std::string_view target, Target* out) {
  size_t q = target.find('?');
  if (!PercentDecode(target.substr(0, q), false, &out->path)) return false;
  out->params.clear();
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string k, v;
    if (!PercentDecode(pair.substr(0, eq), true, &k)) return false;
    if (eq != std::string_view::npos && !PercentDecode(pair.substr(eq + 1), true, &v)) return false;
    out->params.emplace(std::move(k), std::move(v));
  }
  return true;
}

Response JsonResponse(const Request& req, http::status status, const std::string& body) {
  return Simple(req, status, "application/json", body);
}

Response MethodNotAllowed(const Request& req, std::string_view allow) {
  Response res = JsonResponse(req, http::status::method_not_allowed, R"({"error":"Method not allowed"})");
  res.set(http::field::allow, boost::beast::string_view(allow.data(), allow.size()));
  return res;
}

namespace {

// The API key of a Close request's Authorization header; empty when none.
std::string CloseApiKey(const Request& req) {
  auto auth = req.find(http::field::authorization);
  if (auth == req.end()) return "";
  return ApiKeyFromAuthorization(std::string_view(auth->value().data(), auth->value().size()));
}

}  // namespace

std::optional<std::string> OrgForCloseApiKey(const Request& req, const ServiceContext& ctx) {
  const std::string key = CloseApiKey(req);
  if (key.empty()) return std::nullopt;
  return ctx.credentials->OrgForApiKey(key);
}

bool ParsePaging(const std::multimap<std::string, std::string>& params, Paging* out,
                 std::map<std::string, std::string>* field_errors) {
  *out = Paging();
  bool ok = true;
  if (auto it = params.find("_skip"); it != params.end()) {
    // Bounded only so that skip + limit cannot overflow.
    if (auto v = ParseCount(it->second, uint64_t{1} << 62)) {
      out->skip = *v;
    } else {
      (*field_errors)["_skip"] = "Input should be a valid integer greater than or equal to 0";
      ok = false;
    }
  }
  if (auto it = params.find("_limit"); it != params.end()) {
    if (auto v = ParseCount(it->second, kMaxPageLimit)) {
      out->limit = *v;
    } else {
      (*field_errors)["_limit"] = "Input should be an integer from 0 to 200";
      ok = false;
    }
  }
  return ok;
}

namespace {

Response Dispatch(const Request& req, const ServiceContext& ctx, std::string* route,
                  std::unique_ptr<ReportStream>* stream);

const std::string kReportPrefix = "/api/v1/report/statuses/lead/";
const std::string kSavedSearch = "/api/v1/saved_search";

}  // namespace

Response UnavailableResponse(const Request& req, const std::string& reason, int retry_after_seconds) {
  const std::string_view target(req.target().data(), req.target().size());
  Response res = HasPrefixNoCase(target, kLsqPrefix)
                     ? LsqErrorResponse(req, http::status::service_unavailable, "Service unavailable: " + reason)
                     : JsonResponse(req, http::status::service_unavailable,
                                    nlohmann::json{{"error", "Service unavailable"}, {"reason", reason}}.dump());
  res.set(http::field::retry_after, std::to_string(std::max(1, retry_after_seconds)));
  return res;
}

std::optional<RequestOrgInfo> RequestOrg(const Request& req, const ServiceContext& ctx) {
  Target target;
  if (!ParseTarget(std::string_view(req.target().data(), req.target().size()), &target)) return std::nullopt;
  const std::string& path = target.path;
  std::string route;
  if (path.rfind(kReportPrefix, 0) == 0) {
    route = kReportPrefix + (IsReportStreamPath(path) ? "{org_id}/stream" : "{org_id}/");
  } else if (path == "/api/v1/lead/" || path == "/api/v1/lead") {
    route = "/api/v1/lead/";
  } else if (path.rfind(kSavedSearch, 0) == 0) {
    std::string rest = path.substr(kSavedSearch.size());
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    route = rest.empty() ? kSavedSearch + "/" : kSavedSearch + "/{id}/";
  } else if (HasPrefixNoCase(path, kNotContacted) && req.method() == http::verb::post) {
    std::optional<std::string> org = LsqRequestOrg(req, target, ctx);
    if (!org) return std::nullopt;
    return RequestOrgInfo{*org, std::string(kNotContacted)};
  } else {
    return std::nullopt;
  }
  std::optional<std::string> org = OrgForCloseApiKey(req, ctx);
  if (!org) return std::nullopt;
  return RequestOrgInfo{*org, route};
}

Response HandleRequest(const Request& req, const ServiceContext& ctx, std::string* route,
                       std::unique_ptr<ReportStream>* stream) {
  Response res = Dispatch(req, ctx, route, stream);
  // A 401 names the ways to authenticate (RFC 9110 section 11.6.1), so
  // that a client or a person with curl sees what is expected: the Close
  // API takes the key as Basic user name or as a Bearer token; the
  // LeadSquared API takes an access and secret key pair (query or
  // x-LSQ-* headers), no standard scheme, so its challenge is its own.
  if (res.result() == http::status::unauthorized && res.find(http::field::www_authenticate) == res.end()) {
    if (HasPrefixNoCase(std::string_view(req.target().data(), req.target().size()), kLsqPrefix)) {
      res.insert(http::field::www_authenticate, R"(LSQ-Keys realm="leadflow")");
    } else {
      res.insert(http::field::www_authenticate, R"(Basic realm="leadflow", charset="UTF-8")");
      res.insert(http::field::www_authenticate, R"(Bearer realm="leadflow")");
    }
  }
  // Every answer computed from the state says how fresh that state is, so
  // that a report read while ingest catches up (or is stopped) is told
  // apart from a current one.
  static const std::set<std::string> kStateless = {
      "/healthz", "/readyz", "/metrics", "/openapi.json", "/schemas/events.json", "/cluster", "invalid", "other",
      "/", "/lsq/", "/search/{query}/", "/assets/{name}", "/api/v1/me/"};
  if (kStateless.count(*route) == 0) {
    const IngestView v = ctx.ingest ? ctx.ingest() : IngestView();
    res.set("Leadflow-Ready", v.ready ? "true" : "false");
    res.set("Leadflow-Lag-Messages", std::to_string(v.lag_messages));
    res.set("Leadflow-Consumer", v.consumer);
    if (!ctx.instance.empty()) res.set("Leadflow-Served-By", ctx.instance);
    if (ctx.org_shard) {
      if (std::optional<RequestOrgInfo> info = RequestOrg(req, ctx)) {
        if (std::optional<ServiceContext::OrgShard> shard = ctx.org_shard(info->org)) {
          res.set("Leadflow-Partition", std::to_string(shard->partition));
          if (shard->lag) res.set("Leadflow-Lag-Messages", std::to_string(*shard->lag));
          if (!shard->replica.empty()) res.set("Leadflow-Replica", shard->replica);
        }
      }
    }
  }
  // A HEAD answer is a header without content (RFC 9110 section 9.3.2):
  // content would be read as the start of the next answer on a kept-alive
  // connection. Content-Length stays that of the content left out.
  if (req.method() == http::verb::head && !res.body().empty()) {
    const uint64_t length = res.body().size();
    res.body().clear();
    res.content_length(length);
  }
  return res;
}

namespace {

// A document built into the binary (api/openapi.h), for clients, producers
// and tools; no credential needed. GET and HEAD only.
Response Document(const Request& req, const std::string& content_type, std::string_view document) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    return MethodNotAllowed(req, "GET, HEAD");
  }
  return Simple(req, http::status::ok, content_type, std::string(document));
}

// A Close endpoint's answer under its rate limits (close_rate_limit.h),
// the group being the method and the route: every answer to a credential
// carries the RateLimit header, and a call over a budget is refused with
// 429 and Retry-After before handle runs. The body of the 429 is Close's
// legacy one (its official client reads error.rate_reset; the headers say
// the same). Calls without a valid credential are not counted: handle
// answers them 401.
template <typename Handle>
Response CloseLimited(const Request& req, const ServiceContext& ctx, const std::string& route, Handle handle) {
  if (ctx.close_rate_limiter == nullptr) return handle();
  const std::string key = CloseApiKey(req);
  const std::optional<std::string> org = key.empty() ? std::nullopt : ctx.credentials->OrgForApiKey(key);
  if (!org) return handle();
  const std::string group = std::string(req.method_string()) + " " + route;
  const CloseRateLimiter::Decision d = ctx.close_rate_limiter->Acquire(group, key, *org);
  const std::string header = "limit=" + std::to_string(d.limit) + ", remaining=" + std::to_string(d.remaining) +
                             ", reset=" + std::to_string(d.reset_seconds);
  if (!d.admitted) {
    nlohmann::json body = {{"error",
                            {{"message", "API call count exceeded for this " +
                                             std::to_string(ctx.close_rate_limiter->window_seconds()) +
                                             " second window"},
                             {"rate_reset", d.reset_seconds},
                             {"rate_limit", d.limit},
                             {"rate_window", ctx.close_rate_limiter->window_seconds()},
                             {"rate_limit_type", d.org_limit ? "organization" : "api_key"}}}};
    Response res = JsonResponse(req, http::status::too_many_requests, body.dump());
    res.set("RateLimit", header);
    res.set(http::field::retry_after, std::to_string(d.reset_seconds));
    return res;
  }
  Response res = handle();
  res.set("RateLimit", header);
  return res;
}

// Cluster mode: a request for an org this instance does not serve now is
// answered 503 with Retry-After, in the shape of its API, before anything
// else runs (no rate limit counted here); nullopt when it is served here
// (or the credentials are bad: the handler answers that, as the owner
// would).
std::optional<Response> NotServedHere(const Request& req, const ServiceContext& ctx,
                                      const std::optional<std::string>& org, bool /*lsq*/) {
  if (!ctx.serve_org || !org) return std::nullopt;
  std::optional<ServiceContext::Unserved> why = ctx.serve_org(*org);
  if (!why) return std::nullopt;
  return UnavailableResponse(req, why->reason, why->retry_after_seconds);
}

// The answer that opens a report stream: 200, the header fields of an
// event stream, no body (the session writes the events).
Response StreamHeader(const Request& req) {
  Response res{http::status::ok, req.version()};
  res.set(http::field::content_type, "text/event-stream; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  // Proxies that buffer answers (nginx) pass this one on as it comes.
  res.set("X-Accel-Buffering", "no");
  res.keep_alive(req.keep_alive());
  return res;
}

Response Dispatch(const Request& req, const ServiceContext& ctx, std::string* route,
                  std::unique_ptr<ReportStream>* stream) {
  Target target;
  const std::string_view raw_target(req.target().data(), req.target().size());
  if (!ParseTarget(raw_target, &target)) {
    *route = "invalid";
    if (HasPrefixNoCase(raw_target, kLsqPrefix)) {
      return LsqErrorResponse(req, http::status::bad_request, "The request URL is not valid.");
    }
    return JsonResponse(req, http::status::bad_request,
                        R"({"errors":["The request URL is not valid."],"field-errors":{}})");
  }
  const std::string& path = target.path;
  if (path == "/healthz") {
    *route = "/healthz";
    return Simple(req, http::status::ok, "text/plain", "ok\n");
  }
  if (path == "/readyz") {
    *route = "/readyz";
    const IngestView v = ctx.ingest ? ctx.ingest() : IngestView();
    // The first line is the verdict; the second says what the consumer does
    // (a ready service whose consumer is restarting still answers 200: its
    // reports are correct as of the lag shown).
    std::string body = v.ready ? "ready\n"
                               : "not ready: " + ((v.consumer == "running" || v.consumer == "starting") &&
                                                          v.reason.empty()
                                                      ? "catching up, " + std::to_string(v.lag_messages) +
                                                            " messages behind"
                                                      : "consumer " + v.consumer +
                                                            (v.reason.empty() ? "" : ": " + v.reason)) +
                                     "\n";
    body += "consumer: " + v.consumer + (v.reason.empty() ? "" : " (" + v.reason + ")") + "; lag " +
            std::to_string(v.lag_messages) + " messages\n";
    return Simple(req, v.ready ? http::status::ok : http::status::service_unavailable, "text/plain", body);
  }
  if (path == "/metrics") {
    *route = "/metrics";
    std::string body;
    if (ctx.append_metrics) ctx.append_metrics(&body);
    if (ctx.http_metrics) ctx.http_metrics->Render(&body);
    if (ctx.streams) ctx.streams->AppendMetrics(&body);
    return Simple(req, http::status::ok, "text/plain; version=0.0.4", body);
  }
  if (path == "/cluster") {
    *route = "/cluster";
    if (req.method() != http::verb::get && req.method() != http::verb::head) return MethodNotAllowed(req, "GET, HEAD");
    if (!ctx.cluster) return JsonResponse(req, http::status::not_found, R"({"error":"Not found"})");
    if (!OrgForCloseApiKey(req, ctx) && !LsqRequestOrg(req, target, ctx)) {
      return JsonResponse(req, http::status::unauthorized, R"({"error":"Unauthorized"})");
    }
    return JsonResponse(req, http::status::ok, ctx.cluster());
  }
  if (std::optional<Response> page = ServeWeb(req, path, ctx, route)) return std::move(*page);
  if (path == "/api/v1/me/" || path == "/api/v1/me") {
    // Which org a Close key reads (a subset of Close's /me/): what the
    // dashboard asks after its sign-in.
    *route = "/api/v1/me/";
    if (req.method() != http::verb::get && req.method() != http::verb::head) return MethodNotAllowed(req, "GET, HEAD");
    std::optional<std::string> org = OrgForCloseApiKey(req, ctx);
    if (!org) return JsonResponse(req, http::status::unauthorized, R"({"error":"Unauthorized"})");
    return JsonResponse(req, http::status::ok, nlohmann::json{{"organizations", {{{"id", *org}}}}}.dump());
  }
  if (path == "/openapi.json") {
    // The description of this API (docs/openapi.json).
    *route = "/openapi.json";
    return Document(req, "application/json", OpenApiDocument());
  }
  if (path == "/schemas/events.json") {
    // The JSON Schema of the events (docs/events.schema.json), for
    // producers to validate against before they publish.
    *route = "/schemas/events.json";
    return Document(req, "application/schema+json", EventsSchemaDocument());
  }
  if (IsReportStreamPath(path)) {
    *route = kReportPrefix + "{org_id}/stream";
    std::string org = path.substr(kReportPrefix.size());
    org = org.substr(0, org.find('/'));
    if (auto r = NotServedHere(req, ctx, OrgForCloseApiKey(req, ctx), false)) return std::move(*r);
    return CloseLimited(req, ctx, *route, [&] {
      Response refusal;
      std::unique_ptr<ReportStream> opened = ReportStream::Open(req, target, org, ctx, &refusal);
      if (!opened) return refusal;
      Response res = StreamHeader(req);
      if (stream) {
        *stream = std::move(opened);
      } else {
        // A caller that cannot stream gets the stream's start, whole.
        res.body() = *opened->Start();
        res.keep_alive(false);
        res.prepare_payload();
      }
      return res;
    });
  }
  if (path.rfind(kReportPrefix, 0) == 0) {
    *route = kReportPrefix + "{org_id}/";
    std::string org = path.substr(kReportPrefix.size());
    if (!org.empty() && org.back() == '/') org.pop_back();
    if (org.empty() || org.find('/') != std::string::npos) {
      return JsonResponse(req, http::status::not_found, R"({"error":"Not found"})");
    }
    if (auto r = NotServedHere(req, ctx, OrgForCloseApiKey(req, ctx), false)) return std::move(*r);
    return CloseLimited(req, ctx, *route, [&] { return HandleStatusReport(req, target, org, ctx); });
  }
  if (path == "/api/v1/lead/" || path == "/api/v1/lead") {
    *route = "/api/v1/lead/";
    if (auto r = NotServedHere(req, ctx, OrgForCloseApiKey(req, ctx), false)) return std::move(*r);
    return CloseLimited(req, ctx, *route, [&] { return HandleLeadSearch(req, target, ctx); });
  }
  if (path.rfind(kSavedSearch, 0) == 0) {
    if (auto r = NotServedHere(req, ctx, OrgForCloseApiKey(req, ctx), false)) {
      *route = "/api/v1/saved_search/";
      return std::move(*r);
    }
    std::string rest = path.substr(kSavedSearch.size());
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    if (rest.empty()) {
      *route = kSavedSearch + "/";
      return CloseLimited(req, ctx, *route, [&] { return HandleSmartViews(req, target, std::nullopt, ctx); });
    }
    if (rest[0] == '/' && rest.find('/', 1) == std::string::npos) {
      *route = kSavedSearch + "/{id}/";
      return CloseLimited(req, ctx, *route, [&] { return HandleSmartViews(req, target, rest.substr(1), ctx); });
    }
  }
  if (HasPrefixNoCase(path, kLsqPrefix)) {
    if (EqualsNoCase(path, kNotContacted) ||
        (path.size() == kNotContacted.size() + 1 && path.back() == '/' && HasPrefixNoCase(path, kNotContacted))) {
      *route = std::string(kNotContacted);
      if (req.method() == http::verb::post) {
        if (auto r = NotServedHere(req, ctx, LsqRequestOrg(req, target, ctx), true)) return std::move(*r);
      }
      return HandleNotContacted(req, target, ctx);
    }
    *route = "other";
    return LsqErrorResponse(req, http::status::not_found, "API not found: check the API signature");
  }
  *route = "other";
  return JsonResponse(req, http::status::not_found, R"({"error":"Not found"})");
}

}  // namespace

}  // namespace leadflow::api
