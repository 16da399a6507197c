#include "api/router.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "api/lsq_fields.h"
#include "api/lsq_handler.h"
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

// True when path starts with prefix, ASCII case-insensitively.
bool HasPrefixNoCase(std::string_view path, std::string_view prefix) {
  return path.size() >= prefix.size() && EqualsNoCase(path.substr(0, prefix.size()), prefix);
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

Response HandleRequest(const Request& req, const ServiceContext& ctx, std::string* route) {
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
    bool ready = !ctx.ready || ctx.ready();
    return Simple(req, ready ? http::status::ok : http::status::service_unavailable, "text/plain",
                  ready ? "ready\n" : "not ready: catching up\n");
  }
  if (path == "/metrics") {
    *route = "/metrics";
    std::string body;
    if (ctx.append_metrics) ctx.append_metrics(&body);
    if (ctx.http_metrics) ctx.http_metrics->Render(&body);
    return Simple(req, http::status::ok, "text/plain; version=0.0.4", body);
  }
  static const std::string kReportPrefix = "/api/v1/report/statuses/lead/";
  if (path.rfind(kReportPrefix, 0) == 0) {
    *route = kReportPrefix + "{org_id}/";
    std::string org = path.substr(kReportPrefix.size());
    if (!org.empty() && org.back() == '/') org.pop_back();
    if (org.empty() || org.find('/') != std::string::npos) {
      return JsonResponse(req, http::status::not_found, R"({"error":"Not found"})");
    }
    return HandleStatusReport(req, target, org, ctx);
  }
  if (HasPrefixNoCase(path, kLsqPrefix)) {
    if (EqualsNoCase(path, kNotContacted) ||
        (path.size() == kNotContacted.size() + 1 && path.back() == '/' && HasPrefixNoCase(path, kNotContacted))) {
      *route = std::string(kNotContacted);
      return HandleNotContacted(req, target, ctx);
    }
    *route = "other";
    return LsqErrorResponse(req, http::status::not_found, "API not found: check the API signature");
  }
  *route = "other";
  return JsonResponse(req, http::status::not_found, R"({"error":"Not found"})");
}

}  // namespace leadflow::api
