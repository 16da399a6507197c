// Bitmaps are stored in chunks of 2^16 lead numbers (keys::BitmapChunk).
// With 70,000 leads in one org the views span two chunks: every reader (point
// reads, unit folds, value scans with inclusive and exclusive bounds) must
// see both, and a lead must move between bitmaps in the right chunk.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "views/keys.h"
#include "views/not_contacted.h"
#include "views/status_report.h"

namespace leadflow {
namespace {

using testing::TestDb;

constexpr int kLeads = 70000;
static_assert(kLeads > (1 << views::keys::kChunkBits));

std::string CreatedWithScore(int i) {
  // Lead i is created i seconds into 2024-01-01 with Score = i, in s1 (even)
  // or s2 (odd); it gets lead number i.
  char at[32];
  std::snprintf(at, sizeof at, "2024-01-01T%02d:%02d:%02dZ", i / 3600, (i / 60) % 60, i % 60);
  return std::string(R"({"event_id":"c)") + std::to_string(i) +
         R"(","type":"lead.created","org_id":"org1","occurred_at":")" + at + R"(","lead_id":"l)" +
         std::to_string(i) + R"(","status_id":")" + (i % 2 == 0 ? "s1" : "s2") + R"(","fields":{"Score":)" +
         std::to_string(i) + "}}";
}

bool Moved(int i) { return i < 4 || (i >= 65530 && i < 65542) || i >= kLeads - 3; }

const views::StatusRow& Row(const views::StatusReport& r, const std::string& id) {
  for (const auto& row : r.rows) {
    if (row.status.id == id) return row;
  }
  FAIL("no row " << id);
  return r.rows.front();
}

int64_t Count(TestDb& db, views::LeadCondition c) {
  views::NotContactedQuery q;
  q.activity_codes = {999};
  q.lead_filters = {std::move(c)};
  views::NotContactedResult r;
  auto snap = db.store()->NewSnapshot();
  REQUIRE_OK(views::ComputeNotContacted(*snap, "org1", q, &r));
  return r.total_count;
}

TEST_CASE("bitmaps spanning two chunks: reports and filters see every lead") {
  TestDb db;
  std::vector<std::string> events;
  for (int i = 0; i < kLeads; ++i) events.push_back(CreatedWithScore(i));
  int moved = 0;
  for (int i = 0; i < kLeads; ++i) {
    if (!Moved(i)) continue;
    ++moved;
    events.push_back(testing::Changed("l" + std::to_string(i), "s3", "2024-01-03T10:00:00Z"));
  }
  db.Ingest(events, 20000);

  int even_moved = 0;
  for (int i = 0; i < kLeads; ++i) even_moved += (Moved(i) && i % 2 == 0);
  const int odd_moved = moved - even_moved;

  const views::StatusReport overall = db.Report(std::nullopt);
  CHECK(Row(overall, "s1").ended == kLeads / 2 - even_moved);
  CHECK(Row(overall, "s2").ended == kLeads / 2 - odd_moved);
  CHECK(Row(overall, "s3").ended == moved);
  CHECK(Row(overall, "s1").entered == kLeads / 2);

  // A period over day units and month units (folds over chunks).
  const views::StatusReport jan = db.Report(testing::P("2024-01-02T00:00:00Z", "2024-02-01T00:00:00Z"));
  CHECK(Row(jan, "s1").started == kLeads / 2);
  CHECK(Row(jan, "s1").ended == kLeads / 2 - even_moved);
  CHECK(Row(jan, "s3").gained == moved);
  CHECK(Row(jan, "s1").lost == even_moved);
  CHECK(Row(jan, "s2").left == odd_moved);

  // Value scans across chunks, with inclusive and exclusive bounds that sit on
  // stored values.
  using Op = views::LeadCondition::Op;
  CHECK(Count(db, {"Score", Op::kGe, {65530}}) == kLeads - 65530);
  CHECK(Count(db, {"Score", Op::kGt, {65530}}) == kLeads - 65531);
  CHECK(Count(db, {"Score", Op::kLe, {65536}}) == 65537);
  CHECK(Count(db, {"Score", Op::kLt, {65536}}) == 65536);
  CHECK(Count(db, {"Score", Op::kBetween, {65535, 65536}}) == 2);
  CHECK(Count(db, {"Score", Op::kEq, {69999}}) == 1);
  CHECK(Count(db, {"ProspectStage", Op::kEq, {"s3"}}) == moved);
}

}  // namespace
}  // namespace leadflow
