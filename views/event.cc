#include "views/event.h"

#include <string_view>

namespace leadflow::views {
namespace {
struct TypeName {
  EventType type;
  std::string_view name;  // its length known: a lookup compares lengths first
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
    if (t.type == type) return t.name.data();  // the literals are NUL-terminated
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
