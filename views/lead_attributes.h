// Lead attributes: a lead's current columns for Leads Not Contacted (contract
// section 3), derived from its record, and the index keys that make every
// column filterable as a set of leads.
//
// Column names are matched case-insensitively (ASCII); the fixed columns
// (ProspectID, ProspectStage, OwnerId, CreatedOn, ModifiedOn,
// ProspectActivityDate_Max, ProspectActivityName_Max) win over a field of the
// same name. Where two field keys differ only in case, the one that sorts
// first (bytewise) is the column.
//
// Thread safety: pure functions.
#ifndef LEADFLOW_VIEWS_LEAD_ATTRIBUTES_H_
#define LEADFLOW_VIEWS_LEAD_ATTRIBUTES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "state/status.h"
#include "views/detail/key_set.h"
#include "views/records.h"

namespace leadflow::views {

struct LeadAttributes {
  std::string lead_id;
  std::string status_id;  // current status
  std::optional<std::string> owner_id;
  int64_t created_ms = 0;
  int64_t modified_ms = 0;
  std::optional<int64_t> activity_max_ms;
  std::optional<std::string> activity_max_name;
  nlohmann::json fields = nlohmann::json::object();  // after every applied update

  std::string Encode() const;
  static Status Decode(std::string_view bytes, LeadAttributes* out);
  // Encode() is the head (the columns before the fields, and the fields'
  // name), the fields, and the tail (the columns after them): the two ends
  // alone, so a row whose fields did not change is re-encoded around them.
  void EncodeHead(std::string* out) const;
  void EncodeTail(std::string* out) const;
  // This row's encoding, with the fields taken from `row` (the encoding of
  // attributes whose head and tail are head and tail) instead of encoded
  // again: for attributes whose fields are the same as those. Encodes them
  // when row does not begin with head and end with tail.
  std::string EncodeWithFieldsOf(std::string_view row, std::string_view head, std::string_view tail) const;
};

// The attributes of a created, non-deleted lead; nullopt otherwise.
std::optional<LeadAttributes> DeriveAttributes(std::string_view lead_id, const LeadRecord& lead);

// "ownerid" for "OwnerId": the normalized (lower-case ASCII) column name.
std::string NormalizeColumn(std::string_view name);

// The fixed columns, by normalized name.
enum class FixedColumn { kNone, kProspectId, kProspectStage, kOwnerId, kCreatedOn, kModifiedOn, kActivityDateMax, kActivityNameMax };
FixedColumn FixedColumnOf(std::string_view normalized);

// The value of a column of a lead for output: JSON type kept, times as
// "yyyy-MM-dd HH:mm:ss", null when absent. status_label resolves ProspectStage.
nlohmann::json ColumnValue(const LeadAttributes& a, std::string_view normalized, const std::string& status_label);

// Parses "yyyy-MM-dd HH:mm:ss[.fff]", "yyyy-MM-dd" or RFC 3339 as an instant.
std::optional<int64_t> ParseLsqDate(std::string_view text);
// "yyyy-MM-dd HH:mm:ss" UTC.
std::string FormatLsqDate(int64_t ms);

// Index keys of a lead's attributes: bitmaps (state::Cf::kBitmaps) holding
// the lead and exact date entries (state::Cf::kAttrIndex).
struct AttributeFacts {
  detail::KeySet bitmap_keys;
  detail::KeySet index_keys;
};
// The facts come in parts, each from its own columns; no key comes from two
// parts, so the facts of a change are the facts of the parts it changed.
enum AttributePart : unsigned {
  kAttrBase = 1,           // the universe, "has createdon/modifiedon"
  kAttrOwner = 2,          // OwnerId
  kAttrCreated = 4,        // CreatedOn's day and entry
  kAttrModified = 8,       // ModifiedOn's day and entry
  kAttrActivityDate = 16,  // ProspectActivityDate_Max
  kAttrActivityName = 32,  // ProspectActivityName_Max
  kAttrFields = 64,        // the fields: exact keys and their columns
  kAttrAll = 127,
};
AttributeFacts DeriveAttributeFacts(std::string_view org, uint32_t lead_num, const std::optional<LeadAttributes>& a,
                                    unsigned parts = kAttrAll);
// The parts whose facts can differ between before and after: all when one
// of them is absent, none when both are.
unsigned ChangedAttributeParts(const std::optional<LeadAttributes>& before, const std::optional<LeadAttributes>& after);

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_LEAD_ATTRIBUTES_H_
