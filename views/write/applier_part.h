// ApplierPart: one worker's share of the applier's pending batch
// (views/write/applier.h): the leads whose key hashes to it (their slots,
// their events in arrival order, their lead cache), and the duplicate keys,
// bitmap chunks and activity days whose key hashes to it, with its share of
// the batch's write. Only its worker touches a part during a parallel step
// of the applier, so no two threads write one lead or one chunk; the
// applier sequences the steps and moves operations between parts (the
// chunk outbox, views/write/chunk_outbox.h).
//
// Thread safety: one thread at a time.
#ifndef LEADFLOW_VIEWS_WRITE_APPLIER_PART_H_
#define LEADFLOW_VIEWS_WRITE_APPLIER_PART_H_

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "state/entry_set_merge.h"
#include "state/record_set_merge.h"
#include "state/status.h"
#include "state/store.h"
#include "views/detail/hashed_key.h"
#include "views/event.h"
#include "views/keys.h"
#include "views/lead_attributes.h"
#include "views/lead_facts.h"
#include "views/records.h"
#include "views/write/chunk_outbox.h"
#include "views/write/lead_cache.h"
#include "views/write/lead_diff.h"

namespace leadflow::views {

struct ApplierPart {
  // A lead's journal (views/records.h lead_journal) is appended to its
  // stored record until the journals since the record was written whole
  // pass the record's size or this, whichever is larger; then the record
  // is written whole again.
  static constexpr size_t kMinJournalBytes = 256;

  // A lead the pending batch touches.
  struct LeadSlot {
    std::string lead_id;
    std::string_view org;  // the start of the slot's key (keys::Lead), which never moves
    LeadRecord record;
    // Status facts as stored before this batch. They depend only on the
    // creation, the status changes and the deletion, so they are derived
    // lazily, just before the batch's first event that changes one of those
    // (status_dirty); a batch that only logs activities or updates fields
    // leaves them, and every status bitmap and log entry, untouched.
    LeadFacts before;
    StatusNames names;  // of before and the facts after
    bool status_dirty = false;
    // Whether an event of this batch created, updated or deleted the lead
    // (else its fields, owner and creation are as before: LeadBefore's
    // fields_unchanged).
    bool fields_touched = false;
    std::optional<LeadAttributes> attributes_before;  // nullopt: no row
    std::string row_before;                           // encoded, "" when none
    bool is_new = false;  // not in the store; numbered on first sight
    // The stored value (see CachedLead): its record's size when last
    // written whole and the journal's since; and this batch's journal
    // (views/records.h lead_journal), the last activity apart.
    size_t record_bytes = 0;
    size_t journal_bytes = 0;
    std::string journal;
    bool activity_changed = false;

    // Before the first event of the batch that changes the status facts'
    // inputs (creation, status change, deletion): derives them as stored.
    void MarkStatusDirty();
  };

