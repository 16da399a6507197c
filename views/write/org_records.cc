#include "views/write/org_records.h"

#include <algorithm>

#include "views/keys.h"

namespace leadflow::views {
namespace {

using state::Cf;

std::string EncodeU64(uint64_t v) {
  std::string s;
  keys::AppendI64(&s, static_cast<int64_t>(v));
  return s;
}
uint64_t DecodeU64(std::string_view s) { return s.size() == 8 ? static_cast<uint64_t>(keys::ReadI64(s, 0)) : 0; }

}  // namespace

Status OrgRecords::LoadStatus(std::string_view org, std::string_view status_id, StatusRecord** rec) {
  std::string key = keys::Status(org, status_id);
  auto it = statuses_.find(key);
  if (it == statuses_.end()) {
    StatusRecord fresh;
    fresh.label = std::string(status_id);
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
  touched_statuses_.insert(it->first);
  *rec = &it->second;
  return Status::Ok();
}

Status OrgRecords::NoteStatusSeen(std::string_view org, std::string_view status_id, int64_t at_ms) {
  StatusRecord* rec;
  Status s = LoadStatus(org, status_id, &rec);
  if (s.ok()) rec->first_seen_ms = std::min(rec->first_seen_ms, at_ms);
  return s;
}

Status OrgRecords::NextLeadNum(std::string_view org, uint32_t* num) {
  auto it = lead_counters_.find(std::string(org));
  if (it == lead_counters_.end()) {
    std::string bytes;
    Status s = store_->Get(Cf::kMeta, keys::MetaLeadCounter(org), &bytes);
    if (!s.ok() && !s.IsNotFound()) return s;
    it = lead_counters_.emplace(std::string(org), static_cast<uint32_t>(s.ok() ? DecodeU64(bytes) : 0)).first;
  }
  touched_counters_.insert(it->first);
  if (it->second == UINT32_MAX) return Status::InvalidArgument("org " + std::string(org) + " has too many leads");
  *num = it->second++;
  return Status::Ok();
}

Status OrgRecords::Apply(const Event& e, const EventTime& time) {
  Status s;
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
      return Status::Ok();
    }
    case EventType::kStatusDeleted: {
      StatusRecord* rec;
      if (!(s = LoadStatus(e.org_id, e.status_id, &rec)).ok()) return s;
      rec->first_seen_ms = std::min(rec->first_seen_ms, e.occurred_at_ms);
      if (!rec->deleted_at || time > *rec->deleted_at) rec->deleted_at = time;
      return Status::Ok();
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
      touched_users_.insert(it->first);
      if (it->second.fields.is_null() || time > it->second.upserted) {
        it->second.upserted = time;
        it->second.fields = e.fields;
      }
      return Status::Ok();
    }
    default:
      return Status::InvalidArgument("not an org-level event");
  }
}

void OrgRecords::WriteTouched(state::WriteBatch* batch) {
  for (const auto& key : touched_statuses_) batch->Put(Cf::kStatuses, key, statuses_.at(key).Encode());
  for (const auto& key : touched_users_) batch->Put(Cf::kUsers, key, users_.at(key).Encode());
  for (const auto& org : touched_counters_) {
    batch->Put(Cf::kMeta, keys::MetaLeadCounter(org), EncodeU64(lead_counters_.at(org)));
  }
  touched_statuses_.clear();
  touched_users_.clear();
  touched_counters_.clear();
}

void OrgRecords::Clear() {
  statuses_.clear();
  users_.clear();
  lead_counters_.clear();
  touched_statuses_.clear();
  touched_users_.clear();
  touched_counters_.clear();
}

}  // namespace leadflow::views
