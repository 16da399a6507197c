// The pipeline's reads of what it stored (positions, totals) and `ingest
// --file`'s accounting: a value it cannot read is an error, never taken as
// "nothing stored" (that would re-consume a topic from its start, or persist
// a total of 0 over the real one).
#include <doctest/doctest.h>

#include <sstream>

#include "ingest/file_ingest.h"
#include "ingest/pipeline.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "views/keys.h"

namespace leadflow::ingest {
namespace {

using testing::Changed;
using testing::Created;
using testing::TempDir;

std::unique_ptr<state::Store> OpenStore(const TempDir& dir) {
  std::unique_ptr<state::Store> store;
  REQUIRE_OK(state::Store::Open(dir.path(), state::Store::Options(), &store));
  return store;
}

// n lead.created events, one per line, leads l0, l1, ...
std::string CreatedLines(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) text += Created("l" + std::to_string(i), "s1", "2024-01-01T00:00:00Z") + "\n";
  return text;
}

void PutMeta(state::Store* store, const std::string& key, const std::string& value) {
  state::WriteBatch batch;
  batch.Put(state::Cf::kMeta, key, value);
  REQUIRE_OK(store->Write(&batch));
}

TEST_CASE("a stored position is read back; none stored is nullopt; an unreadable one is an error") {
  TempDir dir;
  auto store = OpenStore(dir);
  Stats stats;
  std::unique_ptr<Pipeline> pipeline;
  REQUIRE_OK(Pipeline::Create(store.get(), &stats, &pipeline));
  const SourcePosition src{"events", 3};
  std::optional<int64_t> pos = 7;
  REQUIRE_OK(pipeline->StoredPosition(src, &pos));
  CHECK_FALSE(pos.has_value());

  REQUIRE_OK(pipeline->Add(Created("l1", "s1", "2024-01-01T00:00:00Z"), std::nullopt, src, 41));
  REQUIRE_OK(pipeline->Commit());
  REQUIRE_OK(pipeline->StoredPosition(src, &pos));
  CHECK(pos == 42);

  PutMeta(store.get(), views::keys::ConsumerOffset("events", 3), "bad");
  Status s = pipeline->StoredPosition(src, &pos);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message().find("events[3]") != std::string::npos);
}

TEST_CASE("an unreadable stored total fails the pipeline's creation instead of counting from 0") {
  TempDir dir;
  auto store = OpenStore(dir);
  PutMeta(store.get(), views::keys::ShardTotal(ShardOfPartition(0), "applied"), "xyz");
  Stats stats;
  std::unique_ptr<Pipeline> pipeline;
  Status s = Pipeline::Create(store.get(), &stats, &pipeline);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message().find("applied") != std::string::npos);
  CHECK(pipeline == nullptr);
}

TEST_CASE("stored totals are loaded into the stats and go on from there") {
  TempDir dir;
  auto store = OpenStore(dir);
  {
    Stats stats;
    std::unique_ptr<Pipeline> pipeline;
    REQUIRE_OK(Pipeline::Create(store.get(), &stats, &pipeline));
    REQUIRE_OK(pipeline->Add(Created("l1", "s1", "2024-01-01T00:00:00Z"), std::nullopt, {"t", 0}, 0));
    REQUIRE_OK(pipeline->Add("not json", std::nullopt, {"t", 0}, 1));
    REQUIRE_OK(pipeline->Commit());
  }
  Stats stats;
  std::unique_ptr<Pipeline> pipeline;
  REQUIRE_OK(Pipeline::Create(store.get(), &stats, &pipeline));
  CHECK(stats.events_applied == 1);
  CHECK(stats.events_dead_lettered == 1);
}