  // Activity bitmap units (keys::ActivityBitmap without the org) -> the lead
  // numbers the batch adds to them, per org.
  struct ActivityUnit {
    int64_t code;
    keys::Level level;
    int64_t unit;
    friend bool operator==(const ActivityUnit&, const ActivityUnit&) = default;
  };
  struct ActivityUnitHash {
    size_t operator()(const ActivityUnit& u) const {
      uint64_t h = static_cast<uint64_t>(u.code) * 0x9E3779B97F4A7C15ull;
      h ^= static_cast<uint64_t>(u.unit) + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2);
      return static_cast<size_t>(h ^ static_cast<uint64_t>(u.level));
    }
  };
  using ActivityAdds =
      std::unordered_map<std::string, std::unordered_map<ActivityUnit, std::vector<uint32_t>, ActivityUnitHash>>;
  // (org, status) pairs named by a block, by the views into its events.
  struct OrgStatusHash {
    size_t operator()(const std::pair<std::string_view, std::string_view>& k) const {
      const size_t h = std::hash<std::string_view>()(k.first);
      return h ^ (std::hash<std::string_view>()(k.second) + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2));
    }
  };
  using DedupKeys = detail::HashedKeyMap<uint32_t>;  // key -> shard
  using LeadSlots = detail::HashedKeyMap<LeadSlot, std::deque>;

  ApplierPart(size_t lead_bytes, size_t parts) : outbox(parts), lead_cache(lead_bytes) {}
  // The pending batch: the owned leads (keys::Lead, hashed once per event
  // in ApplyBlock's first step) in order of first sight; a deque, so a
  // slot and its key never move.
  LeadSlots leads;
  // Duplicate keys (keys::Event) of the batch's events whose key hashes
  // to this part, with their shards.
  DedupKeys event_keys;
  size_t slots_loaded = 0;  // leads.entries()[0, slots_loaded) are read
  struct Work {
    LeadSlot* slot;
    const Event* event;
    EventTime time;
  };
  std::vector<Work> work;  // the block's events of owned leads, in arrival order
  // ApplyBlock's scratch: the block's new slots with the index of the
  // event that named them first, and the earliest time each (org, status)
  // was named by the block's events of owned leads (views into the block).
  std::vector<std::pair<size_t, LeadSlot*>> block_new_slots;
  std::unordered_map<std::pair<std::string_view, std::string_view>, int64_t, OrgStatusHash> block_statuses;
  std::map<uint32_t, uint64_t> anomalies;  // by shard
  // The activity log entries of owned leads, by day (keys::ActivityDayPrefix);
  // the owner of a day's key writes the day's entries of every part.
  std::unordered_map<std::string, std::vector<keys::ActivityEntry>> activity_log;
  ActivityAdds activity_adds;
  // The org and day of the last activity and where its entries went
  // (the maps' nodes never move): a run of activities of one org and day
  // builds no key and looks up only its code's units.
  struct ActivityDay {
    std::string org;
    int64_t day = INT64_MIN;
    std::vector<keys::ActivityEntry>* log = nullptr;
    ActivityAdds::mapped_type* units = nullptr;
    std::array<std::vector<uint32_t>*, 4> any{};  // kAnyActivity's units: all, year, month, day
  } last_activity_day;
  Status error;
  // Commit scratch: the round's diffs (DiffLeads, leads.entries()[from + i] ->
  // diffs[i]); the date entries the part's leads leave and join, per
  // stored day key, and the transition log entries they put and remove,
  // per stored hour key (DiffSlots gathers, FinishDiffs writes one merge
  // operand per key); operations for each chunk owner
  // (views/write/chunk_outbox.h), and this part's share of the write.
  std::vector<LeadDiff> diffs;
  using DateEntry = std::array<char, state::kEntryBytes>;
  std::unordered_map<std::string, std::pair<std::vector<DateEntry>, std::vector<DateEntry>>> date_deltas;
  using LogId = std::array<char, state::kRecordIdBytes>;
  std::unordered_map<std::string, std::pair<std::vector<std::pair<LogId, std::string>>, std::vector<LogId>>>
      log_deltas;
  ChunkOutbox outbox;
  std::set<std::string> new_pairs;
  state::WriteBatch batch;
  // The batch whose write is in flight: this part's share of it and its
  // duplicate keys (checked by the next batch until it lands; the
  // staged duplicate set views them).
  state::WriteBatch inflight_batch;
  DedupKeys inflight_event_keys;
  // Across batches: the owned leads as the last handed-off batch left
  // them (views/write/lead_cache.h).
  LeadCache lead_cache;

  // Reads slot's lead (the cache, else the store) into the slot; is_new
  // when absent.
  Status LoadLead(const state::Store& store, uint64_t hash, const std::string& key, LeadSlot* slot);
  // One lead event of an owned lead, in arrival order (ApplyBlock's last
  // step): the lead's record and journal, the batch's activity log and
  // activity bitmap numbers, the anomalies.
  Status ApplyLeadEvent(LeadSlot* slot, const Event& e, const EventTime& time);
  // Commit: the round's diffs (leads.entries()[from + i] -> diffs[i]) sent
  // to the chunk owners through the outbox and written to this part's
  // batch (records, rows, lead ids, pairs not in known_pairs), their date
  // and log entries gathered; FinishDiffs writes those and the activity
  // bitmap numbers.
  void DiffSlots(size_t from, const std::set<std::string>& known_pairs);
  void FinishDiffs();
  // Moves the batch's leads into the lead cache (a handed-off batch's too:
  // until its write lands they are read from here, never the store; so the
  // cache evicts only once no write is in flight).
  void CacheCommittedLeads();
  // Forgets the batch's leads taken from the cache (a discarded batch: they
  // are read again from the store).
  void ForgetTakenLeads();
  void ResetBatch();
};

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_WRITE_APPLIER_PART_H_
