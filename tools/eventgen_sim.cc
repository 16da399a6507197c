#include "tools/eventgen_sim.h"

#include <algorithm>
#include <cmath>

namespace leadflow::tools {
namespace {

constexpr double kActivityTailIndex = 1.6;  // Pareto alpha of activity counts
constexpr double kActivityCap = 100;        // at most 100x the mean
constexpr int64_t kMaxCount = 60'000;       // per lead and event type
constexpr double kWebCaptureShare = 0.7;    // web leads with a Lead Capture
constexpr double kChangeAtCreationShare = 0.02;

uint16_t ClampCount(int64_t n) {
  return static_cast<uint16_t>(std::clamp<int64_t>(n, 0, kMaxCount));
}

// A set entry of `active` other than `exclude`, chosen uniformly; -1 if none.
int PickActive(const std::vector<bool>& active, Rng& rng, int exclude) {
  int count = 0;
  for (size_t k = 0; k < active.size(); ++k) count += active[k] && static_cast<int>(k) != exclude;
  if (count == 0) return -1;
  auto pick = static_cast<int>(rng.Below(static_cast<uint64_t>(count)));
  for (size_t k = 0; k < active.size(); ++k) {
    if (active[k] && static_cast<int>(k) != exclude && pick-- == 0) return static_cast<int>(k);
  }
  return -1;
}

// The first set entry of `active` at or after `from`; -1 if none.
int FirstActive(const std::vector<bool>& active, size_t from) {
  for (size_t k = from; k < active.size(); ++k) {
    if (active[k]) return static_cast<int>(k);
  }
  return -1;
}

// The user acting on a lead: mostly its owner, else another user (10%: none).
int PickActor(int owner, const std::vector<bool>& users, Rng& rng, double owner_share) {
  const double roll = rng.Uniform();
  return roll < owner_share ? owner : roll < 0.9 ? PickActive(users, rng, -1) : -1;
}

int64_t BackfillEnd(const GeneratorOptions& options) {
  return options.start_ms + std::max<int64_t>(0, std::llround(options.days * kMsPerDay));
}

}  // namespace

Simulator::Simulator(const GeneratorOptions& options)
    : options_(options),
      backfill_end_(BackfillEnd(options)),
      arrivals_(options.start_ms, backfill_end_) {
  const int64_t span = backfill_end_ - options_.start_ms;
  live_ = options_.live_start_ms > 0;
  if (live_) live_start_ = std::max(options_.live_start_ms, backfill_end_);
  now_ = options_.start_ms;

  // Expected events per lead, to turn the live event rate into a lead rate.
  double web_share = 0, source_total = 0;
  for (const SourceDef& s : Sources()) {
    source_total += s.weight;
    if (s.name == "web") web_share += s.weight;
  }
  const double events_per_lead = 1 + options_.changes_per_lead + options_.activities_per_lead +
                                 options_.updates_per_lead + options_.owner_change_share +
                                 options_.delete_share +
                                 kWebCaptureShare * web_share / source_total;
  const int org_count = std::max(1, options_.orgs);
  std::vector<double> weights;
  double total_weight = 0;
  orgs_.resize(static_cast<size_t>(org_count));
  for (int i = 0; i < org_count; ++i) {
    OrgState& org = orgs_[static_cast<size_t>(i)];
    org.profile = BuildOrgProfile(i, options_);
    org.seed = MixSeed(options_.seed, static_cast<uint64_t>(i) + 1);
    org.rng = Rng(MixSeed(org.seed, 0xC4EA7E));
    weights.push_back(std::max(1, org.profile.leads));
    total_weight += weights.back();

    auto at = [&](double fraction) {
      return options_.start_ms + static_cast<int64_t>(fraction * static_cast<double>(span));
    };
    const auto& statuses = org.profile.statuses;
    const auto& users = org.profile.users;
    org.status_active.assign(statuses.size(), false);
    org.user_active.assign(users.size(), false);
    for (uint32_t k = 0; k < statuses.size(); ++k) {
      org.timeline.push_back({at(statuses[k].added_at), TimelineEntry::kStatusUpsert, k});
      if (statuses[k].deleted_at >= 0 && span > 0) {
        org.timeline.push_back({at(statuses[k].deleted_at), TimelineEntry::kStatusDelete, k});
      }
    }
    for (uint32_t k = 0; k < users.size(); ++k) {
      org.timeline.push_back({at(users[k].added_at), TimelineEntry::kUserUpsert, k});
      if (users[k].promoted_at >= 0 && span > 0) {
        org.timeline.push_back({at(users[k].promoted_at), TimelineEntry::kUserPromote, k});
      }
    }
    std::stable_sort(
        org.timeline.begin(), org.timeline.end(),
        [](const TimelineEntry& a, const TimelineEntry& b) { return a.time < b.time; });
  }
  const double lead_rate_per_ms = options_.live_events_per_sec / 1000.0 / events_per_lead;
  for (size_t i = 0; i < orgs_.size(); ++i) {
    orgs_[i].live_mean_gap_ms = total_weight / (weights[i] * std::max(lead_rate_per_ms, 1e-12));
    Push(orgs_[i].timeline.front().time, ItemKind::kTimeline, static_cast<uint32_t>(i));
  }
  for (size_t i = 0; i < orgs_.size(); ++i) ScheduleCreation(static_cast<uint32_t>(i));
}

void Simulator::Push(int64_t time, ItemKind kind, uint32_t target) {
  heap_.push({time, seq_++, target, kind});
}

void Simulator::ScheduleCreation(uint32_t org_index) {
  OrgState& org = orgs_[org_index];
  const bool backfill = backfill_end_ > options_.start_ms;
  if (backfill && org.created < static_cast<uint32_t>(std::max(0, org.profile.leads))) {
    // Stratified: lead i falls in the i-th of `leads` equal slices of the
    // arrival curve, so creation times increase with i.
    const double u = (org.created + org.rng.Uniform()) / org.profile.leads;
    Push(arrivals_.TimeAt(u), ItemKind::kCreate, org_index);
  } else if (live_) {
    const int64_t base = std::max(live_start_, now_);
    const auto gap = static_cast<int64_t>(org.rng.Exponential(org.live_mean_gap_ms));
    Push(base + gap, ItemKind::kCreate, org_index);
  }
}

void Simulator::ScheduleLead(uint32_t slot, int64_t from) {
  Lead& lead = leads_[slot];
  int64_t t;
  if (lead.forced == Forced::kChangeAtCreation) {
    t = from;  // a status change at the very creation instant
  } else if (lead.forced == Forced::kCapture) {
    t = from + static_cast<int64_t>(lead.rng.Below(3000));
  } else {
    const uint32_t remaining = lead.remaining();
    if (remaining == 0) return RetireLead(slot);
    // The next of `remaining` uniform points in [from, end], in order.
    const double span = static_cast<double>(std::max<int64_t>(0, lead.end_ms - from));
    const double next = 1.0 - std::pow(lead.rng.Uniform(), 1.0 / remaining);
    t = from + static_cast<int64_t>(span * next);
  }
  if (!live_ && t >= backfill_end_) return RetireLead(slot);
  Push(t, ItemKind::kLead, slot);
}

void Simulator::RetireLead(uint32_t slot) { free_slots_.push_back(slot); }

bool Simulator::Next(SimEvent* out) {
  if (heap_.empty()) return false;
  const Item item = heap_.top();
  heap_.pop();
  now_ = item.time;
  switch (item.kind) {
    case ItemKind::kTimeline:
      EmitTimeline(item.target, out);
      break;
    case ItemKind::kCreate:
      EmitCreate(item.target, out);
      break;
    case ItemKind::kLead:
      EmitLeadEvent(item.target, out);
      break;
  }
  return true;
}

int64_t Simulator::Stamp(int64_t sim_time) {
  int64_t stamp = sim_time;
  if (sim_time >= live_start_ && options_.clock) stamp = std::max(options_.clock(), last_stamp_);
  last_stamp_ = std::max(last_stamp_, stamp);
  return stamp;
}

JsonWriter Simulator::Begin(OrgState& org, const char* type, SimEvent* out) {
  out->org = static_cast<int>(&org - orgs_.data());
  out->sim_time_ms = now_;
  out->live = now_ >= live_start_;
  out->occurred_at_ms = Stamp(now_);
  out->value.clear();
  JsonWriter w(&out->value);
  w.Str("event_id", "e-" + org.profile.short_name + "-" + std::to_string(++org.event_seq));
  w.Str("type", type).Str("org_id", org.profile.id).Time("occurred_at", out->occurred_at_ms);
  return w;
}

void Simulator::EmitTimeline(uint32_t org_index, SimEvent* out) {
  OrgState& org = orgs_[org_index];
  const TimelineEntry entry = org.timeline[org.timeline_pos++];
  if (org.timeline_pos < org.timeline.size()) {
    Push(org.timeline[org.timeline_pos].time, ItemKind::kTimeline, org_index);
  }
  if (entry.kind == TimelineEntry::kStatusUpsert || entry.kind == TimelineEntry::kStatusDelete) {
    const StatusDef& status = org.profile.statuses[entry.index];
    const bool upsert = entry.kind == TimelineEntry::kStatusUpsert;
    org.status_active[entry.index] = upsert;
    JsonWriter w = Begin(org, upsert ? "status.upserted" : "status.deleted", out);
    w.Str("status_id", status.id);
    if (upsert) {
      w.Str("label", status.label);
      if (status.position >= 0) w.Int("position", status.position);
    }
    w.Close();
    return;
  }
  const UserDef& user = org.profile.users[entry.index];
  org.user_active[entry.index] = true;
  const bool promoted = entry.kind == TimelineEntry::kUserPromote;
  JsonWriter w = Begin(org, "user.upserted", out);
  w.Str("user_id", user.id).BeginObject("fields");
  w.Str("EmailAddress", user.email).Str("FirstName", user.first_name);
  w.Str("LastName", user.last_name).Str("Role", promoted ? user.promoted_role : user.role);
  w.Str("TeamId", user.team_id).Str("StatusCode", "0");
  w.EndObject().Close();
}

void Simulator::EmitCreate(uint32_t org_index, SimEvent* out) {
  OrgState& org = orgs_[org_index];
  Lead lead;
  lead.org = org_index;
  lead.num = ++org.created;
  ++total_created_;
  lead.rng = Rng(MixSeed(org.seed, lead.num));
  Rng& rng = lead.rng;

  const bool live_lead = now_ >= live_start_;
  const double mean_life = live_lead ? static_cast<double>(options_.live_lead_lifetime_ms)
                                     : options_.lead_lifetime_days * kMsPerDay;
  const double life = std::clamp(rng.Exponential(mean_life), mean_life / 20, mean_life * 3);
  lead.end_ms = now_ + static_cast<int64_t>(life);
  // Most leads start in the first stage of the pipeline.
  const int first = FirstActive(org.status_active, 0);
  const int status = rng.Chance(0.75) ? first : PickActive(org.status_active, rng, -1);
  lead.status = static_cast<int16_t>(std::max(0, status));
  lead.owner = static_cast<int16_t>(rng.Chance(0.92) ? PickActive(org.user_active, rng, -1) : -1);
  lead.changes = ClampCount(rng.Poisson(options_.changes_per_lead));
  const double activity_mean =
      options_.activities_per_lead > 0
          ? rng.Pareto(options_.activities_per_lead, kActivityTailIndex, kActivityCap)
          : 0;
  lead.activities = ClampCount(rng.Poisson(activity_mean));
  lead.updates = ClampCount(rng.Poisson(options_.updates_per_lead));
  lead.owner_changes = rng.Chance(options_.owner_change_share) ? 1 : 0;
  lead.deleting = rng.Chance(options_.delete_share);

  JsonWriter w = Begin(org, "lead.created", out);
  w.Str("lead_id", LeadId(lead.num));
  w.Str("status_id", org.profile.statuses[static_cast<size_t>(lead.status)].id);
  if (lead.owner >= 0) w.Str("owner_id", org.profile.users[static_cast<size_t>(lead.owner)].id);
  bool web = false;
  w.BeginObject("fields");
  WriteCreatedFields(rng, lead.num, now_, w, &web);
  w.EndObject().Close();

  if (web && rng.Chance(kWebCaptureShare)) {
    lead.forced = Forced::kCapture;
  } else if (lead.changes > 0 && rng.Chance(kChangeAtCreationShare)) {
    lead.forced = Forced::kChangeAtCreation;
  }
  uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<uint32_t>(leads_.size());
    leads_.push_back(lead);
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
    leads_[slot] = lead;
  }
  ScheduleLead(slot, now_);
  ScheduleCreation(org_index);
}

