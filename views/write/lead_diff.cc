#include "views/write/lead_diff.h"

#include <algorithm>
#include <cstdint>

#include "views/detail/key_set.h"

namespace leadflow::views {

LeadDiff DiffLead(std::string_view org, std::string_view lead_id, const LeadRecord& after, const LeadBefore& before) {
  LeadDiff d;
  if (before.status_changed) {
    const LeadFacts& was = *before.status;
    const LeadFacts now = DeriveFacts(after, before.names);
    const StatusNames& names = *before.names;
    detail::ForEachMissing(was.bitmaps, now.bitmaps, [&](const BitmapFact& f) { d.fact_ops.emplace_back(f, false); });
    detail::ForEachMissing(now.bitmaps, was.bitmaps, [&](const BitmapFact& f) { d.fact_ops.emplace_back(f, true); });
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

  std::optional<LeadAttributes>& attrs = *before.attributes;
  auto diff_parts = [&](const AttributeFacts& was, const AttributeFacts& now) {
    detail::ForEachMissing(was.bitmap_keys, now.bitmap_keys, [&](std::string_view k) { d.bitmap_ops.push_back(k, false); });
    detail::ForEachMissing(now.bitmap_keys, was.bitmap_keys, [&](std::string_view k) { d.bitmap_ops.push_back(k, true); });
    detail::ForEachMissing(was.index_keys, now.index_keys, [&](std::string_view k) { d.index_deletes.push_back(k); });
    detail::ForEachMissing(now.index_keys, was.index_keys, [&](std::string_view k) { d.index_puts.push_back(k); });
  };
  if (before.fields_unchanged) {
    // Status changes and activities only move the status, ModifiedOn (the
    // latest of the creation, updates, changes and the last activity, all
    // from the creation on: a max, so only what this batch added can raise
    // it) and the activity columns (the last activity never goes back).
    // DeriveAttributes(after) is the attributes before with those set: no
    // copy of the fields. (A lead not created or deleted has no attributes
    // before or after: neither changes here.)
    if (attrs) {
      // What moves, decided first; then the attributes change in one place.
      int64_t modified = attrs->modified_ms;
      const std::string* status = &attrs->status_id;
      if (before.status_changed) {
        const int64_t created = after.created->time.at_ms;
        for (const StatusChange& c : after.changes) {
          if (c.time.at_ms >= created) modified = std::max(modified, c.time.at_ms);
        }
        if (const std::string* now = CurrentStatus(after)) status = now;
      }
      unsigned parts = 0;
      if (after.last_activity_ms != INT64_MIN) {
        modified = std::max(modified, after.last_activity_ms);
        if (attrs->activity_max_ms != after.last_activity_ms) parts |= kAttrActivityDate;
        if (attrs->activity_max_name != after.last_activity_name) parts |= kAttrActivityName;
      }
      if (attrs->modified_ms != modified) parts |= kAttrModified;
      if (parts == 0 && *status == attrs->status_id) {
        d.row = *before.row;
      } else {
        std::string head, tail;  // the row's ends before: its fields are reused
        attrs->EncodeHead(&head);
        attrs->EncodeTail(&tail);
        const AttributeFacts was = DeriveAttributeFacts(org, after.num, attrs, parts);
        attrs->status_id = *status;
        attrs->modified_ms = modified;
        if (after.last_activity_ms != INT64_MIN) {
          attrs->activity_max_ms = after.last_activity_ms;
          attrs->activity_max_name = after.last_activity_name;
        }
        if (parts != 0) diff_parts(was, DeriveAttributeFacts(org, after.num, attrs, parts));
        d.row = attrs->EncodeWithFieldsOf(*before.row, head, tail);
      }
    }
  } else {
    std::optional<LeadAttributes> now_attrs = DeriveAttributes(lead_id, after);
    // Only the parts of the attribute facts whose columns changed: most
    // events move ModifiedOn and the activity columns and leave the fields.
    const unsigned parts = ChangedAttributeParts(attrs, now_attrs);
    if (parts != 0) {
      diff_parts(DeriveAttributeFacts(org, after.num, attrs, parts),
                 DeriveAttributeFacts(org, after.num, now_attrs, parts));
    }
    attrs = std::move(now_attrs);
    if (attrs) d.row = attrs->Encode();
  }
  d.row_changed = d.row != *before.row;
  return d;
}

}  // namespace leadflow::views
