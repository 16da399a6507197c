#include "views/status_report.h"

#include <algorithm>
#include <map>
#include <memory>
#include <tuple>
#include <unordered_map>

#include "views/detail/report_sets.h"
#include "views/detail/units.h"
#include "views/keys.h"
#include "views/lead_facts.h"
#include "views/time.h"

namespace leadflow::views {
namespace {

using detail::BitmapFolder;
using detail::LogEntry;
using detail::PairKey;
using keys::Kind;
using keys::Level;
using state::Cf;

int64_t Card(const Roaring& b, const Roaring* universe) {
  return static_cast<int64_t>(universe ? b.and_cardinality(*universe) : b.cardinality());
}

}  // namespace

Status LoadStatuses(const state::Reader& reader, std::string_view org, std::vector<OrgStatus>* out) {
  const std::string prefix = keys::OrgPrefix(org);
  Status failure;
  Status s = reader.Scan(Cf::kStatuses, prefix, keys::PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
    size_t pos = prefix.size();
    auto id = keys::ReadStr(k, &pos);
    OrgStatus st;
    if (!id) {
      failure = Status::Corruption("bad status key");
      return false;
    }
    st.id = std::string(*id);
    failure = StatusRecord::Decode(v, &st.record);
    if (!failure.ok()) return false;
    out->push_back(std::move(st));
    return true;
  });
  if (!s.ok()) return s;
  if (!failure.ok()) return failure;
  std::sort(out->begin(), out->end(), [](const OrgStatus& a, const OrgStatus& b) {
    auto key = [](const OrgStatus& x) {
      return std::make_tuple(!x.record.position.has_value(), x.record.position.value_or(0), x.record.first_seen_ms);
    };
    auto ka = key(a), kb = key(b);
    if (ka != kb) return ka < kb;
    return a.id < b.id;
  });
  return Status::Ok();
}

