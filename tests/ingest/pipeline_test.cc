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
