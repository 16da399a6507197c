#include "views/lead_attributes.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <type_traits>

#include "views/ascii.h"
#include "views/detail/msgpack_writer.h"
#include "views/keys.h"
#include "views/lead_facts.h"
#include "views/time.h"

namespace leadflow::views {
namespace {

using nlohmann::json;

// DeriveAttributeFacts relies on objects iterating their keys in bytewise
// order (std::map with std::less<>), as FindField's rule does.
static_assert(std::is_same_v<json::object_t, std::map<std::string, json, std::less<>>>,
              "json objects must iterate in key order");

struct FixedName {
  const char* normalized;
  FixedColumn column;
};
constexpr FixedName kFixed[] = {
    {"prospectid", FixedColumn::kProspectId},
    {"prospectstage", FixedColumn::kProspectStage},
    {"ownerid", FixedColumn::kOwnerId},
    {"createdon", FixedColumn::kCreatedOn},
    {"modifiedon", FixedColumn::kModifiedOn},
    {"prospectactivitydate_max", FixedColumn::kActivityDateMax},
    {"prospectactivityname_max", FixedColumn::kActivityNameMax},
};

// The lead's field for a normalized column: the bytewise-first key whose
// normalized form matches, which is the first one met (keys iterate in
// bytewise order). One scan of the fields.
const json* FindField(const json& fields, std::string_view normalized) {
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if (NormalizeColumn(it.key()) == normalized) return &*it;
  }
  return nullptr;
}

}  // namespace

std::string NormalizeColumn(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = LowerAscii(c);
  return out;
}

FixedColumn FixedColumnOf(std::string_view normalized) {
  for (const auto& f : kFixed) {
    if (normalized == f.normalized) return f.column;
  }
  return FixedColumn::kNone;
}

std::optional<int64_t> ParseLsqDate(std::string_view text) {
  if (text.size() == 10) return ParseDateMs(text, 0);
  if (text.size() >= 19 && text[10] == ' ' &&
      (text.size() == 19 || (text[19] == '.' && text.find_first_of("Zz+-", 19) == std::string_view::npos))) {
    std::string rfc(text);
    rfc += 'Z';
    return ParseRfc3339Ms(rfc);
  }
  return ParseRfc3339Ms(text);
}

std::string FormatLsqDate(int64_t ms) { return FormatSpanLiteral(ms, false); }

std::optional<LeadAttributes> DeriveAttributes(std::string_view lead_id, const LeadRecord& lead) {
  if (!lead.created || lead.deleted) return std::nullopt;
  LeadAttributes a;
  a.lead_id = std::string(lead_id);
  const int64_t created = lead.created->time.at_ms;
  a.status_id = *CurrentStatus(lead);  // a created, non-deleted lead has its creation's
  a.owner_id = lead.created->owner_id;
  a.created_ms = created;
  a.modified_ms = created;
  if (lead.created->fields.is_object()) a.fields = lead.created->fields;
  for (const LeadUpdate& u : lead.updates) {
    if (u.time.at_ms < created) continue;  // before creation: ignored
    a.modified_ms = std::max(a.modified_ms, u.time.at_ms);
    if (u.owner_id) a.owner_id = u.owner_id;
    if (!u.fields.is_object()) continue;
    for (auto it = u.fields.begin(); it != u.fields.end(); ++it) {
      if (it->is_null()) {
        a.fields.erase(it.key());
      } else {
        a.fields[it.key()] = *it;
      }
    }
  }
  for (const StatusChange& c : lead.changes) {
    if (c.time.at_ms >= created) a.modified_ms = std::max(a.modified_ms, c.time.at_ms);
  }
  if (lead.last_activity_ms != INT64_MIN) {
    a.activity_max_ms = lead.last_activity_ms;
    a.activity_max_name = lead.last_activity_name;
    a.modified_ms = std::max(a.modified_ms, lead.last_activity_ms);
  }
  return a;
}

