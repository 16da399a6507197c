#include "api/status_report_handler.h"

#include <chrono>
#include <memory>
#include <optional>
#include <variant>

#include <nlohmann/json.hpp>

#include "api/json_depth.h"
#include "api/lsq_fields.h"
#include "api/report_params.h"
#include "state/log.h"
#include "views/query_eval.h"
#include "views/query_parser.h"
#include "views/smart_views.h"
#include "views/status_report.h"

namespace leadflow::api {
namespace {

namespace http = boost::beast::http;


std::string_view Sv(boost::beast::string_view v) { return std::string_view(v.data(), v.size()); }

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The lead universe of the report's filter, read from reader: nullopt for
// every lead (no filter, or a query that selects all, which then renders as
// no filter: `() and (T)` would not parse). NotFound for an unknown
// smart_view_id; InvalidArgument (a message for the client) for a query that
// does not parse or names an unknown view.
Status ReportUniverse(const state::Reader& reader, const std::string& org, ReportFilter* filter,
                      std::optional<Roaring>* universe) {
  universe->reset();
  views::Query query;
  if (filter->kind == ReportFilter::Kind::kQuery) {
    Status s = views::ParseQuery(filter->value, &query);
    if (!s.ok()) return s;
    if (std::holds_alternative<views::query::All>(query.node)) {
      *filter = ReportFilter();
      return Status::Ok();
    }
  } else if (filter->kind == ReportFilter::Kind::kSmartView) {
    views::SmartView view;
    Status s = views::GetSmartView(reader, org, filter->value, &view);
    if (s.ok()) s = views::ParseQuery(view.query, &query);
    if (s.IsInvalidArgument()) s = Status::InvalidArgument("smart view " + view.id + ": " + s.message());
    if (!s.ok()) return s;
  } else {
    return Status::Ok();
  }
  Roaring* out = &universe->emplace();
  Status s = views::EvaluateQuery(reader, org, query, views::SmartViewResolver(reader, org), out);
  // Only the smart_view_id itself may be "not found" to the client.
  return s.IsNotFound() ? Status::Corruption(s.message()) : s;
}

}  // namespace

Response HandleStatusReport(const Request& req, const Target& target, const std::string& org,
                            const ServiceContext& ctx) {
  // Credentials first: nothing about the org is revealed to an unauthenticated caller.
  std::optional<std::string> key_org = OrgForCloseApiKey(req, ctx);
  if (!key_org) return JsonResponse(req, http::status::unauthorized, R"({"error":"Unauthorized"})");
  if (*key_org != org) return JsonResponse(req, http::status::not_found, R"({"error":"Not found"})");

  std::multimap<std::string, std::string> params = target.params;
  if (req.method() == http::verb::post) {
    // Close's override for long parameters: POST + x-http-method-override: GET + {"_params": {...}}.
    // The header must say GET (any case), not merely begin with it ("GETX" is refused).
    auto override_header = req.find("x-http-method-override");
    if (override_header == req.end() || !EqualsNoCase(Sv(override_header->value()), "GET")) {
      return MethodNotAllowed(req, "GET, POST");
    }
    nlohmann::json body = nlohmann::json::parse(req.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return JsonResponse(req, http::status::bad_request, R"({"error":"The request contains invalid JSON."})");
    }
    if (!JsonNestedAtMost(body, kMaxBodyDepth)) {
      return JsonResponse(req, http::status::bad_request,
                          R"({"errors":["The request body nests deeper than 64 levels."],"field-errors":{}})");
    }
    if (body.contains("_params") && body["_params"].is_object()) {
      for (auto it = body["_params"].begin(); it != body["_params"].end(); ++it) {
        params.emplace(it.key(), it->is_string() ? it->get<std::string>() : it->dump());
      }
    }
  } else if (req.method() != http::verb::get) {
    return MethodNotAllowed(req, "GET, POST");
  }

  std::optional<std::string> tz;
  auto tz_header = req.find("x-tz-offset");
  if (tz_header != req.end()) tz = std::string(tz_header->value());
  ReportParams rp;
  BadRequest bad;
  const int64_t now = ctx.now_ms ? ctx.now_ms() : SystemNowMs();
  if (!ParseReportParams(params, tz, now, &rp, &bad)) {
    return JsonResponse(req, http::status::bad_request, bad.ToJson());
  }
  // Filter values are echoed into the JSON body; the renderer throws on
  // invalid UTF-8.
  if (rp.filter.kind != ReportFilter::Kind::kNone && !IsValidUtf8(rp.filter.value)) {
    BadRequest bad_text;
    bad_text.field_errors[rp.filter.kind == ReportFilter::Kind::kQuery ? "query" : "smart_view_id"] =
        "Must be valid UTF-8.";
    return JsonResponse(req, http::status::bad_request, bad_text.ToJson());
  }

  // One snapshot for the view, the query's `in:"..."` views and the report.
  std::unique_ptr<state::Reader> snapshot = ctx.store->NewSnapshot();
  std::optional<Roaring> universe;
  const char* filter_field = rp.filter.kind == ReportFilter::Kind::kQuery ? "query" : "smart_view_id";
  Status s = ReportUniverse(*snapshot, org, &rp.filter, &universe);
  if (s.IsNotFound()) return JsonResponse(req, http::status::not_found, R"({"error":"Not found"})");
  if (s.IsInvalidArgument()) {
    BadRequest bad_query;
    bad_query.field_errors[filter_field] = s.message();
    return JsonResponse(req, http::status::bad_request, bad_query.ToJson());
  }
  views::StatusReport report;
  if (s.ok()) s = views::ComputeStatusReport(*snapshot, org, rp.period, universe ? &*universe : nullptr, &report);
  if (!s.ok()) {
    LogError("status report for org " + org + ": " + s.ToString());
    return JsonResponse(req, http::status::internal_server_error, R"({"error":"Internal error"})");
  }
  return JsonResponse(req, http::status::ok, RenderStatusReport(report, rp.filter));
}

}  // namespace leadflow::api
