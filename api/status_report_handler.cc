#include "api/status_report_handler.h"

#include <chrono>
#include <memory>
#include <optional>
#include <type_traits>
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
// no filter: `() and (T)` would not parse). For a query filter, parsed is
// ParseQuery's status for it and query its result (the caller parses it
// once). NotFound for an unknown smart_view_id; InvalidArgument (a message
// for the client) for a query that does not parse or names an unknown view.
Status ReportUniverse(const state::Reader& reader, const std::string& org, ReportFilter* filter,
                      const Status& parsed, const views::Query& query, std::optional<Roaring>* universe) {
  universe->reset();
  views::Query view_query;
  const views::Query* selects = &query;
  if (filter->kind == ReportFilter::Kind::kQuery) {
    if (!parsed.ok()) return parsed;
    if (std::holds_alternative<views::query::All>(query.node)) {
      *filter = ReportFilter();
      return Status::Ok();
    }
  } else if (filter->kind == ReportFilter::Kind::kSmartView) {
    views::SmartView view;
    Status s = views::GetSmartView(reader, org, filter->value, &view);
    if (s.ok()) s = views::ParseQuery(view.query, &view_query);
    if (s.IsInvalidArgument()) s = Status::InvalidArgument("smart view " + view.id + ": " + s.message());
    if (!s.ok()) return s;
    selects = &view_query;
  } else {
    return Status::Ok();
  }
  Roaring* out = &universe->emplace();
  Status s = views::EvaluateQuery(reader, org, *selects, views::SmartViewResolver(reader, org), out);
  // Only the smart_view_id itself may be "not found" to the client.
  return s.IsNotFound() ? Status::Corruption(s.message()) : s;
}

// Whether query names a Smart View (`in:"..."`) anywhere.
bool NamesView(const views::Query& q) {
  return std::visit(
      [](const auto& n) -> bool {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, views::query::InView>) {
          return true;
        } else if constexpr (std::is_same_v<T, views::query::And> || std::is_same_v<T, views::query::Or>) {
          for (const views::Query& o : n.operands) {
            if (NamesView(o)) return true;
          }
          return false;
        } else if constexpr (std::is_same_v<T, views::query::Not>) {
          return NamesView(*n.operand);
        } else {
          return false;
        }
      },
      q.node);
}

// The report cache's key for this request (api/report_cache.h), version
// being the org's at the request's snapshot (views::ChangeFeed::VersionAt),
// or nullopt when it is not cached: no cache; the version unknown; or a report that reads
// Smart Views (a smart_view_id, or a query that names one with in:), whose
// changes do not move the org's version; or a query that does not parse
// (an error answer). parsed and query: ParseQuery's for a query filter.
std::optional<std::string> CacheKey(const std::string& org, const ReportParams& rp, const Status& parsed,
                                    const views::Query& query, const std::optional<uint64_t>& version,
                                    const ServiceContext& ctx) {
  if (!ctx.report_cache || !version) return std::nullopt;
  if (rp.filter.kind == ReportFilter::Kind::kSmartView) return std::nullopt;
  if (rp.filter.kind == ReportFilter::Kind::kQuery && (!parsed.ok() || NamesView(query))) return std::nullopt;
  std::string key = org;
  key += '\n' + std::to_string(*version);
  if (rp.period) key += '\n' + std::to_string(rp.period->start_ms) + '-' + std::to_string(rp.period->end_ms);
  else key += "\noverall";
  key += '\n' + std::to_string(static_cast<int>(rp.filter.kind)) + '\n' + rp.filter.value;
  return key;
}

}  // namespace

