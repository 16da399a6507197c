#include "ingest/shard.h"

#include <algorithm>

#include "views/keys.h"
#include "views/records.h"
#include "views/write/dedup_set.h"

namespace leadflow::ingest {

namespace keys = views::keys;
using state::Cf;

uint32_t ShardOfPartition(int32_t partition) { return static_cast<uint32_t>(partition) + 1; }

std::optional<int32_t> PartitionOfShard(uint32_t shard) {
  if (shard == kLocalShard) return std::nullopt;
  return static_cast<int32_t>(shard - 1);
}

ShardTotals& ShardTotals::operator+=(const ShardTotals& o) {
  applied += o.applied;
  duplicate += o.duplicate;
  dead_lettered += o.dead_lettered;
  anomalies += o.anomalies;
  return *this;
}

namespace {

// The totals' names in keys::ShardTotal and their fields: the one table
// that both writing and reading them use.
constexpr std::pair<const char*, uint64_t ShardTotals::*> kTotalFields[] = {
    {"applied", &ShardTotals::applied},
    {"duplicate", &ShardTotals::duplicate},
    {"dead_lettered", &ShardTotals::dead_lettered},
    {"anomalies", &ShardTotals::anomalies},
};

uint64_t* TotalField(ShardTotals* t, std::string_view name) {
  for (const auto& [n, field] : kTotalFields) {
    if (name == n) return &(t->*field);
  }
  return nullptr;
}

Status ReadI64Value(std::string_view v, const std::string& what, int64_t* out) {
  if (v.size() != 8) {
    return Status::Corruption(what + " is malformed (" + std::to_string(v.size()) + " bytes, want 8)");
  }
  *out = keys::ReadI64(v, 0);
  return Status::Ok();
}

}  // namespace

Status LoadShards(const state::Reader& store, ShardsMeta* out) {
  *out = ShardsMeta();
  std::string topic;
  Status s = store.Get(Cf::kMeta, keys::MetaTopic(), &topic);
  if (!s.ok() && !s.IsNotFound()) return s.WithContext("reading the bound topic");
  if (s.ok()) out->topic = topic;
  Status bad = Status::Ok();
  const std::string prefix = keys::ShardsPrefix();
  s = store.Scan(Cf::kMeta, prefix, keys::PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
    auto parts = keys::ParseShardKey(k);
    if (!parts) {
      bad = Status::Corruption("a malformed shard key in the state");
      return false;
    }
    ShardInfo& info = out->shards[parts->shard];
    info.shard = parts->shard;
    const std::string where = "shard " + std::to_string(parts->shard);
    int64_t n = 0;
    switch (parts->tag) {
      case keys::ShardKeyTag::kOrg:
        info.orgs.emplace_back(parts->rest);  // keys sort: the list is sorted
        return true;
      case keys::ShardKeyTag::kNextOffset:
        bad = ReadI64Value(v, "the next offset of " + where, &n);
        info.next_offset = n;
        return bad.ok();
      case keys::ShardKeyTag::kRerouteMark:
        bad = ReadI64Value(v, "the re-route mark of " + where, &n);
        info.reroute_marks[static_cast<int32_t>(keys::ReadU32(parts->rest, 0))] = n;
        return bad.ok();
      case keys::ShardKeyTag::kTotal: {
        uint64_t* field = TotalField(&info.totals, parts->rest);
        if (!field) return true;  // a total this version does not know: kept, not read
        bad = ReadI64Value(v, "the stored total " + std::string(parts->rest) + " of " + where, &n);
        *field = static_cast<uint64_t>(n);
        return bad.ok();
      }
    }
    return true;
  });
  if (!s.ok()) return s.WithContext("reading the shards' meta");
  return bad;
}

