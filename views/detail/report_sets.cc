#include "views/detail/report_sets.h"

#include <algorithm>

#include "state/record_set_merge.h"
#include "views/lead_facts.h"
#include "views/time.h"

namespace leadflow::views::detail {
namespace {

using keys::Kind;
using keys::Level;
using state::Cf;

static_assert(keys::kChunkSuffixSize == state::kBitmapChunkSuffixBytes,
              "the store's bitmap cache groups chunk keys by their logical key");

// Units of one range looked up one by one (each a hash lookup once cached);
// a longer range (the open-ended years of MembersAt) is first listed by a
// scan of its keys (at the reader's view: what a kept fold is of).
constexpr int64_t kMaxUnitLookups = 400;

// The logical bitmaps stored in [begin, end) of Cf::kBitmaps, in order.
Status ListBitmaps(const state::Reader& reader, const std::string& begin, const std::string& end,
                   std::vector<std::string>* out) {
  return reader.Scan(Cf::kBitmaps, begin, end, [&](std::string_view key, std::string_view) {
    const std::string_view logical = keys::LogicalBitmapKey(key);
    if (out->empty() || out->back() != logical) out->emplace_back(logical);
    return true;
  });
}

// Folds *acc and parts at once: CRoaring's many-way OR/XOR works container
// by container with lazy cardinalities, where folding one by one recomputes
// them at every step (a 90-day report ORs ~60 day bitmaps per status and
// pair). The parts are the store's (shared, read-only): never copied.
Status FoldAll(const std::vector<std::shared_ptr<const Roaring>>& parts, BitmapFolder::Op op, Roaring* acc) {
  std::vector<const roaring_bitmap_t*> inputs;
  inputs.reserve(parts.size() + 1);
  for (const auto& p : parts) {
    if (!p->isEmpty()) inputs.push_back(&p->roaring);
  }
  if (inputs.empty()) return Status::Ok();
  if (!acc->isEmpty()) inputs.push_back(&acc->roaring);
  if (inputs.size() == 1) {
    *acc = Roaring(roaring_bitmap_copy(inputs[0]));
    return Status::Ok();
  }
  roaring_bitmap_t* folded = op == BitmapFolder::Op::kOr ? roaring_bitmap_or_many(inputs.size(), inputs.data())
                                                         : roaring_bitmap_xor_many(inputs.size(), inputs.data());
  if (folded == nullptr) return Status::IoError("out of memory folding bitmaps");
  *acc = Roaring(folded);
  return Status::Ok();
}

}  // namespace

Status GetBitmap(const state::Reader& reader, const std::string& key, Roaring* out) {
  std::shared_ptr<const Roaring> b;
  Status s = reader.GetBitmap(key, &b);
  if (s.ok()) *out = *b;
  return s;
}

// Each unit's bitmap comes whole from the store (Reader::GetBitmap, kept
// decoded between reports); absent units are empty.
Status BitmapFolder::FoldShared(Kind kind, const std::string& subject, const std::vector<UnitRange>& ranges, Op op,
                                std::shared_ptr<const Roaring>* out, const std::vector<std::string>& first) const {
  std::vector<std::string> sources = first;
  for (const auto& r : ranges) {
    if (r.begin >= r.end) continue;
    if (r.end - r.begin <= kMaxUnitLookups) {
      for (int64_t u = r.begin; u < r.end; ++u) sources.push_back(keys::Bitmap(org_, kind, subject, r.level, u));
    } else {
      Status s = ListBitmaps(reader_, keys::Bitmap(org_, kind, subject, r.level, r.begin),
                             keys::Bitmap(org_, kind, subject, r.level, r.end), &sources);
      if (!s.ok()) return s;
    }
  }
  if (sources.empty()) {
    *out = std::make_shared<const Roaring>();
    return Status::Ok();
  }
  if (sources.size() == 1) return reader_.GetBitmap(sources[0], out);  // kept as it is
  return reader_.GetDerivedBitmap(op == Op::kOr ? "or" : "xor", sources, [&](Roaring* folded) {
    std::vector<std::shared_ptr<const Roaring>> parts;
    parts.reserve(sources.size());
    for (const std::string& key : sources) {
      std::shared_ptr<const Roaring> b;
      Status s = reader_.GetBitmap(key, &b);
      if (!s.ok()) return s;
      parts.push_back(std::move(b));
    }
    return FoldAll(parts, op, folded);
  }, out);
}

Status BitmapFolder::Fold(Kind kind, const std::string& subject, const std::vector<UnitRange>& ranges, Op op,
                          Roaring* acc) const {
  std::shared_ptr<const Roaring> folded;
  Status s = FoldShared(kind, subject, ranges, op, &folded);
  if (!s.ok()) return s;
  if (acc->isEmpty()) {
    *acc = *folded;
  } else if (op == Op::kOr) {
    *acc |= *folded;
  } else {
    *acc ^= *folded;
  }
  return Status::Ok();
}

Status BitmapFolder::Get(Kind kind, const std::string& subject, Level level, int64_t unit, Roaring* out) const {
  return GetBitmap(reader_, keys::Bitmap(org_, kind, subject, level, unit), out);
}

Status ReadLog(const state::Reader& reader, std::string_view org, int64_t day, int64_t from_ms, int64_t to_ms,
               std::vector<LogEntry>* out) {
  // The day's hours (keys.h) in order, each a record set sorted by (time,
  // lead number, index): the entries come in time order.
  const std::string prefix = keys::LogDayPrefix(org, day);
  Status failure;
  Status s = reader.Scan(Cf::kLog, prefix, keys::PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
    const std::optional<int64_t> hour_start = keys::LogHourStartMs(k, prefix.size(), day);
    if (!hour_start) {
      failure = Status::Corruption("bad transition log key");
      return false;
    }
    if (*hour_start >= to_ms) return false;
    if (*hour_start + keys::kLogHourMs <= from_ms) return true;
    bool more = true;
    Status walked = state::ForEachRecord(v, [&](std::string_view id, std::string_view value) {
      const keys::LogKeyParts parts = keys::ParseLogId(id);
      if (parts.at_ms >= to_ms) return more = false;
      if (parts.at_ms < from_ms) return true;
      LogEntry e{parts.at_ms, parts.lead_num, std::nullopt, {}};
      if (!DecodeLogValue(value, &e.from, &e.to)) {
        failure = Status::Corruption("bad transition log entry");
        return more = false;
      }
      out->push_back(std::move(e));
      return true;
    });
    if (!walked.ok()) failure = walked;
    return more && walked.ok();
  });
  return s.ok() ? failure : s;
}

