// Shards (ingest/shard.h): arrival numbers from partition and offset, so the
// state does not depend on batch boundaries, restarts or how the partitions
// interleave; each shard's own totals, orgs and position; one topic per data
// directory; a shard dropped and rebuilt from its partition alone.
#include "ingest/shard.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ingest/file_ingest.h"
#include "ingest/pipeline.h"
#include "state/bitmap_merge.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "tools/eventgen.h"
#include "views/keys.h"
#include "views/records.h"
#include "views/status_report.h"
#include "views/write/dedup_set.h"

namespace leadflow::ingest {
namespace {

using testing::Changed;
using testing::Created;
using testing::TempDir;
using testing::TestDb;

struct Message {
  int32_t partition;
  int64_t offset;
  std::string value;
};

// leadflow-gen's simulation over three orgs (duplicates, out-of-order
// events, deletions, activities), each org on the partition its index says:
// org 0 and 2 on partition 0, org 1 on partition 1; offsets per partition.
std::vector<Message> PartitionedStream() {
  tools::GeneratorOptions o;
  o.seed = 17;
  o.orgs = 3;
  o.leads_per_org = 60;
  o.days = 20;
  o.changes_per_lead = 4;
  o.activities_per_lead = 4;
  o.dup_share = 0.05;
  o.ooo_share = 0.1;
  o.delete_share = 0.05;
  tools::EventGenerator gen(o);
  std::map<std::string, int32_t> partition_of;
  std::map<int32_t, int64_t> next;
  std::vector<Message> out;
  tools::Event e;
  while (gen.Next(&e)) {
    auto [it, inserted] = partition_of.try_emplace(e.key, static_cast<int32_t>(partition_of.size()));
    const int32_t p = it->second == 1 ? 1 : 0;
    out.push_back({p, next[p]++, e.value});
  }
  REQUIRE(partition_of.size() == 3);
  return out;
}

// Feeds messages in this order through pipelines on store, committing every
// batch messages and starting a new Pipeline (a restart) every restart_every
// batches (0: never).
void Consume(state::Store* store, const std::vector<Message>& messages, size_t batch, size_t restart_every = 0,
             const std::string& topic = "events") {
  Stats stats;
  std::unique_ptr<Pipeline> pipeline;
  REQUIRE_OK(Pipeline::Create(store, &stats, &pipeline));
  size_t batches = 0;
  for (const Message& m : messages) {
    REQUIRE_OK(pipeline->Add(m.value, std::nullopt, {topic, m.partition}, m.offset));
    if (pipeline->pending() >= batch) {
      REQUIRE_OK(pipeline->Commit());
      if (restart_every && ++batches % restart_every == 0) {
        REQUIRE_OK(pipeline->Sync());
        pipeline.reset();
        REQUIRE_OK(Pipeline::Create(store, &stats, &pipeline));
      }
    }
  }
  REQUIRE_OK(pipeline->Commit());
  REQUIRE_OK(pipeline->Sync());
}

// Every family's keys and values as reports see them, whatever the batch
// boundaries: the activity log, whose keys name the batch that wrote them,
// per day (the day's entries); bitmap chunks by content (folded from other
// deltas, a chunk may hold the same numbers in containers of the same size
// but another kind); and not the
// transition pairs, the pairs a lead ever passed through in the state
// after some batch (a superset of the reported ones, which a report with
// zero leads omits); the duplicate set by its keys.
std::map<std::string, std::string> Dump(state::Store* store) {
  std::map<std::string, std::string> all;
  for (int cf = 0; cf < static_cast<int>(state::Cf::kCount); ++cf) {
    if (static_cast<state::Cf>(cf) == state::Cf::kPairs) continue;
    REQUIRE_OK(store->Scan(static_cast<state::Cf>(cf), "", "\xFF\xFF\xFF\xFF", [&](std::string_view k, std::string_view v) {
      if (static_cast<state::Cf>(cf) == state::Cf::kBitmaps) {
        Roaring r;
        const Status decoded = state::DecodeBitmapChunk(v, &r);
        REQUIRE(decoded.ok());
        r.removeRunCompression();  // then the run containers that are smaller, ties not
        all.emplace(std::to_string(cf) + "|" + std::string(k), state::EncodeBitmapChunk(&r));
      } else if (static_cast<state::Cf>(cf) == state::Cf::kLeads) {
        // A record and the journals appended since it was written whole
        // (they depend on the batches): the record they make.
        views::LeadRecord r;
        REQUIRE(views::LeadRecord::Decode(v, &r).ok());
        all.emplace(std::to_string(cf) + "|" + std::string(k), r.Encode());
      } else if ((static_cast<state::Cf>(cf) == state::Cf::kLog || static_cast<state::Cf>(cf) == state::Cf::kAttrIndex) &&
                 v.empty()) {
        // A set whose entries were all removed (a late event moved them
        // elsewhere) reads as none: whether the key is left with an empty
        // set depends on the batches.
      } else if (static_cast<state::Cf>(cf) != state::Cf::kActivityLog && static_cast<state::Cf>(cf) != state::Cf::kEvents) {
        all.emplace(std::to_string(cf) + "|" + std::string(k), std::string(v));
      }
      return true;
    }));
  }
  // The duplicate set by its keys (its records depend on the batches).
  std::vector<std::string> dedup;
  REQUIRE_OK(views::DedupSet::ReadAllKeys(*store, &dedup));
  for (const auto& key : dedup) all.emplace("events|" + key, "");
  for (const auto& [day, entries] : testing::ActivityLogDays(*store)) {
    std::string v;
    for (const auto& e : entries) views::keys::AppendActivityEntry(&v, e);
    all.emplace("log|" + day, v);
  }
  return all;
}

std::map<std::string, std::string> OrgKeys(const std::map<std::string, std::string>& dump, const std::string& org) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : dump) {
    if (k.find("|" + org + std::string(1, '\0')) != std::string::npos || k.find("|leadctr" + std::string(1, '\0') + org) != std::string::npos) {
      out.emplace(k, v);
    }
  }
  return out;
}

