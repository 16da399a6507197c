#include "api/lsq_handler.h"

#include <exception>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/lsq_fields.h"
#include "api/lsq_render.h"
#include "api/lsq_request.h"
#include "api/rate_limiter.h"
#include "state/log.h"
#include "views/not_contacted.h"

namespace leadflow::api {
namespace {

namespace http = boost::beast::http;

const char* ExceptionType(http::status status) {
  switch (status) {
    case http::status::bad_request:
      return "MXInvalidInputException";
    case http::status::unauthorized:
      return "MXUnAuthorizedAccessException";
    case http::status::not_found:
      return "MXApiNotFoundException";
    case http::status::method_not_allowed:
      return "MXMethodNotAllowedException";
    case http::status::too_many_requests:
      return "MXAPIRateLimitExceededException";
    default:
      return "MXUnexpectedException";
  }
}

// The first query parameter named name (ASCII case-insensitively), or nullopt.
// With skip_empty, parameters with an empty value are passed over.
std::optional<std::string> Param(const Target& target, std::string_view name, bool skip_empty) {
  for (const auto& [key, value] : target.params) {
    if (EqualsNoCase(key, name) && !(skip_empty && value.empty())) return value;
  }
  return std::nullopt;
}

// A key from the query string, else from the header (header names are
// case-insensitive in Beast); empty when neither has one.
std::string Key(const Request& req, const Target& target, std::string_view param, std::string_view header) {
  if (auto v = Param(target, param, true)) return *v;
  auto it = req.find(boost::beast::string_view(header.data(), header.size()));
  return it == req.end() ? std::string() : std::string(it->value());
}

Response Evaluate(const Request& req, const std::string& org, const views::NotContactedQuery& query, bool csv,
                  const ServiceContext& ctx) {
  std::unique_ptr<state::Reader> snapshot = ctx.store->NewSnapshot();
  views::NotContactedResult result;
  const Status s = views::ComputeNotContacted(*snapshot, org, query, &result);
  if (s.IsInvalidArgument()) return LsqErrorResponse(req, http::status::bad_request, s.message());
  if (!s.ok()) {
    LogError("leads not contacted for org " + org + ": " + s.ToString());
    return LsqErrorResponse(req, http::status::internal_server_error, "The report could not be computed");
  }
  Response res{http::status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  if (csv) {
    res.set(http::field::content_type, "text/csv; charset=utf-8");
    res.set(http::field::content_disposition, "attachment; filename=\"LeadsNotContacted.csv\"");
    res.body() = RenderNotContactedCsv(result);
  } else {
    res.set(http::field::content_type, "application/json");
    res.body() = RenderNotContactedJson(result);
  }
  res.prepare_payload();
  return res;
}

}  // namespace

Response LsqErrorResponse(const Request& req, http::status status, std::string_view message) {
  return JsonResponse(req, status, RenderLsqError(ExceptionType(status), message));
}

std::optional<std::string> LsqRequestOrg(const Request& req, const Target& target, const ServiceContext& ctx) {
  const std::string access_key = Key(req, target, "accessKey", "x-LSQ-AccessKey");
  const std::string secret_key = Key(req, target, "secretKey", "x-LSQ-SecretKey");
  if (access_key.empty() || secret_key.empty()) return std::nullopt;
  return ctx.credentials->OrgForLsqKeys(access_key, secret_key);
}

Response HandleNotContacted(const Request& req, const Target& target, const ServiceContext& ctx) {
  if (req.method() != http::verb::post) {
    Response res = LsqErrorResponse(req, http::status::method_not_allowed,
                                    "The API /Leads/NotContacted accepts only POST");
    res.set(http::field::allow, "POST");
    return res;
  }

  // Keys first: nothing about the request is looked at without a valid pair.
  const std::string access_key = Key(req, target, "accessKey", "x-LSQ-AccessKey");
  const std::string secret_key = Key(req, target, "secretKey", "x-LSQ-SecretKey");
  if (access_key.empty() || secret_key.empty()) {
    return LsqErrorResponse(req, http::status::unauthorized,
                            "accessKey and secretKey are required (query string or x-LSQ-AccessKey and "
                            "x-LSQ-SecretKey headers)");
  }
  const std::optional<std::string> org = ctx.credentials->OrgForLsqKeys(access_key, secret_key);
  if (!org) return LsqErrorResponse(req, http::status::unauthorized, "Invalid accessKey or secretKey");

  if (ctx.lsq_rate_limiter != nullptr) {
    int64_t retry_after = 0;
    if (!ctx.lsq_rate_limiter->TryAcquire(*org, &retry_after)) {
      Response res = LsqErrorResponse(req, http::status::too_many_requests,
                                      "API calls exceeded the limit of " +
                                          std::to_string(ctx.lsq_rate_limiter->limit()) + " in " +
                                          std::to_string(ctx.lsq_rate_limiter->window_seconds()) + " second(s)");
      res.set(http::field::retry_after, std::to_string(retry_after));
      return res;
    }
  }

  bool csv = false;
  if (auto format = Param(target, "responseformat", false)) {
    if (EqualsNoCase(*format, "CSV")) {
      csv = true;
    } else if (!EqualsNoCase(*format, "JSON")) {
      return LsqErrorResponse(req, http::status::bad_request,
                              "Unsupported responseformat '" + Quoted(*format) +
                                  "': use JSON or CSV");
    }
  }

  const nlohmann::json body = nlohmann::json::parse(req.body(), nullptr, false);
  if (body.is_discarded()) {
    return LsqErrorResponse(req, http::status::bad_request, "The request body is not valid JSON");
  }
  views::NotContactedQuery query;
  std::string error;
  if (!ParseNotContactedRequest(body, &query, &error)) {
    return LsqErrorResponse(req, http::status::bad_request, error);
  }
  try {
    return Evaluate(req, *org, query, csv, ctx);
  } catch (const std::exception& e) {
    LogError("leads not contacted for org " + *org + " failed: " + e.what());
    return LsqErrorResponse(req, http::status::internal_server_error, "The report could not be computed");
  }
}

}  // namespace leadflow::api
