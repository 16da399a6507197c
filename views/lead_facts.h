// Lead facts: everything the report indexes know about one lead, derived from
// its record alone. The applier diffs a lead's facts before and after a batch
// and applies only the difference to the bitmaps and the transition log, so a
// late or duplicate event corrects exactly what it changes.
//
// Thread safety: pure functions.
#ifndef LEADFLOW_VIEWS_LEAD_FACTS_H_
#define LEADFLOW_VIEWS_LEAD_FACTS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "views/detail/key_set.h"
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
// just before it. Empty for a lead not created yet or deleted.
std::vector<Transition> EffectiveTransitions(const LeadRecord& lead);

// status_at(t): the status after every transition with at_ms < t; nullptr
// before the creation. transitions must come from EffectiveTransitions.
const std::string* StatusAt(const std::vector<Transition>& transitions, int64_t t_ms);

struct LeadFacts {
  detail::KeySet bitmap_keys;                    // bitmaps (keys::Bitmap) holding the lead
  std::map<std::string, std::string> log;        // keys::Log -> EncodeLogValue
  detail::KeySet pairs;                          // keys::Pair of its transitions
};

LeadFacts DeriveFacts(std::string_view org, const LeadRecord& lead);

// Log values: the transition's from (empty marker for null) and to.
std::string EncodeLogValue(const std::optional<std::string>& from, std::string_view to);
// Returns false when malformed.
bool DecodeLogValue(std::string_view value, std::optional<std::string>* from, std::string* to);

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_LEAD_FACTS_H_
