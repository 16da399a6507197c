#include "views/event.h"

namespace leadflow::views {
namespace {
struct TypeName {
  EventType type;
  const char* name;
};
constexpr TypeName kTypeNames[] = {
    {EventType::kStatusUpserted, "status.upserted"},
    {EventType::kStatusDeleted, "status.deleted"},
    {EventType::kUserUpserted, "user.upserted"},
    {EventType::kLeadCreated, "lead.created"},
    {EventType::kLeadUpdated, "lead.updated"},
    {EventType::kLeadStatusChanged, "lead.status_changed"},
    {EventType::kLeadDeleted, "lead.deleted"},
    {EventType::kActivityLogged, "activity.logged"},
};
}  // namespace

const char* EventTypeName(EventType type) {
  for (const auto& t : kTypeNames) {
    if (t.type == type) return t.name;
  }
  return "unknown";
}

std::optional<EventType> EventTypeFromName(std::string_view name) {
  for (const auto& t : kTypeNames) {
    if (name == t.name) return t.type;
  }
  return std::nullopt;
}

}  // namespace leadflow::views
