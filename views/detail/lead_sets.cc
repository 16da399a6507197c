#include "views/detail/lead_sets.h"

#include <charconv>
#include <cmath>

#include "state/bitmap_merge.h"
#include "state/entry_set_merge.h"
#include "views/ascii.h"
#include "views/detail/report_sets.h"
#include "views/detail/units.h"
#include "views/keys.h"
#include "views/lead_attributes.h"
#include "views/records.h"
#include "views/status_report.h"
#include "views/time.h"

namespace leadflow::views::detail {
namespace {

using nlohmann::json;
using Op = LeadCondition::Op;
using state::Cf;

std::string Text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

std::optional<double> Number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

bool IsNegative(Op op) { return op == Op::kNeq || op == Op::kNotIn; }

// A range [lo, hi] over one ordered domain; a missing end is unbounded.
template <typename T>
struct Range {
  std::optional<T> lo, hi;
  bool lo_inclusive = true, hi_inclusive = true;
};

template <typename T>
Range<T> RangeOf(Op op, const std::vector<T>& v) {
  Range<T> r;
  switch (op) {
    case Op::kLt: r.hi = v[0]; r.hi_inclusive = false; break;
    case Op::kLe: r.hi = v[0]; break;
    case Op::kGt: r.lo = v[0]; r.lo_inclusive = false; break;
    case Op::kGe: r.lo = v[0]; break;
    default: r.lo = v[0]; r.hi = v[1]; break;  // between
  }
  return r;
}

template <typename T>
bool InRange(const Range<T>& r, const T& x) {
  if (r.lo && (r.lo_inclusive ? x < *r.lo : !(*r.lo < x))) return false;
  if (r.hi && (r.hi_inclusive ? *r.hi < x : !(x < *r.hi))) return false;
  return true;
}

}  // namespace

bool LikeMatch(std::string_view value, std::string_view pattern) {
  // Iterative wildcard match with backtracking to the last %.
  size_t v = 0, p = 0, star = std::string_view::npos, mark = 0;
  while (v < value.size()) {
    if (p < pattern.size() && pattern[p] == '%') {
      star = p++;
      mark = v;
    } else if (p < pattern.size() && LowerAscii(pattern[p]) == LowerAscii(value[v])) {
      ++p;
      ++v;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

LeadSets::LeadSets(const state::Reader& reader, std::string_view org) : reader_(reader), org_(org) {}

Status LeadSets::Init() {
  std::vector<OrgStatus> statuses;
  Status s = LoadStatuses(reader_, org_, &statuses);
  if (!s.ok()) return s;
  for (const auto& st : statuses) {
    labels_[st.id] = st.record.upserted ? st.record.label : st.id;
    status_order_.push_back(st.id);
  }
  return Status::Ok();
}

Status LeadSets::Bitmap(const std::string& key, Roaring* out) const { return GetBitmap(reader_, key, out); }

Status LeadSets::ScanBitmaps(const std::string& begin, const std::string& end,
                             const std::function<bool(std::string_view, Roaring&&)>& fn) const {
  // Stored chunks of one logical key are contiguous: gather them, and hand
  // fn each logical key once with the union of its chunks.
  Status failure;
  std::string current;
  Roaring acc;
  bool have = false, stopped = false;
  Status s = reader_.Scan(Cf::kBitmaps, begin, end, [&](std::string_view k, std::string_view v) {
    Roaring b;
    if (!(failure = state::DecodeBitmapChunk(v, &b)).ok()) return false;
    const std::string_view logical = keys::LogicalBitmapKey(k);
    if (have && logical != current) {
      if (!fn(current, std::move(acc))) {
        stopped = true;
        return false;
      }
      acc = Roaring();
      have = false;
    }
    if (!have) {
      current.assign(logical);
      have = true;
      acc = std::move(b);
    } else {
      acc |= b;
    }
    return true;
  });
  if (!s.ok()) return s;
  if (!failure.ok()) return failure;
  if (have && !stopped) fn(current, std::move(acc));
  return Status::Ok();
}

Status LeadSets::Universe(Roaring* out) const { return Bitmap(keys::UniverseBitmap(org_), out); }

Status LeadSets::Condition(const LeadCondition& c, const Roaring& universe, Roaring* out) const {
  const std::string attr = NormalizeColumn(c.column);
  switch (FixedColumnOf(attr)) {
    case FixedColumn::kProspectId: return ProspectIdCondition(c, universe, out);
    case FixedColumn::kProspectStage: return StageCondition(c, universe, out);
    case FixedColumn::kCreatedOn:
    case FixedColumn::kModifiedOn:
    case FixedColumn::kActivityDateMax: {
      Roaring has;
      Status s = Bitmap(keys::HasBitmap(org_, attr), &has);
      return s.ok() ? DateCondition(attr, c, has, out) : s;
    }
    default: return ValueCondition(attr, c, out);
  }
}

Status LeadSets::StageCondition(const LeadCondition& c, const Roaring& universe, Roaring* out) const {
  std::vector<std::string> texts;
  for (const auto& v : c.values) texts.push_back(Text(v));
  Roaring matched;
  for (const auto& [id, label] : labels_) {
    bool hit = false;
    switch (c.op) {
      case Op::kEq: case Op::kIn: case Op::kNeq: case Op::kNotIn:
        hit = std::find(texts.begin(), texts.end(), label) != texts.end();
        break;
      case Op::kLike: hit = LikeMatch(label, texts[0]); break;
      default: hit = InRange(RangeOf(c.op, texts), label); break;
    }
    if (!hit) continue;
    Roaring b;
    Status s = Bitmap(keys::Bitmap(org_, keys::Kind::kCurrent, keys::StatusSubject(id), keys::Level::kAll, 0), &b);
    if (!s.ok()) return s;
    matched |= b;
  }
  *out = IsNegative(c.op) ? universe - matched : matched;
  return Status::Ok();
}

Status LeadSets::ProspectIdCondition(const LeadCondition& c, const Roaring& universe, Roaring* out) const {
  Roaring matched;
  if (c.op == Op::kEq || c.op == Op::kIn || IsNegative(c.op)) {
    for (const auto& v : c.values) {
      std::string bytes;
      Status s = reader_.Get(Cf::kLeads, keys::Lead(org_, Text(v)), &bytes);
      if (s.IsNotFound()) continue;
      if (!s.ok()) return s;
      LeadRecord rec;
      if (!(s = LeadRecord::Decode(bytes, &rec)).ok()) return s;
      matched.add(rec.num);
    }
    *out = IsNegative(c.op) ? universe - matched : matched;
    return Status::Ok();
  }
  // like and ranges on ProspectID read the id of every lead number (a
  // documented fallback: lead ids are not indexed by value).
  std::vector<std::string> texts;
  for (const auto& v : c.values) texts.push_back(Text(v));
  const std::string prefix = keys::OrgPrefix(org_);
  Status s = reader_.Scan(Cf::kLeadIds, prefix, keys::PrefixEnd(prefix), [&](std::string_view k, std::string_view id) {
    bool hit = c.op == Op::kLike ? LikeMatch(id, texts[0]) : InRange(RangeOf(c.op, texts), std::string(id));
    if (hit) matched.add(keys::ReadU32(k, prefix.size()));
    return true;
  });
  *out = matched & universe;
  return s;
}

Status LeadSets::DateCondition(const std::string& attr, const LeadCondition& c, const Roaring& has,
                               Roaring* out) const {
  if (c.op == Op::kLike) return Status::InvalidArgument("like is not supported on the date column " + c.column);
  std::vector<int64_t> at;
  for (const auto& v : c.values) {
    auto ms = ParseLsqDate(Text(v));
    if (!ms) return Status::InvalidArgument("'" + Text(v) + "' is not a date for column " + c.column);
    at.push_back(*ms);
  }
  // Compared at whole seconds: a bound names its whole second.
  const int64_t kFar = INT64_MAX / 4;
  Roaring matched;
  Status s;
  switch (c.op) {
    case Op::kEq: case Op::kIn: case Op::kNeq: case Op::kNotIn:
      for (int64_t t : at) {
        Roaring b;
        if (!(s = DateRange(attr, t, t + 999, &b)).ok()) return s;
        matched |= b;
      }
      *out = IsNegative(c.op) ? has - matched : matched;
      return Status::Ok();
    case Op::kLt: return DateRange(attr, -kFar, at[0] - 1, out);
    case Op::kLe: return DateRange(attr, -kFar, at[0] + 999, out);
    case Op::kGt: return DateRange(attr, at[0] + 1000, kFar, out);
    case Op::kGe: return DateRange(attr, at[0], kFar, out);
    default: return DateRange(attr, at[0], at[1] + 999, out);
  }
}

Status LeadSets::ValueCondition(const std::string& attr, const LeadCondition& c, Roaring* out) const {
  const std::string prefix = keys::ValuePrefix(org_, attr);
  Roaring matched;
  Status s;
  if (c.op == Op::kEq || c.op == Op::kIn || IsNegative(c.op)) {
    for (const auto& v : c.values) {
      const std::string text = Text(v);
      std::vector<std::string> typed = {keys::TypedString(text)};
      if (auto n = Number(text)) typed.push_back(keys::TypedNumber(*n));
      if (text == "true" || text == "false") typed.push_back(keys::TypedBool(text == "true"));
      for (const auto& t : typed) {
        Roaring b;
        if (!(s = Bitmap(prefix + t, &b)).ok()) return s;
        matched |= b;
      }
    }
    if (IsNegative(c.op)) {
      Roaring has;
      if (!(s = Bitmap(keys::HasBitmap(org_, attr), &has)).ok()) return s;
      matched = has - matched;
    }
    *out = std::move(matched);
    return Status::Ok();
  }
  std::vector<std::string> texts;
  for (const auto& v : c.values) texts.push_back(Text(v));
  if (c.op == Op::kLike) {
    s = ScanBitmaps(prefix + "N", prefix + "T", [&](std::string_view k, Roaring&& b) {
      auto value = keys::DecodeTyped(k.substr(prefix.size()));
      if (value && LikeMatch(Text(*value), texts[0])) matched |= b;
      return true;
    });
    *out = std::move(matched);
    return s;
  }
  std::vector<double> numbers;
  std::vector<int64_t> dates;
  for (const auto& t : texts) {
    if (auto n = Number(t)) numbers.push_back(*n);
    if (auto d = ParseLsqDate(t)) dates.push_back(*d);
  }
  if (numbers.size() == texts.size()) {
    Range<double> r = RangeOf(c.op, numbers);
    // Bounds on stored chunk keys: an exclusive low bound and an inclusive
    // high bound step over every chunk of that value's bitmap.
    std::string begin = prefix + "N", end = prefix + "O";
    if (r.lo) {
      begin = prefix + keys::TypedNumber(*r.lo);
      if (!r.lo_inclusive) begin = keys::BitmapChunksEnd(begin);
    }
    if (r.hi) {
      end = prefix + keys::TypedNumber(*r.hi);
      if (r.hi_inclusive) end = keys::BitmapChunksEnd(end);
    }
    s = ScanBitmaps(begin, end, [&](std::string_view, Roaring&& b) {
      matched |= b;
      return true;
    });
    *out = std::move(matched);
    return s;
  }
  if (dates.size() == texts.size()) return DateCondition(attr, c, Roaring(), out);
  Range<std::string> r = RangeOf(c.op, texts);
  s = ScanBitmaps(prefix + "S", prefix + "T", [&](std::string_view k, Roaring&& b) {
    auto value = keys::DecodeTyped(k.substr(prefix.size()));
    if (value && InRange(r, value->get<std::string>())) matched |= b;
    return true;
  });
  *out = std::move(matched);
  return s;
}

Status LeadSets::DateRange(const std::string& attr, int64_t from_ms, int64_t to_ms, Roaring* out) const {
  *out = Roaring();
  if (from_ms > to_ms) return Status::Ok();
  // Whole days inside [from, to] come from day bitmaps; the partial days at
  // the edges from the exact entries.
  const int64_t d0 = DayOf(from_ms), d1 = DayOf(to_ms);
  const int64_t first_full = from_ms == DayStartMs(d0) ? d0 : d0 + 1;
  const int64_t last_full = to_ms == DayStartMs(d1 + 1) - 1 ? d1 : d1 - 1;
  auto exact = [&](int64_t lo, int64_t hi) -> Status {  // inclusive, within one day
    if (lo > hi) return Status::Ok();
    std::string entries;
    Status r = reader_.Get(Cf::kAttrIndex, keys::DateEntriesDay(org_, attr, DayOf(lo)), &entries);
    if (r.IsNotFound()) return Status::Ok();
    if (!r.ok()) return r;
    if (entries.size() % state::kEntryBytes != 0) return Status::Corruption("bad date entries");
    // Sorted by instant: from the first at or after lo.
    const size_t n = entries.size() / state::kEntryBytes;
    size_t first = 0, count = n;
    while (count > 0) {
      const size_t step = count / 2;
      if (keys::DateEntryInstant(std::string_view(entries).substr((first + step) * state::kEntryBytes)) < lo) {
        first += step + 1;
        count -= step + 1;
      } else {
        count = step;
      }
    }
    for (size_t i = first; i < n; ++i) {
      const std::string_view e = std::string_view(entries).substr(i * state::kEntryBytes, state::kEntryBytes);
      if (keys::DateEntryInstant(e) > hi) break;
      out->add(keys::DateEntryLead(e));
    }
    return Status::Ok();
  };
  if (first_full > last_full) {  // within a day, or the ends of two neighbouring days
    if (d0 == d1) return exact(from_ms, to_ms);
    Status s = exact(from_ms, DayStartMs(d0 + 1) - 1);
    return s.ok() ? exact(DayStartMs(d1), to_ms) : s;
  }
  Status s = ScanBitmaps(keys::DateDayBitmap(org_, attr, first_full), keys::DateDayBitmap(org_, attr, last_full + 1),
                         [&](std::string_view, Roaring&& b) {
                           *out |= b;
                           return true;
                         });
  if (s.ok()) s = exact(from_ms, DayStartMs(first_full) - 1);
  if (s.ok()) s = exact(DayStartMs(last_full + 1), to_ms);
  return s;
}

Status LeadSets::Owners(const UserFilter& filter, Roaring* out) const {
  // Candidate users: every upserted user and every owner of a lead.
  std::map<std::string, json> users;  // id -> fields
  const std::string prefix = keys::OrgPrefix(org_);
  Status failure;
  Status s = reader_.Scan(Cf::kUsers, prefix, keys::PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
    size_t pos = prefix.size();
    auto id = keys::ReadStr(k, &pos);
    UserRecord rec;
    if (!id || !(failure = UserRecord::Decode(v, &rec)).ok()) return false;
    users[std::string(*id)] = rec.fields;
    return true;
  });
  if (!s.ok() || !failure.ok()) return s.ok() ? failure : s;
  std::map<std::string, Roaring> owned;
  const std::string owner_prefix = keys::ValuePrefix(org_, "ownerid");
  s = ScanBitmaps(owner_prefix + "S", owner_prefix + "T", [&](std::string_view k, Roaring&& b) {
    auto id = keys::DecodeTyped(k.substr(owner_prefix.size()));
    if (id) {
      users.emplace(id->get<std::string>(), json::object());
      owned[id->get<std::string>()] = std::move(b);
    }
    return true;
  });
  if (!s.ok()) return s;

  auto attribute = [](const std::string& id, const json& fields, const std::string& name) -> std::optional<std::string> {
    const std::string n = NormalizeColumn(name);
    if (n == "userid") return id;
    if (!fields.is_object()) return std::nullopt;
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      if (NormalizeColumn(it.key()) == n && !it->is_null()) return Text(*it);
    }
    return std::nullopt;
  };
  auto condition = [&](const std::string& id, const json& fields, const UserCondition& c) {
    auto value = attribute(id, fields, c.attribute);
    if (!value) return false;
    if (c.op == UserCondition::Op::kLike) return LikeMatch(*value, "%" + c.value + "%");
    bool any = false;
    size_t start = 0;
    while (start <= c.value.size()) {
      size_t comma = c.value.find(',', start);
      std::string item = c.value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      any = any || item == *value;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return c.op == UserCondition::Op::kEq ? any : !any;
  };
  *out = Roaring();
  for (const auto& [id, fields] : users) {
    std::optional<bool> result;
    for (const auto& g : filter.groups) {
      std::optional<bool> group;
      for (const auto& c : g.conditions) {
        bool r = condition(id, fields, c);
        group = !group ? r : (g.conditions_and ? (*group && r) : (*group || r));
      }
      bool gr = group.value_or(true);
      result = !result ? gr : (filter.groups_and ? (*result && gr) : (*result || gr));
    }
    if (result.value_or(true)) {
      auto it = owned.find(id);
      if (it != owned.end()) *out |= it->second;
    }
  }
  return Status::Ok();
}

Status LeadSets::Contacted(const std::vector<int64_t>& codes, const std::optional<InstantRange>& window,
                           Roaring* out) const {
  *out = Roaring();
  std::vector<int64_t> list = codes.empty() ? std::vector<int64_t>{keys::kAnyActivity} : codes;
  Status s;
  if (!window) {
    for (int64_t code : list) {
      Roaring b;
      if (!(s = Bitmap(keys::ActivityBitmap(org_, code, keys::Level::kAll, 0), &b)).ok()) return s;
      *out |= b;
    }
    return Status::Ok();
  }
  if (window->from_ms > window->to_ms) return Status::Ok();
  const int64_t t0 = window->from_ms, t1 = window->to_ms + 1;  // half-open
  const int64_t d0 = DayOf(t0), d1 = DayOf(t1);
  const int64_t first_full = t0 == DayStartMs(d0) ? d0 : d0 + 1;
  const auto ranges = first_full < d1 ? CoverDays(first_full, d1) : std::vector<UnitRange>{};
  for (int64_t code : list) {
    for (const auto& r : ranges) {
      s = ScanBitmaps(keys::ActivityBitmap(org_, code, r.level, r.begin), keys::ActivityBitmap(org_, code, r.level, r.end),
                      [&](std::string_view, Roaring&& b) {
                        *out |= b;
                        return true;
                      });
      if (!s.ok()) return s;
    }
  }
  // The day's activities come in one value per batch that logged some
  // (keys::ActivityLogBatch), each sorted by time.
  auto edge = [&](int64_t day) -> Status {
    const std::string prefix = keys::ActivityDayPrefix(org_, day);
    std::vector<keys::ActivityEntry> entries;
    bool malformed = false;
    Status scanned = reader_.Scan(Cf::kActivityLog, prefix, keys::PrefixEnd(prefix), [&](std::string_view, std::string_view v) {
      entries.clear();
      if (!keys::ReadActivityEntries(v, &entries)) {
        malformed = true;
        return false;
      }
      auto it = std::lower_bound(entries.begin(), entries.end(), t0,
                                 [](const keys::ActivityEntry& e, int64_t t) { return e.at_ms < t; });
      for (; it != entries.end() && it->at_ms < t1; ++it) {
        if (codes.empty() || std::find(codes.begin(), codes.end(), it->code) != codes.end()) out->add(it->lead_num);
      }
      return true;
    });
    if (scanned.ok() && malformed) return Status::Corruption("malformed activity log value of day " + std::to_string(day));
    return scanned;
  };
  if (d0 == d1 || first_full != d0) s = edge(d0);
  if (s.ok() && d1 != d0 && t1 != DayStartMs(d1)) s = edge(d1);
  return s;
}

}  // namespace leadflow::views::detail