TEST_CASE("arrival numbers come from partition and offset: batches, restarts and interleaving leave one state") {
  const std::vector<Message> stream = PartitionedStream();
  REQUIRE(stream.size() > 1500);
  TestDb straight;
  Consume(straight.store(), stream, 100000);
  const auto expected = Dump(straight.store());
  REQUIRE(expected.size() > 1000);

  // Partition 1 first, then partition 0; small batches and restarts.
  std::vector<Message> swapped;
  for (int32_t p : {1, 0}) {
    for (const Message& m : stream) {
      if (m.partition == p) swapped.push_back(m);
    }
  }
  for (size_t batch : {1u, 37u, 500u}) {
    CAPTURE(batch);
    TestDb db;
    Consume(db.store(), swapped, batch, /*restart_every=*/3);
    CHECK(Dump(db.store()) == expected);
  }
}

TEST_CASE("events of one instant on two partitions order by partition, whichever is consumed first") {
  // One lead (an org whose producers disagree on the partition): two status
  // changes at the same instant. Arrival numbers put partition 0's first.
  const std::string created = Created("l1", "s1", "2024-01-01T00:00:00Z");
  const std::string to_s2 = Changed("l1", "s2", "2024-01-02T00:00:00Z");
  const std::string to_s3 = Changed("l1", "s3", "2024-01-02T00:00:00Z");
  std::vector<std::string> finals;
  for (bool p1_first : {false, true}) {
    TestDb db;
    std::vector<Message> order = {{0, 0, created}, {0, 1, to_s2}};
    if (p1_first) {
      order.insert(order.begin(), Message{1, 0, to_s3});
    } else {
      order.push_back({1, 0, to_s3});
    }
    Consume(db.store(), order, 1);
    finals.push_back(db.ReportText(std::nullopt));
  }
  INFO(finals[0]);
  CHECK(finals[0] == finals[1]);
  CHECK(finals[0].find("s3: ended=1") != std::string::npos);
}

