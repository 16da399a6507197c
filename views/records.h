// Records: the per-entity state the views keep (a lead's full event history,
// a status, a user), and their encoding in the store.
//
// A lead record keeps every applied event of the lead that matters for
// reports, so a late event is placed at its event time and everything derived
// from the lead is recomputed (views/lead_facts.h).
//
// Thread safety: plain values. Intentionally copyable.
#ifndef LEADFLOW_VIEWS_RECORDS_H_
#define LEADFLOW_VIEWS_RECORDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "state/status.h"

namespace leadflow::views {

// Arrival sequence numbers order events of equal occurred_at. An event's
// number comes from where it was read, never from when: (shard << 40) |
// offset, where shard 0 is the local source (`leadflow ingest --file`, whose
// messages are numbered by a counter persisted with the state) and shard p + 1
// is partition p of the consumed topic, offset the message's offset. So an
// event gets the same number after any restart, in any process and with any
// batch boundaries (a partition's state can be rebuilt or moved on its own),
// and within a partition numbers follow arrival.
inline constexpr unsigned kArrivalOffsetBits = 40;
inline constexpr uint64_t kMaxArrivalOffset = (uint64_t{1} << kArrivalOffsetBits) - 1;
inline constexpr uint32_t kMaxShard = (uint32_t{1} << (64 - kArrivalOffsetBits)) - 1;
constexpr uint64_t ArrivalSeq(uint32_t shard, uint64_t offset) {
  return (uint64_t{shard} << kArrivalOffsetBits) | offset;
}
constexpr uint32_t ShardOfArrival(uint64_t seq) { return static_cast<uint32_t>(seq >> kArrivalOffsetBits); }
// The shard an event's state belongs to (views/event.h Event::shard).
constexpr uint32_t OwningShard(uint64_t arrival, uint32_t shard) {
  return shard != UINT32_MAX ? shard : ShardOfArrival(arrival);
}

// Event order: occurred_at, then arrival sequence.
struct EventTime {
  int64_t at_ms = 0;
  uint64_t seq = 0;
  friend auto operator<=>(const EventTime&, const EventTime&) = default;
};

struct LeadCreation {
  EventTime time;
  std::string status_id;
  std::optional<std::string> owner_id;
  nlohmann::json fields;  // object or null
};

struct StatusChange {
  EventTime time;
  std::string status_id;
};

struct LeadUpdate {
  EventTime time;
  nlohmann::json fields;  // object; null values remove keys
  std::optional<std::string> owner_id;
};

struct LeadRecord {
  uint32_t num = 0;  // dense per-org lead number, the member of every bitmap
  std::optional<LeadCreation> created;
  uint32_t extra_creations = 0;       // later lead.created events (anomalies)
  std::vector<StatusChange> changes;  // sorted by time
  std::vector<LeadUpdate> updates;    // sorted by time
  bool deleted = false;
  int64_t last_activity_ms = INT64_MIN;  // latest activity.logged occurred_at
  std::optional<std::string> last_activity_name;

  // The record's mutations, as an event applies them (views/write/applier.cc)
  // and as a journal entry replays them (lead_journal below).
  // A creation: the first, or the earliest of several (a later one counts
  // in extra_creations).
  void ApplyCreation(LeadCreation c);
  void ApplyChange(StatusChange c);  // placed by time (ties: arrival order)
  void ApplyUpdate(LeadUpdate u);    // placed by time
  void ApplyDelete() { deleted = true; }
  // The latest activity: this one unless an earlier-stamped one is kept.
  void ApplyActivity(int64_t at_ms, std::optional<std::string> name);

  std::string Encode() const;
  // A stored value: an encoded record, then zero or more journal entries
  // (lead_journal), applied in order. *journal_bytes, when asked: how many
  // bytes of journal followed the record.
  static Status Decode(std::string_view bytes, LeadRecord* out, size_t* journal_bytes = nullptr);
};

// A lead's journal: what one batch changed in its record, appended to the
// stored value (a merge operand of Cf::kLeads, whose merge operator joins
// bytes: state/append_merge.h) instead of the whole record encoded again.
// A live batch touches most leads once, so this is a few dozen bytes where
// the record is hundreds. Entries replay the mutations above in the order
// the batch applied them; the applier writes the record whole again once
// its journal outgrows it (Applier::DiffPart), which bounds a read's work.
namespace lead_journal {
void AppendCreation(std::string* out, const LeadCreation& c);
void AppendChange(std::string* out, const StatusChange& c);
void AppendUpdate(std::string* out, const LeadUpdate& u);
void AppendDelete(std::string* out);
// The record's last activity after the batch (one entry however many
// activities it had: activities change nothing else, so their place among
// the batch's other entries does not matter).
void AppendActivity(std::string* out, int64_t at_ms, const std::optional<std::string>& name);
}  // namespace lead_journal

struct StatusRecord {
  std::optional<EventTime> upserted;  // latest status.upserted
  std::string label;
  std::optional<int64_t> position;
  std::optional<EventTime> deleted_at;  // latest status.deleted
  int64_t first_seen_ms = INT64_MAX;    // earliest occurred_at of an event naming it

  // Deleted when the latest delete is later than the latest upsert.
  bool IsDeleted() const { return deleted_at && (!upserted || *deleted_at > *upserted); }
  std::string Encode() const;
  static Status Decode(std::string_view bytes, StatusRecord* out);
};

struct UserRecord {
  EventTime upserted;
  nlohmann::json fields;

  std::string Encode() const;
  static Status Decode(std::string_view bytes, UserRecord* out);
};

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_RECORDS_H_
