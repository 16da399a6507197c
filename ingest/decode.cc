#include "ingest/decode.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "ingest/detail/event_json.h"
#include "views/time.h"

namespace leadflow::ingest {
namespace {

// Whether v is an integer literal too large for 64 bits: the reader gives
// those as kFloat (event_json.h), and "must be an integer" would misname
// the fault. A whole-number float of that size (1e30) reads the same.
bool IsIntegerBeyond64Bits(const detail::Value& v) {
  return v.type == detail::Value::Type::kFloat && std::isfinite(v.number) && v.number == std::floor(v.number) &&
         std::fabs(v.number) >= 9223372036854775808.0;  // 2^63
}

using detail::Member;
using detail::Value;
using nlohmann::json;
using views::EventType;

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The per-type rules of contract section 1 over the members read: each
// returns an empty string on success, else the reason.
class Fields {
 public:
  explicit Fields(detail::EventMembers& members) : members_(members) {}

  // A present, non-null value; nullptr when absent or null.
  const Value* Find(Member m) const {
    const Value& v = members_[m];
    return v.type == Value::Type::kNull ? nullptr : &v;
  }

  std::string Id(Member m, bool required, std::string* out) const {
    const Value* v = Find(m);
    if (!v) return required ? std::string("missing field ") + detail::MemberName(m) : "";
    if (v->type != Value::Type::kString) return std::string(detail::MemberName(m)) + " must be a string";
    // Valid UTF-8 (simdjson checked it) of 1-128 bytes has 1-128 code
    // points: only longer strings are counted.
    const size_t bytes = v->string.size();
    if (bytes == 0 || (bytes > 128 && CodePoints(v->string) > 128)) {
      return std::string(detail::MemberName(m)) + " must be 1-128 characters";
    }
    out->assign(v->string);
    return "";
  }

  std::string OptId(Member m, std::optional<std::string>* out) const {
    std::string s;
    std::string err = Id(m, false, &s);
    if (err.empty() && Find(m)) *out = std::move(s);
    return err;
  }

  // On success the object is moved out of the members into *out.
  std::string FieldsObject(bool required, json* out) {
    const Value* v = Find(Member::kFields);
    if (!v) {
      if (required) return "missing field fields";
      *out = json::object();
      return "";
    }
    if (v->type != Value::Type::kObject) return "fields must be an object";
    const json& fields = members_.fields;
    if (fields.size() > kMaxFields) {
      return "fields has " + std::to_string(fields.size()) + " keys; at most " + std::to_string(kMaxFields) +
             " are allowed";
    }
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      const std::string& k = it.key();
      if (k.empty()) return "fields has an empty key";
      if (k.size() > kMaxFieldNameBytes) {
        return "fields has a key of " + std::to_string(k.size()) + " bytes; at most " +
               std::to_string(kMaxFieldNameBytes) + " are allowed";
      }
      if (it->is_object() || it->is_array()) return "fields." + k + " must be a string, number, boolean or null";
      if (it->is_string() && it->get_ref<const std::string&>().size() > kMaxFieldValueBytes) {
        return "fields." + k + " is " + std::to_string(it->get_ref<const std::string&>().size()) +
               " bytes; at most " + std::to_string(kMaxFieldValueBytes) + " are allowed";
      }
    }
    *out = std::move(members_.fields);
    return "";
  }

 private:
  detail::EventMembers& members_;
};

}  // namespace

namespace {

// Every member of e as a default Event has it, the strings' buffers kept.
// (tests/ingest/decode_test.cc decodes events of every type into one reused
// Event and compares it with a fresh one, member by member:
// tests/ingest/same_event.h.)
void ResetEvent(views::Event* e) {
  e->event_id.clear();
  e->type = views::EventType::kLeadCreated;
  e->org_id.clear();
  e->occurred_at_ms = 0;
  e->status_id.clear();
  e->label.clear();
  e->position.reset();
  e->user_id.clear();
  e->lead_id.clear();
  e->owner_id.reset();
  e->previous_status_id.clear();
  e->fields = nlohmann::json();
  e->activity_id.clear();
  e->activity_event = 0;
  e->activity_name.reset();
  e->arrival = 0;
}

}  // namespace

