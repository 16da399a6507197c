#include "ingest/pipeline.h"

#include <charconv>

#include "ingest/decode.h"
#include "state/log.h"
#include "views/keys.h"
#include "views/records.h"

namespace leadflow::ingest {

namespace {

uint32_t ShardOf(const SourcePosition& source) {
  return source.local() ? kLocalShard : ShardOfPartition(source.partition);
}

std::string EncodeI64(int64_t v) {
  std::string out;
  views::keys::AppendI64(&out, v);
  return out;
}

}  // namespace

std::string OriginHeader(std::string_view group, const Origin& origin) {
  return std::string(group) + "|" + std::to_string(origin.partition) + ":" + std::to_string(origin.offset);
}

std::optional<Origin> ParseOrigin(std::string_view header, std::string_view group) {
  if (header.size() <= group.size() || header.substr(0, group.size()) != group || header[group.size()] != '|') {
    return std::nullopt;
  }
  header.remove_prefix(group.size() + 1);
  const size_t colon = header.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  Origin o;
  const char* end = header.data() + header.size();
  auto p = std::from_chars(header.data(), header.data() + colon, o.partition);
  auto q = std::from_chars(header.data() + colon + 1, end, o.offset);
  if (p.ec != std::errc() || p.ptr != header.data() + colon || q.ec != std::errc() || q.ptr != end) return std::nullopt;
  if (o.partition < 0 || ShardOfPartition(o.partition) > views::kMaxShard || o.offset < 0 ||
      static_cast<uint64_t>(o.offset) > views::kMaxArrivalOffset) {
    return std::nullopt;
  }
  return o;
}

Pipeline::Pipeline(state::Store* store, Stats* stats, size_t apply_workers, size_t lead_cache_bytes)
    : store_(store), stats_(stats), applier_(store, lead_cache_bytes, apply_workers) {
  decode_fn_ = [this](size_t part, size_t) {
    const size_t begin = part * kDecodePartMessages;
    decoding_.Decode(begin, std::min(decoding_.added.size(), begin + kDecodePartMessages));
  };
}

Pipeline::~Pipeline() { applier_.pool().WaitBackground(); }

size_t Pipeline::Block::StartDecode() {
  events.resize(added.size());
  decoded.resize(added.size());
  return (added.size() + kDecodePartMessages - 1) / kDecodePartMessages;
}

void Pipeline::Block::Decode(size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    decoded[i] = DecodeEvent(value(added[i]), key(added[i]), &events[i]);
    events[i].arrival = added[i].arrival;
    events[i].shard = views::Event::kShardOfArrival;  // slots are reused
  }
}

Status Pipeline::Create(state::Store* store, Stats* stats, std::unique_ptr<Pipeline>* out, size_t apply_workers,
                        size_t lead_cache_bytes) {
  out->reset();
  ShardsMeta meta;
  Status s = LoadShards(*store, &meta);
  if (!s.ok()) return s;
  std::unique_ptr<Pipeline> p(new Pipeline(store, stats, apply_workers, lead_cache_bytes));
  ShardTotals sum;
  for (auto& [shard, info] : meta.shards) {
    sum += info.totals;
    p->totals_[shard] = info.totals;
    p->orgs_[shard].insert(info.orgs.begin(), info.orgs.end());
    if (shard == kLocalShard && info.next_offset) p->local_next_ = *info.next_offset;
    if (!info.reroute_marks.empty()) p->marks_[shard] = info.reroute_marks;
  }
  p->topic_ = meta.topic;
  stats->events_applied = sum.applied;
  stats->events_duplicate = sum.duplicate;
  stats->events_dead_lettered = sum.dead_lettered;
  stats->anomalies = sum.anomalies;
  *out = std::move(p);
  return Status::Ok();
}

std::vector<uint32_t> Pipeline::shards() const {
  // Create takes every shard LoadShards finds, and a commit that writes
  // any meta of a shard (an org, a mark) writes its totals too.
  std::vector<uint32_t> out;
  for (const auto& [shard, totals] : totals_) out.push_back(shard);
  return out;
}

