// EventGenerator: a deterministic, streaming generator of realistic CRM lead
// events in the wire format of contract section 1 (one JSON object per Kafka
// message, key = org_id).
//
// Two phases:
//  - backfill: `days` of history starting at `start_ms`. Every org first gets
//    status.upserted (with position) and user.upserted events, then leads are
//    created over the span (weighted towards weekdays and business hours) and
//    each lead lives for a while: status changes, activities (Zipf/Pareto
//    skewed across leads), field updates, owner changes, rarely a deletion.
//  - live (when live_start_ms > 0): the same simulation continues forever,
//    with leads created at a rate matching live_events_per_sec. When `clock`
//    is set, live events are stamped with clock() at the moment Next()
//    produces them, so a caller that paces its Next() calls gets occurred_at
//    following wall-clock time.
//
// On top of the chronological stream a delivery layer adds duplicates
// (identical JSON, re-emitted later), out-of-order events (held back for a
// while) and deliberately invalid messages. It draws from its own random
// stream: the set of distinct valid events depends only on the seed and the
// content options, not on dup_share/ooo_share/invalid_share.
//
// Memory is bounded by the number of leads alive at one time (plus held-back
// events); the stream is never materialized.
//
// Thread safety: none; use one generator per thread.
#ifndef LEADFLOW_TOOLS_EVENTGEN_H_
#define LEADFLOW_TOOLS_EVENTGEN_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace leadflow::tools {

constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kMsPerHour = 3'600'000;
constexpr int64_t kMsPerDay = 86'400'000;

struct GeneratorOptions {
  uint64_t seed = 1;

  // Orgs: "org_acme", "org_globex", ... then "org_<n>".
  int orgs = 3;
  int leads_per_org = 1000;
  int big_org_leads = 0;  // leads of the first org; 0 = leads_per_org
  int first_org = 0;      // index of the first org's name (org_acme is 0): a
                          // stream of other orgs beside an existing one
  int statuses_per_org = 5;
  int users_per_org = 4;

  // Backfill history: [start_ms, start_ms + days).
  int64_t start_ms = 1'704'067'200'000;  // 2024-01-01T00:00:00Z
  double days = 30;
  // Mean span of one lead's events. Without a live phase, events past the
  // backfill end are cut off, so leads created late have fewer events and the
  // per-lead means below come out lower over a finite backfill.
  double lead_lifetime_days = 10;

  // Per-lead means.
  double changes_per_lead = 2.5;     // lead.status_changed (Poisson)
  double activities_per_lead = 6;    // activity.logged (Pareto-skewed)
  double updates_per_lead = 1.5;     // lead.updated with fields (Poisson)
  double owner_change_share = 0.08;  // leads that change owner once
  double delete_share = 0.01;        // leads that end with lead.deleted
  double noop_change_share = 0.03;   // status changes to the current status

  // Delivery layer. Shares are per original event (dup, ooo) or per emitted
  // message (invalid).
  double dup_share = 0;
  double ooo_share = 0;
  double invalid_share = 0;
  int64_t ooo_max_delay_ms = 3 * kMsPerDay;  // backfill; heavy towards small
  int64_t dup_max_delay_ms = kMsPerDay;
  size_t max_held = 200'000;  // bound of the held-back buffer

  // Live phase; disabled when live_start_ms == 0. It starts at
  // max(live_start_ms, end of backfill) in event time.
  int64_t live_start_ms = 0;
  double live_events_per_sec = 20;  // nominal rate the simulation is tuned to
  int64_t live_lead_lifetime_ms = 10 * 60 * kMsPerSecond;
  int64_t live_max_delay_ms = 60 * kMsPerSecond;  // ooo/dup delays when live
  std::function<int64_t()> clock;  // ms since epoch; stamps live events
};

enum class EventKind {
  kOriginal,   // first emission of a valid event, in chronological order
  kDelayed,    // first emission of a valid event, held back (out of order)
  kDuplicate,  // re-emission of an already emitted event, identical value
  kInvalid,    // deliberately invalid message (dead-letter testing)
};

struct Event {
  std::string key;    // org_id
  std::string value;  // JSON (or garbage, for kInvalid)
  int64_t occurred_at_ms = 0;
  EventKind kind = EventKind::kOriginal;
  bool live = false;  // produced in the live phase
};

struct GeneratorStats {
  uint64_t emitted = 0;     // every message returned by Next()
  uint64_t originals = 0;   // distinct valid events (kOriginal + kDelayed)
  uint64_t delayed = 0;
  uint64_t duplicates = 0;
  uint64_t invalid = 0;
  uint64_t leads_created = 0;
  uint64_t leads_alive_max = 0;  // peak simulation size (memory bound check)
};

class EventGenerator {
 public:
  explicit EventGenerator(GeneratorOptions options);
  ~EventGenerator();
  EventGenerator(const EventGenerator&) = delete;
  EventGenerator& operator=(const EventGenerator&) = delete;

  // Next message in emission order; false when the (non-live) stream ended.
  bool Next(Event* out);

  // True once the simulation has reached the live phase.
  bool live_phase() const;
  const GeneratorStats& stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace leadflow::tools

#endif  // LEADFLOW_TOOLS_EVENTGEN_H_
