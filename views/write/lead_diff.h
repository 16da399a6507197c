// LeadDiff: what one lead's changes in a batch do to the views, as a pure
// function of the lead as stored before the batch and its record after it:
// the bitmap memberships it gains and loses, the transition log entries and
// date-index entries to put and delete, its row.
//
// Leads are independent of each other here, so the applier diffs the leads
// of a batch in parallel (views/detail/worker_pool.h) and merges the diffs;
// the state is the same for any number of workers, because every diff is
// net (at most one operation per key and lead) and operations of different
// leads commute.
//
// Thread safety: a function of its arguments (it writes only
// *before.attributes); leads are diffed in parallel.
#ifndef LEADFLOW_VIEWS_WRITE_LEAD_DIFF_H_
#define LEADFLOW_VIEWS_WRITE_LEAD_DIFF_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "views/detail/key_set.h"
#include "views/lead_attributes.h"
#include "views/lead_facts.h"
#include "views/records.h"

namespace leadflow::views {

// The lead as the store has it before the batch.
struct LeadBefore {
  // Status facts (lead_facts.h); only read when status_changed. The
  // facts after are derived with the same names (which may grow).
  const LeadFacts* status = nullptr;
  StatusNames* names = nullptr;
  // Whether the batch changed the inputs of the status facts (creation,
  // status changes, deletion). When false, status facts are not derived.
  bool status_changed = false;
  // In: the attributes before the batch (nullopt: no row). Out: the
  // attributes after it (what the lead cache keeps), changed in place.
  std::optional<LeadAttributes>* attributes = nullptr;
  const std::string* row = nullptr;  // encoded LeadAttributes, "" when none
  // Whether every event of the batch on this lead was a status change or
  // an activity (no creation, update or deletion): then the fields, the
  // owner and the creation are as before, and the attributes after follow
  // from the ones before (status, ModifiedOn and the activity columns
  // moved) without deriving them from the history, and the row is encoded
  // around the fields it had: most live touches.
  bool fields_unchanged = false;
};

struct LeadDiff {
  // Bitmaps the lead leaves (false) or joins (true): its status facts as
  // facts (their keys, AppendBitmapFactKey with LeadBefore's names, are
  // written by the chunk outbox, not built here), its attribute facts by
  // logical key.
  std::vector<std::pair<BitmapFact, bool>> fact_ops;
  detail::KeyList bitmap_ops;  // flag: joins
  std::vector<std::pair<std::string, std::string>> log_puts;  // keys::Log -> value
  std::vector<std::string> log_deletes;
  std::vector<std::string> pairs;  // keys::Pair of transitions new to this lead
  detail::KeyList index_puts, index_deletes;  // keys::DateEntry
  // The row after the batch ("" when the lead has none) and whether it
  // differs from the row before.
  std::string row;
  bool row_changed = false;
};

// Not pure in one respect: *before.attributes becomes the attributes after.
LeadDiff DiffLead(std::string_view org, std::string_view lead_id, const LeadRecord& after, const LeadBefore& before);

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_WRITE_LEAD_DIFF_H_
