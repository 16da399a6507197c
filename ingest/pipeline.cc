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
      applier_(store, views::Applier::kDefaultLeadCacheCapacity, apply_workers) {}

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
  size_t src = 0;
  while (src < sources_.size() && (sources_[src].partition != source.partition || sources_[src].topic != source.topic)) {
    ++src;
  }
  if (src == sources_.size()) sources_.push_back(source);
  Added a{arena_.size(), value.size(), 0, 0, key.has_value(), src, offset};
  arena_.append(value);
  if (key) {
    a.key_begin = arena_.size();
    a.key_size = key->size();
    arena_.append(*key);
  }
  added_.push_back(a);
  if (added_.size() >= kBlockMessages) return ApplyAdded();
  return Status::Ok();
}

Status Pipeline::ApplyAdded() {
  if (added_.empty()) return Status::Ok();
  const size_t n = added_.size();
  auto value_of = [this](const Added& a) { return std::string_view(arena_).substr(a.value_begin, a.value_size); };
  auto key_of = [this](const Added& a) -> std::optional<std::string_view> {
    if (!a.has_key) return std::nullopt;
    return std::string_view(arena_).substr(a.key_begin, a.key_size);
  };
  // Decoding is pure: in parallel, then the valid events in order.
  events_.resize(n);
  std::vector<Status> decoded(n);
  const size_t spread = n >= views::Applier::kMinParallelEvents ? n : 1;  // small: on this thread
  applier_.pool().ParallelFor(spread, [&](size_t part, size_t parts) {
    for (size_t i = part; i < n; i += parts) {
      events_[i] = views::Event();
      decoded[i] = DecodeEvent(value_of(added_[i]), key_of(added_[i]), &events_[i]);
    }
  });
  size_t valid = 0;
  for (size_t i = 0; i < n; ++i) {
    if (decoded[i].ok()) {
      if (valid != i) events_[valid] = std::move(events_[i]);
      ++valid;
      continue;
    }
    const Added& a = added_[i];
    std::optional<std::string_view> key = key_of(a);
    dead_letters_.push_back(DeadLetter{decoded[i].message(), std::string(value_of(a)),
                                       key ? std::optional<std::string>(std::string(*key)) : std::nullopt,
                                       sources_[a.source], a.offset});
  }
  added_.clear();
  arena_.clear();
  std::vector<views::ApplyOutcome> outcomes;
  Status s = applier_.ApplyBlock(std::span<const views::Event>(events_.data(), valid), &outcomes);
  if (!s.ok()) {
    Reset();
    return s;
  }
  for (views::ApplyOutcome o : outcomes) {
    if (o == views::ApplyOutcome::kApplied) {
      ++pending_applied_;
    } else {
      ++pending_duplicates_;
    }
  }
  return Status::Ok();
}

Status Pipeline::Commit() {
  if (Status applied = ApplyAdded(); !applied.ok()) return applied;
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
  const auto mode = pending_ >= views::Applier::kMinParallelEvents ? views::Applier::CommitMode::kHandOff
                                                                   : views::Applier::CommitMode::kWait;
  Status s = applier_.Commit(meta, mode);  // the applier's batch is empty after it, either way
  if (s.ok()) {
    stats_->events_applied += pending_applied_;
    stats_->events_duplicate += pending_duplicates_;
    stats_->events_dead_lettered += dead_letters_.size();
    stats_->anomalies += anomalies;
    ++stats_->batches;
  }
  ClearPending();
  return s;
}

void Pipeline::Reset() {
  applier_.Reset();
  ClearPending();
}

void Pipeline::ClearPending() {
  dead_letters_.clear();
  added_.clear();
  arena_.clear();
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
