// ReportStream: one subscriber of a status report pushed as it changes,
// GET /api/v1/report/statuses/lead/{org_id}/stream?<the report's params>
// (issue 14, docs/dashboard-plan.md section 3). The HTTP session
// (api/detail/session.cc) does the I/O and the timing; this class decides
// what to send.
//
// Wire format: Server-Sent Events (WHATWG HTML section 9.2), UTF-8:
//   retry: 2000                          once, first (EventSource's reconnect delay)
//   id: <boot>-<version>                 per report event
//   event: report
//   data: <the report's JSON, exactly the report endpoint's body, one line>
//   (blank line)
// and `: heartbeat` comment lines while nothing changes. <version> is the
// org's state version the report was computed from (views::ChangeFeed);
// <boot> names this process, so an id from another process (a restart, or
// another instance of a cluster) is never taken for a version here.
//
// When: the report at once when the stream opens, unless the client's
// Last-Event-ID (header, or `lastEventId` parameter) is the id of the
// current report (a resumed stream sends nothing it already has); then
// each time the org's state changed and the report with it (a change that
// leaves the report's JSON as it was sends nothing). The session coalesces
// changes to at most one event per --stream-min-interval-ms. A report that
// can no longer be computed (its Smart View deleted, an internal error)
// ends the stream with `event: error` and `data: {"status": N, "error":
// ...}`.
//
// Cluster mode: an instance that does not serve the org relays the stream
// of the one that does (api/detail/session.cc, Forwarder::Stream).
//
// With only date_start, each event's period ends when it is computed (the
// report endpoint's "T1 = the time of the request"); such reports are not
// shared between subscribers. Changes of a Smart View itself do not move
// the org's version: a report filtered by one shows the edit with the
// org's next change (docs/design.md).
//
// Thread safety: one ReportStream is used by one session (its strand);
// ReportStreams may be used from any thread.
#ifndef LEADFLOW_API_REPORT_STREAM_H_
#define LEADFLOW_API_REPORT_STREAM_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/router.h"

namespace leadflow::api {

// What the report streams of one service share: their counters (for
// /metrics), and the latest computation of each distinct report they
// follow (by org, parameters and x-tz-offset), so that N subscribers of one
// report cost one computation per change, not N: the first stream to find
// its org changed computes it, the others take that result (and when the
// org changes again sooner than --stream-min-interval-ms after it, they
// wait for that interval: one computation per report per interval at
// most).
class ReportStreams {
 public:
  std::atomic<int64_t> open{0};         // streams open now
  std::atomic<uint64_t> events{0};      // report events sent
  std::atomic<uint64_t> heartbeats{0};  // heartbeat comments sent
  std::atomic<uint64_t> unchanged{0};   // changes of an org that left a subscribed report as it was
  std::atomic<uint64_t> computed{0};    // reports computed for streams (the others were shared)
  // leadflow_report_streams, leadflow_report_stream_*_total
  void AppendMetrics(std::string* out) const;

  // One computation of a report, shared by its streams.
  struct Result {
    std::mutex mu;  // held while computing: the others ask again soon (Open waits)
    bool valid = false;
    std::chrono::steady_clock::time_point at;  // when computed
    uint64_t checked = 0;  // the org's newest version, read before the snapshot
    std::string id;        // the event id
    std::shared_ptr<const std::string> body;  // null when it failed
    std::shared_ptr<const std::string> event;  // the report event's whole text
    Response error;        // then the report endpoint's answer
  };
  // The shared result of key, made when no stream holds it.
  std::shared_ptr<Result> Shared(const std::string& key);

