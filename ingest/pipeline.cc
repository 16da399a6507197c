#include "ingest/pipeline.h"

#include "ingest/decode.h"
#include "views/keys.h"

namespace leadflow::ingest {

namespace {

const char* const kApplied = "applied";
const char* const kDuplicate = "duplicate";
const char* const kDeadLettered = "dead_lettered";
const char* const kAnomalies = "anomalies";

uint64_t LoadTotal(state::Store* store, const char* name) {
  std::string v;
  if (!store->Get(state::Cf::kMeta, views::keys::MetaTotal(name), &v).ok() || v.size() != 8) return 0;
  return static_cast<uint64_t>(views::keys::ReadI64(v, 0));
}

std::pair<std::string, std::string> Total(const char* name, uint64_t value) {
  std::string v;
  views::keys::AppendI64(&v, static_cast<int64_t>(value));
  return {views::keys::MetaTotal(name), std::move(v)};
}

}  // namespace

Pipeline::Pipeline(state::Store* store, Stats* stats) : store_(store), stats_(stats), applier_(store) {
  stats_->events_applied = LoadTotal(store, kApplied);
  stats_->events_duplicate = LoadTotal(store, kDuplicate);
  stats_->events_dead_lettered = LoadTotal(store, kDeadLettered);
  stats_->anomalies = LoadTotal(store, kAnomalies);
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

std::optional<int64_t> Pipeline::StoredPosition(const SourcePosition& source) const {
  std::string v;
  if (!store_->Get(state::Cf::kMeta, views::keys::ConsumerOffset(source.topic, source.partition), &v).ok() ||
      v.size() != 8) {
    return std::nullopt;
  }
  return views::keys::ReadI64(v, 0);
}

}  // namespace leadflow::ingest