TEST_CASE("ingest --file counts this run's lines, not the store's all-time totals") {
  TempDir dir;
  auto store = OpenStore(dir);
  const std::string first = CreatedLines(5);
  FileIngestResult result;
  {
    std::istringstream in(first);
    REQUIRE_OK(IngestStream(in, store.get(), 2, nullptr, &result));
  }
  CHECK(result.lines == 5);
  CHECK(result.applied == 5);

  // The same file again (all duplicates), plus one new line and one bad one.
  std::istringstream again(first + Created("l9", "s1", "2024-01-02T00:00:00Z") + "\n{\n");
  REQUIRE_OK(IngestStream(again, store.get(), 3, nullptr, &result));
  CHECK(result.lines == 7);
  CHECK(result.applied == 1);
  CHECK(result.duplicates == 5);
  CHECK(result.dead_lettered == 1);
}

TEST_CASE("ingest --file reports its progress after every batch") {
  TempDir dir;
  auto store = OpenStore(dir);
  std::istringstream in(CreatedLines(10));
  std::vector<uint64_t> lines_seen;
  FileIngestResult result;
  REQUIRE_OK(IngestStream(in, store.get(), 4, nullptr, &result,
                          [&](const FileIngestResult& so_far) { lines_seen.push_back(so_far.lines); }));
  CHECK(lines_seen == std::vector<uint64_t>{4, 8, 10});
}

}  // namespace
}  // namespace leadflow::ingest

