#include "views/write/applier_part.h"

#include <algorithm>
#include <cstring>

#include "views/time.h"

namespace leadflow::views {
namespace {

using state::Cf;

std::optional<std::string> OwnerOf(const Event& e) { return e.owner_id; }

}  // namespace

void ApplierPart::LeadSlot::MarkStatusDirty() {
  if (status_dirty) return;
  // No event of this batch has changed the facts' inputs yet, so the record
  // as it is now gives the facts as stored.
  before = DeriveFacts(record, &names);
  status_dirty = true;
}

Status ApplierPart::LoadLead(const state::Store& store, uint64_t hash, const std::string& key, LeadSlot* slot) {
  if (std::optional<CachedLead> c = lead_cache.Take(hash, key)) {
    slot->lead_id = std::move(c->lead_id);
    slot->record = std::move(c->record);
    slot->attributes_before = std::move(c->attributes);
    slot->row_before = std::move(c->row);
    slot->record_bytes = c->record_bytes;
    slot->journal_bytes = c->journal_bytes;
    return Status::Ok();
  }
  std::string bytes;
  Status s = store.Get(Cf::kLeads, key, &bytes);
  if (s.IsNotFound()) {
    slot->is_new = true;  // numbered by the serial step that follows
    return Status::Ok();
  }
  if (!s.ok()) return s;
  s = LeadRecord::Decode(bytes, &slot->record, &slot->journal_bytes);
  if (!s.ok()) return s;
  slot->record_bytes = bytes.size() - slot->journal_bytes;
  slot->attributes_before = DeriveAttributes(slot->lead_id, slot->record);
  if (slot->attributes_before) slot->row_before = slot->attributes_before->Encode();
  return Status::Ok();
}

Status ApplierPart::ApplyLeadEvent(LeadSlot* slot, const Event& e, const EventTime& time) {
  LeadRecord& lead = slot->record;
  if (e.type == EventType::kLeadCreated || e.type == EventType::kLeadStatusChanged ||
      e.type == EventType::kLeadDeleted) {
    slot->MarkStatusDirty();
  }
  if (e.type == EventType::kLeadCreated || e.type == EventType::kLeadUpdated || e.type == EventType::kLeadDeleted) {
    slot->fields_touched = true;
  }
  switch (e.type) {
    case EventType::kLeadCreated: {
      LeadCreation c{time, e.status_id, OwnerOf(e), e.fields};
      if (!lead.created) {
        for (const StatusChange& ch : lead.changes) {
          if (ch.time.at_ms < time.at_ms) ++anomalies[OwningShard(e.arrival, e.shard)];
        }
      } else {
        ++anomalies[OwningShard(e.arrival, e.shard)];
      }
      lead_journal::AppendCreation(&slot->journal, c);
      lead.ApplyCreation(std::move(c));
      break;
    }
    case EventType::kLeadStatusChanged: {
      if (lead.created && e.occurred_at_ms < lead.created->time.at_ms) ++anomalies[OwningShard(e.arrival, e.shard)];
      StatusChange c{time, e.status_id};
      lead_journal::AppendChange(&slot->journal, c);
      lead.ApplyChange(std::move(c));
      break;
    }
    case EventType::kLeadUpdated: {
      if (lead.created && e.occurred_at_ms < lead.created->time.at_ms) ++anomalies[OwningShard(e.arrival, e.shard)];
      LeadUpdate u{time, e.fields, OwnerOf(e)};
      lead_journal::AppendUpdate(&slot->journal, u);
      lead.ApplyUpdate(std::move(u));
      break;
    }
    case EventType::kLeadDeleted:
      lead_journal::AppendDelete(&slot->journal);
      lead.ApplyDelete();
      break;
    case EventType::kActivityLogged: {
      lead.ApplyActivity(e.occurred_at_ms, e.activity_name);
      slot->activity_changed = true;  // journaled once, at the diff
      const int64_t day = DayOf(e.occurred_at_ms);
      ActivityDay& at = last_activity_day;
      if (at.day != day || at.org != e.org_id) {
        at.org = e.org_id;
        at.day = day;
        at.log = &activity_log[keys::ActivityDayPrefix(e.org_id, day)];
        at.units = &activity_adds[e.org_id];
        at.any = {&(*at.units)[{keys::kAnyActivity, keys::Level::kAll, 0}],
                  &(*at.units)[{keys::kAnyActivity, keys::Level::kYear, YearOfDay(day)}],
                  &(*at.units)[{keys::kAnyActivity, keys::Level::kMonth, MonthOfDay(day)}],
                  &(*at.units)[{keys::kAnyActivity, keys::Level::kDay, day}]};
      }
      at.log->push_back({e.occurred_at_ms, lead.num, e.activity_event});
      // The lead joins its code's and "any" bitmaps of the day, month, year
      // and all time: numbers gathered per unit, keys built once per batch.
      auto& units = *at.units;
      const int64_t code = e.activity_event;  // >= 0 (ingest/decode.cc): never kAnyActivity
      units[{code, keys::Level::kAll, 0}].push_back(lead.num);
      units[{code, keys::Level::kYear, YearOfDay(day)}].push_back(lead.num);
      units[{code, keys::Level::kMonth, MonthOfDay(day)}].push_back(lead.num);
      units[{code, keys::Level::kDay, day}].push_back(lead.num);
      for (std::vector<uint32_t>* any : at.any) any->push_back(lead.num);
      break;
    }
    default:
      return Status::InvalidArgument("not a lead event");
  }
  return Status::Ok();
}

void ApplierPart::DiffSlots(size_t from, const std::set<std::string>& known_pairs) {
  // The date entries the part's leads leave and join, per stored day key
  // (keys::DateEntriesDay): one merge operand per key (state/entry_set_merge.h).
  using Entry = DateEntry;
  auto note_date = [&](std::string_view entry_key, bool add) {
    std::string day_key;
    const std::string_view entry = keys::SplitDateEntry(entry_key, &day_key);
    auto& [adds, removes] = date_deltas[std::move(day_key)];
    Entry e;
    std::memcpy(e.data(), entry.data(), e.size());
    (add ? adds : removes).push_back(e);
  };
  // The transition log entries the part's leads remove and put, per stored
  // hour key (keys::SplitLogEntry): one merge operand per key
  // (state/record_set_merge.h). Different leads' entries differ (the lead
  // number is in their ids), and one lead's are net.
    std::string hour_key;
  auto note_log = [&](const std::string& entry_key, std::string* value) {
    const std::string_view id = keys::SplitLogEntry(entry_key, &hour_key);
    auto& [puts, removes] = log_deltas[hour_key];
    LogId lid;
    std::memcpy(lid.data(), id.data(), lid.size());
    if (value) {
      puts.emplace_back(lid, std::move(*value));
    } else {
      removes.push_back(lid);
    }
  };
  std::vector<uint32_t> status_refs;  // a lead's StatusNames ids -> the outbox's StatusRef ids
  for (size_t at = from; at < from + diffs.size(); ++at) {
    LeadSlots::Entry& entry = leads.entries()[at];
    const std::string& key = entry.key;
    LeadSlot* slot = &entry.value;
    const std::string_view org = slot->org;
    LeadDiff& d = diffs[at - from];
    const uint32_t num = slot->record.num;
    if (!d.fact_ops.empty()) {
      // The lead's statuses named once; its facts sent by reference.
      status_refs.clear();
      for (uint32_t i = 0; i < slot->names.size(); ++i) {
        status_refs.push_back(outbox.StatusRef(org, &slot->names.Name(i)));
      }
      for (const auto& [f, add] : d.fact_ops) {
        const bool pair = f.kind == keys::Kind::kTransition;
        const uint32_t a = pair && f.a == kNoStatus ? outbox.StatusRef(org, nullptr) : status_refs[f.a];
        outbox.SendFactRef({f.kind, f.level, a, pair ? status_refs[f.b] : 0, f.unit}, num, add);
      }
    }
    d.bitmap_ops.ForEach([&](std::string_view k, bool add) { outbox.Send(k, num, add); });
    for (const auto& k : d.log_deletes) note_log(k, nullptr);
    for (auto& [k, v] : d.log_puts) note_log(k, &v);
    for (auto& p : d.pairs) {
      if (!known_pairs.count(p) && new_pairs.insert(p).second) batch.Put(Cf::kPairs, p, "");
    }
    // The record: its journal appended to the stored value, or the record
    // whole when new or once the journals since it was last written whole
    // would outgrow it (a reader replays at most about the record's size).
    if (slot->activity_changed) {
      lead_journal::AppendActivity(&slot->journal, slot->record.last_activity_ms, slot->record.last_activity_name);
    }
    if (slot->is_new || slot->journal_bytes + slot->journal.size() > std::max<size_t>(kMinJournalBytes, slot->record_bytes)) {
      const std::string record = slot->record.Encode();
      batch.Put(Cf::kLeads, key, record);
      slot->record_bytes = record.size();
      slot->journal_bytes = 0;
    } else {
      batch.Merge(Cf::kLeads, key, slot->journal);
      slot->journal_bytes += slot->journal.size();
    }
    d.index_deletes.ForEach([&](std::string_view k, bool) { note_date(k, false); });
    d.index_puts.ForEach([&](std::string_view k, bool) { note_date(k, true); });
    if (d.row_changed) {
      if (!d.row.empty()) {
        batch.Put(Cf::kLeadRows, keys::LeadId(org, num), d.row);
      } else {
        batch.Delete(Cf::kLeadRows, keys::LeadId(org, num));
      }
    }
    // Lead numbers are assigned on first sight; the reverse map serves lead
    // search and the lists of a report's leads.
    if (slot->is_new) batch.Put(Cf::kLeadIds, keys::LeadId(org, num), slot->lead_id);
    // What the lead cache keeps once the write lands (DiffLead left the
    // attributes after in slot->attributes_before).
    slot->row_before = std::move(d.row);
  }
  diffs.clear();
}

void ApplierPart::FinishDiffs() {
  outbox.FlushFacts();
  for (const auto& [org, units] : activity_adds) {
    for (const auto& [unit, nums] : units) {
      outbox.SendAdds(keys::ActivityBitmap(org, unit.code, unit.level, unit.unit), nums);
    }
  }
  // A lead's entries added and removed are disjoint, and different leads'
  // entries differ (the lead number is in them): sorted, each list is a set.
  std::string adds, removes;
  for (auto& [day_key, delta] : date_deltas) {
    for (auto* list : {&delta.first, &delta.second}) {
      std::sort(list->begin(), list->end(),  // by bytes, as the merge operator orders entries
                [](const DateEntry& x, const DateEntry& y) { return std::memcmp(x.data(), y.data(), x.size()) < 0; });
    }
    adds.clear();
    removes.clear();
    for (const DateEntry& e : delta.first) adds.append(e.data(), e.size());
    for (const DateEntry& e : delta.second) removes.append(e.data(), e.size());
    batch.Merge(Cf::kAttrIndex, day_key, state::EncodeEntryDelta(adds, removes));
  }
  for (auto& [key, delta] : log_deltas) {
    auto& [puts, ids] = delta;
    // By bytes, as the merge operator orders records (std::array's < would
    // compare signed chars).
    auto before = [](const LogId& x, const LogId& y) { return std::memcmp(x.data(), y.data(), x.size()) < 0; };
    std::sort(puts.begin(), puts.end(), [&](const auto& x, const auto& y) { return before(x.first, y.first); });
    std::sort(ids.begin(), ids.end(), before);
    adds.clear();
    removes.clear();
    for (const auto& [id, value] : puts) state::AppendRecord(&adds, std::string_view(id.data(), id.size()), value);
    for (const LogId& id : ids) removes.append(id.data(), id.size());
    batch.Merge(Cf::kLog, key, state::EncodeRecordDelta(adds, removes));
  }
  date_deltas.clear();
  log_deltas.clear();
}

void ApplierPart::CacheCommittedLeads() {
  for (LeadSlots::Entry& entry : leads.entries()) {
    LeadSlot* slot = &entry.value;
    const size_t bytes = LeadCache::EstimateBytes(entry.key, slot->lead_id, slot->record_bytes + slot->journal_bytes,
                                                  slot->row_before.size());
    lead_cache.Put(entry.hash, entry.key,
                   CachedLead{std::move(slot->lead_id), std::move(slot->record), std::move(slot->attributes_before),
                              std::move(slot->row_before), slot->record_bytes, slot->journal_bytes},
                   bytes);
  }
}

void ApplierPart::ForgetTakenLeads() {
  for (const LeadSlots::Entry& entry : leads.entries()) lead_cache.ForgetTaken(entry.hash, entry.key);
}

void ApplierPart::ResetBatch() {
  leads.clear();
  diffs.clear();
  date_deltas.clear();
  log_deltas.clear();
  event_keys.clear();
  slots_loaded = 0;
  work.clear();
  anomalies.clear();
  activity_log.clear();
  activity_adds.clear();
  last_activity_day = ActivityDay{};
  outbox.Clear();
  new_pairs.clear();
  batch.Clear();
}

}  // namespace leadflow::views
