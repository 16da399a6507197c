#include "api/lead_search_handler.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/report_params.h"
#include "state/log.h"
#include "views/lead_search.h"
#include "views/query_eval.h"
#include "views/query_parser.h"
#include "views/smart_views.h"
#include "views/status_report.h"
#include "views/time.h"

namespace leadflow::api {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

Response BadField(const Request& req, const std::string& field, const std::string& message) {
  BadRequest bad;
  bad.field_errors[field] = message;
  return JsonResponse(req, http::status::bad_request, bad.ToJson());
}

Response InternalError(const Request& req, const std::string& org, const Status& s) {
  LogError("lead search for org " + org + ": " + s.ToString());
  return JsonResponse(req, http::status::internal_server_error, R"({"error":"Internal error"})");
}

// The names of `_fields=a,b`; empty when absent or empty (every key).
std::set<std::string> FieldSelection(const std::multimap<std::string, std::string>& params) {
  std::set<std::string> names;
  auto it = params.find("_fields");
  if (it == params.end()) return names;
  const std::string& text = it->second;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string name = text.substr(start, comma - start);
    if (!name.empty()) names.insert(std::move(name));
    start = comma + 1;
  }
  return names;
}

json LeadJson(const views::LeadAttributes& a, const std::map<std::string, std::string>& labels,
              const std::set<std::string>& selection) {
  auto label = labels.find(a.status_id);
  json item = {{"id", a.lead_id},
               {"status_id", a.status_id},
               {"status_label", label == labels.end() ? a.status_id : label->second},
               {"owner_id", a.owner_id ? json(*a.owner_id) : json()},
               {"date_created", views::FormatRfc3339Ms(a.created_ms)},
               {"date_updated", views::FormatRfc3339Ms(a.modified_ms)},
               {"fields", a.fields}};
  if (selection.empty()) return item;
  json kept = json::object();
  for (const auto& name : selection) {
    if (item.contains(name)) kept[name] = std::move(item[name]);
  }
  return kept;
}

}  // namespace

Response HandleLeadSearch(const Request& req, const Target& target, const ServiceContext& ctx) {
  std::optional<std::string> org = OrgForCloseApiKey(req, ctx);
  if (!org) return JsonResponse(req, http::status::unauthorized, R"({"error":"Unauthorized"})");
  if (req.method() != http::verb::get) {
    return MethodNotAllowed(req, "GET");
  }

  BadRequest bad;
  Paging paging;
  if (!ParsePaging(target.params, &paging, &bad.field_errors)) {
    return JsonResponse(req, http::status::bad_request, bad.ToJson());
  }
  auto q = target.params.find("query");
  const std::string text = q == target.params.end() ? "" : q->second;
  // The parser's messages quote the text; the JSON renderer throws on
  // invalid UTF-8.
  if (!IsValidUtf8(text)) return BadField(req, "query", "Must be valid UTF-8.");
  views::Query query;
  Status s = views::ParseQuery(text, &query);
  if (!s.ok()) return BadField(req, "query", s.message());

  std::unique_ptr<state::Reader> snapshot = ctx.store->NewSnapshot();
  Roaring leads;
  s = views::EvaluateQuery(*snapshot, *org, query, views::SmartViewResolver(*snapshot, *org), &leads);
  if (s.IsInvalidArgument()) return BadField(req, "query", s.message());
  if (!s.ok()) return InternalError(req, *org, s);
  std::vector<views::LeadAttributes> page;
  uint64_t total = 0;
  s = views::SearchLeads(*snapshot, *org, leads, paging.skip, paging.limit, &page, &total);
  std::vector<views::OrgStatus> statuses;
  if (s.ok()) s = views::LoadStatuses(*snapshot, *org, &statuses);
  if (!s.ok()) return InternalError(req, *org, s);

  std::map<std::string, std::string> labels;
  for (const auto& st : statuses) labels[st.id] = st.record.upserted ? st.record.label : st.id;
  const std::set<std::string> selection = FieldSelection(target.params);
  json data = json::array();
  for (const auto& a : page) data.push_back(LeadJson(a, labels, selection));
  const json body = {
      {"data", std::move(data)}, {"has_more", paging.skip + page.size() < total}, {"total_results", total}};
  return JsonResponse(req, http::status::ok, body.dump());
}

}  // namespace leadflow::api
