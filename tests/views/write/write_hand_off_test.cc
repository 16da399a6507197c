#include "views/write/write_hand_off.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::views {
namespace {

using state::Cf;

std::string GetOr(state::Store* store, const std::string& key, const std::string& missing = "(none)") {
  std::string v;
  Status s = store->Get(Cf::kMeta, key, &v);
  if (s.IsNotFound()) return missing;
  CHECK_OK(s);
  return v;
}

TEST_CASE("a handed-off write lands the meta, the parts' shares and the non-empty buckets as one write") {
  testing::TempDir dir;
  auto store = testing::OpenTestStore(dir.path());
  WriteHandOff hand_off(3);
  REQUIRE(hand_off.buckets().size() == 3);
  hand_off.meta().Put(Cf::kMeta, "m", "meta");
  hand_off.buckets()[1]->Put(Cf::kMeta, "b1", "bucket");
  state::WriteBatch share_a, share_b;
  share_a.Put(Cf::kMeta, "a", "share a");
  share_b.Put(Cf::kMeta, "b", "share b");

  // The write is held on the writer thread until released: in flight
  // meanwhile, and nothing of it is in the store.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> holding{false};
  hand_off.set_before_write_for_tests([&] {
    holding = true;
    released.wait();
    return Status::Ok();
  });
  const std::thread::id caller = std::this_thread::get_id();
  std::thread::id writer;
  uint64_t epoch = 0;
  hand_off.Start([&] {
    writer = std::this_thread::get_id();
    std::vector<state::WriteBatch*> shares{&share_a, &share_b};
    return hand_off.Write(store.get(), /*stage=*/false, shares, &epoch);
  });
  CHECK(hand_off.InFlight());
  while (!holding) std::this_thread::yield();
  CHECK(GetOr(store.get(), "m") == "(none)");
  release.set_value();
  CHECK_OK(hand_off.Wait());
  CHECK_FALSE(hand_off.InFlight());
  CHECK(writer != caller);
  CHECK(epoch > 0);
  CHECK(GetOr(store.get(), "m") == "meta");
  CHECK(GetOr(store.get(), "a") == "share a");
  CHECK(GetOr(store.get(), "b") == "share b");
  CHECK(GetOr(store.get(), "b1") == "bucket");

  // Landed empties the batches for the next write; Wait with nothing in
  // flight is OK.
  hand_off.Landed();
  CHECK(hand_off.meta().Count() == 0);
  for (state::WriteBatch* b : hand_off.buckets()) CHECK(b->Count() == 0);
  CHECK_OK(hand_off.Wait());
  CHECK(hand_off.poisoned().ok());
}

TEST_CASE("a failed write poisons the hand-off with the first error and drops the staged landing") {
  testing::TempDir dir;
  auto store = testing::OpenTestStore(dir.path());
  WriteHandOff hand_off(1);
  hand_off.meta().Put(Cf::kMeta, "m", "meta");
  hand_off.staged().sealed.push_back(7);
  int writes = 0;
  hand_off.set_before_write_for_tests([&] {
    ++writes;
    return Status::IoError("disk full (test)");
  });
  uint64_t epoch = 0;
  hand_off.Start([&] { return hand_off.Write(store.get(), false, {}, &epoch); });
  Status s = hand_off.Wait();
  CHECK(writes == 1);
  CHECK_FALSE(s.ok());
  CHECK(hand_off.poisoned().ok());  // Wait alone does not poison: the caller's Land does
  Status returned = hand_off.Fail(s);
  CHECK(returned.message() == s.message());
  CHECK(hand_off.poisoned().message() == s.message());
  CHECK(hand_off.staged().sealed.empty());
  // A later failure does not replace the first error.
  (void)hand_off.Fail(Status::Corruption("second"));
  CHECK(hand_off.poisoned().message() == s.message());
  CHECK(GetOr(store.get(), "m") == "(none)");
}

TEST_CASE("a live write is staged on the caller's thread, and Drop empties what a failed commit filled") {
  testing::TempDir dir;
  auto store = testing::OpenTestStore(dir.path());
  WriteHandOff hand_off(2);
  hand_off.meta().Put(Cf::kMeta, "m", "live");
  uint64_t epoch = 0;
  CHECK_OK(hand_off.Write(store.get(), /*stage=*/store->stages(), {}, &epoch));
  CHECK_FALSE(hand_off.InFlight());
  CHECK(GetOr(store.get(), "m") == "live");
  hand_off.Landed();

  hand_off.meta().Put(Cf::kMeta, "x", "never written");
  hand_off.buckets()[0]->Put(Cf::kMeta, "y", "never written");
  hand_off.Drop();
  CHECK(hand_off.meta().Count() == 0);
  CHECK(hand_off.buckets()[0]->Count() == 0);
  CHECK(GetOr(store.get(), "x") == "(none)");
}

}  // namespace
}  // namespace leadflow::views