void Simulator::EmitLeadEvent(uint32_t slot, SimEvent* out) {
  Lead& lead = leads_[slot];
  OrgState& org = orgs_[lead.org];
  Rng& rng = lead.rng;
  const Forced forced = lead.forced;
  lead.forced = Forced::kNone;
  if (forced == Forced::kChangeAtCreation) {
    --lead.changes;
    JsonWriter w = Begin(org, "lead.status_changed", out);
    EmitStatusChange(lead, org, w);
  } else if (forced == Forced::kCapture) {
    JsonWriter w = Begin(org, "activity.logged", out);
    EmitActivity(lead, org, LeadCaptureActivity(), w);
  } else if (lead.deleting && lead.remaining() == 1) {
    JsonWriter w = Begin(org, "lead.deleted", out);
    w.Str("lead_id", LeadId(lead.num)).Close();
    return RetireLead(slot);
  } else {
    const double weights[4] = {static_cast<double>(lead.changes),
                               static_cast<double>(lead.activities),
                               static_cast<double>(lead.updates),
                               static_cast<double>(lead.owner_changes)};
    switch (rng.Weighted(weights, 4)) {
      case 0: {
        --lead.changes;
        JsonWriter w = Begin(org, "lead.status_changed", out);
        EmitStatusChange(lead, org, w);
        break;
      }
      case 1: {
        --lead.activities;
        static const std::vector<double> kWeights = [] {
          std::vector<double> v;
          for (const ActivityType& t : ActivityTypes()) v.push_back(t.weight);
          return v;
        }();
        const ActivityType& type = ActivityTypes()[rng.Weighted(kWeights.data(), kWeights.size())];
        JsonWriter w = Begin(org, "activity.logged", out);
        EmitActivity(lead, org, type, w);
        break;
      }
      default: {
        const bool owner_change = lead.updates == 0;
        --(owner_change ? lead.owner_changes : lead.updates);
        JsonWriter w = Begin(org, "lead.updated", out);
        EmitUpdate(lead, org, owner_change, w);
        break;
      }
    }
  }
  ScheduleLead(slot, now_);
}

