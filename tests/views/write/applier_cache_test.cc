// The applier's cross-batch caches (leads) and
// written-pairs set are invisible: the same stream applied with the caches
// off, with caches that evict all the time, and with the default caches
// leaves byte-identical state in every column family, at several batch
// sizes. The stream (leadflow-gen's
// simulation) has duplicates, out-of-order events, second creations,
// deletions and status changes before creation.
#include "views/write/applier.h"

#include <doctest/doctest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ingest/decode.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "tools/eventgen.h"

namespace leadflow {
namespace {

// A lead cache limit of a few leads' estimated bytes: nearly every lead is
// evicted at each landing.
constexpr size_t kTinyCacheBytes = 3000;

using testing::TestDb;

std::vector<std::string> Stream(uint64_t seed) {
  tools::GeneratorOptions o;
  o.seed = seed;
  o.orgs = 2;
  o.leads_per_org = 150;
  o.days = 40;
  o.changes_per_lead = 4;
  o.activities_per_lead = 5;
  o.dup_share = 0.05;
  o.ooo_share = 0.1;
  o.delete_share = 0.05;
  tools::EventGenerator gen(o);
  std::vector<std::string> out;
  tools::Event e;
  while (gen.Next(&e)) out.push_back(e.value);
  return out;
}

// Applies the stream in batches of batch_size through an Applier with the
// given lead cache limit (bytes), in blocks of block
// events (views::Applier::ApplyBlock; 1: Apply, one event at a time).
// With hand_off, every commit is handed to the writer thread, which holds
// each write in flight for a while, so the next batch is applied while the
// store is behind; *overlapped counts the blocks applied with a write in
// flight.
void Apply(state::Store* store, const std::vector<std::string>& stream, size_t batch_size, size_t capacity,
           size_t workers = 1, size_t block = 1, bool hand_off = false, size_t* overlapped = nullptr) {
  views::Applier applier(store, capacity, workers);
  applier.set_min_parallel_events(0);  // small blocks on the workers too
  const auto mode = hand_off ? views::Applier::CommitMode::kHandOff : views::Applier::CommitMode::kWait;
  if (hand_off) {
    applier.set_before_write_for_tests([] {
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      return Status::Ok();
    });
  }
  std::vector<views::Event> events;
  size_t pending = 0;
  auto apply_block = [&] {
    if (overlapped && applier.WriteInFlight()) ++*overlapped;
    if (block == 1) {
      for (const views::Event& e : events) {
        views::ApplyOutcome outcome;
        REQUIRE_OK(applier.Apply(e, &outcome));
      }
    } else {
      std::vector<views::ApplyOutcome> outcomes;
      REQUIRE_OK(applier.ApplyBlock(events, &outcomes));
      REQUIRE(outcomes.size() == events.size());
    }
    events.clear();
  };
  for (const std::string& value : stream) {
    views::Event e;
    if (!ingest::DecodeEvent(value, std::nullopt, &e).ok()) continue;
    e.arrival = static_cast<uint64_t>(&value - stream.data()) + 1;  // as a partition's offsets number its messages
    events.push_back(std::move(e));
    ++pending;
    if (events.size() == block || pending == batch_size) apply_block();
    if (pending == batch_size) {
      REQUIRE_OK(applier.Commit({}, mode));
      pending = 0;
    }
  }
  apply_block();
  REQUIRE_OK(applier.Commit({}, mode));
  REQUIRE_OK(applier.Sync());
}

std::map<std::string, std::string> Dump(state::Store* store) { return testing::DumpState(store); }

// The stream's valid events, numbered in arrival order from 1.
std::vector<views::Event> Decoded(const std::vector<std::string>& stream) {
  std::vector<views::Event> events;
  for (const std::string& value : stream) {
    views::Event e;
    if (!ingest::DecodeEvent(value, std::nullopt, &e).ok()) continue;
    e.arrival = events.size() + 1;
    events.push_back(std::move(e));
  }
  return events;
}

TEST_CASE("the applier's lead cache leaves exactly the state an uncached applier leaves") {
  for (uint64_t seed : {3u, 11u}) {
    const std::vector<std::string> stream = Stream(seed);
    REQUIRE(stream.size() > 2000);
    for (size_t batch : {1u, 37u, 500u}) {
      CAPTURE(seed);
      CAPTURE(batch);
      TestDb uncached, evicting, cached;
      Apply(uncached.store(), stream, batch, 0);
      Apply(evicting.store(), stream, batch, kTinyCacheBytes);
      Apply(cached.store(), stream, batch, views::Applier::kDefaultLeadCacheBytes);
      const auto expected = Dump(uncached.store());
      REQUIRE(expected.size() > 1000);
      CHECK(Dump(evicting.store()) == expected);
      CHECK(Dump(cached.store()) == expected);
    }
  }
}

TEST_CASE("the lead cache keeps within its byte limit, and keeps every lead when they fit") {
  const std::vector<std::string> stream = Stream(7);
  std::set<std::string> leads;
  for (const std::string& value : stream) {
    views::Event e;
    if (ingest::DecodeEvent(value, std::nullopt, &e).ok() && !e.lead_id.empty()) leads.insert(e.org_id + "/" + e.lead_id);
  }
  REQUIRE(leads.size() > 50);
  for (size_t workers : {1u, 3u}) {
    for (size_t limit : {size_t{0}, size_t{40000}, views::Applier::kDefaultLeadCacheBytes}) {
      CAPTURE(workers);
      CAPTURE(limit);
      TestDb db;
      views::Applier applier(db.store(), limit, workers);
      applier.set_min_parallel_events(0);
      size_t pending = 0, most = 0;
      auto commit = [&] {
        REQUIRE_OK(applier.Commit({}));
        CHECK(applier.LeadCacheBytes() <= limit);
        most = std::max(most, applier.LeadCacheLeads());
      };
      for (size_t i = 0; i < stream.size(); ++i) {
        views::Event e;
        if (!ingest::DecodeEvent(stream[i], std::nullopt, &e).ok()) continue;
        e.arrival = i + 1;
        views::ApplyOutcome outcome;
        REQUIRE_OK(applier.Apply(e, &outcome));
        if (++pending == 50) {
          pending = 0;
          commit();
        }
      }
      commit();
      if (limit == 0) {
        CHECK(most == 0);
      } else if (limit == views::Applier::kDefaultLeadCacheBytes) {
        CHECK(applier.LeadCacheLeads() == leads.size());  // nothing evicted
      } else {
        CHECK(most > 0);                      // used,
        CHECK(most < leads.size());           // but bounded: it evicted
      }
    }
  }
}

TEST_CASE("N apply workers leave byte-identical state to 1 worker") {
  for (uint64_t seed : {3u, 7u}) {
    const std::vector<std::string> stream = Stream(seed);
    for (size_t batch : {1u, 64u, 1000u}) {
      CAPTURE(seed);
      CAPTURE(batch);
      TestDb one, two, five;
      Apply(one.store(), stream, batch, views::Applier::kDefaultLeadCacheBytes, 1);
      Apply(two.store(), stream, batch, views::Applier::kDefaultLeadCacheBytes, 2);
      Apply(five.store(), stream, batch, 3, 5);
      const auto expected = Dump(one.store());
      REQUIRE(expected.size() > 1000);
      CHECK(Dump(two.store()) == expected);
      CHECK(Dump(five.store()) == expected);
      CHECK(five.ReportText(std::nullopt, "org_acme") == one.ReportText(std::nullopt, "org_acme"));
    }
  }
}

TEST_CASE("blocks of events on 1, 2 and 5 workers leave byte-identical state to events one by one") {
  // ApplyBlock sequences a block serially, then the workers read and apply
  // the leads they own: within a block a lead may be new, created, changed
  // and touched again, and duplicates of the block's own events must be
  // found.
  for (uint64_t seed : {3u, 13u}) {
    const std::vector<std::string> stream = Stream(seed);
    TestDb reference;
    Apply(reference.store(), stream, 1000, views::Applier::kDefaultLeadCacheBytes, 1, 1);
    const auto expected = Dump(reference.store());
    REQUIRE(expected.size() > 1000);
    for (size_t workers : {1u, 2u, 5u}) {
      for (size_t block : {7u, 256u, 1000u}) {
        CAPTURE(seed);
        CAPTURE(workers);
        CAPTURE(block);
        TestDb db;
        Apply(db.store(), stream, 1000, workers == 5 ? kTinyCacheBytes : views::Applier::kDefaultLeadCacheBytes, workers,
              block);
        CHECK(Dump(db.store()) == expected);
      }
    }
  }
}

TEST_CASE("a batch applied while the previous batch's write is in flight leaves the same state") {
  // The next batch must see the in-flight batch through memory: its
  // duplicate markers, its leads (never evicted before the write lands,
  // never read stale from the store), statuses, users and lead counters. A
  // tiny cache (a few leads' bytes) makes every lead a candidate for eviction at
  // each landing. (Bitmap chunks are never read by the writer: merge
  // operands.)
  for (uint64_t seed : {3u, 13u}) {
    const std::vector<std::string> stream = Stream(seed);
    for (size_t batch : {1u, 37u, 400u}) {
      TestDb reference;
      Apply(reference.store(), stream, batch, views::Applier::kDefaultLeadCacheBytes, 1, 1);
      const auto expected = Dump(reference.store());
      REQUIRE(expected.size() > 1000);
      for (size_t workers : {1u, 3u}) {
        for (size_t capacity : {kTinyCacheBytes, views::Applier::kDefaultLeadCacheBytes}) {
          CAPTURE(seed);
          CAPTURE(workers);
          CAPTURE(capacity);
          CAPTURE(batch);
          TestDb db;
          size_t overlapped = 0;
          Apply(db.store(), stream, batch, capacity, workers, batch == 1 ? 1 : 16, true, &overlapped);
          CHECK(overlapped > 0);  // the property was exercised
          CHECK(Dump(db.store()) == expected);
        }
      }
    }
  }
}

TEST_CASE("a failed handed-off write poisons the applier; the store keeps every batch before it") {
  const std::vector<std::string> stream = Stream(5);
  TestDb db;
  bool fail = false;
  {
    views::Applier applier(db.store(), views::Applier::kDefaultLeadCacheBytes);
    applier.set_before_write_for_tests([&] { return fail ? Status::IoError("injected: disk full") : Status::Ok(); });
    const std::vector<views::Event> events = Decoded(stream);
    REQUIRE(events.size() > 300);
    std::vector<views::ApplyOutcome> outcomes;
    // Batches aligned with Apply's below (100 events), so that the states
    // compare byte for byte.
    REQUIRE_OK(applier.ApplyBlock(std::span(events).subspan(0, 100), &outcomes));
    REQUIRE_OK(applier.Commit({{"probe", "first"}}, views::Applier::CommitMode::kHandOff));
    REQUIRE_OK(applier.Sync());
    fail = true;
    REQUIRE_OK(applier.ApplyBlock(std::span(events).subspan(100, 100), &outcomes));
    REQUIRE_OK(applier.Commit({{"probe", "second"}}, views::Applier::CommitMode::kHandOff));  // handed off
    // The next call that waits for it reports the failure, and so does
    // every call after it.
    CHECK(applier.ApplyBlock(std::span(events).subspan(200, 1), &outcomes).ok());
    const Status s = applier.Commit({}, views::Applier::CommitMode::kHandOff);
    CHECK(s.code() == Status::Code::kIoError);
    CHECK(!applier.ApplyBlock(std::span(events).subspan(200, 1), &outcomes).ok());
    CHECK(!applier.Commit({}).ok());
    CHECK(!applier.Sync().ok());
    applier.Reset();
    CHECK(!applier.Sync().ok());
  }
  std::string probe;
  REQUIRE_OK(db.store()->Get(state::Cf::kMeta, "probe", &probe));
  CHECK(probe == "first");
  // A new applier over the same store goes on from the first batch: the
  // stream applied again lands on the state of one straight pass.
  Apply(db.store(), stream, 100, views::Applier::kDefaultLeadCacheBytes);
  TestDb straight;
  Apply(straight.store(), stream, 100, views::Applier::kDefaultLeadCacheBytes);
  auto without_probe = [](std::map<std::string, std::string> m) {
    m.erase("0|probe");
    return m;
  };
  CHECK(without_probe(Dump(db.store())) == without_probe(Dump(straight.store())));
}

TEST_CASE("handed-off writes all run on one writer thread, not the caller's, for the applier's life") {
  // A thread per write (std::async) let jemalloc purge the writer's arena
  // at every thread's exit (views/detail/task_thread.h).
  const std::vector<std::string> stream = Stream(7);
  TestDb db;
  std::set<long> writers;
  size_t writes = 0;
  {
    views::Applier applier(db.store(), views::Applier::kDefaultLeadCacheBytes);
    applier.set_before_write_for_tests([&] {
      writers.insert(static_cast<long>(syscall(SYS_gettid)));
      ++writes;
      return Status::Ok();
    });
    const std::vector<views::Event> events = Decoded(stream);
    REQUIRE(events.size() > 500);
    std::vector<views::ApplyOutcome> outcomes;
    for (size_t from = 0; from + 100 <= 500; from += 100) {
      REQUIRE_OK(applier.ApplyBlock(std::span(events).subspan(from, 100), &outcomes));
      REQUIRE_OK(applier.Commit({}, views::Applier::CommitMode::kHandOff));
      if (from == 200) REQUIRE_OK(applier.Sync());  // the writer idles between writes, and stays
    }
    REQUIRE_OK(applier.Sync());
  }
  CHECK(writes == 5);
  CHECK(writers.size() == 1);
  CHECK(writers.count(static_cast<long>(syscall(SYS_gettid))) == 0);
}

// Applies the stream in batches of 100, discarding every third batch with
// Reset() and then applying the whole stream again (as a consumer does after
// a failed write: it consumes the events again).
void ApplyWithResets(state::Store* store, const std::vector<std::string>& stream, size_t capacity) {
  views::Applier applier(store, capacity);
  size_t pending = 0, batches = 0;
  for (const std::string& value : stream) {
    views::Event e;
    if (!ingest::DecodeEvent(value, std::nullopt, &e).ok()) continue;
    e.arrival = static_cast<uint64_t>(&value - stream.data()) + 1;  // the same on the second pass
    views::ApplyOutcome outcome;
    REQUIRE_OK(applier.Apply(e, &outcome));
    if (++pending == 100) {
      pending = 0;
      if (++batches % 3 == 0) {
        applier.Reset();
      } else {
        REQUIRE_OK(applier.Commit({}));
      }
    }
  }
  REQUIRE_OK(applier.Commit({}));
  Apply(store, stream, 100, capacity);
}

TEST_CASE("a discarded batch leaves the lead cache consistent with the store") {
  // Leads taken into a batch that is then Reset() must be read again from the
  // store, never resurrected with the discarded changes.
  const std::vector<std::string> stream = Stream(5);
  TestDb uncached, cached;
  ApplyWithResets(uncached.store(), stream, 0);
  ApplyWithResets(cached.store(), stream, views::Applier::kDefaultLeadCacheBytes);
  CHECK(Dump(cached.store()) == Dump(uncached.store()));
  // And the discarded events did land on the second pass.
  TestDb straight;
  Apply(straight.store(), stream, 100, 0);
  CHECK(cached.ReportText(std::nullopt, "org_acme") == straight.ReportText(std::nullopt, "org_acme"));
}

}  // namespace
}  // namespace leadflow