void Pipeline::RouteHome(Partitioner partitioner, int32_t partitions) { home_.emplace(partitioner, partitions); }

Status Pipeline::Add(std::string_view value, std::optional<std::string_view> key, const SourcePosition& source,
                     int64_t offset, std::optional<Origin> origin) {
  uint64_t arrival = 0;
  if (source.local()) {
    const int64_t next = local_next_ + local_pending_;
    if (next >= static_cast<int64_t>(views::kMaxArrivalOffset)) {
      return Status::InvalidArgument("the local source has numbered 2^40 messages: no arrival number is left");
    }
    arrival = views::ArrivalSeq(kLocalShard, static_cast<uint64_t>(next));
    ++local_pending_;
  } else {
    if (source.partition < 0 || ShardOfPartition(source.partition) > views::kMaxShard) {
      return Status::InvalidArgument("partition " + std::to_string(source.partition) + " is out of range");
    }
    if (offset < 0 || static_cast<uint64_t>(offset) > views::kMaxArrivalOffset) {
      return Status::InvalidArgument("offset " + std::to_string(offset) + " of " + source.topic + "[" +
                                     std::to_string(source.partition) + "] is beyond 2^40");
    }
    if (topic_.empty()) {
      topic_ = source.topic;
      binds_topic_ = true;
    } else if (topic_ != source.topic) {
      return TopicMismatch(topic_, source.topic);
    }
    arrival = views::ArrivalSeq(ShardOfPartition(source.partition), static_cast<uint64_t>(offset));
    next_offsets_[source] = offset + 1;
  }
  ++pending_;
  size_t src = 0;
  while (src < sources_.size() && (sources_[src].partition != source.partition || sources_[src].topic != source.topic)) {
    ++src;
  }
  if (src == sources_.size()) sources_.push_back(source);
  std::string& arena = adding_.arena;
  Added a{arena.size(), value.size(), 0, 0, key.has_value(), src, offset, arrival, origin};
  arena.append(value);
  if (key) {
    a.key_begin = arena.size();
    a.key_size = key->size();
    arena.append(*key);
  }
  adding_.added.push_back(a);
  if (adding_.added.size() >= kBlockMessages) return TakeFullBlock();
  return Status::Ok();
}

void Pipeline::NoteShardOrg(uint32_t shard, std::string_view org) {
  if (last_org_.first == shard && last_org_.second == org) return;
  last_org_ = {shard, std::string(org)};
  auto known = orgs_.find(shard);
  if (known != orgs_.end() && known->second.count(org)) return;
  pending_orgs_.emplace(shard, std::string(org));
}

Status Pipeline::TakeFullBlock() {
  views::detail::WorkerPool& pool = applier_.pool();
  if (pool.workers() < 2) return ApplyAdded();  // no worker to decode meanwhile
  // The block before the last one is decoded by now (or this thread
  // finishes it): it is applied while the full one decodes.
  FinishDecoding();
  std::swap(adding_, decoding_);
  pool.StartBackground(decoding_.StartDecode(), &decode_fn_);
  decoding_started_ = true;
  if (ready_.added.empty()) return Status::Ok();
  return ApplyDecoded(&ready_);
}

void Pipeline::FinishDecoding() {
  if (!decoding_started_) return;
  applier_.pool().WaitBackground();
  decoding_started_ = false;
  std::swap(decoding_, ready_);
}

Status Pipeline::ApplyDecoding() {
  if (!decoding_started_) return Status::Ok();
  FinishDecoding();
  return ApplyDecoded(&ready_);
}

void Pipeline::DropDecoding() {
  applier_.pool().WaitBackground();
  decoding_started_ = false;
  decoding_.Clear();
  ready_.Clear();
  adding_.Clear();
}

