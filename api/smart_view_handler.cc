#include "api/smart_view_handler.h"

#include <chrono>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/report_params.h"
#include "state/log.h"
#include "views/smart_views.h"
#include "views/time.h"

namespace leadflow::api {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

constexpr const char* kNotFound = R"({"error":"Not found"})";

int64_t NowMs(const ServiceContext& ctx) {
  if (ctx.now_ms) return ctx.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json ViewJson(const views::SmartView& v) {
  return {{"id", v.id},
          {"name", v.name},
          {"query", v.query},
          {"type", v.type},
          {"organization_id", v.organization_id},
          {"date_created", views::FormatRfc3339Ms(v.date_created)},
          {"date_updated", views::FormatRfc3339Ms(v.date_updated)}};
}

// A failure of views/smart_views.h as a response. InvalidArgument messages
// "name: ..." and "query: ..." become field errors.
Response Failure(const Request& req, const std::string& org, const Status& s) {
  if (s.IsNotFound()) return JsonResponse(req, http::status::not_found, kNotFound);
  if (s.IsInvalidArgument()) {
    BadRequest bad;
    const std::string& m = s.message();
    if (m.rfind("name: ", 0) == 0) {
      bad.field_errors["name"] = m.substr(6);
    } else if (m.rfind("query: ", 0) == 0) {
      bad.field_errors["query"] = m.substr(7);
    } else {
      bad.errors.push_back(m);
    }
    return JsonResponse(req, http::status::bad_request, bad.ToJson());
  }
  // A cluster whose metadata topic does not take the change now: 503 with
  // Retry-After and why (the view is unchanged, or the change is applied
  // later: the message says which).
  if (s.code() == Status::Code::kUnavailable) return UnavailableResponse(req, s.message());
  LogError("smart views of org " + org + ": " + s.ToString());
  return JsonResponse(req, http::status::internal_server_error, R"({"error":"Internal error"})");
}

// The name and query of a POST or PUT body. required: both must be given;
// else at least one. Returns false and sets *error to the response.
bool ReadBody(const Request& req, bool required, std::optional<std::string>* name, std::optional<std::string>* query,
              std::optional<Response>* error) {
  const json body = json::parse(req.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    *error = JsonResponse(req, http::status::bad_request, R"({"error":"The request contains invalid JSON."})");
    return false;
  }
  BadRequest bad;
  auto read = [&](const char* key, std::optional<std::string>* out) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) {
      if (required) bad.field_errors[key] = "This field is required.";
    } else if (!it->is_string()) {
      bad.field_errors[key] = "Must be a string.";
    } else {
      *out = it->get<std::string>();
    }
  };
  read("name", name);
  read("query", query);
  if (auto type = body.find("type"); type != body.end() && *type != "lead") {
    bad.field_errors["type"] = "Only lead Smart Views are supported.";
  }
  if (bad.field_errors.empty() && !*name && !*query) bad.errors.push_back("Give a name or a query.");
  if (bad.errors.empty() && bad.field_errors.empty()) return true;
  *error = JsonResponse(req, http::status::bad_request, bad.ToJson());
  return false;
}

Response Collection(const Request& req, const Target& target, const std::string& org, const ServiceContext& ctx) {
  if (req.method() == http::verb::get) {
    BadRequest bad;
    Paging paging;
    if (!ParsePaging(target.params, &paging, &bad.field_errors)) {
      return JsonResponse(req, http::status::bad_request, bad.ToJson());
    }
    std::vector<views::SmartView> list;
    bool has_more = false;
    Status s = views::ListSmartViews(*ctx.store, org, paging.skip, paging.limit, &list, &has_more);
    if (!s.ok()) return Failure(req, org, s);
    json data = json::array();
    for (const auto& v : list) data.push_back(ViewJson(v));
    return JsonResponse(req, http::status::ok, json{{"data", std::move(data)}, {"has_more", has_more}}.dump());
  }
  if (req.method() == http::verb::post) {
    std::optional<std::string> name, query;
    std::optional<Response> error;
    if (!ReadBody(req, true, &name, &query, &error)) return std::move(*error);
    views::SmartView v;
    Status s = views::CreateSmartView(ctx.store, org, *name, *query, NowMs(ctx), &v, ctx.smart_view_write);
    if (!s.ok()) return Failure(req, org, s);
    return JsonResponse(req, http::status::ok, ViewJson(v).dump());
  }
  return MethodNotAllowed(req, "GET, POST");
}

Response One(const Request& req, const std::string& id, const std::string& org, const ServiceContext& ctx) {
  views::SmartView v;
  Status s;
  switch (req.method()) {
    case http::verb::get:
      s = views::GetSmartView(*ctx.store, org, id, &v);
      break;
    case http::verb::put: {
      std::optional<std::string> name, query;
      std::optional<Response> error;
      // An unknown id is a 404 whatever the body holds.
      if (!(s = views::GetSmartView(*ctx.store, org, id, &v)).ok()) break;
      if (!ReadBody(req, false, &name, &query, &error)) return std::move(*error);
      s = views::ReplaceSmartView(ctx.store, org, id, name, query, NowMs(ctx), &v, ctx.smart_view_write);
      break;
    }
    case http::verb::delete_:
      s = views::DeleteSmartView(ctx.store, org, id, ctx.smart_view_write);
      if (s.ok()) return JsonResponse(req, http::status::ok, "{}");
      break;
    default:
      return MethodNotAllowed(req, "GET, PUT, DELETE");
  }
  if (!s.ok()) return Failure(req, org, s);
  return JsonResponse(req, http::status::ok, ViewJson(v).dump());
}

}  // namespace

Response HandleSmartViews(const Request& req, const Target& target, const std::optional<std::string>& id,
                          const ServiceContext& ctx) {
  std::optional<std::string> org = OrgForCloseApiKey(req, ctx);
  if (!org) return JsonResponse(req, http::status::unauthorized, R"({"error":"Unauthorized"})");
  return id ? One(req, *id, *org, ctx) : Collection(req, target, *org, ctx);
}

}  // namespace leadflow::api