void Simulator::EmitStatusChange(Lead& lead, OrgState& org, JsonWriter& w) {
  Rng& rng = lead.rng;
  const auto& active = org.status_active;
  const int current = lead.status;
  int target = current;
  // A no-op names the current status; not when that status was deleted.
  if (!rng.Chance(options_.noop_change_share) || !active[static_cast<size_t>(current)]) {
    // Mostly one step forward in the pipeline, else anywhere else.
    const int forward = FirstActive(active, static_cast<size_t>(current) + 1);
    target = forward >= 0 && rng.Chance(0.55) ? forward : PickActive(active, rng, current);
    if (target < 0) target = current;
  }
  const auto& statuses = org.profile.statuses;
  w.Str("lead_id", LeadId(lead.num));
  w.Str("status_id", statuses[static_cast<size_t>(target)].id);
  w.Str("previous_status_id", statuses[static_cast<size_t>(current)].id);
  const int actor = PickActor(lead.owner, org.user_active, rng, 0.75);
  if (actor >= 0) w.Str("user_id", org.profile.users[static_cast<size_t>(actor)].id);
  w.Close();
  lead.status = static_cast<int16_t>(target);
}

void Simulator::EmitActivity(Lead& lead, OrgState& org, const ActivityType& type, JsonWriter& w) {
  Rng& rng = lead.rng;
  w.Str("lead_id", LeadId(lead.num));
  w.Str("activity_id", "act_" + org.profile.short_name + "_" + std::to_string(++org.activity_seq));
  w.Int("activity_event", type.code);
  if (rng.Chance(0.96)) w.Str("activity_name", type.name);
  const int actor = PickActor(lead.owner, org.user_active, rng, 0.7);
  if (actor >= 0) w.Str("user_id", org.profile.users[static_cast<size_t>(actor)].id);
  w.Close();
}

void Simulator::EmitUpdate(Lead& lead, OrgState& org, bool owner_change, JsonWriter& w) {
  Rng& rng = lead.rng;
  w.Str("lead_id", LeadId(lead.num));
  if (owner_change) {
    const int owner = PickActive(org.user_active, rng, lead.owner);
    if (owner >= 0) {
      lead.owner = static_cast<int16_t>(owner);
      w.Str("owner_id", org.profile.users[static_cast<size_t>(owner)].id);
    }
  }
  w.BeginObject("fields");
  WriteUpdatedFields(rng, now_, owner_change || rng.Chance(0.06), w);
  w.EndObject().Close();
}

}  // namespace leadflow::tools
