#include "views/not_contacted.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <roaring/roaring.hh>

#include "views/detail/lead_sets.h"
#include "views/keys.h"
#include "views/lead_attributes.h"
#include "views/time.h"

namespace leadflow::views {
namespace {

using nlohmann::json;
using state::Cf;

const char* FunctionName(NotContactedQuery::Function f) {
  switch (f) {
    case NotContactedQuery::Function::kCount: return "Count";
    case NotContactedQuery::Function::kSum: return "Sum";
    case NotContactedQuery::Function::kAverage: return "Average";
  }
  return "Count";
}

// Total order for sort keys and group keys: null < booleans < numbers < strings.
int Rank(const json& v) {
  if (v.is_null()) return 0;
  if (v.is_boolean()) return 1;
  if (v.is_number()) return 2;
  return 3;
}
bool JsonLess(const json& a, const json& b) {
  if (Rank(a) != Rank(b)) return Rank(a) < Rank(b);
  if (a.is_boolean()) return !a.get<bool>() && b.get<bool>();
  if (a.is_number()) return a.get<double>() < b.get<double>();
  if (a.is_string()) return a.get_ref<const std::string&>() < b.get_ref<const std::string&>();
  return false;
}

Status ReadRow(const state::Reader& reader, std::string_view org, uint32_t num, LeadAttributes* out) {
  std::string bytes;
  Status s = reader.Get(Cf::kLeadRows, keys::LeadId(org, num), &bytes);
  return s.ok() ? LeadAttributes::Decode(bytes, out) : s;
}

std::string LabelOf(const detail::LeadSets& sets, const std::string& status_id) {
  auto it = sets.labels().find(status_id);
  return it == sets.labels().end() ? status_id : it->second;
}

// The value a lead sorts by for a date column, as an instant; nullopt = null.
std::optional<int64_t> DateKey(const LeadAttributes& a, FixedColumn c) {
  switch (c) {
    case FixedColumn::kCreatedOn: return a.created_ms;
    case FixedColumn::kModifiedOn: return a.modified_ms;
    case FixedColumn::kActivityDateMax: return a.activity_max_ms;
    default: return std::nullopt;
  }
}

// The page of lead numbers of result, in order: by CreatedOn then ProspectID
// (default) or by the sort column then ProspectID. Rows of the page are
// returned in *rows to avoid reading them twice.
Status OrderedPage(const state::Reader& reader, std::string_view org, const detail::LeadSets& sets,
                   const Roaring& result, const NotContactedQuery& q, std::vector<LeadAttributes>* rows) {
  const std::string column = q.sort_column ? NormalizeColumn(*q.sort_column) : "createdon";
  const bool desc = q.sort_column && q.sort_descending;
  const uint64_t offset = static_cast<uint64_t>((q.page_index - 1) * q.page_size);
  const uint64_t size = static_cast<uint64_t>(q.page_size);
  if (offset >= result.cardinality()) return Status::Ok();

  std::vector<uint32_t> candidates;
  if (column == "createdon") {
    // Walk the creation days in order, counting members, to find the days
    // that hold the page; only those days' leads are read.
    std::vector<std::pair<int64_t, uint64_t>> days;
    Status s = sets.ScanBitmaps(keys::DateDayPrefix(org, "createdon"),
                                keys::PrefixEnd(keys::DateDayPrefix(org, "createdon")),
                                [&](std::string_view k, Roaring&& b) {
                                  uint64_t n = b.and_cardinality(result);
                                  if (n) days.emplace_back(keys::ReadI64(k, k.size() - 8), n);
                                  return true;
                                });
    if (!s.ok()) return s;
    if (desc) std::reverse(days.begin(), days.end());
    uint64_t seen = 0;
    uint64_t skip = 0;
    for (const auto& [day, n] : days) {
      if (seen + n <= offset) {
        seen += n;
        continue;
      }
      if (candidates.empty()) skip = offset - seen;
      Roaring day_set;
      if (!(s = sets.Bitmap(keys::DateDayBitmap(org, "createdon", day), &day_set)).ok()) return s;
      day_set &= result;
      for (uint32_t num : day_set) candidates.push_back(num);
      seen += n;
      if (seen >= offset + size) break;
    }
    // Order the candidate days' leads exactly, then cut the page.
    std::vector<LeadAttributes> attrs(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (!(s = ReadRow(reader, org, candidates[i], &attrs[i])).ok()) return s;
    }
    std::sort(attrs.begin(), attrs.end(), [desc](const LeadAttributes& a, const LeadAttributes& b) {
      if (a.created_ms != b.created_ms) return desc ? a.created_ms > b.created_ms : a.created_ms < b.created_ms;
      return desc ? a.lead_id > b.lead_id : a.lead_id < b.lead_id;
    });
    for (uint64_t i = skip; i < attrs.size() && rows->size() < size; ++i) rows->push_back(std::move(attrs[i]));
    return Status::Ok();
  }
  // Any other sort column reads the rows of the whole result (documented
  // cost: proportional to the qualifying leads).
  std::vector<std::pair<json, LeadAttributes>> all;
  all.reserve(result.cardinality());
  const FixedColumn fixed = FixedColumnOf(column);
  for (uint32_t num : result) {
    LeadAttributes a;
    Status s = ReadRow(reader, org, num, &a);
    if (!s.ok()) return s;
    json key;
    if (auto t = DateKey(a, fixed)) {
      key = *t;
    } else if (fixed == FixedColumn::kNone || fixed == FixedColumn::kProspectId || fixed == FixedColumn::kOwnerId ||
               fixed == FixedColumn::kActivityNameMax || fixed == FixedColumn::kProspectStage) {
      key = ColumnValue(a, column, LabelOf(sets, a.status_id));
    }
    all.emplace_back(std::move(key), std::move(a));
  }
  std::sort(all.begin(), all.end(), [desc](const auto& x, const auto& y) {
    if (JsonLess(x.first, y.first)) return !desc;
    if (JsonLess(y.first, x.first)) return desc;
    return desc ? x.second.lead_id > y.second.lead_id : x.second.lead_id < y.second.lead_id;
  });
  for (uint64_t i = offset; i < all.size() && rows->size() < size; ++i) rows->push_back(std::move(all[i].second));
  return Status::Ok();
}

struct Group {
  json key;
  Roaring members;
};

Status Groups(const state::Reader& reader, std::string_view org, const detail::LeadSets& sets, const Roaring& result,
              const std::string& group_by, std::vector<Group>* out) {
  if (group_by.empty()) {
    out->push_back({json(), result});
    return Status::Ok();
  }
  const std::string attr = NormalizeColumn(group_by);
  const FixedColumn fixed = FixedColumnOf(attr);
  if (fixed == FixedColumn::kProspectStage) {
    std::map<std::string, Roaring> by_label;
    for (const auto& id : sets.status_order()) {
      Roaring b;
      Status s = sets.Bitmap(keys::Bitmap(org, keys::Kind::kCurrent, keys::StatusSubject(id), keys::Level::kAll, 0), &b);
      if (!s.ok()) return s;
      by_label[LabelOf(sets, id)] |= b & result;
    }
    for (auto& [label, b] : by_label) {
      if (!b.isEmpty()) out->push_back({json(label), std::move(b)});
    }
    return Status::Ok();
  }
  if (fixed == FixedColumn::kNone || fixed == FixedColumn::kOwnerId || fixed == FixedColumn::kActivityNameMax) {
    Roaring has;
    Status s = sets.Bitmap(keys::HasBitmap(org, attr), &has);
    if (!s.ok()) return s;
    Roaring none = result - has;
    if (!none.isEmpty()) out->push_back({json(), std::move(none)});
    const std::string prefix = keys::ValuePrefix(org, attr);
    return sets.ScanBitmaps(prefix, keys::PrefixEnd(prefix), [&](std::string_view k, Roaring&& b) {
      b &= result;
      auto key = keys::DecodeTyped(k.substr(prefix.size()));
      if (!b.isEmpty() && key) out->push_back({std::move(*key), std::move(b)});
      return true;
    });
  }
  // ProspectID and the date columns group lead by lead (one row per value).
  std::map<std::string, Group> by_text;
  for (uint32_t num : result) {
    LeadAttributes a;
    Status s = ReadRow(reader, org, num, &a);
    if (!s.ok()) return s;
    json v = ColumnValue(a, attr, LabelOf(sets, a.status_id));
    Group& g = by_text[v.dump()];
    g.key = v;
    g.members.add(num);
  }
  for (auto& [text, g] : by_text) out->push_back(std::move(g));
  std::stable_sort(out->begin(), out->end(), [](const Group& a, const Group& b) { return JsonLess(a.key, b.key); });
  return Status::Ok();
}

}  // namespace

Status ComputeNotContacted(const state::Reader& reader, std::string_view org, const NotContactedQuery& q,
                           NotContactedResult* out) {
  *out = NotContactedResult();
  detail::LeadSets sets(reader, org);
  Status s = sets.Init();
  if (!s.ok()) return s;

  Roaring universe, result;
  if (!(s = sets.Universe(&universe)).ok()) return s;
  result = universe;
  for (const auto& c : q.lead_filters) {
    Roaring b;
    if (!(s = sets.Condition(c, universe, &b)).ok()) return s;
    result &= b;
  }
  for (const auto& [column, range] : q.lead_date_filters) {
    const std::string attr = NormalizeColumn(column);
    Roaring b;
    if (!(s = sets.DateRange(attr, range.from_ms, range.to_ms, &b)).ok()) return s;
    result &= b;
  }
  if (q.user_filter) {
    Roaring b;
    if (!(s = sets.Owners(*q.user_filter, &b)).ok()) return s;
    result &= b;
  }
  Roaring contacted;
  if (!(s = sets.Contacted(q.activity_codes, q.activity_window, &contacted)).ok()) return s;
  result -= contacted;

  const int64_t offset = (q.page_index - 1) * q.page_size;
  if (q.output == NotContactedQuery::Output::kList) {
    out->columns = q.columns;
    out->total_count = static_cast<int64_t>(result.cardinality());
    std::vector<LeadAttributes> rows;
    if (!(s = OrderedPage(reader, org, sets, result, q, &rows)).ok()) return s;
    std::vector<std::string> normalized;
    for (const auto& c : q.columns) normalized.push_back(NormalizeColumn(c));
    for (const auto& a : rows) {
      std::vector<json> row;
      for (const auto& c : normalized) row.push_back(ColumnValue(a, c, LabelOf(sets, a.status_id)));
      out->rows.push_back(std::move(row));
    }
    return Status::Ok();
  }

  std::vector<Group> groups;
  if (!(s = Groups(reader, org, sets, result, q.group_by, &groups)).ok()) return s;
  if (!q.group_by.empty()) out->columns.push_back(q.group_by);
  out->columns.push_back(FunctionName(q.function));
  // Sum/Average: numeric values of the aggregate column, from its value index.
  std::vector<double> sums(groups.size(), 0);
  std::vector<uint64_t> counts(groups.size(), 0);
  if (q.function != NotContactedQuery::Function::kCount) {
    const std::string prefix = keys::ValuePrefix(org, NormalizeColumn(q.aggregate_column));
    s = sets.ScanBitmaps(prefix + "N", prefix + "O", [&](std::string_view k, Roaring&& b) {
      auto v = keys::DecodeTyped(k.substr(prefix.size()));
      if (!v) return true;
      const double value = v->get<double>();
      for (size_t i = 0; i < groups.size(); ++i) {
        uint64_t n = b.and_cardinality(groups[i].members);
        sums[i] += value * static_cast<double>(n);
        counts[i] += n;
      }
      return true;
    });
    if (!s.ok()) return s;
  }
  out->total_count = static_cast<int64_t>(groups.size());
  for (size_t i = static_cast<size_t>(offset); i < groups.size() && out->rows.size() < static_cast<size_t>(q.page_size); ++i) {
    std::vector<json> row;
    if (!q.group_by.empty()) row.push_back(groups[i].key);
    switch (q.function) {
      case NotContactedQuery::Function::kCount: row.push_back(groups[i].members.cardinality()); break;
      case NotContactedQuery::Function::kSum:
        // A whole sum stays an integer (30, not 30.0).
        if (sums[i] == static_cast<double>(static_cast<int64_t>(sums[i])) && std::abs(sums[i]) < 9e15) {
          row.push_back(static_cast<int64_t>(sums[i]));
        } else {
          row.push_back(sums[i]);
        }
        break;
      case NotContactedQuery::Function::kAverage:
        row.push_back(counts[i] ? json(sums[i] / static_cast<double>(counts[i])) : json());
        break;
    }
    out->rows.push_back(std::move(row));
  }
  return Status::Ok();
}

}  // namespace leadflow::views
