#include "views/lead_facts.h"

#include "views/keys.h"
#include "views/time.h"

namespace leadflow::views {

std::vector<Transition> EffectiveTransitions(const LeadRecord& lead) {
  std::vector<Transition> out;
  if (!lead.created || lead.deleted) return out;
  const int64_t created = lead.created->time.at_ms;
  out.push_back({created, std::nullopt, lead.created->status_id});
  for (const StatusChange& c : lead.changes) {
    if (c.time.at_ms < created) continue;  // before creation: an anomaly, ignored
    if (c.status_id == out.back().to) continue;  // no-op
    out.push_back({c.time.at_ms, out.back().to, c.status_id});
  }
  return out;
}

const std::string* StatusAt(const std::vector<Transition>& transitions, int64_t t_ms) {
  const std::string* status = nullptr;
  for (const Transition& t : transitions) {
    if (t.at_ms >= t_ms) break;
    status = &t.to;
  }
  return status;
}

std::string EncodeLogValue(const std::optional<std::string>& from, std::string_view to) {
  return keys::PairSubject(from, to);
}

bool DecodeLogValue(std::string_view value, std::optional<std::string>* from, std::string* to) {
  size_t pos = 0;
  if (value.size() >= 2 && value[0] == '\xFF' && value[1] == '\xFF') {
    from->reset();
    pos = 2;
  } else {
    auto f = keys::ReadStr(value, &pos);
    if (!f) return false;
    *from = std::string(*f);
  }
  auto t = keys::ReadStr(value, &pos);
  if (!t) return false;
  *to = std::string(*t);
  return true;
}

namespace {

// Unit boundaries of one calendar level, as day numbers.
struct LevelSpec {
  keys::Level level;
  int64_t (*unit_of_day)(int64_t day);
  int64_t (*first_day)(int64_t unit);
};

int64_t DayUnit(int64_t day) { return day; }
int64_t DayFirst(int64_t unit) { return unit; }

const LevelSpec kLevels[] = {
    {keys::Level::kYear, &YearOfDay, &FirstDayOfYear},
    {keys::Level::kMonth, &MonthOfDay, &FirstDayOfMonth},
    {keys::Level::kDay, &DayUnit, &DayFirst},
};

}  // namespace

LeadFacts DeriveFacts(std::string_view org, const LeadRecord& lead) {
  LeadFacts facts;
  std::vector<Transition> trs = EffectiveTransitions(lead);
  if (trs.empty()) return facts;

  using keys::Kind;
  using keys::Level;
  facts.bitmap_keys.insert(keys::Bitmap(org, Kind::kCurrent, keys::StatusSubject(trs.back().to), Level::kAll, 0));

  for (uint32_t i = 0; i < trs.size(); ++i) {
    const Transition& t = trs[i];
    const int64_t day = DayOf(t.at_ms);
    const std::string to_subject = keys::StatusSubject(t.to);
    const std::string pair_subject = keys::PairSubject(t.from, t.to);
    const std::string from_subject = t.from ? keys::StatusSubject(*t.from) : std::string();

    auto add_unit = [&](Level level, int64_t unit) {
      facts.bitmap_keys.insert(keys::Bitmap(org, Kind::kEntered, to_subject, level, unit));
      facts.bitmap_keys.insert(keys::Bitmap(org, Kind::kTransition, pair_subject, level, unit));
      if (t.from) facts.bitmap_keys.insert(keys::Bitmap(org, Kind::kLeft, from_subject, level, unit));
    };
    add_unit(Level::kAll, 0);
    for (const LevelSpec& spec : kLevels) add_unit(spec.level, spec.unit_of_day(day));

    facts.log.emplace(keys::Log(org, day, t.at_ms, lead.num, i), EncodeLogValue(t.from, t.to));
    facts.pairs.insert(keys::Pair(org, t.from, t.to));
  }

  // Flips: per level, each unit holding a transition whose start and end
  // statuses differ flips the lead in both statuses.
  for (const LevelSpec& spec : kLevels) {
    std::set<int64_t> units;
    for (const Transition& t : trs) units.insert(spec.unit_of_day(DayOf(t.at_ms)));
    for (int64_t unit : units) {
      const std::string* before = StatusAt(trs, DayStartMs(spec.first_day(unit)));
      const std::string* after = StatusAt(trs, DayStartMs(spec.first_day(unit + 1)));
      if ((before == nullptr) == (after == nullptr) && (before == nullptr || *before == *after)) continue;
      if (before) facts.bitmap_keys.insert(keys::Bitmap(org, Kind::kFlip, keys::StatusSubject(*before), spec.level, unit));
      if (after) facts.bitmap_keys.insert(keys::Bitmap(org, Kind::kFlip, keys::StatusSubject(*after), spec.level, unit));
    }
  }
  facts.bitmap_keys.Finish();
  facts.pairs.Finish();
  return facts;
}

}  // namespace leadflow::views
