#include "views/write/applier.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

#include "state/entry_set_merge.h"
#include "state/record_set_merge.h"
#include "views/detail/merge_sorted.h"
#include "views/keys.h"
#include "views/records.h"
#include "views/time.h"
#include "views/write/chunk_outbox.h"
#include "views/write/lead_diff.h"

namespace leadflow::views {
namespace {

using state::Cf;

bool IsLeadEvent(EventType t) {
  return t != EventType::kStatusUpserted && t != EventType::kStatusDeleted && t != EventType::kUserUpserted;
}

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

Applier::Applier(state::Store* store, size_t lead_cache_bytes, size_t workers)
    : store_(store), pool_(workers), org_(store), hand_off_(pool_.workers()) {
  const size_t n = pool_.workers();
  for (size_t i = 0; i < n; ++i) parts_.push_back(std::make_unique<Part>(lead_cache_bytes / n, n));
}

size_t Applier::LeadCacheBytes() const {
  size_t n = 0;
  for (const auto& part : parts_) n += part->lead_cache.bytes();
  return n;
}

size_t Applier::LeadCacheLeads() const {
  size_t n = 0;
  for (const auto& part : parts_) n += part->lead_cache.size();
  return n;
}

Status Applier::ForEachPart(size_t events, const std::function<Status(size_t)>& fn) {
  // A small batch (live traffic) runs every part on this thread: waking the
  // workers costs more than it saves, and on a busy machine a descheduled
  // worker would hold the batch up. Parts own data, not threads, so the
  // result is the same.
  pool_.ParallelFor(events >= min_parallel_events_ ? parts_.size() : 1, [&](size_t part, size_t parts) {
    for (size_t p = part; p < parts_.size(); p += parts) {
      Status s = fn(p);
      if (!s.ok() && parts_[p]->error.ok()) parts_[p]->error = std::move(s);
    }
  });
  Status first = Status::Ok();
  for (auto& part : parts_) {
    if (!part->error.ok() && first.ok()) first = part->error;
    part->error = Status::Ok();
  }
  return first;
}

void Applier::ForEachTask(size_t events, size_t tasks, const std::function<void(size_t)>& fn) {
  if (events >= min_parallel_events_) {
    pool_.ParallelTasks(tasks, fn);
  } else {
    for (size_t t = 0; t < tasks; ++t) fn(t);
  }
}

Applier::~Applier() {
  (void)Sync();
  // The parts' caches hold up to the budget's share of leads: freed on the
  // workers (at the end of `ingest --file` this was ~5% of the run).
  pool_.ParallelFor(parts_.size(), [this](size_t part, size_t parts) {
    for (size_t p = part; p < parts_.size(); p += parts) parts_[p].reset();
  });
}

Status Applier::Land(Status s) {
  // On failure the caches hold the failed batch's state, which the store
  // lacks: the applier is poisoned.
  if (!s.ok()) return hand_off_.Fail(std::move(s));
  counters_.applied += inflight_counters_.applied;
  counters_.duplicates += inflight_counters_.duplicates;
  counters_.anomalies += inflight_counters_.anomalies;
  inflight_counters_ = Counters();
  hand_off_.Landed();
  // Before the keys it views go; a catch-up batch's fingerprints on the
  // workers, which would wait meanwhile (the serial insert was ~4% of a
  // two-worker `ingest --file`, session 26).
  const detail::ParallelRunner parallel = pool_.Runner();
  const bool in_parallel = inflight_events_ >= min_parallel_events_ && parts_.size() > 1;
  dedup_.Land(&hand_off_.staged(), in_parallel ? &parallel : nullptr);
  (void)ForEachPart(inflight_events_, [this](size_t p) {
    Part* part = parts_[p].get();
    part->inflight_batch.Clear();
    part->inflight_event_keys.clear();
    part->lead_cache.Evict();
    return Status::Ok();
  });
  inflight_events_ = 0;
  return Status::Ok();
}

Status Applier::Sync() {
  if (!hand_off_.InFlight()) return hand_off_.poisoned();
  return Land(hand_off_.Wait());
}

void Applier::Reset() {
  // A write in flight lands first: the leads dropped below are
  // read again from the store, which must have it.
  (void)Sync();
  // Freeing a batch's leads and keys is a good share of its cost: in parallel.
  (void)ForEachPart(pending_events_, [this](size_t p) {
    // The batch's leads taken from the cache are read again next time.
    parts_[p]->ForgetTakenLeads();
    parts_[p]->ResetBatch();
    return Status::Ok();
  });
  org_.Clear();
  pending_events_ = 0;
  pending_counters_ = Counters();
  batch_arrival_ = 0;
}

std::map<uint32_t, uint64_t> Applier::PendingAnomalies() const {
  std::map<uint32_t, uint64_t> n;
  for (const auto& part : parts_) {
    for (const auto& [shard, count] : part->anomalies) n[shard] += count;
  }
  return n;
}

Status Applier::Apply(const Event& e, ApplyOutcome* outcome) {
  std::vector<ApplyOutcome> outcomes;
  Status s = ApplyBlock(std::span<const Event>(&e, 1), &outcomes);
  if (s.ok()) *outcome = outcomes[0];
  return s;
}

Status Applier::ApplyBlock(std::span<const Event> events, std::vector<ApplyOutcome>* outcomes) {
  if (!hand_off_.poisoned().ok()) return hand_off_.poisoned();
  const size_t n = events.size();
  outcomes->assign(n, ApplyOutcome::kApplied);
  // 1. In parallel: the keys and their hashes (each key is hashed once),
  //    and whether the write in flight or the duplicate set of the landed
  //    batches has each event's key (views/write/dedup_set.h; it reads the
  //    store only to confirm a fingerprint it holds). Duplicates within the
  //    batch are found by the insert in step 2.
  if (!dedup_loaded_) {
    Status s = dedup_.Load(*store_);
    if (!s.ok()) return s.WithContext("loading the duplicate set");
    dedup_loaded_ = true;
  }
  // Lead keys are built only to pick the owner here and to find the slot
  // in step 4 (into a buffer each, no allocation): a batch names a lead
  // many times, and only its first sight keeps a copy.
  std::vector<std::string> event_keys(n);
  std::vector<size_t> event_hashes(n);
  // The owner part of each event's key and of each lead event's lead.
  std::vector<uint32_t> event_part(n), lead_part(n);
  std::vector<uint64_t> lead_hashes(n);  // of each lead event's keys::Lead
  // 1: in the duplicate set or the write in flight; then 1 for every
  // duplicate (step 2).
  std::vector<char> dup(n, 0);
  // In tasks of kKeyTaskEvents events, claimed by whichever thread is
  // free (a thread held up by the write in flight takes fewer).
  const size_t tasks = std::min(n, std::max(pool_.workers(), (n + kKeyTaskEvents - 1) / kKeyTaskEvents));
  const size_t per_task = (n + tasks - 1) / std::max<size_t>(1, tasks);
  std::vector<Status> errors(tasks);
  ForEachTask(n, tasks, [&](size_t task) {
    const size_t begin = task * per_task, end = std::min(n, begin + per_task);
    std::string lead_key;
    for (size_t i = begin; i < end; ++i) {
      const Event& e = events[i];
      event_keys[i] = keys::Event(e.org_id, e.event_id);
      event_hashes[i] = detail::HashKey(event_keys[i]);
      event_part[i] = static_cast<uint32_t>(PartOfHash(event_hashes[i]));
      if (IsLeadEvent(e.type)) {
        keys::AssignOrgAndStr(&lead_key, e.org_id, e.lead_id);  // keys::Lead
        lead_hashes[i] = detail::HashKey(lead_key);
        lead_part[i] = static_cast<uint32_t>(PartOfHash(lead_hashes[i]));
      }
    }
    // The duplicate set's table is large and its slots random (a cache and
    // TLB miss each): fetched a few keys ahead.
    constexpr size_t kAhead = 8;
    for (size_t i = begin; i < end && i < begin + kAhead; ++i) dedup_.Prefetch(event_hashes[i]);
    for (size_t i = begin; i < end; ++i) {
      if (i + kAhead < end) dedup_.Prefetch(event_hashes[i + kAhead]);
      const Part& owner = *parts_[event_part[i]];
      if (owner.inflight_event_keys.Contains(event_hashes[i], event_keys[i])) {
        dup[i] = 1;
        continue;
      }
      bool found = false;
      Status s = dedup_.Contains(*store_, event_hashes[i], event_keys[i], &found);
      if (!s.ok()) {
        errors[task] = std::move(s);
        return;
      }
      dup[i] = found;
    }
  });
  for (Status& s : errors) {
    if (!s.ok()) return s;
  }
  // 2. Each part, in arrival order, the events whose key it owns: the first
  //    of a key in the block is new, the others are duplicates (a part sees
  //    every event of its keys, so this is the order of the whole block).
  Status s = ForEachPart(n, [&](size_t p) {
    DedupKeys& keys = parts_[p]->event_keys;
    for (size_t i = 0; i < n; ++i) {
      if (event_part[i] != p || dup[i]) continue;
      if (!keys.TryEmplace(event_hashes[i], std::move(event_keys[i]), OwningShard(events[i].arrival, events[i].shard))) {
        dup[i] = 1;
      }
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  // 3. Serially, in arrival order: counts, sequence and the org-level
  //    records (statuses and users; lead events never read them).
  for (size_t i = 0; i < n; ++i) {
    const Event& e = events[i];
    if (dup[i]) {
      (*outcomes)[i] = ApplyOutcome::kDuplicate;
      ++pending_counters_.duplicates;
      continue;
    }
    batch_arrival_ = std::max(batch_arrival_, e.arrival);
    if (!IsLeadEvent(e.type)) {
      s = org_.Apply(e, EventTime{e.occurred_at_ms, e.arrival});
      if (!s.ok()) return s;
    }
    ++pending_events_;
    ++pending_counters_.applied;
  }
  // 4. Each part, in arrival order, the lead events of the leads it owns:
  //    their slots (read from the cache or the store when first seen in
  //    this block), their work, and the earliest time each status was named
  //    (a minimum: the order the parts' notes are taken in does not matter).
  s = ForEachPart(n, [&](size_t p) {
    Part* part = parts_[p].get();
    part->block_new_slots.clear();
    part->block_statuses.clear();
    std::string lead_key;
    for (size_t i = 0; i < n; ++i) {
      if (dup[i] || lead_part[i] != p) continue;
      const Event& e = events[i];
      if (!IsLeadEvent(e.type)) continue;
      if (e.type == EventType::kLeadCreated || e.type == EventType::kLeadStatusChanged) {
        auto [at, fresh] = part->block_statuses.try_emplace({e.org_id, e.status_id}, e.occurred_at_ms);
        if (!fresh) at->second = std::min(at->second, e.occurred_at_ms);
      }
      keys::AssignOrgAndStr(&lead_key, e.org_id, e.lead_id);  // keys::Lead
      auto [entry, inserted] = part->leads.TryEmplaceEntry(lead_hashes[i], lead_key);  // the key copied only when new
      LeadSlot* slot = &entry->value;
      if (inserted) {
        slot->lead_id = e.lead_id;
        slot->org = std::string_view(entry->key.data(), e.org_id.size());
        part->block_new_slots.emplace_back(i, slot);
      }
      part->work.push_back({slot, &e, EventTime{e.occurred_at_ms, e.arrival}});
    }
    for (; part->slots_loaded < part->leads.size(); ++part->slots_loaded) {
      LeadSlots::Entry& entry = part->leads.entries()[part->slots_loaded];
      Status r = part->LoadLead(*store_, entry.hash, entry.key, &entry.value);
      if (!r.ok()) return r;
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  std::vector<std::pair<size_t, LeadSlot*>> new_slots;  // the block's new slots, in order of first sight
  for (auto& part : parts_) {
    for (const auto& [key, at_ms] : part->block_statuses) {
      s = org_.NoteStatusSeen(key.first, key.second, at_ms);
      if (!s.ok()) return s;
    }
    new_slots.insert(new_slots.end(), part->block_new_slots.begin(), part->block_new_slots.end());
  }
  std::sort(new_slots.begin(), new_slots.end());
  // 5. New leads get their numbers in order of first sight.
  for (auto [first, slot] : new_slots) {
    if (!slot->is_new) continue;
    s = org_.NextLeadNum(slot->org, &slot->record.num);
    if (!s.ok()) return s;
  }
  // 6. The owners apply their leads' events, each lead's in arrival order.
  return ForEachPart(n, [this](size_t p) {
    Part* part = parts_[p].get();
    for (const Part::Work& w : part->work) {
      Status r = part->ApplyLeadEvent(w.slot, *w.event, w.time);
      if (!r.ok()) return r;
    }
    part->work.clear();
    return Status::Ok();
  });
}

void Applier::DiffLeads(size_t from, size_t to) {
  // (part, first slot) of each task.
  std::vector<std::pair<Part*, size_t>> tasks;
  for (auto& part : parts_) {
    const size_t end = std::min(to, part->leads.size());
    part->diffs.clear();
    part->diffs.resize(end > from ? end - from : 0);
    for (size_t b = from; b < end; b += kDiffTaskLeads) tasks.emplace_back(part.get(), b);
  }
  auto diff = [&tasks, from, to](size_t t) {
    auto [part, begin] = tasks[t];
    const size_t end = std::min({part->leads.size(), to, begin + kDiffTaskLeads});
    for (size_t i = begin; i < end; ++i) {
      LeadSlot* slot = &part->leads.entries()[i].value;
      LeadBefore before{&slot->before,        &slot->names,     slot->status_dirty,
                        &slot->attributes_before, &slot->row_before, !slot->fields_touched};
      part->diffs[i - from] = DiffLead(slot->org, slot->lead_id, slot->record, before);
    }
  };
  ForEachTask(pending_events_, tasks.size(), diff);
}

Status Applier::ApplyChunkOps(size_t q) {
  // Each chunk this part owns: one delta from every part's operations on
  // it (views/write/chunk_outbox.h).
  Part* owner = parts_[q].get();
  std::vector<const ChunkOutbox*> senders;
  for (const auto& sender : parts_) senders.push_back(&sender->outbox);
  WriteChunkDeltas(senders, q, &owner->batch);
  // The activity log: one key per day of the batch, written by the day's
  // owner, its entries sorted (so the value does not depend on which part
  // sent which).
  // (The order of the Puts does not matter: Prepare sorts the share.)
  std::unordered_map<std::string_view, std::vector<keys::ActivityEntry>> days;
  for (auto& sender : parts_) {
    for (const auto& [prefix, entries] : sender->activity_log) {
      if (PartOf(prefix) != q) continue;
      auto& all = days[prefix];
      all.insert(all.end(), entries.begin(), entries.end());
    }
  }
  std::string value;
  for (auto& [prefix, entries] : days) {
    std::sort(entries.begin(), entries.end());
    value.clear();
    value.reserve(entries.size() * keys::kActivityEntryBytes);
    for (const auto& e : entries) keys::AppendActivityEntry(&value, e);
    owner->batch.Put(Cf::kActivityLog, keys::ActivityLogBatch(prefix, batch_arrival_), value);
  }
  // Here, in parallel, rather than in Store::Write (a staged batch is not
  // encoded for RocksDB: its checkpoint is).
  if (!stage_commit_) store_->Prepare(&owner->batch);
  return Status::Ok();
}

void Applier::Discard() {
  (void)Sync();
  Reset();
}

Status Applier::Commit(const std::vector<std::pair<std::string, std::string>>& meta_puts, CommitMode mode,
                       std::function<void(uint64_t)> on_landed) {
  if (!hand_off_.poisoned().ok()) return hand_off_.poisoned();
  stage_commit_ = mode == CommitMode::kWait && store_->stages();
  // Every owned lead's diff and this part's writes; then the chunk owners
  // apply the operations sent to them. A write in flight goes on meanwhile:
  // its leads stay cached, and chunks are never read (only merged into), so
  // nothing here reads what it changes.
  // In rounds of kDiffRoundLeads leads a part: a round's diffs are held
  // until its owners have sent them.
  size_t most = 0;
  for (const auto& part : parts_) most = std::max(most, part->leads.size());
  for (size_t from = 0; from < most; from += kDiffRoundLeads) {
    DiffLeads(from, from + kDiffRoundLeads);
    (void)ForEachPart(pending_events_, [this, from](size_t p) {
      parts_[p]->DiffSlots(from, known_pairs_);
      return Status::Ok();
    });
  }
  Status s = ForEachPart(pending_events_, [this](size_t p) {
    parts_[p]->FinishDiffs();
    return Status::Ok();
  });
  if (s.ok()) s = ForEachPart(pending_events_, [this](size_t q) { return ApplyChunkOps(q); });
  if (!s.ok()) {
    Discard();
    return s;
  }
  // Writes land in order: the previous one first.
  s = Sync();
  if (!s.ok()) return s;

  state::WriteBatch& batch = hand_off_.meta();
  org_.WriteTouched(&batch);
  for (const auto& [k, v] : meta_puts) batch.Put(Cf::kMeta, k, v);
  // The batch's new duplicate keys (views/write/dedup_set.h): an open
  // record per shard, or the generations of the shards sealed now. Each
  // part sorts its keys by shard and key in parallel (a sort of a catch-up
  // batch's ~300,000 keys on this thread alone was a fifth of the time the
  // second worker waited, session 17); Stage merges the sorted runs.
  std::vector<std::vector<DedupSet::Entry>> runs(parts_.size());
  (void)ForEachPart(pending_events_, [&](size_t p) {
    std::vector<DedupSet::Entry>& run = runs[p];
    run.reserve(parts_[p]->event_keys.size());
    for (const auto& e : parts_[p]->event_keys.entries()) run.push_back({e.hash, e.key, e.value});
    std::sort(run.begin(), run.end(), DedupSet::EntryLess);
    return Status::Ok();
  });
  // Merges the runs and stages the keys into the write (the hand-off's meta
  // and bucket batches), with parallel (a catch-up batch's generation built
  // in ranges) or on one thread. A handed-off batch stages on the writer's
  // thread, beside the next batch's apply: on this thread the merge and the
  // staging were ~0.7% of a two-worker `ingest --file` with the second
  // worker waiting (session 27). Stage only reads the landed set, as
  // the next batch's lookups do, and Land runs after the write.
  auto stage_keys = [this, runs = std::move(runs)](const detail::ParallelRunner* parallel) mutable {
    std::vector<DedupSet::Entry> entries;
    for (auto& run : runs) {
      if (entries.empty()) {
        entries = std::move(run);
        continue;
      }
      entries = detail::MergeSorted(entries, run, DedupSet::EntryLess, parallel);
    }
    return dedup_.Stage(std::move(entries), &hand_off_.meta(), &hand_off_.staged(), parallel, hand_off_.buckets());
  };
  if (mode == CommitMode::kWait) {
    const detail::ParallelRunner parallel = pool_.Runner();
    const bool in_parallel = pending_events_ >= min_parallel_events_ && parts_.size() > 1;
    s = stage_keys(in_parallel ? &parallel : nullptr);
    if (!s.ok()) {
      hand_off_.Drop();
      Discard();
      return s;
    }
  }

  // Hand the batch over: its share of the write and its markers to the
  // in-flight slots, its leads to the cache.
  for (auto& part : parts_) known_pairs_.insert(part->new_pairs.begin(), part->new_pairs.end());
  uint64_t anomalies = 0;
  for (const auto& [shard, count] : PendingAnomalies()) anomalies += count;
  inflight_counters_ = Counters{pending_counters_.applied, pending_counters_.duplicates, anomalies};
  inflight_events_ = pending_events_;
  (void)ForEachPart(pending_events_, [this](size_t p) {
    Part* part = parts_[p].get();
    part->batch.Swap(part->inflight_batch);
    part->event_keys.swap(part->inflight_event_keys);
    part->CacheCommittedLeads();
    part->ResetBatch();
    return Status::Ok();
  });
  pending_events_ = 0;
  pending_counters_ = Counters();
  batch_arrival_ = 0;

  // A handed-off batch (catch-up) is a checkpoint of its own; a small one
  // (live traffic) is staged: readers see it at once, and the store writes
  // it to RocksDB with the next checkpoint (state/store.h Stage).
  auto write = [this, mode, stage_keys = std::move(stage_keys), on_landed = std::move(on_landed)]() mutable {
    if (mode == CommitMode::kHandOff) {
      // A failure here (the duplicate set's generations used up) poisons
      // the applier, as a failed write does.
      Status staged = stage_keys(nullptr);
      if (!staged.ok()) return staged;
    }
    std::vector<state::WriteBatch*> shares;
    for (auto& part : parts_) shares.push_back(&part->inflight_batch);
    uint64_t epoch = 0;
    Status written = hand_off_.Write(store_, mode == CommitMode::kWait, shares, &epoch);
    if (written.ok() && on_landed) on_landed(epoch);
    return written;
  };
  if (mode == CommitMode::kWait) {
    // Small batches (live traffic) write on this thread: no thread to
    // start, and the caller knows the batch is visible when this returns.
    return Land(write());
  }
  hand_off_.Start(std::move(write));
  return Status::Ok();
}

}  // namespace leadflow::views