Status MembersAt(const state::Reader& reader, std::string_view org, const std::vector<std::string>& status_ids,
                 int64_t t_ms, std::unordered_map<std::string, Roaring>* out, Direction direction) {
  BitmapFolder folder(reader, org);
  const int64_t day = DayOf(t_ms);
  if (direction == Direction::kAuto) {
    // Days and months on each side of the day within its year; the years on
    // either side hold one or two bitmaps each way (the current bitmap on the
    // backward side), so they do not decide.
    const int64_t month = MonthOfDay(day);
    const int64_t before = (day - FirstDayOfMonth(month)) + (month - YearOfDay(day) * 12);
    const int64_t after = (FirstDayOfMonth(month + 1) - day) + ((YearOfDay(day) + 1) * 12 - month - 1);
    direction = after < before ? Direction::kBackward : Direction::kForward;
  }
  const bool backward = direction == Direction::kBackward;
  const auto ranges = backward ? CoverFrom(day) : CoverBefore(day);
  for (const auto& id : status_ids) {
    const std::string subject = keys::StatusSubject(id);
    std::vector<std::string> first;
    if (backward) first.push_back(keys::Bitmap(org, Kind::kCurrent, subject, keys::Level::kAll, 0));
    std::shared_ptr<const Roaring> at_day_start;  // kept between reports (FoldShared)
    Status s = folder.FoldShared(Kind::kFlip, subject, ranges, BitmapFolder::Op::kXor, &at_day_start, first);
    if (!s.ok()) return s;
    (*out)[id] = *at_day_start;
  }
  std::vector<LogEntry> partial;
  Status s = ReadLog(reader, org, day, DayStartMs(day), t_ms, &partial);
  if (!s.ok()) return s;
  // Replaying moves touches only the statuses asked for.
  for (const LogEntry& e : partial) {
    if (e.from) {
      auto it = out->find(*e.from);
      if (it != out->end()) it->second.remove(e.num);
    }
    auto it = out->find(e.to);
    if (it != out->end()) it->second.add(e.num);
  }
  return Status::Ok();
}

Status LoadPairs(const state::Reader& reader, std::string_view org, std::vector<PairKey>* out) {
  const std::string prefix = keys::OrgPrefix(org);
  Status failure;
  Status s = reader.Scan(Cf::kPairs, prefix, keys::PrefixEnd(prefix), [&](std::string_view k, std::string_view) {
    PairKey p;
    if (!DecodeLogValue(k.substr(prefix.size()), &p.from, &p.to)) {
      failure = Status::Corruption("bad pair key");
      return false;
    }
    out->push_back(std::move(p));
    return true;
  });
  return s.ok() ? failure : s;
}

Status LeadsWithTransitions(const state::Reader& reader, std::string_view org, const std::vector<PairKey>& pairs,
                            int64_t t0, int64_t t1, Roaring* out) {
  if (t0 >= t1 || pairs.empty()) return Status::Ok();
  BitmapFolder folder(reader, org);
  const int64_t d0 = DayOf(t0), d1 = DayOf(t1);
  const int64_t first_full = t0 == DayStartMs(d0) ? d0 : d0 + 1;
  const auto ranges = first_full < d1 ? CoverDays(first_full, d1) : std::vector<UnitRange>{};
  for (const auto& p : pairs) {
    Status s = folder.Fold(Kind::kTransition, keys::PairSubject(p.from, p.to), ranges, BitmapFolder::Op::kOr, out);
    if (!s.ok()) return s;
  }
  std::vector<LogEntry> edge;
  Status s;
  if (d0 == d1 || first_full != d0) s = ReadLog(reader, org, d0, t0, t1, &edge);
  if (s.ok() && d1 != d0 && t1 != DayStartMs(d1)) s = ReadLog(reader, org, d1, t0, t1, &edge);
  if (!s.ok()) return s;
  for (const LogEntry& e : edge) {
    for (const auto& p : pairs) {
      if (e.from == p.from && e.to == p.to) {
        out->add(e.num);
        break;
      }
    }
  }
  return Status::Ok();
}

}  // namespace leadflow::views::detail