TEST_CASE("each shard keeps its own totals, orgs and position; the stats are their sums") {
  TempDir dir;
  std::unique_ptr<state::Store> store;
  REQUIRE_OK(state::Store::Open(dir.path(), state::Store::Options(), &store));
  const std::string a1 = Created("l1", "s1", "2024-01-01T00:00:00Z", "org_a");
  const std::string b1 = Created("l1", "s1", "2024-01-01T00:00:00Z", "org_b");
  const std::string b2 = Changed("l1", "s1", "2023-01-01T00:00:00Z", "org_b");  // before creation: an anomaly
  Consume(store.get(), {{0, 0, a1}, {1, 0, b1}, {0, 1, a1}, {1, 1, "not json"}, {1, 2, b2}}, 2);
  ShardsMeta meta;
  REQUIRE_OK(ListShards(*store, &meta));
  CHECK(meta.topic == "events");
  REQUIRE(meta.shards.size() == 2);
  const ShardInfo& s1 = meta.shards.at(ShardOfPartition(0));
  const ShardInfo& s2 = meta.shards.at(ShardOfPartition(1));
  CHECK(s1.totals == ShardTotals{1, 1, 0, 0});
  CHECK(s2.totals == ShardTotals{2, 0, 1, 1});
  CHECK(s1.orgs == std::vector<std::string>{"org_a"});
  CHECK(s2.orgs == std::vector<std::string>{"org_b"});
  CHECK(s1.position == 2);
  CHECK(s2.position == 3);

  Stats stats;
  std::unique_ptr<Pipeline> pipeline;
  REQUIRE_OK(Pipeline::Create(store.get(), &stats, &pipeline));
  CHECK(stats.events_applied == 3);
  CHECK(stats.events_duplicate == 1);
  CHECK(stats.events_dead_lettered == 1);
  CHECK(stats.anomalies == 1);
}

TEST_CASE("a data directory is bound to the topic of its first committed batch") {
  TempDir dir;
  std::unique_ptr<state::Store> store;
  REQUIRE_OK(state::Store::Open(dir.path(), state::Store::Options(), &store));
  REQUIRE_OK(CheckShardTopic(*store, "anything"));
  Consume(store.get(), {{0, 0, Created("l1", "s1", "2024-01-01T00:00:00Z")}}, 10, 0, "events");
  REQUIRE_OK(CheckShardTopic(*store, "events"));
  Status s = CheckShardTopic(*store, "other");
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("'events'") != std::string::npos);
  Stats stats;
  std::unique_ptr<Pipeline> pipeline;
  REQUIRE_OK(Pipeline::Create(store.get(), &stats, &pipeline));
  CHECK(pipeline->Add(Created("l2", "s1", "2024-01-01T00:00:00Z"), std::nullopt, {"other", 0}, 0).IsInvalidArgument());
  CHECK(pipeline->pending() == 0);
  // An offset arrival numbers cannot hold is refused, not wrapped.
  CHECK(pipeline->Add(Created("l2", "s1", "2024-01-01T00:00:00Z"), std::nullopt, {"events", 0},
                      int64_t{1} << 40).IsInvalidArgument());
}

