// views::ChangeFeed: the version of an org's state a snapshot sees (the
// newest change at or before the snapshot's epoch), exactly, or unknown
// once forgotten; and, through a real store and pipeline, that a landed
// batch is noted with the epoch its write got, so that a snapshot's epoch
// names exactly which batches it holds.
#include <doctest/doctest.h>

#include <thread>

#include "ingest/pipeline.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "views/change_feed.h"

namespace leadflow::views {
namespace {

TEST_CASE("an org's version at a snapshot: its newest change at or before it; 0 before any; unknown once forgotten") {
  ChangeFeed feed;
  const std::vector<std::string> acme = {"acme"}, both = {"acme", "globex"};
  CHECK(feed.VersionAt("acme", 100) == 0);
  CHECK(feed.Newest("acme") == 0);
  feed.Note(acme, 10);
  feed.Note(both, 20);
  CHECK(feed.Newest("acme") == 20);
  CHECK(feed.Newest("globex") == 20);
  CHECK(feed.VersionAt("acme", 9) == 0);   // the state as found
  CHECK(feed.VersionAt("acme", 10) == 10);
  CHECK(feed.VersionAt("acme", 19) == 10);
  CHECK(feed.VersionAt("acme", 25) == 20);
  CHECK(feed.VersionAt("globex", 19) == 0);
  feed.Note(acme, 15);  // lower than the newest: ignored
  CHECK(feed.VersionAt("acme", 16) == 10);
  for (uint64_t e : {30, 40, 50}) feed.Note(acme, e);  // 10 is pushed out
  CHECK(feed.VersionAt("acme", 35) == 30);
  CHECK(feed.VersionAt("acme", 20) == 20);
  CHECK_FALSE(feed.VersionAt("acme", 15).has_value());  // 10 or 0: no longer known
  CHECK(feed.VersionAt("globex", 15) == 0);              // globex forgot nothing
}

TEST_CASE("a waiter wakes when a change is noted, or at its timeout") {
  ChangeFeed feed;
  const uint64_t g = feed.generation();
  CHECK(feed.WaitFor(g, std::chrono::milliseconds(20)) == g);
  std::thread noter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    feed.Note(std::vector<std::string>{"acme"}, 1);
  });
  CHECK(feed.WaitFor(g, std::chrono::seconds(10)) == g + 1);
  noter.join();
}

TEST_CASE("a pipeline notes each landed batch's orgs with the epoch its snapshot readers see") {
  testing::TempDir dir;
  std::unique_ptr<state::Store> store = testing::OpenTestStore(dir.path());
  ingest::Stats stats;
  std::unique_ptr<ingest::Pipeline> pipeline;
  REQUIRE_OK(ingest::Pipeline::Create(store.get(), &stats, &pipeline));
  ChangeFeed feed;
  pipeline->set_change_feed(&feed);
  const ingest::SourcePosition src{"events", 0};
  REQUIRE_OK(pipeline->Add(testing::Created("l1", "s1", "2024-01-01T00:00:00Z", "acme"), std::nullopt, src, 0));
  REQUIRE_OK(pipeline->Commit());
  const uint64_t first = feed.Newest("acme");
  CHECK(first > 0);
  CHECK(feed.Newest("globex") == 0);
  auto snap = store->NewSnapshot();
  CHECK(snap->epoch() >= first);
  CHECK(feed.VersionAt("acme", snap->epoch()) == first);

  // A batch of another org moves only that org; a duplicate moves nothing.
  const std::string created = testing::Created("g1", "s1", "2024-01-01T00:00:00Z", "globex");
  REQUIRE_OK(pipeline->Add(created, std::nullopt, src, 1));
  REQUIRE_OK(pipeline->Commit());
  CHECK(feed.Newest("acme") == first);
  const uint64_t globex = feed.Newest("globex");
  CHECK(globex > first);
  REQUIRE_OK(pipeline->Add(created, std::nullopt, src, 2));
  REQUIRE_OK(pipeline->Commit());
  CHECK(feed.Newest("globex") == globex);
  // The old snapshot still names acme's first version and no globex change.
  CHECK(feed.VersionAt("acme", snap->epoch()) == first);
  CHECK(feed.VersionAt("globex", snap->epoch()) == 0);

  // A handed-off batch (catch-up) is noted once it has landed.
  pipeline.reset();
  ingest::Stats again;
  REQUIRE_OK(ingest::Pipeline::Create(store.get(), &again, &pipeline));
  pipeline->set_change_feed(&feed);
  for (int i = 0; i < static_cast<int>(Applier::kMinParallelEvents) + 10; ++i) {
    REQUIRE_OK(pipeline->Add(testing::Created("m" + std::to_string(i), "s1", "2024-01-02T00:00:00Z", "acme"),
                             std::nullopt, src, 3 + i));
  }
  REQUIRE_OK(pipeline->Commit());
  REQUIRE_OK(pipeline->Sync());
  const uint64_t third = feed.Newest("acme");
  CHECK(third > globex);
  CHECK(store->NewSnapshot()->epoch() >= third);
}

}  // namespace
}  // namespace leadflow::views
