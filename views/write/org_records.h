// OrgRecords: the org-level records of the write side, kept across batches:
// statuses (keys::Status: label, position, deletion, first seen), users
// (keys::User: their fields) and each org's next lead number
// (keys::MetaLeadCounter).
//
// A record is read from the store the first time a batch names it and is
// kept in memory after that (while a write is in flight the store is behind
// these maps, so they are the truth); a batch changes it in memory, and
// WriteTouched puts every record the batch read or changed, whole, into the
// batch's write. Events change records commutatively (a minimum for first
// seen; the newest upsert or deletion by (occurred_at, arrival) wins), so the
// order in which a batch's notes arrive does not change what is written.
//
// Thread safety: none; the applier's serial step owns it (views/write/applier.h).
#ifndef LEADFLOW_VIEWS_WRITE_ORG_RECORDS_H_
#define LEADFLOW_VIEWS_WRITE_ORG_RECORDS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "state/status.h"
#include "state/store.h"
#include "views/event.h"
#include "views/records.h"

namespace leadflow::views {

class OrgRecords {
 public:
  explicit OrgRecords(state::Store* store) : store_(store) {}

  // Applies an org-level event (status.upserted, status.deleted,
  // user.upserted); InvalidArgument for any other type.
  Status Apply(const Event& e, const EventTime& time);
  // A lead event of org named status_id at at_ms: the status exists (with
  // its id as label until an upsert names it) and was seen at least then.
  Status NoteStatusSeen(std::string_view org, std::string_view status_id, int64_t at_ms);
  // The org's next lead number (numbers start at 0 and are never reused);
  // InvalidArgument once an org has 2^32 - 1 leads.
  Status NextLeadNum(std::string_view org, uint32_t* num);

  // Puts every record the pending batch read or changed into batch and
  // starts the next batch's set of touched records.
  void WriteTouched(state::WriteBatch* batch);
  // Forgets every record (a discarded batch's changes with them): the next
  // use reads the store again.
  void Clear();

 private:
  Status LoadStatus(std::string_view org, std::string_view status_id, StatusRecord** rec);

  state::Store* store_;
  std::unordered_map<std::string, StatusRecord> statuses_;   // keys::Status
  std::unordered_map<std::string, UserRecord> users_;        // keys::User
  std::unordered_map<std::string, uint32_t> lead_counters_;  // org -> next lead number
  std::unordered_set<std::string> touched_statuses_, touched_users_, touched_counters_;
};

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_WRITE_ORG_RECORDS_H_