namespace leadflow::ingest {
namespace {

// The partition of 4 that is not org's home, and its home.
std::pair<int32_t, int32_t> OffAndHome(const std::string& org) {
  const int32_t home = HomePartition(Partitioner::kConsistent, org, 4);
  return {(home + 1) % 4, home};
}

TEST_CASE("cluster mode: an event off its org's home partition is re-routed, and its copy applied once, at home") {
  TempDir dir;
  auto store = OpenStore(dir);
  Stats stats;
  std::unique_ptr<Pipeline> pipeline;
  REQUIRE_OK(Pipeline::Create(store.get(), &stats, &pipeline));
  pipeline->RouteHome(Partitioner::kConsistent, 4);
  const auto [off, home] = OffAndHome("org1");
  const std::string created = Created("l1", "s1", "2024-01-01T00:00:00Z");
  const std::string changed = Changed("l1", "s2", "2024-01-02T00:00:00Z");

  // Read off home: not applied, listed to send on (key kept), position taken.
  REQUIRE_OK(pipeline->Add(created, std::string_view("org1"), {"events", off}, 10));
  REQUIRE_OK(pipeline->Add(changed, std::string_view("org1"), {"events", off}, 11));
  REQUIRE_OK(pipeline->ApplyAdded());
  REQUIRE(pipeline->reroutes().size() == 2);
  CHECK(pipeline->reroutes()[0].home == home);
  CHECK(pipeline->reroutes()[0].offset == 10);
  CHECK(pipeline->reroutes()[1].value == changed);
  CHECK(pipeline->reroutes()[1].key == std::optional<std::string>("org1"));
  REQUIRE_OK(pipeline->Commit());
  CHECK(stats.events_applied == 0);
  CHECK(stats.events_rerouted == 2);
  CHECK(stats.rerouted_orgs == 1);
  CHECK(pipeline->reroutes().empty());
  std::optional<int64_t> pos;
  REQUIRE_OK(pipeline->StoredPosition({"events", off}, &pos));
  CHECK(pos == 12);

  // The copies at home: applied with the arrival numbers of their origin;
  // a copy sent again (a standby's, a retry's) is skipped uncounted.
  REQUIRE_OK(pipeline->Add(created, std::string_view("org1"), {"events", home}, 0, Origin{off, 10}));
  REQUIRE_OK(pipeline->Add(created, std::string_view("org1"), {"events", home}, 1, Origin{off, 10}));
  REQUIRE_OK(pipeline->Add(changed, std::string_view("org1"), {"events", home}, 2, Origin{off, 11}));
  REQUIRE_OK(pipeline->Commit());
  CHECK(stats.events_applied == 2);
  CHECK(stats.events_duplicate == 0);
  CHECK(stats.reroute_copies_skipped == 1);
  ShardsMeta meta;
  REQUIRE_OK(LoadShards(*store, &meta));
  CHECK(meta.shards[ShardOfPartition(home)].totals.applied == 2);
  CHECK(meta.shards[ShardOfPartition(home)].orgs == std::vector<std::string>{"org1"});
  CHECK(meta.shards[ShardOfPartition(home)].reroute_marks == std::map<int32_t, int64_t>{{off, 11}});
  CHECK(meta.shards.count(ShardOfPartition(off)) == 0);  // no state of org1 there

  // The mark survives a restart: copies at or below it are skipped, a new
  // one is applied; a true duplicate (same event id, a new origin) is
  // still caught and counted as one.
  pipeline.reset();
  Stats again;
  REQUIRE_OK(Pipeline::Create(store.get(), &again, &pipeline));
  pipeline->RouteHome(Partitioner::kConsistent, 4);
  REQUIRE_OK(pipeline->Add(changed, std::string_view("org1"), {"events", home}, 3, Origin{off, 11}));
  REQUIRE_OK(pipeline->Add(changed, std::string_view("org1"), {"events", home}, 4, Origin{off, 12}));
  REQUIRE_OK(pipeline->Add(Changed("l1", "s3", "2024-01-03T00:00:00Z"), std::string_view("org1"), {"events", home},
                           5, Origin{off, 13}));
  REQUIRE_OK(pipeline->Commit());
  CHECK(again.reroute_copies_skipped == 1);
  CHECK(again.events_duplicate == 1);
  CHECK(again.events_applied == 3);

  // A header naming the partition it is on, or one the topic lacks, is no
  // copy of ours: the message is an event like any other.
  REQUIRE_OK(pipeline->Add(Created("l9", "s1", "2024-01-05T00:00:00Z"), std::string_view("org1"), {"events", home}, 6,
                           Origin{home, 2}));
  REQUIRE_OK(pipeline->Add(Created("l8", "s1", "2024-01-05T00:00:00Z"), std::string_view("org1"), {"events", home}, 7,
                           Origin{4, 0}));
  REQUIRE_OK(pipeline->Commit());
  CHECK(again.events_applied == 5);
  CHECK(again.reroute_copies_skipped == 1);
}

TEST_CASE("without cluster mode, an event is applied where it is read and a re-routed copy is a duplicate delivery") {
  TempDir dir;
  auto store = OpenStore(dir);
  Stats stats;
  std::unique_ptr<Pipeline> pipeline;
  REQUIRE_OK(Pipeline::Create(store.get(), &stats, &pipeline));
  const auto [off, home] = OffAndHome("org1");
  const std::string created = Created("l1", "s1", "2024-01-01T00:00:00Z");
  REQUIRE_OK(pipeline->Add(created, std::nullopt, {"events", off}, 0));
  REQUIRE_OK(pipeline->Add(created, std::nullopt, {"events", home}, 0, Origin{off, 0}));
  REQUIRE_OK(pipeline->Add(Created("l2", "s1", "2024-01-01T00:00:00Z"), std::nullopt, {"events", home}, 1,
                           Origin{off, 0}));
  REQUIRE_OK(pipeline->Commit());
  CHECK(stats.events_applied == 2);
  CHECK(stats.events_duplicate == 1);
  CHECK(pipeline->reroutes().empty());
}

TEST_CASE("a re-routed copy's origin header is read only for its own cluster and within range") {
  CHECK(OriginHeader("leadflow", Origin{3, 17}) == "leadflow|3:17");
  CHECK(ParseOrigin("leadflow|3:17", "leadflow")->partition == 3);
  CHECK(ParseOrigin("leadflow|3:17", "leadflow")->offset == 17);
  CHECK(ParseOrigin("g|0:0", "g"));
  for (const char* bad : {"", "3:17", "leadflow2|3:17", "other|3:17", "leadflow3:17", "leadflow|3", "leadflow|3:",
                          "leadflow|:5", "leadflow|-1:5", "leadflow|3:-5", "leadflow|3:5x", "leadflow|x:5",
                          "leadflow|3:99999999999999999999", "leadflow|3 :5"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseOrigin(bad, "leadflow"));
  }
}

}  // namespace
}  // namespace leadflow::ingest