Status ComputeStatusReport(const state::Reader& reader, std::string_view org, const std::optional<Period>& period,
                           const Roaring* universe, StatusReport* out) {
  *out = StatusReport();
  out->period = period;
  std::vector<OrgStatus> statuses;
  Status s = LoadStatuses(reader, org, &statuses);
  if (!s.ok()) return s;
  std::unordered_map<std::string, StatusRef> refs;
  for (const auto& st : statuses) {
    refs[st.id] = StatusRef{st.id, st.record.upserted ? st.record.label : st.id, st.record.IsDeleted()};
  }
  auto ref = [&refs](const std::string& id) {
    auto it = refs.find(id);
    return it != refs.end() ? it->second : StatusRef{id, id, false};
  };
  std::vector<PairKey> pairs;
  if (!(s = detail::LoadPairs(reader, org, &pairs)).ok()) return s;

  BitmapFolder folder(reader, org);
  std::vector<StatusRow> rows;
  std::vector<TransitionRow> transitions;

  if (!period) {
    for (const auto& st : statuses) {
      StatusRow row{ref(st.id)};
      const std::string subj = keys::StatusSubject(st.id);
      Roaring b;
      if (!(s = folder.Get(Kind::kCurrent, subj, Level::kAll, 0, &b)).ok()) return s;
      row.ended = Card(b, universe);
      if (!(s = folder.Get(Kind::kEntered, subj, Level::kAll, 0, &b)).ok()) return s;
      row.entered = Card(b, universe);
      if (!(s = folder.Get(Kind::kLeft, subj, Level::kAll, 0, &b)).ok()) return s;
      row.left = Card(b, universe);
      rows.push_back(std::move(row));
    }
    for (const auto& p : pairs) {
      Roaring b;
      if (!(s = folder.Get(Kind::kTransition, keys::PairSubject(p.from, p.to), Level::kAll, 0, &b)).ok()) return s;
      int64_t n = Card(b, universe);
      if (n > 0) transitions.push_back({p.from ? std::optional<StatusRef>(ref(*p.from)) : std::nullopt, ref(p.to), n});
    }
  } else {
    const int64_t t0 = period->start_ms, t1 = period->end_ms;
    // Window sets: full days via unit bitmaps, edge days via the log.
    const int64_t d0 = DayOf(t0), d1 = DayOf(t1);
    const int64_t first_full = t0 == DayStartMs(d0) ? d0 : d0 + 1;
    const auto ranges = first_full < d1 ? detail::CoverDays(first_full, d1) : std::vector<detail::UnitRange>{};
    std::vector<LogEntry> edge;
    if (d0 == d1) {
      s = detail::ReadLog(reader, org, d0, t0, t1, &edge);
    } else {
      if (t0 != DayStartMs(d0)) s = detail::ReadLog(reader, org, d0, t0, t1, &edge);
      if (s.ok() && t1 != DayStartMs(d1)) s = detail::ReadLog(reader, org, d1, t0, t1, &edge);
    }
    if (!s.ok()) return s;

    std::vector<std::string> ids;
    for (const auto& st : statuses) ids.push_back(st.id);
    std::unordered_map<std::string, Roaring> x0, x1;
    if (!(s = detail::MembersAt(reader, org, ids, t0, &x0)).ok()) return s;
    if (!(s = detail::MembersAt(reader, org, ids, t1, &x1)).ok()) return s;
    if (universe) {
      for (auto& [id, b] : x0) b &= *universe;
      for (auto& [id, b] : x1) b &= *universe;
    }

    // The full days' folds are the store's, kept between reports
    // (BitmapFolder::FoldShared): never copied, the edge days' leads counted
    // beside them.
    std::shared_ptr<const Roaring> folded;
    auto count = [&](Kind kind, const std::string& subject, const Roaring& edge_leads, int64_t* n) {
      Status f = folder.FoldShared(kind, subject, ranges, BitmapFolder::Op::kOr, &folded);
      if (!f.ok()) return f;
      *n = Card(*folded, universe) + (edge_leads.isEmpty() ? 0 : Card(edge_leads - *folded, universe));
      return Status::Ok();
    };
    for (const auto& st : statuses) {
      StatusRow row{ref(st.id)};
      const std::string subj = keys::StatusSubject(st.id);
      Roaring edge_entered, edge_left;
      for (const LogEntry& e : edge) {
        if (e.to == st.id) edge_entered.add(e.num);
        if (e.from && *e.from == st.id) edge_left.add(e.num);
      }
      if (!(s = count(Kind::kEntered, subj, edge_entered, &row.entered)).ok()) return s;
      if (!(s = count(Kind::kLeft, subj, edge_left, &row.left)).ok()) return s;
      const Roaring& a = x0[st.id];
      const Roaring& b = x1[st.id];
      const int64_t both = static_cast<int64_t>(a.and_cardinality(b));
      row.started = static_cast<int64_t>(a.cardinality());
      row.ended = static_cast<int64_t>(b.cardinality());
      row.gained = row.ended - both;
      row.lost = row.started - both;
      rows.push_back(std::move(row));
    }
    for (const auto& p : pairs) {
      Roaring edge_moved;
      for (const LogEntry& e : edge) {
        if (e.from == p.from && e.to == p.to) edge_moved.add(e.num);
      }
      int64_t n = 0;
      if (!(s = count(Kind::kTransition, keys::PairSubject(p.from, p.to), edge_moved, &n)).ok()) return s;
      if (n > 0) transitions.push_back({p.from ? std::optional<StatusRef>(ref(*p.from)) : std::nullopt, ref(p.to), n});
    }
    // Summary: from = status at T0 (null when created at or after T0), to = status at T1.
    Roaring existed_at_t0;
    for (const auto& [id, b] : x0) existed_at_t0 |= b;
    for (const auto& [to_id, to_set] : x1) {
      if (to_set.isEmpty()) continue;
      int64_t created = static_cast<int64_t>(to_set.cardinality() - to_set.and_cardinality(existed_at_t0));
      if (created > 0) out->summary.push_back({std::nullopt, ref(to_id), created});
      for (const auto& [from_id, from_set] : x0) {
        if (from_id == to_id) continue;
        int64_t n = static_cast<int64_t>(from_set.and_cardinality(to_set));
        if (n > 0) out->summary.push_back({ref(from_id), ref(to_id), n});
      }
    }
  }

  // Rows: non-deleted statuses in order, then deleted ones with a non-zero field.
  for (auto& row : rows) {
    if (!row.status.deleted) out->rows.push_back(row);
  }
  for (auto& row : rows) {
    if (row.status.deleted && (row.started || row.ended || row.gained || row.lost || row.entered || row.left)) {
      out->rows.push_back(row);
    }
  }
  auto order = [](const TransitionRow& a, const TransitionRow& b) {
    if (a.count != b.count) return a.count > b.count;
    if (a.from.has_value() != b.from.has_value()) return !a.from.has_value();
    if (a.from && a.from->label != b.from->label) return a.from->label < b.from->label;
    if (a.to.label != b.to.label) return a.to.label < b.to.label;
    if (a.from && a.from->id != b.from->id) return a.from->id < b.from->id;
    return a.to.id < b.to.id;
  };
  std::sort(transitions.begin(), transitions.end(), order);
  std::sort(out->summary.begin(), out->summary.end(), order);
  out->transitions = std::move(transitions);
  return Status::Ok();
}

}  // namespace leadflow::views