  // Waking instead of polling: Follow(feed) has every Note of the feed
  // call Changed. A stream that waits for its org to move past version
  // `seen` calls Await: 0 when it has already moved (nothing kept: the
  // stream acts now), else a ticket, and wake(ticket) is called once, on the
  // noting thread, at the org's next change (then forgotten: a stream
  // registers again when it waits again, so a busy org wakes each stream
  // at most once per event it sends). Cancel forgets a ticket not woken
  // (a stream that ends, or waits again for another reason).
  using Wake = std::function<void(uint64_t ticket)>;
  void Follow(views::ChangeFeed* feed);
  bool following() const { return feed_ != nullptr; }  // else streams poll
  uint64_t Await(const std::string& org, uint64_t seen, Wake wake);
  void Cancel(const std::string& org, uint64_t ticket);
  void Changed(std::span<const std::string> orgs);
  size_t waiting() const;  // tickets kept now (tests)

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::weak_ptr<Result>> results_;
  size_t made_ = 0;
  views::ChangeFeed* feed_ = nullptr;
  mutable std::mutex wait_mu_;  // taken before the feed's
  std::unordered_map<std::string, std::unordered_map<uint64_t, Wake>> waiters_;
  uint64_t next_ticket_ = 1;
};

class ReportStream {
 public:
  // Text to send, shared: one event's text serves every stream of its
  // report (an event of a large report is tens of KB).
  using Text = std::shared_ptr<const std::string>;

  // The stream req asks for (target is its parsed target, org the path's
  // org), with its first report computed; nullptr with *refusal set to
  // the answer instead, exactly the report endpoint's (401, 404, 400, 500)
  // or 405 for a method other than GET.
  static std::unique_ptr<ReportStream> Open(const Request& req, const Target& target, const std::string& org,
                                            const ServiceContext& ctx, Response* refusal);

  // What to send first: the retry field and the first report, unless the
  // client resumed at it.
  Text Start();
  // Whether the org's state changed since the report this stream last
  // took was computed.
  bool Due() const;
  const std::string& org() const { return org_; }
  const Request& request() const { return req_; }  // the stream's request, without a body
  uint64_t checked() const { return checked_; }  // the org's version Due() compares with
  // The next event: the report now (computed, or another stream's
  // computation of it), or null when it is as last sent, or when it was
  // computed less than min_interval ago and must wait, or another stream
  // is computing it (it never waits for that stream: a session's thread
  // serves other sessions meanwhile): then *retry_at is when to ask
  // again. Sets *end when the stream ends after the returned text (an
  // error event).
  Text Next(std::chrono::steady_clock::time_point now, std::chrono::steady_clock::duration min_interval,
            std::optional<std::chrono::steady_clock::time_point>* retry_at, bool* end);

  static const Text& Heartbeat();  // ": heartbeat\n\n"

  // This process's <boot> in event ids.
  static const std::string& BootId();

 private:
  ReportStream(const Request& req, Target target, std::string org, const ServiceContext& ctx);
  // The shared result, computed anew when it is older than the org's
  // newest version (and, unless min_interval is 0, at least min_interval
  // old); nullopt when it must wait (*retry_at). Takes it: checked_.
  struct Taken {
    std::string id;
    std::shared_ptr<const std::string> body;
    Text event;
    Response error;
  };
  // wait: for a computation another stream is making (else nullopt with
  // *retry_at soon).
  std::optional<Taken> Take(std::chrono::steady_clock::time_point now, std::chrono::steady_clock::duration min_interval,
                            std::optional<std::chrono::steady_clock::time_point>* retry_at, bool wait);
  // The event for what was taken: null when the body is the one last sent.
  Text EventFor(const Taken& taken, bool* end, bool* unchanged);

  Request req_;
  Target target_;
  std::string org_;
  const ServiceContext& ctx_;
  std::shared_ptr<ReportStreams::Result> shared_;
  bool took_ = false;
  uint64_t checked_ = 0;      // the checked version of the result last taken
  Text first_;                // Start()'s event
  std::string sent_id_;       // the last event's id
  std::shared_ptr<const std::string> sent_body_;  // and its report (shared with the report cache)
};

// True when path (percent-decoded) is a report stream's.
bool IsReportStreamPath(std::string_view path);

}  // namespace leadflow::api

#endif  // LEADFLOW_API_REPORT_STREAM_H_