Status Pipeline::ApplyAdded() {
  if (Status s = ApplyDecoding(); !s.ok()) return s;
  if (adding_.added.empty()) return Status::Ok();
  std::swap(adding_, ready_);
  Block& b = ready_;
  const size_t n = b.added.size();
  // Decoding is pure: in parallel (small: on this thread).
  const size_t chunks = b.StartDecode();
  applier_.ForEachTask(n, chunks, [&](size_t c) {
    b.Decode(c * kDecodePartMessages, std::min(n, (c + 1) * kDecodePartMessages));
  });
  return ApplyDecoded(&b);
}

Status Pipeline::ApplyDecoded(Block* b) {
  const size_t n = b->added.size();
  std::vector<views::Event>& events = b->events;
  size_t valid = 0;
  for (size_t i = 0; i < n; ++i) {
    const Added& a = b->added[i];
    const SourcePosition& source = sources_[a.source];
    if (b->decoded[i].ok()) {
      if (!RouteEvent(*b, a, source, &events[i])) continue;
      if (valid != i) events[valid] = std::move(events[i]);
      ++valid;
      continue;
    }
    ++pending_totals_[ShardOf(source)].dead_lettered;
    dead_letters_.push_back(DeadLetter{b->decoded[i].message(), std::string(b->value(a)), b->KeyCopy(a), source,
                                       a.offset});
  }
  b->Clear();
  std::vector<views::ApplyOutcome> outcomes;
  Status s = applier_.ApplyBlock(std::span<const views::Event>(events.data(), valid), &outcomes);
  if (!s.ok()) {
    Reset();
    return s;
  }
  for (size_t i = 0; i < valid; ++i) {
    const uint32_t shard = views::OwningShard(events[i].arrival, events[i].shard);
    if (outcomes[i] == views::ApplyOutcome::kApplied) {
      ++pending_totals_[shard].applied;
      NoteShardOrg(shard, events[i].org_id);
      if (feed_ && !batch_orgs_.contains(std::string_view(events[i].org_id))) batch_orgs_.insert(events[i].org_id);
    } else {
      ++pending_totals_[shard].duplicate;
    }
  }
  return Status::Ok();
}

bool Pipeline::RouteEvent(const Block& b, const Added& a, const SourcePosition& source, views::Event* e) {
  if (source.local()) return true;
  // A header that names this partition or one the topic does not have is
  // no copy of ours (its arrival number could be another event's).
  const bool copy = a.origin && a.origin->partition != source.partition &&
                    (!home_ || a.origin->partition < home_->second);
  if (!copy) {
    if (!home_) return true;
    const int32_t home = HomePartition(home_->first, e->org_id, home_->second);
    if (home == source.partition) return true;
    reroutes_.push_back(Reroute{std::string(b.value(a)), b.KeyCopy(a), home, source, a.offset});
    if (rerouted_orgs_.insert(e->org_id).second) {
      if (rerouted_orgs_.size() > stats_->rerouted_orgs.load()) stats_->rerouted_orgs = rerouted_orgs_.size();
      LogWarn("org " + e->org_id + " has events on partition " + std::to_string(source.partition) +
              ", not its home partition " + std::to_string(home) +
              ": they are re-routed there (its producers do not all key it by org_id with the cluster's "
              "partitioner; docs/operations.md, \"Running a cluster\")");
    }
    return false;
  }
  // A re-routed copy: applied once, at home, as if read where it was first.
  if (!home_) return true;  // not a cluster: an event like any other
  if (HomePartition(home_->first, e->org_id, home_->second) != source.partition) {
    // Sent by an instance that disagrees on homes: the cluster's config
    // record (ingest/cluster_view.h) makes that a stop, so only a stray copy
    // gets here; its original is applied at its home by the instance that
    // reads it there.
    ++pending_skipped_;
    return false;
  }
  const uint32_t home_shard = ShardOfPartition(source.partition);
  if (a.origin->offset <= Mark(home_shard, a.origin->partition)) {
    ++pending_skipped_;
    return false;
  }
  pending_marks_[home_shard][a.origin->partition] = a.origin->offset;
  e->arrival = views::ArrivalSeq(ShardOfPartition(a.origin->partition), static_cast<uint64_t>(a.origin->offset));
  e->shard = home_shard;
  return true;
}

