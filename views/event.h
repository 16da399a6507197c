// Event: one decoded, validated lead event (contract section 1). Produced by
// ingest/decode.h, consumed by views/write/applier.h.
//
// Thread safety: a plain value type. Intentionally copyable.
#ifndef LEADFLOW_VIEWS_EVENT_H_
#define LEADFLOW_VIEWS_EVENT_H_

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace leadflow::views {

enum class EventType {
  kStatusUpserted,
  kStatusDeleted,
  kUserUpserted,
  kLeadCreated,
  kLeadUpdated,
  kLeadStatusChanged,
  kLeadDeleted,
  kActivityLogged,
};

// The wire name of a type ("lead.created"), and its inverse.
const char* EventTypeName(EventType type);
std::optional<EventType> EventTypeFromName(std::string_view name);

// A member added here is also reset by ingest/decode.cc ResetEvent (events
// are decoded into reused slots) and compared by tests/ingest/same_event.h
// CheckSameEvent.
struct Event {
  std::string event_id;
  EventType type = EventType::kLeadCreated;
  std::string org_id;
  int64_t occurred_at_ms = 0;

  // Type-specific fields; empty or nullopt when the type has none.
  std::string status_id;           // status.*, lead.created, lead.status_changed
  std::string label;               // status.upserted
  std::optional<int64_t> position; // status.upserted
  std::string user_id;             // user.upserted; actor of status_changed/activity
  std::string lead_id;             // lead.*, activity.logged
  std::optional<std::string> owner_id;  // lead.created, lead.updated
  std::string previous_status_id;  // lead.status_changed, informational only
  nlohmann::json fields;           // object or null
  std::string activity_id;         // activity.logged
  int64_t activity_event = 0;      // activity.logged
  std::optional<std::string> activity_name;

  // Where the event was read (views/records.h ArrivalSeq): set by the
  // ingest pipeline, not by the decoder. Orders events of equal
  // occurred_at; unique among the events a batch applies.
  uint64_t arrival = 0;
  // The shard whose state the event belongs to (its totals, duplicate
  // markers and anomalies): kShardOfArrival for the shard its arrival
  // number names (views/records.h ShardOfArrival), which is every event
  // but one re-routed to its org's home partition in a cluster
  // (ingest/pipeline.h): that one keeps the arrival number of where it was
  // first read, so ties order as in a single instance, and belongs to the
  // home shard.
  static constexpr uint32_t kShardOfArrival = UINT32_MAX;
  uint32_t shard = kShardOfArrival;
};

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_EVENT_H_
