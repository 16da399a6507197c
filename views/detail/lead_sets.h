// LeadSets: builds the sets of leads (bitmaps of lead numbers) that the
// Leads Not Contacted filters select, from the attribute, status, owner and
// activity indexes. Every method costs time in the number of distinct values,
// days or matching index entries it touches, never in all leads or events
// (except the documented fallbacks on ProspectID like/range).
//
// Thread safety: one thread at a time; the Reader must be a snapshot.
#ifndef LEADFLOW_VIEWS_DETAIL_LEAD_SETS_H_
#define LEADFLOW_VIEWS_DETAIL_LEAD_SETS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <roaring/roaring.hh>

#include "state/status.h"
#include "state/store.h"
#include "views/not_contacted.h"

namespace leadflow::views::detail {

class LeadSets {
 public:
  LeadSets(const state::Reader& reader, std::string_view org);

  // Loads status labels; call once before the other methods.
  Status Init();

  Status Universe(Roaring* out) const;
  Status Bitmap(const std::string& key, Roaring* out) const;
  // Calls fn(key, bitmap) for every bitmap with key in [begin, end).
  Status ScanBitmaps(const std::string& begin, const std::string& end,
                     const std::function<bool(std::string_view, Roaring&&)>& fn) const;

  // Leads matching one LeadFilters entry (universe not applied).
  Status Condition(const LeadCondition& c, const Roaring& universe, Roaring* out) const;
  // Leads whose date-valued column lies in [from, to] (inclusive ms).
  Status DateRange(const std::string& column, int64_t from_ms, int64_t to_ms, Roaring* out) const;
  // Leads whose owner is in the users the filter selects.
  Status Owners(const UserFilter& filter, Roaring* out) const;
  // Leads with an activity of one of codes (empty: any) in the window.
  Status Contacted(const std::vector<int64_t>& codes, const std::optional<InstantRange>& window,
                   Roaring* out) const;

  // Status id -> label (the id when no upsert named it), and ids by label in
  // report order.
  const std::map<std::string, std::string>& labels() const { return labels_; }
  const std::vector<std::string>& status_order() const { return status_order_; }

 private:
  Status StageCondition(const LeadCondition& c, const Roaring& universe, Roaring* out) const;
  Status ProspectIdCondition(const LeadCondition& c, const Roaring& universe, Roaring* out) const;
  Status DateCondition(const std::string& attr, const LeadCondition& c, const Roaring& has, Roaring* out) const;
  Status ValueCondition(const std::string& attr, const LeadCondition& c, Roaring* out) const;

  const state::Reader& reader_;
  std::string org_;
  std::map<std::string, std::string> labels_;
  std::vector<std::string> status_order_;
};

// LIKE with % wildcards, ASCII case-insensitive; without % the whole value.
bool LikeMatch(std::string_view value, std::string_view pattern);

}  // namespace leadflow::views::detail

#endif  // LEADFLOW_VIEWS_DETAIL_LEAD_SETS_H_
