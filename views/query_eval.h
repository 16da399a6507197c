// Query evaluation: a parsed Close search query (views/query.h) as the set of
// an org's live leads it selects (contract section 2a), computed from the
// same per-unit bitmaps as the reports, never by scanning events.
//
// Thread safety: pure function over a Reader (use a snapshot).
#ifndef LEADFLOW_VIEWS_QUERY_EVAL_H_
#define LEADFLOW_VIEWS_QUERY_EVAL_H_

#include <functional>
#include <string>
#include <string_view>

#include <roaring/roaring.hh>

#include "state/status.h"
#include "state/store.h"
#include "views/query.h"

namespace leadflow::views {

// Resolves a Smart View id to its parsed query: OK, NotFound for an unknown
// id, or another failure.
using ViewResolver = std::function<Status(const std::string& view_id, Query* out)>;

// Sets *out to the lead numbers of the org's live (created, not deleted)
// leads that query selects. InvalidArgument for an unknown view inside the
// query ("unknown smart view save_x") or views nested too deep (a cycle).
// Field terms on `fields` match the key exactly (lead_id and owner_id in any
// case). Where a lead has two keys equal but for case, the value compared is
// that of the bytewise-first key (views/lead_attributes.h).
Status EvaluateQuery(const state::Reader& reader, std::string_view org, const Query& query,
                     const ViewResolver& resolve_view, Roaring* out);

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_QUERY_EVAL_H_
