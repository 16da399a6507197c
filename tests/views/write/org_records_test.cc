// OrgRecords (views/write/org_records.h) over a real store: notes and events
// in any order write the same records; only touched records are written;
// what is written is read back by a fresh instance; Clear forgets what was
// not written; lead numbers continue from the stored counter and stop at
// the limit; a lead event is refused.
#include "views/write/org_records.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "state/store.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "views/keys.h"

namespace leadflow::views {
namespace {

using state::Cf;

Event StatusEvent(EventType type, const std::string& status, const std::string& label, int64_t at, int64_t pos) {
  Event e;
  e.type = type;
  e.org_id = "org1";
  e.status_id = status;
  e.label = label;
  e.position = pos;
  e.occurred_at_ms = at;
  return e;
}

std::string Stored(state::Store* store, Cf cf, const std::string& key) {
  std::string v;
  Status s = store->Get(cf, key, &v);
  if (s.IsNotFound()) return "<absent>";
  REQUIRE_OK(s);
  return v;
}

// The records as a list of steps applied in the given order, written.
std::map<std::string, std::string> ApplyInOrder(const std::vector<int>& order) {
  testing::TempDir dir;
  auto store = testing::OpenTestStore(dir.path());
  OrgRecords org(store.get());
  for (int step : order) {
    const uint64_t seq = static_cast<uint64_t>(step);
    switch (step % 6) {
      case 0: REQUIRE_OK(org.Apply(StatusEvent(EventType::kStatusUpserted, "s1", "L" + std::to_string(step), 1000 + step, step), {1000 + step, seq})); break;
      case 1: REQUIRE_OK(org.NoteStatusSeen("org1", "s1", 5000 - step)); break;
      case 2: REQUIRE_OK(org.Apply(StatusEvent(EventType::kStatusDeleted, "s2", "", 2000 + step, 0), {2000 + step, seq})); break;
      case 3: REQUIRE_OK(org.NoteStatusSeen("org1", "s2", 7000 + step)); break;
      case 4: {
        Event u;
        u.type = EventType::kUserUpserted;
        u.org_id = "org1";
        u.user_id = "u1";
        u.fields = nlohmann::json{{"name", "user " + std::to_string(step)}};
        REQUIRE_OK(org.Apply(u, {3000 + step, seq}));
        break;
      }
      default: REQUIRE_OK(org.NoteStatusSeen("org1", "s3", 100 + step)); break;
    }
  }
  state::WriteBatch b;
  org.WriteTouched(&b);
  REQUIRE_OK(store->Write(&b));
  std::map<std::string, std::string> out;
  for (const char* s : {"s1", "s2", "s3"}) out[s] = Stored(store.get(), Cf::kStatuses, keys::Status("org1", s));
  out["u1"] = Stored(store.get(), Cf::kUsers, keys::User("org1", "u1"));
  return out;
}

}  // namespace

TEST_CASE("org records: any order of notes and events writes the same records") {
  std::vector<int> order(36);
  for (int i = 0; i < 36; ++i) order[i] = i;
  const auto first = ApplyInOrder(order);
  StatusRecord s1;
  REQUIRE_OK(StatusRecord::Decode(first.at("s1"), &s1));
  CHECK(s1.label == "L30");  // the latest upsert
  CHECK(s1.first_seen_ms == 1000);  // the upsert at 1000 (step 0) before any note (5000 - 31 at least)
  StatusRecord s3;
  REQUIRE_OK(StatusRecord::Decode(first.at("s3"), &s3));
  CHECK(s3.label == "s3");  // never upserted: its id
  CHECK(s3.first_seen_ms == 105);
  std::mt19937 rng(5);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(order.begin(), order.end(), rng);
    CHECK(ApplyInOrder(order) == first);
  }
}

TEST_CASE("org records: only touched records are written, a fresh instance reads them, Clear forgets") {
  testing::TempDir dir;
  auto store = testing::OpenTestStore(dir.path());
  {
    OrgRecords org(store.get());
    REQUIRE_OK(org.NoteStatusSeen("org1", "s1", 50));
    uint32_t num = 99;
    REQUIRE_OK(org.NextLeadNum("org1", &num));
    CHECK(num == 0);
    REQUIRE_OK(org.NextLeadNum("org1", &num));
    CHECK(num == 1);
    state::WriteBatch b;
    org.WriteTouched(&b);
    REQUIRE_OK(store->Write(&b));
    // Nothing touched since: nothing written.
    state::WriteBatch empty;
    org.WriteTouched(&empty);
    CHECK(empty.Count() == 0);
  }
  OrgRecords org(store.get());
  uint32_t num = 0;
  REQUIRE_OK(org.NextLeadNum("org1", &num));
  CHECK(num == 2);  // continues from the stored counter
  REQUIRE_OK(org.NoteStatusSeen("org1", "s1", 10));
  org.Clear();  // the note at 10 and number 2 were never written
  REQUIRE_OK(org.NextLeadNum("org1", &num));
  CHECK(num == 2);
  REQUIRE_OK(org.NoteStatusSeen("org1", "s1", 70));
  state::WriteBatch b;
  org.WriteTouched(&b);
  REQUIRE_OK(store->Write(&b));
  StatusRecord s1;
  REQUIRE_OK(StatusRecord::Decode(Stored(store.get(), Cf::kStatuses, keys::Status("org1", "s1")), &s1));
  CHECK(s1.first_seen_ms == 50);

  Event lead;
  lead.type = EventType::kLeadCreated;
  CHECK(org.Apply(lead, {1, 1}).IsInvalidArgument());
}

TEST_CASE("org records: an org's lead numbers stop at 2^32 - 1") {
  testing::TempDir dir;
  auto store = testing::OpenTestStore(dir.path());
  {
    state::WriteBatch b;
    std::string v;
    keys::AppendI64(&v, UINT32_MAX - 1);
    b.Put(Cf::kMeta, keys::MetaLeadCounter("org1"), v);
    REQUIRE_OK(store->Write(&b));
  }
  OrgRecords org(store.get());
  uint32_t num = 0;
  REQUIRE_OK(org.NextLeadNum("org1", &num));
  CHECK(num == UINT32_MAX - 1);
  CHECK(org.NextLeadNum("org1", &num).IsInvalidArgument());
}

}  // namespace leadflow::views
