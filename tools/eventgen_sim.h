// Simulator: the chronological core of the event generator. A discrete-event
// simulation over orgs and leads: a min-heap holds, per org, the next lead
// creation and the next pipeline/user change, and per alive lead the time of
// its next event. A lead's events are produced lazily, one at a time, so
// memory is bounded by the number of leads alive at once.
//
// Each lead draws from its own random stream seeded by (seed, org, lead), so
// its content does not depend on how leads interleave.
//
// Thread safety: none.
#ifndef LEADFLOW_TOOLS_EVENTGEN_SIM_H_
#define LEADFLOW_TOOLS_EVENTGEN_SIM_H_

#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <vector>

#include "tools/eventgen.h"
#include "tools/eventgen_catalog.h"
#include "tools/eventgen_util.h"

namespace leadflow::tools {

struct SimEvent {
  int org = 0;
  std::string value;           // JSON
  int64_t sim_time_ms = 0;     // simulation (virtual) time
  int64_t occurred_at_ms = 0;  // as written; differs when live and clocked
  bool live = false;
};

class Simulator {
 public:
  explicit Simulator(const GeneratorOptions& options);

  // The next event in simulation-time order; false when the stream ended
  // (never, in live mode).
  bool Next(SimEvent* out);

  bool live_phase() const { return now_ >= live_start_; }
  int org_count() const { return static_cast<int>(orgs_.size()); }
  const OrgProfile& org(int i) const { return orgs_[static_cast<size_t>(i)].profile; }
  uint32_t leads_created(int i) const { return orgs_[static_cast<size_t>(i)].created; }
  uint64_t total_leads_created() const { return total_created_; }
  size_t leads_alive() const { return leads_.size() - free_slots_.size(); }

 private:
  enum class ItemKind : uint8_t { kTimeline, kCreate, kLead };
  struct Item {
    int64_t time;
    uint64_t seq;
    uint32_t target;  // org index or lead slot
    ItemKind kind;
    bool operator>(const Item& o) const {
      return time != o.time ? time > o.time : seq > o.seq;
    }
  };
  // An org-level event: a status or user (re)defined or deleted.
  struct TimelineEntry {
    int64_t time;
    enum Kind : uint8_t { kStatusUpsert, kStatusDelete, kUserUpsert, kUserPromote } kind;
    uint32_t index;
  };
  struct OrgState {
    OrgProfile profile;
    Rng rng;
    uint64_t seed = 0;
    uint32_t created = 0;
    uint64_t event_seq = 0;
    uint64_t activity_seq = 0;
    std::vector<bool> status_active;
    std::vector<bool> user_active;
    std::vector<TimelineEntry> timeline;
    size_t timeline_pos = 0;
    double live_mean_gap_ms = 0;  // between lead creations when live
  };
  enum class Forced : uint8_t { kNone, kChangeAtCreation, kCapture };
  struct Lead {
    Rng rng;
    int64_t end_ms = 0;
    uint32_t org = 0;
    uint32_t num = 0;
    int16_t status = 0;
    int16_t owner = -1;  // user index, -1: none
    uint16_t changes = 0;
    uint16_t activities = 0;
    uint16_t updates = 0;
    uint16_t owner_changes = 0;
    bool deleting = false;
    Forced forced = Forced::kNone;
    uint32_t remaining() const {
      return uint32_t{changes} + activities + updates + owner_changes + (deleting ? 1 : 0);
    }
  };

  void Push(int64_t time, ItemKind kind, uint32_t target);
  void ScheduleCreation(uint32_t org_index);
  void ScheduleLead(uint32_t slot, int64_t from);
  void RetireLead(uint32_t slot);

  // Each emits one event of its kind into out->value.
  void EmitTimeline(uint32_t org_index, SimEvent* out);
  void EmitCreate(uint32_t org_index, SimEvent* out);
  void EmitLeadEvent(uint32_t slot, SimEvent* out);
  void EmitStatusChange(Lead& lead, OrgState& org, JsonWriter& w);
  void EmitActivity(Lead& lead, OrgState& org, const ActivityType& type, JsonWriter& w);
  void EmitUpdate(Lead& lead, OrgState& org, bool owner_change, JsonWriter& w);

  // Writes the common fields and returns a writer for the rest.
  JsonWriter Begin(OrgState& org, const char* type, SimEvent* out);
  int64_t Stamp(int64_t sim_time);
  static std::string LeadId(uint32_t num) { return "lead_" + std::to_string(num); }

  GeneratorOptions options_;
  int64_t backfill_end_;
  ArrivalCurve arrivals_;
  std::vector<OrgState> orgs_;
  std::vector<Lead> leads_;
  std::vector<uint32_t> free_slots_;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap_;
  uint64_t seq_ = 0;
  int64_t now_ = 0;
  int64_t live_start_ = INT64_MAX;  // simulation time of the live phase
  bool live_ = false;
  int64_t last_stamp_ = INT64_MIN;
  uint64_t total_created_ = 0;
};

}  // namespace leadflow::tools

#endif  // LEADFLOW_TOOLS_EVENTGEN_SIM_H_