Status ListShards(const state::Reader& store, ShardsMeta* out) {
  Status s = LoadShards(store, out);
  if (!s.ok() || out->topic.empty()) return s;
  for (auto& [shard, info] : out->shards) {
    auto partition = PartitionOfShard(shard);
    if (!partition) continue;
    s = ReadStoredPosition(store, out->topic, *partition, &info.position);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status ReadStoredPosition(const state::Reader& store, std::string_view topic, int32_t partition,
                          std::optional<int64_t>* out) {
  out->reset();
  const std::string where = std::string(topic) + "[" + std::to_string(partition) + "]";
  std::string v;
  Status s = store.Get(Cf::kMeta, keys::ConsumerOffset(topic, partition), &v);
  if (s.IsNotFound()) return Status::Ok();
  if (!s.ok()) return s.WithContext("reading the stored position of " + where);
  int64_t n = 0;
  s = ReadI64Value(v, "the stored position of " + where, &n);
  if (s.ok()) *out = n;
  return s;
}

void AppendShardTotals(uint32_t shard, const ShardTotals& totals,
                       std::vector<std::pair<std::string, std::string>>* meta) {
  for (const auto& [name, field] : kTotalFields) {
    std::string v;
    keys::AppendI64(&v, static_cast<int64_t>(totals.*field));
    meta->emplace_back(keys::ShardTotal(shard, name), std::move(v));
  }
}

Status TopicMismatch(std::string_view bound, std::string_view topic) {
  return Status::InvalidArgument("the data directory holds the state of topic '" + std::string(bound) + "', not '" +
                                 std::string(topic) +
                                 "': use another --data-dir for another topic (positions and arrival numbers "
                                 "belong to one topic)");
}

Status CheckShardTopic(const state::Reader& store, std::string_view topic) {
  std::string bound;
  Status s = store.Get(Cf::kMeta, keys::MetaTopic(), &bound);
  if (s.IsNotFound()) return Status::Ok();
  if (!s.ok()) return s.WithContext("reading the bound topic");
  return bound == topic ? Status::Ok() : TopicMismatch(bound, topic);
}

Status DropShard(state::Store* store, uint32_t shard, ShardInfo* dropped) {
  ShardsMeta meta;
  Status s = LoadShards(*store, &meta);
  if (!s.ok()) return s;
  auto it = meta.shards.find(shard);
  if (it == meta.shards.end()) return Status::NotFound("no shard " + std::to_string(shard) + " in this state");
  const ShardInfo& info = it->second;
  for (const auto& [other, other_info] : meta.shards) {
    if (other == shard) continue;
    for (const std::string& org : info.orgs) {
      if (std::binary_search(other_info.orgs.begin(), other_info.orgs.end(), org)) {
        return Status::InvalidArgument("org " + org + " of shard " + std::to_string(shard) +
                                       " also has events of shard " + std::to_string(other) +
                                       ": drop both shards, or rebuild the data directory");
      }
    }
  }
  state::WriteBatch batch;
  for (const std::string& org : info.orgs) {
    const std::string begin = keys::OrgPrefix(org), end = keys::PrefixEnd(begin);
    for (size_t f = 0; f < static_cast<size_t>(Cf::kCount); ++f) {
      const Cf cf = static_cast<Cf>(f);
      if (cf == Cf::kMeta || cf == Cf::kSmartViews || cf == Cf::kEvents) continue;
      batch.DeleteRange(cf, begin, end);
    }
    batch.Delete(Cf::kMeta, keys::MetaLeadCounter(org));
  }
  // The shard's duplicate set (views/write/dedup_set.h).
  const std::string dedup = views::DedupSet::ShardPrefix(shard);
  batch.DeleteRange(Cf::kEvents, dedup, keys::PrefixEnd(dedup));
  const std::string prefix = keys::ShardPrefix(shard);
  batch.DeleteRange(Cf::kMeta, prefix, keys::PrefixEnd(prefix));
  if (auto partition = PartitionOfShard(shard); partition && !meta.topic.empty()) {
    batch.Delete(Cf::kMeta, keys::ConsumerOffset(meta.topic, *partition));
  }
  s = store->Write(&batch);
  if (s.ok() && dropped) *dropped = info;
  return s;
}

}  // namespace leadflow::ingest
