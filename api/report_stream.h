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
// With only date_start, each event's period ends when it is computed (the
// report endpoint's "T1 = the time of the request"); such reports are not
// shared between subscribers. Changes of a Smart View itself do not move
// the org's version: a report filtered by one shows the edit with the
// org's next change (docs/design.md).
//
// Thread safety: one ReportStream is used by one session (its strand);
// StreamStats may be updated from any thread.
#ifndef LEADFLOW_API_REPORT_STREAM_H_
#define LEADFLOW_API_REPORT_STREAM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "api/router.h"

namespace leadflow::api {

// Counters of the streams a server holds, for /metrics.
struct StreamStats {
  std::atomic<int64_t> open{0};         // streams open now
  std::atomic<uint64_t> events{0};      // report events sent
  std::atomic<uint64_t> heartbeats{0};  // heartbeat comments sent
  std::atomic<uint64_t> unchanged{0};   // changes of the org that left the report as it was
  void Append(std::string* out) const;  // leadflow_report_streams, leadflow_report_stream_*_total
};

class ReportStream {
 public:
  // The stream req asks for (target is its parsed target, org the path's
  // org), with its first report computed; nullptr with *refusal set to
  // the answer instead, exactly the report endpoint's (401, 404, 400, 500)
  // or 405 for a method other than GET.
  static std::unique_ptr<ReportStream> Open(const Request& req, const Target& target, const std::string& org,
                                            const ServiceContext& ctx, Response* refusal);

  // What to send first: the retry field and the first report, unless the
  // client resumed at it.
  std::string Start();
  // Whether the org's state changed since the report was last computed.
  bool Due() const;
  // The next event: the report now, or "" when it is as last sent. Sets
  // *end when the stream ends after the returned text (an error event).
  std::string Next(bool* end);

  static constexpr std::string_view kHeartbeat = ": heartbeat\n\n";

  // This process's <boot> in event ids.
  static const std::string& BootId();

 private:
  ReportStream(const Request& req, Target target, std::string org, const ServiceContext& ctx);
  // The report at a new snapshot: an event, "" (*unchanged) when it is the
  // one last sent, or an error event (*end set; *refusal, when given, set
  // to the report endpoint's answer).
  std::string Compute(bool* end, bool* unchanged, Response* refusal = nullptr);

  Request req_;
  Target target_;
  std::string org_;
  const ServiceContext& ctx_;
  uint64_t checked_ = 0;      // the org's newest version read before the last computation
  std::string first_;         // Start()'s event
  std::string sent_id_;       // the last event's id
  std::shared_ptr<const std::string> sent_body_;  // and its report (shared with the report cache)
};

// True when path (percent-decoded) is a report stream's.
bool IsReportStreamPath(std::string_view path);

}  // namespace leadflow::api

#endif  // LEADFLOW_API_REPORT_STREAM_H_
