#include "api/report_stream.h"

#include <cstdio>
#include <random>

#include <nlohmann/json.hpp>

#include "api/status_report_handler.h"

namespace leadflow::api {
namespace {

namespace http = boost::beast::http;

constexpr std::string_view kStreamSuffix = "/stream";

void AppendMetric(std::string* out, const char* name, const char* help, const char* type, int64_t v) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
          std::to_string(v) + "\n";
}

// The client's Last-Event-ID: the header EventSource sends when it
// reconnects, else the lastEventId parameter (for clients that cannot set
// headers on a new request); empty when neither.
std::string LastEventId(const Request& req, const Target& target) {
  auto header = req.find("Last-Event-ID");
  if (header != req.end()) return std::string(header->value());
  auto param = target.params.find("lastEventId");
  return param == target.params.end() ? std::string() : param->second;
}

}  // namespace

void StreamStats::Append(std::string* out) const {
  AppendMetric(out, "leadflow_report_streams", "Report streams (server-sent events) open now.", "gauge", open.load());
  AppendMetric(out, "leadflow_report_stream_events_total", "Report events sent to stream subscribers.", "counter",
               static_cast<int64_t>(events.load()));
  AppendMetric(out, "leadflow_report_stream_heartbeats_total", "Heartbeats sent to idle stream subscribers.",
               "counter", static_cast<int64_t>(heartbeats.load()));
  AppendMetric(out, "leadflow_report_stream_unchanged_total",
               "Changes of an org's state that left a subscribed report as it was (nothing sent).", "counter",
               static_cast<int64_t>(unchanged.load()));
}

bool IsReportStreamPath(std::string_view path) {
  constexpr std::string_view kPrefix = "/api/v1/report/statuses/lead/";
  if (path.substr(0, kPrefix.size()) != kPrefix) return false;
  std::string_view rest = path.substr(kPrefix.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  return rest.size() > kStreamSuffix.size() && rest.substr(rest.size() - kStreamSuffix.size()) == kStreamSuffix &&
         rest.find('/') == rest.size() - kStreamSuffix.size();
}

const std::string& ReportStream::BootId() {
  static const std::string id = [] {
    std::random_device rd;
    const uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(v));
    return std::string(hex);
  }();
  return id;
}

ReportStream::ReportStream(const Request& req, Target target, std::string org, const ServiceContext& ctx)
    : req_(req), target_(std::move(target)), org_(std::move(org)), ctx_(ctx) {
  // A stream's period is parsed anew for each event (an open end is the
  // time of the event); the request is kept for that, without a body.
  req_.body().clear();
}

std::unique_ptr<ReportStream> ReportStream::Open(const Request& req, const Target& target, const std::string& org,
                                                 const ServiceContext& ctx, Response* refusal) {
  if (req.method() != http::verb::get) {
    *refusal = MethodNotAllowed(req, "GET");
    return nullptr;
  }
  std::unique_ptr<ReportStream> stream(new ReportStream(req, target, org, ctx));
  bool end = false, unchanged = false;
  // The first report that cannot be computed is refused with the answer
  // the report endpoint gives, as an HTTP status rather than an event.
  std::string first = stream->Compute(&end, &unchanged, refusal);
  if (end) return nullptr;
  if (LastEventId(req, target) != stream->sent_id_) stream->first_ = std::move(first);
  return stream;
}

std::string ReportStream::Start() {
  std::string text = "retry: 2000\n\n" + first_;
  if (!first_.empty() && ctx_.stream_stats) ++ctx_.stream_stats->events;
  first_.clear();
  first_.shrink_to_fit();
  return text;
}

bool ReportStream::Due() const { return ctx_.change_feed && ctx_.change_feed->Newest(org_) != checked_; }

std::string ReportStream::Next(bool* end) {
  bool unchanged = false;
  std::string text = Compute(end, &unchanged);
  if (ctx_.stream_stats) {
    if (unchanged) ++ctx_.stream_stats->unchanged;
    else if (!*end) ++ctx_.stream_stats->events;
  }
  return text;
}

std::string ReportStream::Compute(bool* end, bool* unchanged, Response* refusal) {
  *end = false;
  *unchanged = false;
  // Read before the snapshot: every change up to it is in the snapshot, so
  // a change noted later makes Due() true again.
  const uint64_t newest = ctx_.change_feed ? ctx_.change_feed->Newest(org_) : 0;
  Response error;
  std::optional<RenderedStatusReport> report = ComputeStatusReportAnswer(req_, target_, org_, ctx_, &error);
  checked_ = newest;
  if (!report) {
    *end = true;
    nlohmann::json data = nlohmann::json::parse(error.body(), nullptr, false);
    if (!data.is_object()) data = nlohmann::json::object();
    data["status"] = error.result_int();
    if (refusal) *refusal = std::move(error);
    return "event: error\ndata: " + data.dump() + "\n\n";
  }
  if (sent_body_ && (sent_body_ == report->body || *sent_body_ == *report->body)) {
    *unchanged = true;
    return "";
  }
  sent_id_ = BootId() + "-" + std::to_string(report->version ? *report->version : report->snapshot_epoch);
  sent_body_ = report->body;
  return "id: " + sent_id_ + "\nevent: report\ndata: " + *report->body + "\n\n";
}

}  // namespace leadflow::api