namespace leadflow {
namespace {

TEST_CASE("commits written as table files leave byte-identical state to commits written through the log") {
  // Store::Write takes a batch of Options::table_write_min_ops ops or more
  // as table files (catch-up); here every commit goes that way, on 1 and 2
  // workers, while the next batch is applied (hand-off) or not.
  state::Store::Options tables;
  tables.table_write_min_ops = 1;
  state::Store::Options log;
  log.table_write_min_ops = 0;
  for (uint64_t seed : {3u, 13u}) {
    const std::vector<std::string> stream = Stream(seed);
    for (size_t batch : {64u, 500u}) {  // the activity log's keys name the batch
      TestDb reference(log);
      Apply(reference.store(), stream, batch, views::Applier::kDefaultLeadCacheBytes, 1, 256);
      const auto expected = testing::DumpState(reference.store(), true);
      REQUIRE(expected.size() > 1000);
      for (size_t workers : {1u, 2u}) {
        for (bool hand_off : {false, true}) {
          CAPTURE(seed);
          CAPTURE(workers);
          CAPTURE(batch);
          CAPTURE(hand_off);
          TestDb db(tables);
          Apply(db.store(), stream, batch, views::Applier::kDefaultLeadCacheBytes, workers, 256, hand_off);
          const auto got = testing::DumpState(db.store(), true);
          CHECK(got == expected);
          CHECK(db.ReportText(std::nullopt, "org_acme") == reference.ReportText(std::nullopt, "org_acme"));
        }
      }
    }
  }
}

}  // namespace
}  // namespace leadflow
