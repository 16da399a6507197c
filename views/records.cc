#include "views/records.h"

namespace leadflow::views {
namespace {

using nlohmann::json;

json TimeJ(const EventTime& t) { return json::array({t.at_ms, t.seq}); }
EventTime TimeFrom(const json& j) { return EventTime{j.at(0).get<int64_t>(), j.at(1).get<uint64_t>()}; }

json OptStr(const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); }
std::optional<std::string> StrOpt(const json& j) {
  if (j.is_null()) return std::nullopt;
  return j.get<std::string>();
}

std::string ToBytes(const json& j) {
  std::vector<std::uint8_t> v = json::to_msgpack(j);
  return std::string(v.begin(), v.end());
}

// Decodes msgpack bytes and runs fill; any failure is a Corruption.
template <typename Fill>
Status FromBytes(std::string_view bytes, const char* what, Fill fill) {
  try {
    json j = json::from_msgpack(bytes.begin(), bytes.end());
    fill(j);
    return Status::Ok();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("bad ") + what + " record: " + e.what());
  }
}

}  // namespace

std::string LeadRecord::Encode() const {
  json j = json::object();
  j["n"] = num;
  if (created) {
    j["c"] = json::array({TimeJ(created->time), created->status_id, OptStr(created->owner_id), created->fields});
  }
  if (extra_creations) j["x"] = extra_creations;
  json ch = json::array();
  for (const auto& c : changes) ch.push_back(json::array({TimeJ(c.time), c.status_id}));
  j["s"] = std::move(ch);
  json up = json::array();
  for (const auto& u : updates) up.push_back(json::array({TimeJ(u.time), u.fields, OptStr(u.owner_id)}));
  j["u"] = std::move(up);
  if (deleted) j["d"] = true;
  if (last_activity_ms != INT64_MIN) j["a"] = json::array({last_activity_ms, OptStr(last_activity_name)});
  return ToBytes(j);
}

Status LeadRecord::Decode(std::string_view bytes, LeadRecord* out) {
  return FromBytes(bytes, "lead", [out](const json& j) {
    LeadRecord r;
    r.num = j.at("n").get<uint32_t>();
    if (j.contains("c")) {
      const json& c = j["c"];
      r.created = LeadCreation{TimeFrom(c.at(0)), c.at(1).get<std::string>(), StrOpt(c.at(2)), c.at(3)};
    }
    r.extra_creations = j.value("x", 0u);
    for (const auto& c : j.at("s")) r.changes.push_back({TimeFrom(c.at(0)), c.at(1).get<std::string>()});
    for (const auto& u : j.at("u")) r.updates.push_back({TimeFrom(u.at(0)), u.at(1), StrOpt(u.at(2))});
    r.deleted = j.value("d", false);
    if (j.contains("a")) {
      r.last_activity_ms = j["a"].at(0).get<int64_t>();
      r.last_activity_name = StrOpt(j["a"].at(1));
    }
    *out = std::move(r);
  });
}

std::string StatusRecord::Encode() const {
  json j = json::object();
  if (upserted) j["u"] = TimeJ(*upserted);
  j["l"] = label;
  if (position) j["p"] = *position;
  if (deleted_at) j["d"] = TimeJ(*deleted_at);
  j["f"] = first_seen_ms;
  return ToBytes(j);
}

Status StatusRecord::Decode(std::string_view bytes, StatusRecord* out) {
  return FromBytes(bytes, "status", [out](const json& j) {
    StatusRecord r;
    if (j.contains("u")) r.upserted = TimeFrom(j["u"]);
    r.label = j.at("l").get<std::string>();
    if (j.contains("p")) r.position = j["p"].get<int64_t>();
    if (j.contains("d")) r.deleted_at = TimeFrom(j["d"]);
    r.first_seen_ms = j.at("f").get<int64_t>();
    *out = std::move(r);
  });
}

std::string UserRecord::Encode() const {
  return ToBytes(json::object({{"u", TimeJ(upserted)}, {"f", fields}}));
}

Status UserRecord::Decode(std::string_view bytes, UserRecord* out) {
  return FromBytes(bytes, "user", [out](const json& j) {
    out->upserted = TimeFrom(j.at("u"));
    out->fields = j.at("f");
  });
}

}  // namespace leadflow::views