Status DecodeEvent(std::string_view value, std::optional<std::string_view> key, views::Event* out) {
  if (value.size() > kMaxEventBytes) {
    return Status::InvalidArgument("event is " + std::to_string(value.size()) + " bytes; at most " +
                                   std::to_string(kMaxEventBytes) + " are allowed");
  }
  detail::EventMembers members;
  if (std::string err = detail::ReadEventJson(value, &members); !err.empty()) return Status::InvalidArgument(err);
  Fields f(members);
  // Decoded in place: the strings of the event that held this slot before
  // keep their buffers (an event is a dozen strings; a block reuses its
  // slots), and every member is set or reset below, as a default Event has it.
  views::Event& e = *out;
  ResetEvent(&e);
  std::string err;
  auto fail = [](const std::string& reason) { return Status::InvalidArgument(reason); };

  if (!(err = f.Id(Member::kEventId, true, &e.event_id)).empty()) return fail(err);
  const Value* type = f.Find(Member::kType);
  if (!type) return fail("missing field type");
  if (type->type != Value::Type::kString) return fail("type must be a string");
  auto parsed_type = views::EventTypeFromName(type->string);
  if (!parsed_type) return fail("unknown type " + std::string(type->string));
  e.type = *parsed_type;

  const Value* org = f.Find(Member::kOrgId);
  if (!org) return fail("missing field org_id");
  if (org->type != Value::Type::kString) return fail("org_id must be a string");
  e.org_id.assign(org->string);
  if (e.org_id.empty() || e.org_id.size() > 64) return fail("org_id must be 1-64 characters");
  for (char c : e.org_id) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      return fail("org_id may contain only A-Z, a-z, 0-9, _ and -");
    }
  }
  if (key && *key != e.org_id) return fail("message key does not match org_id");

  const Value* occurred = f.Find(Member::kOccurredAt);
  if (!occurred) return fail("missing field occurred_at");
  if (occurred->type != Value::Type::kString) return fail("occurred_at must be a string");
  auto at = views::ParseRfc3339Ms(occurred->string);
  if (!at) return fail("occurred_at is not an RFC 3339 timestamp");
  // An offset can move a valid local time out of the years every other part
  // of leadflow reads and writes (0001-9999), where formatting it would give
  // a time that no longer parses.
  static const int64_t kFirstMs = *views::ParseRfc3339Ms("0001-01-01T00:00:00Z");
  static const int64_t kLastMs = *views::ParseRfc3339Ms("9999-12-31T23:59:59.999Z");
  if (*at < kFirstMs || *at > kLastMs) return fail("occurred_at is outside the years 0001-9999 in UTC");
  e.occurred_at_ms = *at;

  switch (e.type) {
    case EventType::kStatusUpserted: {
      if (!(err = f.Id(Member::kStatusId, true, &e.status_id)).empty()) return fail(err);
      const Value* label = f.Find(Member::kLabel);
      if (!label) return fail("missing field label");
      if (label->type != Value::Type::kString) return fail("label must be a string");
      e.label.assign(label->string);
      if (const Value* pos = f.Find(Member::kPosition)) {
        if (IsIntegerBeyond64Bits(*pos)) return fail("position is out of range");
        if (pos->type != Value::Type::kInteger && pos->type != Value::Type::kUnsigned) {
          return fail("position must be an integer");
        }
        if (pos->type == Value::Type::kUnsigned && pos->unsigned_integer > static_cast<uint64_t>(INT64_MAX)) {
          return fail("position is out of range");
        }
        e.position = pos->type == Value::Type::kInteger ? pos->integer : static_cast<int64_t>(pos->unsigned_integer);
      }
      break;
    }
    case EventType::kStatusDeleted:
      if (!(err = f.Id(Member::kStatusId, true, &e.status_id)).empty()) return fail(err);
      break;
    case EventType::kUserUpserted:
      if (!(err = f.Id(Member::kUserId, true, &e.user_id)).empty()) return fail(err);
      if (!(err = f.FieldsObject(true, &e.fields)).empty()) return fail(err);
      break;
    case EventType::kLeadCreated:
      if (!(err = f.Id(Member::kLeadId, true, &e.lead_id)).empty()) return fail(err);
      if (!(err = f.Id(Member::kStatusId, true, &e.status_id)).empty()) return fail(err);
      if (!(err = f.OptId(Member::kOwnerId, &e.owner_id)).empty()) return fail(err);
      if (!(err = f.FieldsObject(false, &e.fields)).empty()) return fail(err);
      break;
    case EventType::kLeadUpdated:
      if (!(err = f.Id(Member::kLeadId, true, &e.lead_id)).empty()) return fail(err);
      if (!(err = f.FieldsObject(true, &e.fields)).empty()) return fail(err);
      if (!(err = f.OptId(Member::kOwnerId, &e.owner_id)).empty()) return fail(err);
      break;
    case EventType::kLeadStatusChanged: {
      if (!(err = f.Id(Member::kLeadId, true, &e.lead_id)).empty()) return fail(err);
      if (!(err = f.Id(Member::kStatusId, true, &e.status_id)).empty()) return fail(err);
      std::optional<std::string> prev, user;
      if (!(err = f.OptId(Member::kPreviousStatusId, &prev)).empty()) return fail(err);
      if (!(err = f.OptId(Member::kUserId, &user)).empty()) return fail(err);
      e.previous_status_id = prev.value_or("");
      e.user_id = user.value_or("");
      break;
    }
    case EventType::kLeadDeleted:
      if (!(err = f.Id(Member::kLeadId, true, &e.lead_id)).empty()) return fail(err);
      break;
    case EventType::kActivityLogged: {
      if (!(err = f.Id(Member::kLeadId, true, &e.lead_id)).empty()) return fail(err);
      if (!(err = f.Id(Member::kActivityId, true, &e.activity_id)).empty()) return fail(err);
      const Value* code = f.Find(Member::kActivityEvent);
      if (!code) return fail("missing field activity_event");
      if (IsIntegerBeyond64Bits(*code) && code->number > 0) return fail("activity_event is out of range");
      if ((code->type != Value::Type::kInteger && code->type != Value::Type::kUnsigned) ||
          (code->type == Value::Type::kInteger && code->integer < 0)) {
        return fail("activity_event must be an integer >= 0");
      }
      if (code->type == Value::Type::kUnsigned && code->unsigned_integer > static_cast<uint64_t>(INT64_MAX)) {
        return fail("activity_event is out of range");
      }
      e.activity_event = code->type == Value::Type::kInteger ? code->integer
                                                             : static_cast<int64_t>(code->unsigned_integer);
      if (const Value* name = f.Find(Member::kActivityName)) {
        if (name->type != Value::Type::kString) return fail("activity_name must be a string");
        e.activity_name = std::string(name->string);
      }
      std::optional<std::string> user;
      if (!(err = f.OptId(Member::kUserId, &user)).empty()) return fail(err);
      e.user_id = user.value_or("");
      break;
    }
  }
  return Status::Ok();
}

}  // namespace leadflow::ingest
