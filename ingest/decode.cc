#include "ingest/decode.h"

#include <nlohmann/json.hpp>

#include "views/time.h"

namespace leadflow::ingest {
namespace {

using nlohmann::json;
using views::EventType;

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Field readers: each returns an empty string on success, else the reason.
class Fields {
 public:
  explicit Fields(const json& obj) : obj_(obj) {}

  // A present, non-null value; nullptr when absent or null.
  const json* Find(const char* name) const {
    auto it = obj_.find(name);
    if (it == obj_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  std::string Id(const char* name, bool required, std::string* out) const {
    const json* v = Find(name);
    if (!v) return required ? std::string("missing field ") + name : "";
    if (!v->is_string()) return std::string(name) + " must be a string";
    const auto& s = v->get_ref<const std::string&>();
    size_t n = CodePoints(s);
    if (n < 1 || n > 128) return std::string(name) + " must be 1-128 characters";
    *out = s;
    return "";
  }

  std::string OptId(const char* name, std::optional<std::string>* out) const {
    std::string s;
    std::string err = Id(name, false, &s);
    if (err.empty() && Find(name)) *out = std::move(s);
    return err;
  }

  std::string FieldsObject(const char* name, bool required, json* out) const {
    const json* v = Find(name);
    if (!v) {
      if (required) return std::string("missing field ") + name;
      *out = json::object();
      return "";
    }
    if (!v->is_object()) return std::string(name) + " must be an object";
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (it->is_object() || it->is_array()) {
        return std::string(name) + "." + it.key() + " must be a string, number, boolean or null";
      }
    }
    *out = *v;
    return "";
  }

 private:
  const json& obj_;
};

}  // namespace

Status DecodeEvent(std::string_view value, std::optional<std::string_view> key, views::Event* out) {
  json doc = json::parse(value.begin(), value.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("not valid JSON");
  if (!doc.is_object()) return Status::InvalidArgument("not a JSON object");
  Fields f(doc);
  views::Event e;
  std::string err;
  auto fail = [](const std::string& reason) { return Status::InvalidArgument(reason); };

  if (!(err = f.Id("event_id", true, &e.event_id)).empty()) return fail(err);
  const json* type = f.Find("type");
  if (!type) return fail("missing field type");
  if (!type->is_string()) return fail("type must be a string");
  auto parsed_type = views::EventTypeFromName(type->get_ref<const std::string&>());
  if (!parsed_type) return fail("unknown type " + type->get<std::string>());
  e.type = *parsed_type;

  const json* org = f.Find("org_id");
  if (!org) return fail("missing field org_id");
  if (!org->is_string()) return fail("org_id must be a string");
  e.org_id = org->get<std::string>();
  if (e.org_id.empty() || e.org_id.size() > 64) return fail("org_id must be 1-64 characters");
  for (char c : e.org_id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return fail("org_id may contain only A-Z, a-z, 0-9, _ and -");
    }
  }
  if (key && *key != e.org_id) return fail("message key does not match org_id");

  const json* occurred = f.Find("occurred_at");
  if (!occurred) return fail("missing field occurred_at");
  if (!occurred->is_string()) return fail("occurred_at must be a string");
  auto at = views::ParseRfc3339Ms(occurred->get_ref<const std::string&>());
  if (!at) return fail("occurred_at is not an RFC 3339 timestamp");
  e.occurred_at_ms = *at;

  switch (e.type) {
    case EventType::kStatusUpserted: {
      if (!(err = f.Id("status_id", true, &e.status_id)).empty()) return fail(err);
      const json* label = f.Find("label");
      if (!label) return fail("missing field label");
      if (!label->is_string()) return fail("label must be a string");
      e.label = label->get<std::string>();
      if (const json* pos = f.Find("position")) {
        if (!pos->is_number_integer()) return fail("position must be an integer");
        if (pos->is_number_unsigned() && pos->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
          return fail("position is out of range");
        }
        e.position = pos->get<int64_t>();
      }
      break;
    }
    case EventType::kStatusDeleted:
      if (!(err = f.Id("status_id", true, &e.status_id)).empty()) return fail(err);
      break;
    case EventType::kUserUpserted:
      if (!(err = f.Id("user_id", true, &e.user_id)).empty()) return fail(err);
      if (!(err = f.FieldsObject("fields", true, &e.fields)).empty()) return fail(err);
      break;
    case EventType::kLeadCreated:
      if (!(err = f.Id("lead_id", true, &e.lead_id)).empty()) return fail(err);
      if (!(err = f.Id("status_id", true, &e.status_id)).empty()) return fail(err);
      if (!(err = f.OptId("owner_id", &e.owner_id)).empty()) return fail(err);
      if (!(err = f.FieldsObject("fields", false, &e.fields)).empty()) return fail(err);
      break;
    case EventType::kLeadUpdated:
      if (!(err = f.Id("lead_id", true, &e.lead_id)).empty()) return fail(err);
      if (!(err = f.FieldsObject("fields", true, &e.fields)).empty()) return fail(err);
      if (!(err = f.OptId("owner_id", &e.owner_id)).empty()) return fail(err);
      break;
    case EventType::kLeadStatusChanged: {
      if (!(err = f.Id("lead_id", true, &e.lead_id)).empty()) return fail(err);
      if (!(err = f.Id("status_id", true, &e.status_id)).empty()) return fail(err);
      std::optional<std::string> prev, user;
      if (!(err = f.OptId("previous_status_id", &prev)).empty()) return fail(err);
      if (!(err = f.OptId("user_id", &user)).empty()) return fail(err);
      e.previous_status_id = prev.value_or("");
      e.user_id = user.value_or("");
      break;
    }
    case EventType::kLeadDeleted:
      if (!(err = f.Id("lead_id", true, &e.lead_id)).empty()) return fail(err);
      break;
    case EventType::kActivityLogged: {
      if (!(err = f.Id("lead_id", true, &e.lead_id)).empty()) return fail(err);
      if (!(err = f.Id("activity_id", true, &e.activity_id)).empty()) return fail(err);
      const json* code = f.Find("activity_event");
      if (!code) return fail("missing field activity_event");
      if (!code->is_number_integer() || (code->is_number_integer() && !code->is_number_unsigned() &&
                                         code->get<int64_t>() < 0)) {
        return fail("activity_event must be an integer >= 0");
      }
      if (code->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return fail("activity_event is out of range");
      e.activity_event = code->get<int64_t>();
      if (const json* name = f.Find("activity_name")) {
        if (!name->is_string()) return fail("activity_name must be a string");
        e.activity_name = name->get<std::string>();
      }
      std::optional<std::string> user;
      if (!(err = f.OptId("user_id", &user)).empty()) return fail(err);
      e.user_id = user.value_or("");
      break;
    }
  }
  *out = std::move(e);
  return Status::Ok();
}

}  // namespace leadflow::ingest