json ColumnValue(const LeadAttributes& a, std::string_view normalized, const std::string& status_label) {
  switch (FixedColumnOf(normalized)) {
    case FixedColumn::kProspectId: return a.lead_id;
    case FixedColumn::kProspectStage: return status_label;
    case FixedColumn::kOwnerId: return a.owner_id ? json(*a.owner_id) : json();
    case FixedColumn::kCreatedOn: return FormatLsqDate(a.created_ms);
    case FixedColumn::kModifiedOn: return FormatLsqDate(a.modified_ms);
    case FixedColumn::kActivityDateMax: return a.activity_max_ms ? json(FormatLsqDate(*a.activity_max_ms)) : json();
    case FixedColumn::kActivityNameMax: return a.activity_max_name ? json(*a.activity_max_name) : json();
    case FixedColumn::kNone: break;
  }
  const json* v = FindField(a.fields, normalized);
  return v ? *v : json();
}

// The msgpack of the map {"a", "c", "f", "i", "m", "n", "o", "s"} (in that
// order, as nlohmann's std::map-ordered object writes it), written directly:
// building the map would copy the fields. Decode reads it with nlohmann.
void LeadAttributes::EncodeHead(std::string* out) const {
  detail::AppendMsgpackMapHeader(out, 8);
  detail::AppendMsgpackStr(out, "a");
  if (activity_max_ms) {
    detail::AppendMsgpackInt(out, *activity_max_ms);
  } else {
    detail::AppendMsgpackNil(out);
  }
  detail::AppendMsgpackStr(out, "c");
  detail::AppendMsgpackInt(out, created_ms);
  detail::AppendMsgpackStr(out, "f");
}

void LeadAttributes::EncodeTail(std::string* out) const {
  auto opt_str = [&](const std::optional<std::string>& v) {
    if (v) {
      detail::AppendMsgpackStr(out, *v);
    } else {
      detail::AppendMsgpackNil(out);
    }
  };
  detail::AppendMsgpackStr(out, "i");
  detail::AppendMsgpackStr(out, lead_id);
  detail::AppendMsgpackStr(out, "m");
  detail::AppendMsgpackInt(out, modified_ms);
  detail::AppendMsgpackStr(out, "n");
  opt_str(activity_max_name);
  detail::AppendMsgpackStr(out, "o");
  opt_str(owner_id);
  detail::AppendMsgpackStr(out, "s");
  detail::AppendMsgpackStr(out, status_id);
}

std::string LeadAttributes::Encode() const {
  std::string out;
  out.reserve(64);
  EncodeHead(&out);
  detail::AppendMsgpack(&out, fields);
  EncodeTail(&out);
  return out;
}

std::string LeadAttributes::EncodeWithFieldsOf(std::string_view row, std::string_view head, std::string_view tail) const {
  if (row.size() < head.size() + tail.size() || !row.starts_with(head) || !row.ends_with(tail)) return Encode();
  std::string out;
  out.reserve(row.size() + 16);
  EncodeHead(&out);
  out.append(row.substr(head.size(), row.size() - head.size() - tail.size()));
  EncodeTail(&out);
  return out;
}

Status LeadAttributes::Decode(std::string_view bytes, LeadAttributes* out) {
  try {
    json j = json::from_msgpack(bytes.begin(), bytes.end());
    LeadAttributes a;
    a.lead_id = j.at("i").get<std::string>();
    a.status_id = j.at("s").get<std::string>();
    if (!j.at("o").is_null()) a.owner_id = j["o"].get<std::string>();
    a.created_ms = j.at("c").get<int64_t>();
    a.modified_ms = j.at("m").get<int64_t>();
    if (!j.at("a").is_null()) a.activity_max_ms = j["a"].get<int64_t>();
    if (!j.at("n").is_null()) a.activity_max_name = j["n"].get<std::string>();
    a.fields = j.at("f");
    *out = std::move(a);
    return Status::Ok();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("bad lead row: ") + e.what());
  }
}

