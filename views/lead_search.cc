#include "views/lead_search.h"

#include <algorithm>
#include <string>
#include <utility>

#include "views/detail/lead_sets.h"
#include "views/keys.h"

namespace leadflow::views {

Status SearchLeads(const state::Reader& reader, std::string_view org, const Roaring& leads, uint64_t skip,
                   uint64_t limit, std::vector<LeadAttributes>* page, uint64_t* total) {
  page->clear();
  *total = leads.cardinality();
  if (skip >= *total || limit == 0) return Status::Ok();
  const uint64_t end = skip + std::min(limit, *total - skip);

  // Walk the creation days in order, counting the leads of each, and keep
  // the leads of the days that overlap [skip, end): the page lies in them.
  detail::LeadSets sets(reader, org);
  const std::string prefix = keys::DateDayPrefix(org, "createdon");
  std::vector<uint32_t> candidates;
  uint64_t seen = 0;        // leads on the days walked so far
  uint64_t first_seen = 0;  // leads on the days before the first kept day
  Status s = sets.ScanBitmaps(prefix, keys::PrefixEnd(prefix), [&](std::string_view, Roaring&& day) {
    const uint64_t n = day.and_cardinality(leads);
    if (seen + n > skip) {
      if (candidates.empty()) first_seen = seen;
      day &= leads;
      for (uint32_t num : day) candidates.push_back(num);
    }
    seen += n;
    return seen < end;
  });
  if (!s.ok()) return s;

  // Order the kept days' leads exactly, then cut the page.
  std::vector<LeadAttributes> rows(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    std::string bytes;
    s = reader.Get(state::Cf::kLeadRows, keys::LeadId(org, candidates[i]), &bytes);
    if (s.IsNotFound()) return Status::Corruption("no row for lead number " + std::to_string(candidates[i]));
    if (!s.ok() || !(s = LeadAttributes::Decode(bytes, &rows[i])).ok()) return s;
  }
  std::sort(rows.begin(), rows.end(), [](const LeadAttributes& a, const LeadAttributes& b) {
    return a.created_ms != b.created_ms ? a.created_ms < b.created_ms : a.lead_id < b.lead_id;
  });
  for (uint64_t i = skip - first_seen; i < rows.size() && page->size() < limit; ++i) {
    page->push_back(std::move(rows[i]));
  }
  return Status::Ok();
}

}  // namespace leadflow::views
