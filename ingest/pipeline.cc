#include "ingest/pipeline.h"

#include "ingest/decode.h"
#include "views/keys.h"

namespace leadflow::ingest {

namespace {

const char* const kApplied = "applied";
const char* const kDuplicate = "duplicate";
const char* const kDeadLettered = "dead_lettered";
const char* const kAnomalies = "anomalies";

Status LoadTotal(state::Store* store, const char* name, std::atomic<uint64_t>* out) {
  std::string v;
  Status s = store->Get(state::Cf::kMeta, views::keys::MetaTotal(name), &v);
  if (s.IsNotFound()) {
    *out = 0;
    return Status::Ok();
  }
  if (!s.ok()) return s.WithContext("reading the stored total " + std::string(name));
  if (v.size() != 8) {
    return Status::Corruption("the stored total " + std::string(name) + " is malformed (" +
                              std::to_string(v.size()) + " bytes, want 8)");
  }
  *out = static_cast<uint64_t>(views::keys::ReadI64(v, 0));
  return Status::Ok();
}

std::pair<std::string, std::string> Total(const char* name, uint64_t value) {
  std::string v;
  views::keys::AppendI64(&v, static_cast<int64_t>(value));
  return {views::keys::MetaTotal(name), std::move(v)};
}

}  // namespace

Pipeline::Pipeline(state::Store* store, Stats* stats, size_t apply_workers)
    : store_(store),
      stats_(stats),
      applier_(store, views::Applier::kDefaultLeadCacheCapacity, views::ChunkCache::kDefaultBudgetBytes,
               apply_workers) {}

Status Pipeline::Create(state::Store* store, Stats* stats, std::unique_ptr<Pipeline>* out, size_t apply_workers) {
  out->reset();
  Status s = LoadTotal(store, kApplied, &stats->events_applied);
  if (s.ok()) s = LoadTotal(store, kDuplicate, &stats->events_duplicate);
  if (s.ok()) s = LoadTotal(store, kDeadLettered, &stats->events_dead_lettered);
  if (s.ok()) s = LoadTotal(store, kAnomalies, &stats->anomalies);
  if (s.ok()) out->reset(new Pipeline(store, stats, apply_workers));
  return s;
}

Status Pipeline::Add(std::string_view value, std::optional<std::string_view> key, const SourcePosition& source,
                     int64_t offset, bool track_position) {
  ++pending_;
  if (track_position) next_offsets_[source] = offset + 1;
  views::Event event;
  Status s = DecodeEvent(value, key, &event);
  if (!s.ok()) {
    dead_letters_.push_back(DeadLetter{s.message(), std::string(value),
                                       key ? std::optional<std::string>(std::string(*key)) : std::nullopt, source,
                                       offset});
    return Status::Ok();
  }
  views::ApplyOutcome outcome;
  s = applier_.Apply(event, &outcome);
  if (!s.ok()) {
    Reset();
    return s;
  }
  if (outcome == views::ApplyOutcome::kApplied) {
    ++pending_applied_;
  } else {
    ++pending_duplicates_;
  }
  return Status::Ok();
}

Status Pipeline::Commit() {
  std::vector<std::pair<std::string, std::string>> meta;
  for (const auto& [src, next] : next_offsets_) {
    std::string v;
    views::keys::AppendI64(&v, next);
    meta.emplace_back(views::keys::ConsumerOffset(src.topic, src.partition), std::move(v));
  }
  const uint64_t anomalies = applier_.PendingAnomalies();
  meta.push_back(Total(kApplied, stats_->events_applied + pending_applied_));
  meta.push_back(Total(kDuplicate, stats_->events_duplicate + pending_duplicates_));
  meta.push_back(Total(kDeadLettered, stats_->events_dead_lettered + dead_letters_.size()));
  meta.push_back(Total(kAnomalies, stats_->anomalies + anomalies));
  Status s = applier_.Commit(meta);
  if (s.ok()) {
    stats_->events_applied += pending_applied_;
    stats_->events_duplicate += pending_duplicates_;
    stats_->events_dead_lettered += dead_letters_.size();
    stats_->anomalies += anomalies;
    ++stats_->batches;
  }
  Reset();
  return s;
}

void Pipeline::Reset() {
  applier_.Reset();
  dead_letters_.clear();
  next_offsets_.clear();
  pending_ = 0;
  pending_applied_ = 0;
  pending_duplicates_ = 0;
}

Status Pipeline::StoredPosition(const SourcePosition& source, std::optional<int64_t>* out) const {
  out->reset();
  const std::string where = source.topic + "[" + std::to_string(source.partition) + "]";
  std::string v;
  Status s = store_->Get(state::Cf::kMeta, views::keys::ConsumerOffset(source.topic, source.partition), &v);
  if (s.IsNotFound()) return Status::Ok();
  if (!s.ok()) return s.WithContext("reading the stored position of " + where);
  if (v.size() != 8) {
    return Status::Corruption("the stored position of " + where + " is malformed (" + std::to_string(v.size()) +
                              " bytes, want 8)");
  }
  *out = views::keys::ReadI64(v, 0);
  return Status::Ok();
}

}  // namespace leadflow::ingest