AttributeFacts DeriveAttributeFacts(std::string_view org, uint32_t lead_num, const std::optional<LeadAttributes>& a,
                                    unsigned parts) {
  AttributeFacts f;
  if (!a) return f;  // empty sets are finished
  auto add_date = [&](std::string_view attr, int64_t ms) {
    f.bitmap_keys.Add([&](std::string* out) { keys::AppendDateDayBitmap(out, org, attr, DayOf(ms)); });
    f.index_keys.Add([&](std::string* out) { keys::AppendDateEntry(out, org, attr, ms, lead_num); });
  };
  auto add_has = [&](std::string_view attr) {
    f.bitmap_keys.Add([&](std::string* out) { keys::AppendHasBitmap(out, org, attr); });
  };
  auto add_value = [&](std::string_view attr, const json& v) {
    add_has(attr);
    if (v.is_boolean()) {
      f.bitmap_keys.Add([&](std::string* out) {
        keys::AppendValuePrefix(out, org, attr);
        keys::AppendTypedBool(out, v.get<bool>());
      });
    } else if (v.is_number()) {
      double d = v.get<double>();
      if (std::isfinite(d)) {
        f.bitmap_keys.Add([&](std::string* out) {
          keys::AppendValuePrefix(out, org, attr);
          keys::AppendTypedNumber(out, d);
        });
      }
    } else if (v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      f.bitmap_keys.Add([&](std::string* out) {
        keys::AppendValuePrefix(out, org, attr);
        keys::AppendTypedString(out, s);
      });
      if (auto ms = ParseLsqDate(s)) add_date(attr, *ms);
    }
  };
  if (parts & kAttrBase) {
    f.bitmap_keys.Add([&](std::string* out) { keys::AppendUniverseBitmap(out, org); });
    for (const char* attr : {"createdon", "modifiedon"}) add_has(attr);
  }
  if ((parts & kAttrOwner) && a->owner_id) add_value("ownerid", *a->owner_id);
  if (parts & kAttrCreated) add_date("createdon", a->created_ms);
  if (parts & kAttrModified) add_date("modifiedon", a->modified_ms);
  if ((parts & kAttrActivityDate) && a->activity_max_ms) {
    add_has("prospectactivitydate_max");
    add_date("prospectactivitydate_max", *a->activity_max_ms);
  }
  if ((parts & kAttrActivityName) && a->activity_max_name) add_value("prospectactivityname_max", *a->activity_max_name);
  if (parts & kAttrFields) {
    // Keys are visited in bytewise order, so the first key seen for a
    // column is the bytewise-first one, the column's field (the rule of
    // FindField), without a scan per key: linear in the fields (times log
    // for the sets). Fixed columns win over fields of the same name, so
    // no field adds to another part's keys.
    std::set<std::string> seen;
    for (auto it = a->fields.begin(); it != a->fields.end(); ++it) {
      if (!it->is_null()) {
        f.bitmap_keys.Add([&](std::string* out) { keys::AppendExactKeyBitmap(out, org, it.key()); });
      }
      std::string attr = NormalizeColumn(it.key());
      if (FixedColumnOf(attr) != FixedColumn::kNone) continue;
      const auto [column, first] = seen.insert(std::move(attr));
      if (first && !it->is_null()) add_value(*column, *it);
    }
  }
  f.bitmap_keys.Finish();
  f.index_keys.Finish();
  return f;
}

unsigned ChangedAttributeParts(const std::optional<LeadAttributes>& before, const std::optional<LeadAttributes>& after) {
  if (!before && !after) return 0;
  if (!before || !after) return kAttrAll;
  unsigned parts = 0;
  if (before->owner_id != after->owner_id) parts |= kAttrOwner;
  if (before->created_ms != after->created_ms) parts |= kAttrCreated;
  if (before->modified_ms != after->modified_ms) parts |= kAttrModified;
  if (before->activity_max_ms != after->activity_max_ms) parts |= kAttrActivityDate;
  if (before->activity_max_name != after->activity_max_name) parts |= kAttrActivityName;
  // JSON equality: numbers by value (1 == 1.0), which is how their facts
  // see them too (TypedNumber of the double, -0 as 0).
  if (before->fields != after->fields) parts |= kAttrFields;
  return parts;
}

}  // namespace leadflow::views