int64_t Pipeline::Mark(uint32_t shard, int32_t origin) const {
  for (const auto* marks : {&pending_marks_, &marks_}) {
    auto s = marks->find(shard);
    if (s == marks->end()) continue;
    auto m = s->second.find(origin);
    if (m != s->second.end()) return m->second;
  }
  return -1;
}

Status Pipeline::Commit() {
  if (Status applied = ApplyAdded(); !applied.ok()) return applied;
  namespace keys = views::keys;
  std::vector<std::pair<std::string, std::string>> meta;
  for (const auto& [src, next] : next_offsets_) {
    meta.emplace_back(keys::ConsumerOffset(src.topic, src.partition), EncodeI64(next));
  }
  if (binds_topic_) meta.emplace_back(keys::MetaTopic(), topic_);
  if (local_pending_ > 0) {
    meta.emplace_back(keys::ShardNextOffset(kLocalShard), EncodeI64(local_next_ + local_pending_));
  }
  for (const auto& [shard, count] : applier_.PendingAnomalies()) pending_totals_[shard].anomalies += count;
  ShardTotals sum;
  for (const auto& [shard, pending] : pending_totals_) {
    sum += pending;
    ShardTotals after = totals_[shard];
    after += pending;
    AppendShardTotals(shard, after, &meta);
  }
  for (const auto& [shard, org] : pending_orgs_) meta.emplace_back(keys::ShardOrg(shard, org), "");
  for (const auto& [shard, marks] : pending_marks_) {
    for (const auto& [origin, mark] : marks) meta.emplace_back(keys::ShardRerouteMark(shard, origin), EncodeI64(mark));
  }
  const size_t hand_off_from = store_->stages() ? kMinStagedHandOff : views::Applier::kMinParallelEvents;
  const auto mode = pending_ >= hand_off_from ? views::Applier::CommitMode::kHandOff
                                              : views::Applier::CommitMode::kWait;
  std::function<void(uint64_t)> on_landed;
  if (feed_ && !batch_orgs_.empty()) {
    on_landed = [feed = feed_, orgs = std::vector<std::string>(batch_orgs_.begin(), batch_orgs_.end())](
                    uint64_t epoch) { feed->Note(orgs, epoch); };
  }
  Status s = applier_.Commit(meta, mode, std::move(on_landed));  // the applier's batch is empty after it, either way
  if (s.ok()) {
    stats_->events_applied += sum.applied;
    stats_->events_duplicate += sum.duplicate;
    stats_->events_dead_lettered += sum.dead_lettered;
    stats_->anomalies += sum.anomalies;
    ++stats_->batches;
    stats_->events_rerouted += reroutes_.size();
    stats_->reroute_copies_skipped += pending_skipped_;
    for (const auto& [shard, marks] : pending_marks_) {
      for (const auto& [origin, mark] : marks) marks_[shard][origin] = mark;
    }
    stats_->dedup_set_keys = applier_.dedup().size();
    stats_->dedup_set_bytes = applier_.dedup().bytes();
    for (const auto& [shard, pending] : pending_totals_) totals_[shard] += pending;
    for (const auto& [shard, org] : pending_orgs_) orgs_[shard].insert(org);
    local_next_ += local_pending_;
    binds_topic_ = false;
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
  reroutes_.clear();
  batch_orgs_.clear();
  pending_marks_.clear();
  pending_skipped_ = 0;
  DropDecoding();
  next_offsets_.clear();
  pending_ = 0;
  pending_totals_.clear();
  pending_orgs_.clear();
  last_org_ = {UINT32_MAX, ""};
  local_pending_ = 0;
  if (binds_topic_) topic_.clear();  // the batch that would have bound it is gone
  binds_topic_ = false;
}

Status Pipeline::StoredPosition(const SourcePosition& source, std::optional<int64_t>* out) const {
  return ReadStoredPosition(*store_, source.topic, source.partition, out);
}

}  // namespace leadflow::ingest
