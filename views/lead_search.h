// Lead search: one page of a set of leads (e.g. what a query selected,
// views/query_eval.h) as their current attribute rows, in the order of
// Close's lead search (contract section 2a): creation time, then lead id.
//
// Cost: one scan of the org's creation-day bitmaps (days with leads), plus
// the rows of the leads created on the days the page touches; never
// proportional to the leads outside those days.
//
// Thread safety: pure function over a Reader (use a snapshot, the one the
// set of leads was computed from).
#ifndef LEADFLOW_VIEWS_LEAD_SEARCH_H_
#define LEADFLOW_VIEWS_LEAD_SEARCH_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include <roaring/roaring.hh>

#include "state/status.h"
#include "state/store.h"
#include "views/lead_attributes.h"

namespace leadflow::views {

// Sets *total to the number of leads and *page to the rows of the leads at
// positions [skip, skip + limit) of leads ordered by created_ms, then
// lead_id (bytewise); *page is empty when skip >= *total or limit == 0.
// leads should hold lead numbers of org's live leads, as EvaluateQuery
// gives: a number that is not live is counted in *total but never listed.
// Corruption for an undecodable bitmap or row, or a lead of a creation day
// without a row; IoError when the store fails.
// REQUIRES: page != nullptr, total != nullptr.
Status SearchLeads(const state::Reader& reader, std::string_view org, const Roaring& leads, uint64_t skip,
                   uint64_t limit, std::vector<LeadAttributes>* page, uint64_t* total);

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_LEAD_SEARCH_H_
