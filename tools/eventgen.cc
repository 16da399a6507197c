#include "tools/eventgen.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>
#include <vector>

#include "tools/eventgen_sim.h"
#include "tools/eventgen_util.h"

namespace leadflow::tools {

// The delivery layer over the chronological Simulator: holds events back
// (out of order), re-emits some (duplicates) and mixes in invalid messages.
class EventGenerator::Impl {
 public:
  explicit Impl(GeneratorOptions options)
      : options_(std::move(options)), sim_(options_), rng_(MixSeed(options_.seed, 0xDE11FE7)) {}

  bool Next(Event* out);
  bool live_phase() const { return sim_.live_phase(); }
  const GeneratorStats& stats() const { return stats_; }

 private:
  struct Held {
    int64_t release;
    uint64_t seq;
    Event event;
  };
  static bool Later(const Held& a, const Held& b) {
    return a.release != b.release ? a.release > b.release : a.seq > b.seq;
  }

  // The stream's notion of now: the latest event time produced, or the clock
  // once live.
  int64_t Now() const {
    if (sim_.live_phase() && options_.clock) return options_.clock();
    return frontier_;
  }
  // Heavy towards small delays: max * u^4 (median max/16).
  int64_t Delay(int64_t max_ms) {
    const double u = rng_.Uniform();
    return static_cast<int64_t>(static_cast<double>(max_ms) * u * u * u * u);
  }
  void Hold(int64_t release, Event event) {
    held_.push_back({release, held_seq_++, std::move(event)});
    std::push_heap(held_.begin(), held_.end(), Later);
  }
  bool Emit(Event* out);
  void MakeInvalid(Event* out);

