#include "views/lead_diff.h"

namespace leadflow::views {

LeadDiff DiffLead(std::string_view org, std::string_view lead_id, const LeadRecord& after, const LeadBefore& before) {
  LeadDiff d;
  if (before.status_changed) {
    const LeadFacts& was = *before.status;
    const LeadFacts now = DeriveFacts(org, after);
    detail::ForEachMissing(was.bitmap_keys, now.bitmap_keys, [&](const std::string& k) { d.bitmap_ops.emplace_back(k, false); });
    detail::ForEachMissing(now.bitmap_keys, was.bitmap_keys, [&](const std::string& k) { d.bitmap_ops.emplace_back(k, true); });
    for (const auto& [k, v] : was.log) {
      if (!now.log.count(k)) d.log_deletes.push_back(k);
    }
    for (const auto& [k, v] : now.log) {
      auto it = was.log.find(k);
      if (it == was.log.end() || it->second != v) d.log_puts.emplace_back(k, v);
    }
    detail::ForEachMissing(now.pairs, was.pairs, [&](const std::string& p) { d.pairs.push_back(p); });
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
