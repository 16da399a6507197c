#include "views/lead_facts.h"

#include <algorithm>
#include <cstdint>

#include "views/keys.h"
#include "views/time.h"

namespace leadflow::views {

const std::string* CurrentStatus(const LeadRecord& lead) {
  const std::string* current = nullptr;
  ForEachEffectiveTransition(lead, [&](int64_t, const std::string*, const std::string& to) { current = &to; });
  return current;
}

std::vector<Transition> EffectiveTransitions(const LeadRecord& lead) {
  std::vector<Transition> out;
  ForEachEffectiveTransition(lead, [&](int64_t at_ms, const std::string* from, const std::string& to) {
    out.push_back({at_ms, from ? std::optional<std::string>(*from) : std::nullopt, to});
  });
  return out;
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

uint32_t StatusNames::Id(std::string_view status_id) {
  for (uint32_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == status_id) return i;
  }
  names_.emplace_back(status_id);
  return static_cast<uint32_t>(names_.size() - 1);
}

namespace {

std::optional<std::string> FromName(uint32_t from, const StatusNames& names) {
  if (from == kNoStatus) return std::nullopt;
  return names.Name(from);
}

struct IdTransition {
  int64_t at_ms;
  uint32_t from, to;
};

// The status after every transition with at_ms < t_ms; kNoStatus before the
// creation.
uint32_t IdStatusAt(const std::vector<IdTransition>& trs, int64_t t_ms) {
  uint32_t status = kNoStatus;
  for (const IdTransition& t : trs) {
    if (t.at_ms >= t_ms) break;
    status = t.to;
  }
  return status;
}

}  // namespace

// A changed lead's facts are sorted twice per batch (before and
// after), ~18 per transition: as packed 128-bit keys, whose comparison does
// not branch field by field (the field-wise sort was ~2% of a catch-up).
void SortUniqueFacts(std::vector<BitmapFact>* facts) {
  constexpr uint64_t kIdMask = (uint64_t{1} << 24) - 1;  // kNoStatus packs as kIdMask, above every id
  auto packed_id = [](uint32_t id) { return id == kNoStatus ? kIdMask : uint64_t{id}; };
  for (const BitmapFact& f : *facts) {
    if ((f.a != kNoStatus && f.a >= kIdMask) || (f.b != kNoStatus && f.b >= kIdMask)) {
      std::sort(facts->begin(), facts->end());  // 16M statuses on one lead: never in practice
      facts->erase(std::unique(facts->begin(), facts->end()), facts->end());
      return;
    }
  }
  using Key = unsigned __int128;
  std::vector<Key> packed;
  packed.reserve(facts->size());
  for (const BitmapFact& f : *facts) {
    const uint64_t hi = uint64_t{static_cast<uint8_t>(f.kind)} << 56 | uint64_t{static_cast<uint8_t>(f.level)} << 48 |
                        packed_id(f.a) << 24 | packed_id(f.b);
    const uint64_t lo = static_cast<uint64_t>(f.unit) ^ (uint64_t{1} << 63);  // signed order as unsigned
    packed.push_back(Key{hi} << 64 | lo);
  }
  std::sort(packed.begin(), packed.end());
  packed.erase(std::unique(packed.begin(), packed.end()), packed.end());
  auto unpack_id = [](uint64_t v) { return v == kIdMask ? kNoStatus : static_cast<uint32_t>(v); };
  facts->clear();
  for (const Key k : packed) {
    const auto hi = static_cast<uint64_t>(k >> 64);
    const auto lo = static_cast<uint64_t>(k);
    facts->push_back({static_cast<keys::Kind>(static_cast<char>(hi >> 56)),
                      static_cast<keys::Level>(static_cast<char>((hi >> 48) & 0xFF)), unpack_id((hi >> 24) & kIdMask),
                      unpack_id(hi & kIdMask), static_cast<int64_t>(lo ^ (uint64_t{1} << 63))});
  }
}

LeadFacts DeriveFacts(const LeadRecord& lead, StatusNames* names) {
  LeadFacts facts;
  std::vector<IdTransition> trs;
  ForEachEffectiveTransition(lead, [&](int64_t at_ms, const std::string* from, const std::string& to) {
    trs.push_back({at_ms, from ? trs.back().to : kNoStatus, names->Id(to)});
  });
  if (trs.empty()) return facts;

  using keys::Kind;
  using keys::Level;
  auto& bitmaps = facts.bitmaps;
  bitmaps.reserve(1 + trs.size() * 16);
  bitmaps.push_back({Kind::kCurrent, Level::kAll, trs.back().to, 0, 0});
  facts.log.reserve(trs.size());
  for (uint32_t i = 0; i < trs.size(); ++i) {
    const IdTransition& t = trs[i];
    const int64_t day = DayOf(t.at_ms);
    auto add_unit = [&](Level level, int64_t unit) {
      bitmaps.push_back({Kind::kEntered, level, t.to, 0, unit});
      bitmaps.push_back({Kind::kTransition, level, t.from, t.to, unit});
      if (t.from != kNoStatus) bitmaps.push_back({Kind::kLeft, level, t.from, 0, unit});
    };
    add_unit(Level::kAll, 0);
    add_unit(Level::kYear, YearOfDay(day));
    add_unit(Level::kMonth, MonthOfDay(day));
    add_unit(Level::kDay, day);
    facts.log.push_back({t.at_ms, i, t.from, t.to});
    facts.pairs.emplace_back(t.from, t.to);
  }

  // Flips: per level, each unit holding a transition whose start and end
  // statuses differ flips the lead in both statuses.
  struct LevelSpec {
    Level level;
    int64_t (*unit_of_day)(int64_t day);
    int64_t (*first_day)(int64_t unit);
  };
  static constexpr LevelSpec kLevels[] = {
      {Level::kYear, &YearOfDay, &FirstDayOfYear},
      {Level::kMonth, &MonthOfDay, &FirstDayOfMonth},
      {Level::kDay, [](int64_t day) { return day; }, [](int64_t unit) { return unit; }},
  };
  std::vector<int64_t> units;
  for (const LevelSpec& spec : kLevels) {
    units.clear();
    for (const IdTransition& t : trs) units.push_back(spec.unit_of_day(DayOf(t.at_ms)));
    std::sort(units.begin(), units.end());
    units.erase(std::unique(units.begin(), units.end()), units.end());
    for (int64_t unit : units) {
      const uint32_t before = IdStatusAt(trs, DayStartMs(spec.first_day(unit)));
      const uint32_t after = IdStatusAt(trs, DayStartMs(spec.first_day(unit + 1)));
      if (before == after) continue;
      if (before != kNoStatus) bitmaps.push_back({Kind::kFlip, spec.level, before, 0, unit});
      if (after != kNoStatus) bitmaps.push_back({Kind::kFlip, spec.level, after, 0, unit});
    }
  }
  SortUniqueFacts(&bitmaps);
  std::sort(facts.pairs.begin(), facts.pairs.end());
  facts.pairs.erase(std::unique(facts.pairs.begin(), facts.pairs.end()), facts.pairs.end());
  return facts;
}

std::string BitmapFactKey(std::string_view org, const BitmapFact& f, const StatusNames& names) {
  std::string k;
  AppendBitmapFactKey(&k, org, f, names);
  return k;
}

void AppendBitmapFactKey(std::string* out, std::string_view org, const BitmapFact& f, const StatusNames& names) {
  const bool pair = f.kind == keys::Kind::kTransition;
  AppendBitmapKeyOf(out, org, f.kind, pair && f.a == kNoStatus ? nullptr : &names.Name(f.a),
                    pair ? &names.Name(f.b) : nullptr, f.level, f.unit);
}

void AppendBitmapKeyOf(std::string* out, std::string_view org, keys::Kind kind, const std::string* a,
                       const std::string* b, keys::Level level, int64_t unit) {
  // keys::Bitmap(org, kind, subject, level, unit), the subject
  // keys::StatusSubject(a) or, for a transition, keys::PairSubject(a, b),
  // written in place (tests/views/lead_facts_test.cc holds them equal).
  out->append(org);
  out->push_back('\0');
  out->push_back(static_cast<char>(kind));
  if (kind == keys::Kind::kTransition) {
    if (a == nullptr) {
      out->append("\xFF\xFF", 2);  // a creation's null "from"
    } else {
      keys::AppendStr(out, *a);
    }
    keys::AppendStr(out, *b);
  } else {
    keys::AppendStr(out, *a);
  }
  out->push_back(static_cast<char>(level));
  keys::AppendI64(out, unit);
}

std::string LogFactKey(std::string_view org, uint32_t lead_num, const LogFact& f) {
  return keys::Log(org, DayOf(f.at_ms), f.at_ms, lead_num, f.index);
}

std::string LogFactValue(const LogFact& f, const StatusNames& names) {
  return EncodeLogValue(FromName(f.from, names), names.Name(f.to));
}

std::string PairFactKey(std::string_view org, std::pair<uint32_t, uint32_t> pair, const StatusNames& names) {
  return keys::Pair(org, FromName(pair.first, names), names.Name(pair.second));
}

}  // namespace leadflow::views
