#include "api/report_stream.h"

#include <cstdio>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/status_report_handler.h"

namespace leadflow::api {
namespace {

namespace http = boost::beast::http;

constexpr std::string_view kStreamSuffix = "/stream";
// How soon a stream asks again for a result another stream is computing.
constexpr auto kComputingRetry = std::chrono::milliseconds(2);

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

void ReportStreams::AppendMetrics(std::string* out) const {
  AppendMetric(out, "leadflow_report_streams", "Report streams (server-sent events) open now.", "gauge", open.load());
  AppendMetric(out, "leadflow_report_stream_events_total", "Report events sent to stream subscribers.", "counter",
               static_cast<int64_t>(events.load()));
  AppendMetric(out, "leadflow_report_stream_heartbeats_total", "Heartbeats sent to idle stream subscribers.",
               "counter", static_cast<int64_t>(heartbeats.load()));
  AppendMetric(out, "leadflow_report_stream_unchanged_total",
               "Changes of an org's state that left a subscribed report as it was (nothing sent).", "counter",
               static_cast<int64_t>(unchanged.load()));
  AppendMetric(out, "leadflow_report_stream_computations_total",
               "Reports computed for streams (each shared by every stream of that report).", "counter",
               static_cast<int64_t>(computed.load()));
}

std::shared_ptr<ReportStreams::Result> ReportStreams::Shared(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  // Now and then, the results no stream holds any more go.
  if (++made_ % 1024 == 0) {
    for (auto it = results_.begin(); it != results_.end();) {
      it = it->second.expired() ? results_.erase(it) : std::next(it);
    }
  }
  std::weak_ptr<Result>& slot = results_[key];
  std::shared_ptr<Result> result = slot.lock();
  if (!result) {
    result = std::make_shared<Result>();
    slot = result;
  }
  return result;
}

void ReportStreams::Follow(views::ChangeFeed* feed) {
  feed_ = feed;
  feed->SetListener([this](std::span<const std::string> orgs) { Changed(orgs); });
}

uint64_t ReportStreams::Await(const std::string& org, uint64_t seen, Wake wake) {
  std::lock_guard<std::mutex> lock(wait_mu_);
  // Read under wait_mu_: a Note that moves the org either came before this
  // read (seen: act now), or its Changed comes after the ticket is kept.
  if (feed_ == nullptr || feed_->Newest(org) != seen) return 0;
  const uint64_t ticket = next_ticket_++;
  waiters_[org].emplace(ticket, std::move(wake));
  return ticket;
}

void ReportStreams::Cancel(const std::string& org, uint64_t ticket) {
  std::lock_guard<std::mutex> lock(wait_mu_);
  auto it = waiters_.find(org);
  if (it == waiters_.end()) return;
  it->second.erase(ticket);
  if (it->second.empty()) waiters_.erase(it);
}

void ReportStreams::Changed(std::span<const std::string> orgs) {
  std::vector<std::pair<uint64_t, Wake>> wakes;
  {
    std::lock_guard<std::mutex> lock(wait_mu_);
    for (const std::string& org : orgs) {
      auto it = waiters_.find(org);
      if (it == waiters_.end()) continue;
      for (auto& [ticket, wake] : it->second) wakes.emplace_back(ticket, std::move(wake));
      waiters_.erase(it);
    }
  }
  for (auto& [ticket, wake] : wakes) wake(ticket);
}

size_t ReportStreams::waiting() const {
  std::lock_guard<std::mutex> lock(wait_mu_);
  size_t n = 0;
  for (const auto& [org, tickets] : waiters_) n += tickets.size();
  return n;
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
  // Credentials first, as the report's (nothing about the org to a caller
  // without its key), and before any shared result is looked at: a result
  // is shared by the streams of one org only.
  const std::optional<std::string> key_org = OrgForCloseApiKey(req, ctx);
  if (!key_org) {
    *refusal = JsonResponse(req, http::status::unauthorized, R"({"error":"Unauthorized"})");
    return nullptr;
  }
  if (*key_org != org) {
    *refusal = JsonResponse(req, http::status::not_found, R"({"error":"Not found"})");
    return nullptr;
  }
  std::unique_ptr<ReportStream> stream(new ReportStream(req, target, org, ctx));
  // The streams of one report share its computations: the same org, the
  // same parameters (but the resumption's), the same x-tz-offset.
  std::string key = org;
  for (const auto& [k, v] : stream->target_.params) {
    if (k != "lastEventId") key += "\n" + k + "=" + v;
  }
  auto tz = req.find("x-tz-offset");
  key += "\ntz=" + (tz == req.end() ? std::string() : std::string(tz->value()));
  stream->shared_ = ctx.streams ? ctx.streams->Shared(key) : std::make_shared<ReportStreams::Result>();
  std::optional<std::chrono::steady_clock::time_point> retry_at;
  std::optional<Taken> taken = stream->Take(std::chrono::steady_clock::now(), {}, &retry_at, true);
  if (!taken->body) {
    // The first report that cannot be computed is refused with the answer
    // the report endpoint gives, as an HTTP status rather than an event.
    *refusal = taken->error;
    return nullptr;
  }
  bool end = false, unchanged = false;
  Text first = stream->EventFor(*taken, &end, &unchanged);
  if (LastEventId(req, target) != stream->sent_id_) stream->first_ = std::move(first);
  return stream;
}

const ReportStream::Text& ReportStream::Heartbeat() {
  static const Text text = std::make_shared<const std::string>(": heartbeat\n\n");
  return text;
}

ReportStream::Text ReportStream::Start() {
  static const Text retry = std::make_shared<const std::string>("retry: 2000\n\n");
  if (!first_) return retry;
  if (ctx_.streams) ++ctx_.streams->events;
  Text text = std::make_shared<const std::string>(*retry + *first_);
  first_.reset();
  return text;
}

bool ReportStream::Due() const { return ctx_.change_feed && ctx_.change_feed->Newest(org_) != checked_; }

ReportStream::Text ReportStream::Next(std::chrono::steady_clock::time_point now,
                               std::chrono::steady_clock::duration min_interval,
                               std::optional<std::chrono::steady_clock::time_point>* retry_at, bool* end) {
  *end = false;
  retry_at->reset();
  std::optional<Taken> taken = Take(now, min_interval, retry_at, false);
  if (!taken) return nullptr;
  bool unchanged = false;
  Text text = EventFor(*taken, end, &unchanged);
  if (ctx_.streams) {
    if (unchanged) ++ctx_.streams->unchanged;
    else if (!*end) ++ctx_.streams->events;
  }
  return text;
}

std::optional<ReportStream::Taken> ReportStream::Take(std::chrono::steady_clock::time_point now,
                                                      std::chrono::steady_clock::duration min_interval,
                                                      std::optional<std::chrono::steady_clock::time_point>* retry_at,
                                                      bool wait) {
  ReportStreams::Result& r = *shared_;
  std::unique_lock<std::mutex> lock(r.mu, std::defer_lock);
  if (wait) {
    lock.lock();
  } else if (!lock.try_lock()) {
    // Another stream computes it now: its result, in a moment.
    *retry_at = now + kComputingRetry;
    return std::nullopt;
  }
  // Read before the snapshot: every change up to it is in the snapshot, so
  // a change noted later makes Due() true again.
  const uint64_t newest = ctx_.change_feed ? ctx_.change_feed->Newest(org_) : 0;
  // (A failed computation is not reused by a stream that opens: it tries
  // again, as a request of the report would.)
  const bool current = r.valid && r.checked == newest && (r.body || took_);
  // A result newer than the one this stream took is taken as it is, even
  // when the org changed again since: its successor waits for the interval.
  const bool newer = r.valid && took_ && r.checked != checked_;
  if (!current && !newer) {
    if (r.valid && now - r.at < min_interval) {
      *retry_at = r.at + min_interval;
      return std::nullopt;
    }
    Response error;
    std::optional<RenderedStatusReport> report = ComputeStatusReportAnswer(req_, target_, org_, ctx_, &error);
    if (ctx_.streams) ++ctx_.streams->computed;
    r.valid = true;
    r.at = now;
    r.checked = newest;
    if (report) {
      r.body = std::move(report->body);
      r.id = BootId() + "-" + std::to_string(report->version ? *report->version : report->snapshot_epoch);
      r.event = std::make_shared<const std::string>("id: " + r.id + "\nevent: report\ndata: " + *r.body + "\n\n");
      r.error = Response();
    } else {
      r.body = nullptr;
      r.event = nullptr;
      r.id.clear();
      r.error = std::move(error);
    }
  }
  took_ = true;
  checked_ = r.checked;
  return Taken{r.id, r.body, r.event, r.error};
}

ReportStream::Text ReportStream::EventFor(const Taken& taken, bool* end, bool* unchanged) {
  *end = false;
  *unchanged = false;
  if (!taken.body) {
    *end = true;
    nlohmann::json data = nlohmann::json::parse(taken.error.body(), nullptr, false);
    if (!data.is_object()) data = nlohmann::json::object();
    data["status"] = taken.error.result_int();
    return std::make_shared<const std::string>("event: error\ndata: " + data.dump() + "\n\n");
  }
  if (sent_body_ && (sent_body_ == taken.body || *sent_body_ == *taken.body)) {
    *unchanged = true;
    return nullptr;
  }
  sent_id_ = taken.id;
  sent_body_ = taken.body;
  return taken.event;
}

}  // namespace leadflow::api