TEST_CASE("a dropped shard is rebuilt from its partition alone; the other shard and Smart Views are untouched") {
  const std::vector<Message> stream = PartitionedStream();
  TestDb db;
  Consume(db.store(), stream, 300);
  // A Smart View of the org of partition 1 (a record of the API, not of the topic).
  ShardsMeta meta;
  REQUIRE_OK(LoadShards(*db.store(), &meta));
  REQUIRE(meta.shards.size() == 2);
  const std::vector<std::string> p1_orgs = meta.shards.at(ShardOfPartition(1)).orgs;
  const std::vector<std::string> p0_orgs = meta.shards.at(ShardOfPartition(0)).orgs;
  REQUIRE(p1_orgs.size() == 1);
  REQUIRE(p0_orgs.size() == 2);
  {
    state::WriteBatch batch;
    batch.Put(state::Cf::kSmartViews, views::keys::OrgPrefix(p1_orgs[0]) + "view", "{}");
    REQUIRE_OK(db.store()->Write(&batch));
  }
  const auto before = Dump(db.store());

  ShardInfo dropped;
  REQUIRE_OK(DropShard(db.store(), ShardOfPartition(1), &dropped));
  CHECK(dropped.orgs == p1_orgs);
  const auto after_drop = Dump(db.store());
  for (const std::string& org : p0_orgs) CHECK(OrgKeys(after_drop, org) == OrgKeys(before, org));
  const auto left = OrgKeys(after_drop, p1_orgs[0]);
  REQUIRE(left.size() == 1);  // the Smart View
  CHECK(left.begin()->first.rfind(std::to_string(static_cast<int>(state::Cf::kSmartViews)) + "|", 0) == 0);
  REQUIRE_OK(LoadShards(*db.store(), &meta));
  CHECK(meta.shards.count(ShardOfPartition(1)) == 0);
  CHECK(DropShard(db.store(), ShardOfPartition(1)).IsNotFound());

  // Consumed again from the start (its position is gone), partition 1 comes
  // back to exactly the state it had.
  std::vector<Message> p1;
  for (const Message& m : stream) {
    if (m.partition == 1) p1.push_back(m);
  }
  Consume(db.store(), p1, 250);
  CHECK(Dump(db.store()) == before);
}

TEST_CASE("a shard whose org also has events of another shard is not dropped alone") {
  TestDb db;
  Consume(db.store(),
          {{0, 0, Created("l1", "s1", "2024-01-01T00:00:00Z", "org_a")},
           {1, 0, Created("l2", "s1", "2024-01-01T00:00:00Z", "org_a")}},
          10);
  Status s = DropShard(db.store(), ShardOfPartition(1));
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("org_a") != std::string::npos);
}

TEST_CASE("the local shard numbers lines on across runs of ingest --file") {
  TempDir dir;
  std::unique_ptr<state::Store> store;
  REQUIRE_OK(state::Store::Open(dir.path(), state::Store::Options(), &store));
  FileIngestResult result;
  {
    std::istringstream in(Created("l1", "s1", "2024-01-01T00:00:00Z") + "\n\n" + Changed("l1", "s2", "2024-01-02T00:00:00Z") + "\n");
    REQUIRE_OK(IngestStream(in, store.get(), 10, nullptr, &result));
  }
  {
    // The same instant as the first run's change: it arrived later, so it wins.
    std::istringstream in(Changed("l1", "s3", "2024-01-02T00:00:00Z") + "\n");
    REQUIRE_OK(IngestStream(in, store.get(), 10, nullptr, &result));
  }
  ShardsMeta meta;
  REQUIRE_OK(LoadShards(*store, &meta));
  REQUIRE(meta.shards.count(kLocalShard));
  CHECK(meta.shards.at(kLocalShard).next_offset == 3);  // messages, not lines: the blank one is not numbered
  CHECK(meta.shards.at(kLocalShard).totals.applied == 3);
  CHECK(meta.topic.empty());
  auto snap = store->NewSnapshot();
  views::StatusReport r;
  REQUIRE_OK(views::ComputeStatusReport(*snap, "org1", std::nullopt, nullptr, &r));
  const std::string text = testing::ReportToText(r);
  INFO(text);
  // Ended in s3, not s2.
  CHECK(text.find("s3: ended=1") != std::string::npos);
}

}  // namespace
}  // namespace leadflow::ingest