std::optional<RenderedStatusReport> ComputeStatusReportAnswer(const Request& req, const Target& target,
                                                             const std::string& org, const ServiceContext& ctx,
                                                             Response* error) {
  auto fail = [error](Response res) -> std::optional<RenderedStatusReport> {
    *error = std::move(res);
    return std::nullopt;
  };
  // Credentials first: nothing about the org is revealed to an unauthenticated caller.
  std::optional<std::string> key_org = OrgForCloseApiKey(req, ctx);
  if (!key_org) return fail(JsonResponse(req, http::status::unauthorized, R"({"error":"Unauthorized"})"));
  if (*key_org != org) return fail(JsonResponse(req, http::status::not_found, R"({"error":"Not found"})"));

  std::multimap<std::string, std::string> params = target.params;
  if (req.method() == http::verb::post) {
    // Close's override for long parameters: POST + x-http-method-override: GET + {"_params": {...}}.
    // The header must say GET (any case), not merely begin with it ("GETX" is refused).
    auto override_header = req.find("x-http-method-override");
    if (override_header == req.end() || !EqualsNoCase(Sv(override_header->value()), "GET")) {
      return fail(MethodNotAllowed(req, "GET, POST"));
    }
    nlohmann::json body = nlohmann::json::parse(req.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return fail(JsonResponse(req, http::status::bad_request, R"({"error":"The request contains invalid JSON."})"));
    }
    if (!JsonNestedAtMost(body, kMaxBodyDepth)) {
      return fail(JsonResponse(req, http::status::bad_request,
                               R"({"errors":["The request body nests deeper than 64 levels."],"field-errors":{}})"));
    }
    if (body.contains("_params") && body["_params"].is_object()) {
      for (auto it = body["_params"].begin(); it != body["_params"].end(); ++it) {
        params.emplace(it.key(), it->is_string() ? it->get<std::string>() : it->dump());
      }
    }
  } else if (req.method() != http::verb::get) {
    return fail(MethodNotAllowed(req, "GET, POST"));
  }

  std::optional<std::string> tz;
  auto tz_header = req.find("x-tz-offset");
  if (tz_header != req.end()) tz = std::string(tz_header->value());
  ReportParams rp;
  BadRequest bad;
  const int64_t now = ctx.now_ms ? ctx.now_ms() : SystemNowMs();
  if (!ParseReportParams(params, tz, now, &rp, &bad)) {
    return fail(JsonResponse(req, http::status::bad_request, bad.ToJson()));
  }
  // Filter values are echoed into the JSON body; the renderer throws on
  // invalid UTF-8.
  if (rp.filter.kind != ReportFilter::Kind::kNone && !IsValidUtf8(rp.filter.value)) {
    BadRequest bad_text;
    bad_text.field_errors[rp.filter.kind == ReportFilter::Kind::kQuery ? "query" : "smart_view_id"] =
        "Must be valid UTF-8.";
    return fail(JsonResponse(req, http::status::bad_request, bad_text.ToJson()));
  }

  // The query filter, parsed once (for the cache's key and the universe).
  views::Query query;
  const Status parsed =
      rp.filter.kind == ReportFilter::Kind::kQuery ? views::ParseQuery(rp.filter.value, &query) : Status::Ok();
  // One snapshot for the view, the query's `in:"..."` views and the report.
  std::unique_ptr<state::Reader> snapshot = ctx.store->NewSnapshot();
  std::optional<Response> failed;
  auto compute = [&]() -> ReportCache::Body {
    std::optional<Roaring> universe;
    const char* filter_field = rp.filter.kind == ReportFilter::Kind::kQuery ? "query" : "smart_view_id";
    Status s = ReportUniverse(*snapshot, org, &rp.filter, parsed, query, &universe);
    if (s.IsNotFound()) {
      failed = JsonResponse(req, http::status::not_found, R"({"error":"Not found"})");
      return nullptr;
    }
    if (s.IsInvalidArgument()) {
      BadRequest bad_query;
      bad_query.field_errors[filter_field] = s.message();
      failed = JsonResponse(req, http::status::bad_request, bad_query.ToJson());
      return nullptr;
    }
    views::StatusReport report;
    if (s.ok()) s = views::ComputeStatusReport(*snapshot, org, rp.period, universe ? &*universe : nullptr, &report);
    if (!s.ok()) {
      LogError("status report for org " + org + ": " + s.ToString());
      failed = JsonResponse(req, http::status::internal_server_error, R"({"error":"Internal error"})");
      return nullptr;
    }
    return std::make_shared<const std::string>(RenderStatusReport(report, rp.filter));
  };
  ReportCache::Body body;
  // The org's version at the snapshot: the cache's key and the answer's.
  const std::optional<uint64_t> version =
      ctx.change_feed ? ctx.change_feed->VersionAt(org, snapshot->epoch()) : std::nullopt;
  const std::optional<std::string> key = CacheKey(org, rp, parsed, query, version, ctx);
  if (key) {
    body = ctx.report_cache->Get(*key, compute);
  } else {
    body = compute();
  }
  if (!body) {
    return fail(failed ? std::move(*failed)
                       : JsonResponse(req, http::status::internal_server_error, R"({"error":"Internal error"})"));
  }
  return RenderedStatusReport{std::move(body), version, snapshot->epoch()};
}

Response HandleStatusReport(const Request& req, const Target& target, const std::string& org,
                            const ServiceContext& ctx) {
  Response error;
  std::optional<RenderedStatusReport> report = ComputeStatusReportAnswer(req, target, org, ctx, &error);
  if (!report) return error;
  return JsonResponse(req, http::status::ok, *report->body);
}

}  // namespace leadflow::api
