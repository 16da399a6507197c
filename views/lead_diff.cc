#include "views/lead_diff.h"

#include <algorithm>

#include "views/detail/key_set.h"

namespace leadflow::views {

LeadDiff DiffLead(std::string_view org, std::string_view lead_id, const LeadRecord& after, const LeadBefore& before) {
  LeadDiff d;
  if (before.status_changed) {
    const LeadFacts& was = *before.status;
    const LeadFacts now = DeriveFacts(after, before.names);
    const StatusNames& names = *before.names;
    detail::ForEachMissing(was.bitmaps, now.bitmaps, [&](const BitmapFact& f) { d.bitmap_ops.emplace_back(BitmapFactKey(org, f, names), false); });
    detail::ForEachMissing(now.bitmaps, was.bitmaps, [&](const BitmapFact& f) { d.bitmap_ops.emplace_back(BitmapFactKey(org, f, names), true); });
    // Log entries are keyed by (time, index): the index is the position.
    const size_t common = std::min(was.log.size(), now.log.size());
    for (size_t i = 0; i < common; ++i) {
      const LogFact &w = was.log[i], &n = now.log[i];
      if (w.at_ms != n.at_ms) {
        d.log_deletes.push_back(LogFactKey(org, after.num, w));
      } else if (w.from == n.from && w.to == n.to) {
        continue;
      }
      d.log_puts.emplace_back(LogFactKey(org, after.num, n), LogFactValue(n, names));
    }
    for (size_t i = common; i < was.log.size(); ++i) d.log_deletes.push_back(LogFactKey(org, after.num, was.log[i]));
    for (size_t i = common; i < now.log.size(); ++i) {
      d.log_puts.emplace_back(LogFactKey(org, after.num, now.log[i]), LogFactValue(now.log[i], names));
    }
    detail::ForEachMissing(now.pairs, was.pairs, [&](std::pair<uint32_t, uint32_t> p) { d.pairs.push_back(PairFactKey(org, p, names)); });
  }
  d.record = after.Encode();

  d.attributes = DeriveAttributes(lead_id, after);
  // Only the parts of the attribute facts whose columns changed: most
  // events move ModifiedOn and the activity columns and leave the fields.
  const std::optional<LeadAttributes>& was_attrs = *before.attributes;
  const unsigned parts = ChangedAttributeParts(was_attrs, d.attributes);
  if (parts != 0) {
    const AttributeFacts was = DeriveAttributeFacts(org, after.num, was_attrs, parts);
    const AttributeFacts now = DeriveAttributeFacts(org, after.num, d.attributes, parts);
    detail::ForEachMissing(was.bitmap_keys, now.bitmap_keys, [&](const std::string& k) { d.bitmap_ops.emplace_back(k, false); });
    detail::ForEachMissing(now.bitmap_keys, was.bitmap_keys, [&](const std::string& k) { d.bitmap_ops.emplace_back(k, true); });
    detail::ForEachMissing(was.index_keys, now.index_keys, [&](const std::string& k) { d.index_deletes.push_back(k); });
    detail::ForEachMissing(now.index_keys, was.index_keys, [&](const std::string& k) { d.index_puts.push_back(k); });
  }
  if (d.attributes) d.row = d.attributes->Encode();
  d.row_changed = d.row != *before.row;
  return d;
}

}  // namespace leadflow::views