  GeneratorOptions options_;
  Simulator sim_;
  Rng rng_;
  std::vector<Held> held_;  // min-heap by (release, seq)
  uint64_t held_seq_ = 0;
  int64_t frontier_ = INT64_MIN;
  bool sim_done_ = false;
  uint64_t invalid_seq_ = 0;
  SimEvent scratch_;
  GeneratorStats stats_;
};

bool EventGenerator::Impl::Emit(Event* out) {
  ++stats_.emitted;
  switch (out->kind) {
    case EventKind::kOriginal:
      ++stats_.originals;
      break;
    case EventKind::kDelayed:
      ++stats_.originals;
      ++stats_.delayed;
      break;
    case EventKind::kDuplicate:
      ++stats_.duplicates;
      break;
    case EventKind::kInvalid:
      ++stats_.invalid;
      break;
  }
  return true;
}

bool EventGenerator::Impl::Next(Event* out) {
  for (;;) {
    if (!held_.empty()) {
      // Strictly after its release time: a held event is always preceded by
      // at least one later event (except at the end of the stream).
      if (sim_done_ || held_.front().release < Now() || held_.size() > options_.max_held) {
        std::pop_heap(held_.begin(), held_.end(), Later);
        *out = std::move(held_.back().event);
        held_.pop_back();
        return Emit(out);
      }
    }
    if (sim_done_) return false;
    if (options_.invalid_share > 0 && rng_.Chance(options_.invalid_share)) {
      MakeInvalid(out);
      return Emit(out);
    }
    if (!sim_.Next(&scratch_)) {
      sim_done_ = true;
      continue;
    }
    stats_.leads_created = sim_.total_leads_created();
    stats_.leads_alive_max = std::max<uint64_t>(stats_.leads_alive_max, sim_.leads_alive());
    frontier_ = std::max(frontier_, scratch_.occurred_at_ms);

    out->key = sim_.org(scratch_.org).id;
    out->value.swap(scratch_.value);  // scratch_ keeps the old buffer for reuse
    out->occurred_at_ms = scratch_.occurred_at_ms;
    out->kind = EventKind::kOriginal;
    out->live = scratch_.live;
    const int64_t max_ooo = out->live ? options_.live_max_delay_ms : options_.ooo_max_delay_ms;
    const int64_t max_dup = out->live ? options_.live_max_delay_ms : options_.dup_max_delay_ms;
    if (options_.dup_share > 0 && rng_.Chance(options_.dup_share)) {
      Event copy = *out;
      copy.kind = EventKind::kDuplicate;
      // Some are immediate producer retries, others later re-publications.
      Hold(out->occurred_at_ms + (rng_.Chance(0.4) ? 0 : Delay(max_dup)), std::move(copy));
    }
    if (options_.ooo_share > 0 && rng_.Chance(options_.ooo_share)) {
      out->kind = EventKind::kDelayed;
      Hold(out->occurred_at_ms + std::max<int64_t>(1, Delay(max_ooo)), std::move(*out));
      continue;
    }
    return Emit(out);
  }
}

void EventGenerator::Impl::MakeInvalid(Event* out) {
  const int org_index = static_cast<int>(rng_.Below(static_cast<uint64_t>(sim_.org_count())));
  const OrgProfile& org = sim_.org(org_index);
  const uint32_t leads = sim_.leads_created(org_index);
  const std::string lead_id = "lead_" + std::to_string(leads > 0 ? 1 + rng_.Below(leads) : 1);
  const std::string event_id = "bad-" + org.short_name + "-" + std::to_string(++invalid_seq_);
  const int64_t now = frontier_ == INT64_MIN ? options_.start_ms : Now();
  const std::string& status_id = org.statuses.front().id;

  out->key = org.id;
  out->occurred_at_ms = now;
  out->kind = EventKind::kInvalid;
  out->live = sim_.live_phase();
  std::string& v = out->value;
  v.clear();
  JsonWriter w(&v);
  // Writes the common fields, optionally with one of them replaced.
  auto common = [&](std::string_view type) {
    w.Str("event_id", event_id).Str("type", type).Str("org_id", org.id).Time("occurred_at", now);
  };
  const uint64_t variant = rng_.Below(4);
  switch (rng_.Below(8)) {
    case 0:  // truncated JSON
      common("lead.updated");
      w.Str("lead_id", lead_id).BeginObject("fields").Int("EngagementScore", 42);
      w.EndObject().Close();
      v.resize(1 + rng_.Below(v.size() - 1));
      break;
    case 1: {  // not JSON at all
      static constexpr std::array<std::string_view, 4> kGarbage = {
          "PING", "<html><body>502 Bad Gateway</body></html>",
          "lead_id=lead_5&status=Qualified", ""};
      v.assign(kGarbage[variant]);
      break;
    }
    case 2:  // a required field missing
      if (variant == 0) {
        w.Str("type", "lead.created").Str("org_id", org.id).Time("occurred_at", now);
        w.Str("lead_id", lead_id).Str("status_id", status_id);  // no event_id
      } else if (variant == 1) {
        common("activity.logged");
        w.Str("lead_id", lead_id).Str("activity_id", event_id);  // no activity_event
      } else {
        common("lead.status_changed");
        w.Str("lead_id", lead_id);  // no status_id
      }
      w.Close();
      break;
    case 3:  // unknown type
      common(variant % 2 ? "lead.merged" : "opportunity.created");
      w.Str("lead_id", lead_id).Close();
      break;
    case 4:  // a field of the wrong type
      if (variant == 0) {
        common("activity.logged");
        w.Str("lead_id", lead_id).Str("activity_id", event_id).Str("activity_event", "twenty-one");
      } else if (variant == 1) {
        common("activity.logged");
        w.Str("lead_id", lead_id).Str("activity_id", event_id).Int("activity_event", -3);
      } else if (variant == 2) {
        common("lead.updated");
        w.Str("lead_id", lead_id).Str("fields", "City=Paris");
      } else {
        common("lead.status_changed");
        w.Int("lead_id", 17).Str("status_id", status_id);
      }
      w.Close();
      break;
    case 5: {  // bad occurred_at
      static constexpr std::array<std::string_view, 4> kBadTimes = {
          "yesterday", "2024-13-45T99:00:00Z", "2024-05-01T10:00:00", "1714557600000"};
      w.Str("event_id", event_id).Str("type", "lead.status_changed").Str("org_id", org.id);
      w.Str("occurred_at", kBadTimes[variant]).Str("lead_id", lead_id).Str("status_id", status_id);
      w.Close();
      break;
    }
    case 6: {  // bad org_id
      static const std::array<std::string, 4> kBadOrgs = {"org acme!", "", std::string(65, 'x'),
                                                          "org/acme"};
      w.Str("event_id", event_id).Str("type", "lead.deleted").Str("org_id", kBadOrgs[variant]);
      w.Time("occurred_at", now).Str("lead_id", lead_id).Close();
      break;
    }
    default: {  // JSON, but not an object
      static constexpr std::array<std::string_view, 4> kNotObjects = {
          "[]", "\"lead.created\"", "42", "null"};
      v.assign(kNotObjects[variant]);
      break;
    }
  }
}

EventGenerator::EventGenerator(GeneratorOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
EventGenerator::~EventGenerator() = default;
bool EventGenerator::Next(Event* out) { return impl_->Next(out); }
bool EventGenerator::live_phase() const { return impl_->live_phase(); }
const GeneratorStats& EventGenerator::stats() const { return impl_->stats(); }

}  // namespace leadflow::tools
