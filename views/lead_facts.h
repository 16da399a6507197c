// Lead facts: everything the report indexes know about one lead, derived from
// its record alone. The applier diffs a lead's facts before and after a batch
// and applies only the difference to the bitmaps and the transition log, so a
// late or duplicate event corrects exactly what it changes.
//
// Thread safety: pure functions.
#ifndef LEADFLOW_VIEWS_LEAD_FACTS_H_
#define LEADFLOW_VIEWS_LEAD_FACTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "views/keys.h"
#include "views/records.h"

namespace leadflow::views {

// A transition that changed the lead's status (contract section 1). The
// creation is the first, with from = nullopt.
struct Transition {
  int64_t at_ms;
  std::optional<std::string> from;
  std::string to;
};

// The lead's effective transitions in order: the creation, then every status
// change at or after the creation whose new status differs from the status
// just before it. None for a lead not created yet or deleted. Calls
// fn(at_ms, from, to) for each, from = nullptr for the creation (the
// pointers refer into lead).
template <typename Fn>
void ForEachEffectiveTransition(const LeadRecord& lead, Fn&& fn) {
  if (!lead.created || lead.deleted) return;
  const int64_t created = lead.created->time.at_ms;
  const std::string* current = &lead.created->status_id;
  fn(created, static_cast<const std::string*>(nullptr), *current);
  for (const StatusChange& c : lead.changes) {
    if (c.time.at_ms < created) continue;  // before creation: an anomaly, ignored
    if (c.status_id == *current) continue;  // no-op
    fn(c.time.at_ms, current, c.status_id);
    current = &c.status_id;
  }
}
// The same, as values.
std::vector<Transition> EffectiveTransitions(const LeadRecord& lead);
// The status the last of them moved to (a reference into lead), nullptr
// when there are none.
const std::string* CurrentStatus(const LeadRecord& lead);

// The status ids a lead's facts name, interned: facts hold indexes into it,
// so deriving and comparing a lead's facts builds no strings (only the keys
// of the facts that differ are built, BitmapFactKey, LogFactKey). Facts compared
// with each other must share one StatusNames. A lead has a handful of
// statuses: Id is a linear search.
class StatusNames {
 public:
  uint32_t Id(std::string_view status_id);
  const std::string& Name(uint32_t id) const { return names_[id]; }
  uint32_t size() const { return static_cast<uint32_t>(names_.size()); }

 private:
  std::vector<std::string> names_;
};
inline constexpr uint32_t kNoStatus = 0xFFFFFFFF;  // the "from" of a creation

// A bitmap holding the lead: keys::Bitmap(org, kind, subject, level, unit),
// the subject a status (a) or, for Kind::kTransition, a pair (a -> b).
struct BitmapFact {
  keys::Kind kind;
  keys::Level level;
  uint32_t a = 0, b = 0;
  int64_t unit = 0;
  friend auto operator<=>(const BitmapFact&, const BitmapFact&) = default;
};
// A transition log entry: keys::Log(org, DayOf(at_ms), at_ms, num, index) ->
// EncodeLogValue(from, to).
struct LogFact {
  int64_t at_ms;
  uint32_t index;
  uint32_t from, to;  // from: kNoStatus for the creation
};

struct LeadFacts {
  std::vector<BitmapFact> bitmaps;                  // sorted, unique
  std::vector<LogFact> log;                         // by index (0, 1, ...)
  std::vector<std::pair<uint32_t, uint32_t>> pairs;  // (from, to) of its transitions, sorted, unique
};

LeadFacts DeriveFacts(const LeadRecord& lead, StatusNames* names);
// Sorts facts in BitmapFact's order (kind, level, a, b, unit) and drops
// repeats: DeriveFacts' last step.
void SortUniqueFacts(std::vector<BitmapFact>* facts);

std::string BitmapFactKey(std::string_view org, const BitmapFact& f, const StatusNames& names);
// Appends BitmapFactKey(org, f, names) to *out: no string of its own (the
// applier writes a batch's bitmap operations' keys into one buffer).
void AppendBitmapFactKey(std::string* out, std::string_view org, const BitmapFact& f, const StatusNames& names);
// The same key from the statuses themselves: a, b as BitmapFact's named
// (a is nullptr for a creation's null "from"; b only for kTransition).
void AppendBitmapKeyOf(std::string* out, std::string_view org, keys::Kind kind, const std::string* a,
                       const std::string* b, keys::Level level, int64_t unit);
std::string LogFactKey(std::string_view org, uint32_t lead_num, const LogFact& f);
std::string LogFactValue(const LogFact& f, const StatusNames& names);
std::string PairFactKey(std::string_view org, std::pair<uint32_t, uint32_t> pair, const StatusNames& names);

// Log values: the transition's from (empty marker for null) and to.
std::string EncodeLogValue(const std::optional<std::string>& from, std::string_view to);
// Returns false when malformed.
bool DecodeLogValue(std::string_view value, std::optional<std::string>* from, std::string* to);

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_LEAD_FACTS_H_
