#include "ingest/pipeline.h"

#include "ingest/decode.h"
#include "views/keys.h"

namespace leadflow::ingest {

Pipeline::Pipeline(state::Store* store, Stats* stats) : store_(store), stats_(stats), applier_(store) {}

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
  const uint64_t anomalies_before = applier_.counters().anomalies;
  Status s = applier_.Commit(meta);
  if (s.ok()) {
    stats_->events_applied += pending_applied_;
    stats_->events_duplicate += pending_duplicates_;
    stats_->events_dead_lettered += dead_letters_.size();
    stats_->anomalies += applier_.counters().anomalies - anomalies_before;
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
