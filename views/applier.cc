#include "views/applier.h"

#include <algorithm>
#include <stdexcept>

#include <roaring/roaring.hh>

#include "views/keys.h"
#include "views/lead_diff.h"
#include "views/time.h"

namespace leadflow::views {
namespace {

using state::Cf;

std::string EncodeU64(uint64_t v) {
  std::string s;
  keys::AppendI64(&s, static_cast<int64_t>(v));
  return s;
}
uint64_t DecodeU64(std::string_view s) { return s.size() == 8 ? static_cast<uint64_t>(keys::ReadI64(s, 0)) : 0; }

// Inserts item into a vector kept sorted by .time (ties keep arrival order,
// which the sequence number already encodes).
template <typename T>
void InsertByTime(std::vector<T>* v, T item) {
  auto it = std::upper_bound(v->begin(), v->end(), item.time,
                             [](const EventTime& t, const T& x) { return t < x.time; });
  v->insert(it, std::move(item));
}

std::optional<std::string> OwnerOf(const Event& e) { return e.owner_id; }

}  // namespace

Status CheckStateFormat(state::Store* store) {
  const std::string key = keys::MetaFormat();
  const std::string expected = std::to_string(kStateFormat);
  std::string value;
  Status s = store->Get(Cf::kMeta, key, &value);
  if (s.ok()) {
    if (value == expected) return Status::Ok();
    return Status::Corruption("state has layout " + value + ", this leadflow uses " + expected +
                              ": delete the data directory and let leadflow rebuild it from the topic");
  }
  if (!s.IsNotFound()) return s;
  s = store->Get(Cf::kMeta, keys::MetaSequence(), &value);
  if (s.ok()) {
    return Status::Corruption("state has an older layout (1), this leadflow uses " + expected +
                              ": delete the data directory and let leadflow rebuild it from the topic");
  }
  if (!s.IsNotFound()) return s;
  state::WriteBatch batch;
  batch.Put(Cf::kMeta, key, expected);
  return store->Write(&batch);
}

Applier::Applier(state::Store* store, size_t lead_cache_capacity, size_t chunk_cache_bytes, size_t workers)
    : store_(store), lead_cache_capacity_(lead_cache_capacity), chunks_(chunk_cache_bytes), pool_(workers) {}

void Applier::CacheCommittedLeads() {
  if (lead_cache_capacity_ == 0) return;
  for (auto& [key, slot] : leads_) {
    lead_lru_.push_front(key);
    CachedLead c{std::move(slot.lead_id), std::move(slot.record), std::move(slot.attributes_before),
                 std::move(slot.row_before), lead_lru_.begin()};
    auto [it, inserted] = lead_cache_.try_emplace(key, std::move(c));
    if (!inserted) {  // cannot happen (LoadLead takes the entry out), but stay consistent
      lead_lru_.erase(it->second.lru_pos);
      it->second = std::move(c);
    }
  }
  while (lead_cache_.size() > lead_cache_capacity_) {
    lead_cache_.erase(lead_lru_.back());
    lead_lru_.pop_back();
  }
}

void Applier::Reset() {
  pending_event_keys_.clear();
  leads_.clear();
  statuses_.clear();
  users_.clear();
  lead_counters_.clear();
  activity_log_.clear();
  activity_adds_.clear();
  pending_events_ = 0;
  pending_counters_ = Counters();
  seq_loaded_ = false;
}

Status Applier::LoadLead(const std::string& org, const std::string& lead_id, LeadSlot** slot) {
  std::string key = keys::Lead(org, lead_id);
  auto it = leads_.find(key);
  if (it != leads_.end()) {
    *slot = &it->second;
    return Status::Ok();
  }
  LeadSlot fresh;
  if (auto c = lead_cache_.find(key); c != lead_cache_.end()) {
    fresh.lead_id = std::move(c->second.lead_id);
    fresh.record = std::move(c->second.record);
    fresh.attributes_before = std::move(c->second.attributes);
    fresh.row_before = std::move(c->second.row);
    lead_lru_.erase(c->second.lru_pos);
    lead_cache_.erase(c);
    *slot = &leads_.emplace(std::move(key), std::move(fresh)).first->second;
    return Status::Ok();
  }
  fresh.lead_id = lead_id;
  std::string bytes;
  Status s = store_->Get(Cf::kLeads, key, &bytes);
  if (s.ok()) {
    s = LeadRecord::Decode(bytes, &fresh.record);
    if (!s.ok()) return s;
    std::optional<LeadAttributes> attrs = DeriveAttributes(lead_id, fresh.record);
    fresh.attributes_before = DeriveAttributeFacts(org, fresh.record.num, attrs);
    if (attrs) fresh.row_before = attrs->Encode();
  } else if (s.IsNotFound()) {
    s = NextLeadNum(org, &fresh.record.num);
    if (!s.ok()) return s;
    fresh.is_new = true;
  } else {
    return s;
  }
  *slot = &leads_.emplace(std::move(key), std::move(fresh)).first->second;
  return Status::Ok();
}

Status Applier::NextLeadNum(const std::string& org, uint32_t* num) {
  auto it = lead_counters_.find(org);
  if (it == lead_counters_.end()) {
    std::string bytes;
    Status s = store_->Get(Cf::kMeta, keys::MetaLeadCounter(org), &bytes);
    if (!s.ok() && !s.IsNotFound()) return s;
    it = lead_counters_.emplace(org, static_cast<uint32_t>(s.ok() ? DecodeU64(bytes) : 0)).first;
  }
  if (it->second == UINT32_MAX) return Status::InvalidArgument("org " + org + " has too many leads");
  *num = it->second++;
  return Status::Ok();
}

Status Applier::LoadStatus(const std::string& org, const std::string& status_id, StatusRecord** rec) {
  std::string key = keys::Status(org, status_id);
  auto it = statuses_.find(key);
  if (it == statuses_.end()) {
    StatusRecord fresh;
    fresh.label = status_id;
    std::string bytes;
    Status s = store_->Get(Cf::kStatuses, key, &bytes);
    if (s.ok()) {
      s = StatusRecord::Decode(bytes, &fresh);
      if (!s.ok()) return s;
    } else if (!s.IsNotFound()) {
      return s;
    }
    it = statuses_.emplace(std::move(key), std::move(fresh)).first;
  }
  *rec = &it->second;
  return Status::Ok();
}

Status Applier::NoteStatusSeen(const std::string& org, const std::string& status_id, int64_t at_ms) {
  StatusRecord* rec;
  Status s = LoadStatus(org, status_id, &rec);
  if (s.ok()) rec->first_seen_ms = std::min(rec->first_seen_ms, at_ms);
  return s;
}

Status Applier::Apply(const Event& e, ApplyOutcome* outcome) {
  if (!seq_loaded_) {
    std::string bytes;
    Status s = store_->Get(Cf::kMeta, keys::MetaSequence(), &bytes);
    if (!s.ok() && !s.IsNotFound()) return s;
    seq_ = s.ok() ? DecodeU64(bytes) : 0;
    seq_loaded_ = true;
  }
  std::string event_key = keys::Event(e.org_id, e.event_id);
  if (pending_event_keys_.count(event_key)) {
    *outcome = ApplyOutcome::kDuplicate;
    ++pending_counters_.duplicates;
    return Status::Ok();
  }
  std::string ignored;
  Status s = store_->Get(Cf::kEvents, event_key, &ignored);
  if (s.ok()) {
    *outcome = ApplyOutcome::kDuplicate;
    ++pending_counters_.duplicates;
    return Status::Ok();
  }
  if (!s.IsNotFound()) return s;

  const EventTime time{e.occurred_at_ms, ++seq_};
  switch (e.type) {
    case EventType::kStatusUpserted: {
      StatusRecord* rec;
      if (!(s = LoadStatus(e.org_id, e.status_id, &rec)).ok()) return s;
      rec->first_seen_ms = std::min(rec->first_seen_ms, e.occurred_at_ms);
      if (!rec->upserted || time > *rec->upserted) {
        rec->upserted = time;
        rec->label = e.label;
        rec->position = e.position;
      }
      break;
    }
    case EventType::kStatusDeleted: {
      StatusRecord* rec;
      if (!(s = LoadStatus(e.org_id, e.status_id, &rec)).ok()) return s;
      rec->first_seen_ms = std::min(rec->first_seen_ms, e.occurred_at_ms);
      if (!rec->deleted_at || time > *rec->deleted_at) rec->deleted_at = time;
      break;
    }
    case EventType::kUserUpserted: {
      std::string key = keys::User(e.org_id, e.user_id);
      auto it = users_.find(key);
      if (it == users_.end()) {
        UserRecord fresh;
        std::string bytes;
        s = store_->Get(Cf::kUsers, key, &bytes);
        if (s.ok()) {
          if (!(s = UserRecord::Decode(bytes, &fresh)).ok()) return s;
        } else if (!s.IsNotFound()) {
          return s;
        }
        it = users_.emplace(std::move(key), std::move(fresh)).first;
      }
      if (it->second.fields.is_null() || time > it->second.upserted) {
        it->second.upserted = time;
        it->second.fields = e.fields;
      }
      break;
    }
    default:
      if (!(s = ApplyLeadEvent(e, time)).ok()) return s;
  }
  pending_event_keys_.insert(std::move(event_key));
  ++pending_events_;
  ++pending_counters_.applied;
  *outcome = ApplyOutcome::kApplied;
  return Status::Ok();
}

void Applier::MarkStatusDirty(std::string_view org, LeadSlot* slot) {
  if (slot->status_dirty) return;
  // No event of this batch has changed the facts' inputs yet, so the record
  // as it is now gives the facts as stored.
  slot->before = DeriveFacts(org, slot->record);
  slot->status_dirty = true;
}

Status Applier::ApplyLeadEvent(const Event& e, const EventTime& time) {
  LeadSlot* slot;
  Status s = LoadLead(e.org_id, e.lead_id, &slot);
  if (!s.ok()) return s;
  LeadRecord& lead = slot->record;
  if (e.type == EventType::kLeadCreated || e.type == EventType::kLeadStatusChanged ||
      e.type == EventType::kLeadDeleted) {
    MarkStatusDirty(e.org_id, slot);
  }
  switch (e.type) {
    case EventType::kLeadCreated: {
      if (!(s = NoteStatusSeen(e.org_id, e.status_id, e.occurred_at_ms)).ok()) return s;
      LeadCreation c{time, e.status_id, OwnerOf(e), e.fields};
      if (!lead.created) {
        lead.created = std::move(c);
        for (const StatusChange& ch : lead.changes) {
          if (ch.time.at_ms < time.at_ms) ++pending_counters_.anomalies;
        }
      } else {
        ++lead.extra_creations;
        ++pending_counters_.anomalies;
        if (time < lead.created->time) lead.created = std::move(c);
      }
      break;
    }
    case EventType::kLeadStatusChanged:
      if (!(s = NoteStatusSeen(e.org_id, e.status_id, e.occurred_at_ms)).ok()) return s;
      if (lead.created && e.occurred_at_ms < lead.created->time.at_ms) ++pending_counters_.anomalies;
      InsertByTime(&lead.changes, StatusChange{time, e.status_id});
      break;
    case EventType::kLeadUpdated:
      if (lead.created && e.occurred_at_ms < lead.created->time.at_ms) ++pending_counters_.anomalies;
      InsertByTime(&lead.updates, LeadUpdate{time, e.fields, OwnerOf(e)});
      break;
    case EventType::kLeadDeleted:
      lead.deleted = true;
      break;
    case EventType::kActivityLogged: {
      if (e.occurred_at_ms >= lead.last_activity_ms) {
        lead.last_activity_ms = e.occurred_at_ms;
        lead.last_activity_name = e.activity_name;
      }
      const int64_t day = DayOf(e.occurred_at_ms);
      activity_log_.push_back(keys::ActivityLog(e.org_id, day, e.occurred_at_ms, lead.num, e.activity_event));
      // The lead joins its code's and "any" bitmaps of the day, month, year
      // and all time: numbers gathered per unit, keys built once per batch.
      auto& units = activity_adds_[e.org_id];
      for (int64_t code : {e.activity_event, keys::kAnyActivity}) {
        units[{code, keys::Level::kAll, 0}].push_back(lead.num);
        units[{code, keys::Level::kYear, YearOfDay(day)}].push_back(lead.num);
        units[{code, keys::Level::kMonth, MonthOfDay(day)}].push_back(lead.num);
        units[{code, keys::Level::kDay, day}].push_back(lead.num);
      }
      break;
    }
    default:
      return Status::InvalidArgument("not a lead event");
  }
  return Status::Ok();
}

Status Applier::Commit(const std::vector<std::pair<std::string, std::string>>& meta_puts) {
  state::WriteBatch batch;
  std::set<std::string> new_pairs;  // pairs written by this batch
  // bitmap key -> (lead number, add?) operations
  std::map<std::string, std::vector<std::pair<uint32_t, bool>>> bitmap_ops;

  // Every touched lead's diff, in parallel (lead_diff.h); then merged in
  // one order. The state does not depend on the order or the workers.
  std::vector<std::pair<const std::string*, LeadSlot*>> touched;
  touched.reserve(leads_.size());
  for (auto& [key, slot] : leads_) touched.emplace_back(&key, &slot);
  std::vector<LeadDiff> diffs(touched.size());
  pool_.ParallelFor(touched.size(), [&](size_t part, size_t parts) {
    for (size_t i = part; i < touched.size(); i += parts) {
      const std::string& key = *touched[i].first;
      const LeadSlot& slot = *touched[i].second;
      LeadBefore before{&slot.before, slot.status_dirty, &slot.attributes_before, &slot.row_before};
      diffs[i] = DiffLead(std::string_view(key.data(), key.find('\0')), slot.lead_id, slot.record, before);
    }
  });
  for (size_t i = 0; i < touched.size(); ++i) {
    const std::string& key = *touched[i].first;
    LeadSlot& slot = *touched[i].second;
    LeadDiff& d = diffs[i];
    std::string_view org(key.data(), key.find('\0'));
    for (auto& [k, add] : d.bitmap_ops) bitmap_ops[std::move(k)].emplace_back(slot.record.num, add);
    for (const auto& k : d.log_deletes) batch.Delete(Cf::kLog, k);
    for (const auto& [k, v] : d.log_puts) batch.Put(Cf::kLog, k, v);
    for (auto& p : d.pairs) {
      if (!known_pairs_.count(p) && new_pairs.count(p) == 0) {
        batch.Put(Cf::kPairs, p, "");
        new_pairs.insert(std::move(p));
      }
    }
    batch.Put(Cf::kLeads, key, d.record);
    for (const auto& k : d.index_deletes) batch.Delete(Cf::kAttrIndex, k);
    for (const auto& k : d.index_puts) batch.Put(Cf::kAttrIndex, k, "");
    if (d.row_changed) {
      if (!d.row.empty()) {
        batch.Put(Cf::kLeadRows, keys::LeadId(org, slot.record.num), d.row);
      } else {
        batch.Delete(Cf::kLeadRows, keys::LeadId(org, slot.record.num));
      }
    }
    // What the lead cache keeps once the write lands.
    slot.attributes_before = std::move(d.attributes);
    slot.row_before = std::move(d.row);
  }
  for (const auto& [org, units] : activity_adds_) {
    for (const auto& [unit, nums] : units) {
      auto& ops = bitmap_ops[keys::ActivityBitmap(org, unit.code, unit.level, unit.unit)];
      for (uint32_t num : nums) ops.emplace_back(num, true);
    }
  }
  for (const auto& key : activity_log_) batch.Put(Cf::kActivityLog, key, "");
  // Lead numbers are assigned on first sight; the reverse map serves lead
  // search and the lists of a report's leads.
  for (const auto& [key, slot] : leads_) {
    if (slot.is_new) {
      std::string_view org(key.data(), key.find('\0'));
      size_t pos = org.size() + 1;
      auto id = keys::ReadStr(key, &pos);
      batch.Put(Cf::kLeadIds, keys::LeadId(org, slot.record.num), id ? *id : std::string_view());
    }
  }
  Status s = ApplyBitmapOps(bitmap_ops);
  if (!s.ok()) {
    chunks_.DropDirty();
    Reset();
    return s;
  }
  for (const auto& [key, rec] : statuses_) batch.Put(Cf::kStatuses, key, rec.Encode());
  for (const auto& [key, rec] : users_) batch.Put(Cf::kUsers, key, rec.Encode());
  for (const auto& key : pending_event_keys_) batch.Put(Cf::kEvents, key, "");
  for (const auto& [org, next] : lead_counters_) batch.Put(Cf::kMeta, keys::MetaLeadCounter(org), EncodeU64(next));
  if (seq_loaded_) batch.Put(Cf::kMeta, keys::MetaSequence(), EncodeU64(seq_));
  for (const auto& [k, v] : meta_puts) batch.Put(Cf::kMeta, k, v);

  chunks_.WriteDirty(&batch, &pool_);
  s = store_->Write(&batch);
  if (s.ok()) {
    chunks_.Committed();
    CacheCommittedLeads();
    known_pairs_.merge(new_pairs);
    counters_.applied += pending_counters_.applied;
    counters_.duplicates += pending_counters_.duplicates;
    counters_.anomalies += pending_counters_.anomalies;
    uint64_t seq = seq_;
    bool loaded = seq_loaded_;
    Reset();
    seq_ = seq;
    seq_loaded_ = loaded;
  } else {
    chunks_.DropDirty();
    Reset();
  }
  return s;
}

Status Applier::ApplyBitmapOps(const std::map<std::string, std::vector<std::pair<uint32_t, bool>>>& ops) {
  // Regroup by stored chunk (keys::BitmapChunk), keeping each key's order;
  // the chunk cache applies them (the chunks are written with the batch).
  std::map<std::string, std::vector<std::pair<uint32_t, bool>>> chunks;
  for (const auto& [key, list] : ops) {
    for (const auto& op : list) chunks[keys::BitmapChunk(key, op.first >> keys::kChunkBits)].push_back(op);
  }
  for (const auto& [key, list] : chunks) {
    Status s = chunks_.Apply(*store_, key, list);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace leadflow::views
