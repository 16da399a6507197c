#include "views/lead_search.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "views/query_eval.h"
#include "views/query_parser.h"
#include "views/time.h"

namespace leadflow::views {
namespace {

using nlohmann::json;
using testing::Changed;
using testing::Created;
using testing::Deleted;
using testing::StatusUpserted;

using testing::Ev;

// The leads query selects, on a snapshot.
Roaring Select(const state::Reader& reader, const std::string& text) {
  Query q;
  REQUIRE_OK(ParseQuery(text, &q));
  Roaring out;
  REQUIRE_OK(EvaluateQuery(reader, "org1", q, nullptr, &out));
  return out;
}

// "total: id id ..." of one page.
std::string PageText(const state::Reader& reader, const Roaring& leads, uint64_t skip, uint64_t limit) {
  std::vector<LeadAttributes> page;
  uint64_t total = 0;
  Status s = SearchLeads(reader, "org1", leads, skip, limit, &page, &total);
  if (!s.ok()) return s.ToString();
  std::string out = std::to_string(total) + ":";
  for (const auto& a : page) out += " " + a.lead_id;
  return out;
}

}  // namespace

TEST_CASE("lead search pages leads by creation time, then id, whatever the arrival order") {
  testing::TestDb db;
  // Created out of order, across days; b1/b2/b10 share one millisecond (ids
  // sort bytewise: b1 < b10 < b2); d1 is deleted; c1's late created event
  // moves it to an earlier day.
  REQUIRE(db.Ingest({StatusUpserted("sa", "Potential", 1, "2024-01-01T00:00:00Z"),
                     StatusUpserted("sb", "Qualified", 2, "2024-01-01T00:00:00Z"),
                     Created("e1", "sa", "2024-03-05T08:00:00Z"), Created("b2", "sb", "2024-02-01T12:00:00.250Z"),
                     Created("a1", "sa", "2024-01-31T23:59:59.999Z"), Created("b10", "sa", "2024-02-01T12:00:00.250Z"),
                     Created("b1", "sb", "2024-02-01T12:00:00.250Z"), Created("c1", "sb", "2024-04-01T00:00:00Z"),
                     Created("c1", "sb", "2024-02-01T00:00:00Z"), Created("d1", "sa", "2024-02-02T00:00:00Z"),
                     Deleted("d1", "2024-02-03T00:00:00Z"), Created("f1", "sa", "2024-03-05T07:00:00Z")}) == 0);
  auto snap = db.store()->NewSnapshot();
  const Roaring all = Select(*snap, "");
  const std::vector<std::string> order = {"a1", "c1", "b1", "b10", "b2", "f1", "e1"};
  REQUIRE(PageText(*snap, all, 0, 100) == "7: a1 c1 b1 b10 b2 f1 e1");

  // Every window of the order, including empty and past-the-end ones.
  for (uint64_t skip = 0; skip <= order.size() + 1; ++skip) {
    for (uint64_t limit = 0; limit <= order.size() + 1; ++limit) {
      std::string expected = "7:";
      for (uint64_t i = skip; i < order.size() && i < skip + limit; ++i) expected += " " + order[i];
      CAPTURE(skip);
      CAPTURE(limit);
      CHECK(PageText(*snap, all, skip, limit) == expected);
    }
  }
  // A subset skips the days without members.
  const Roaring qualified = Select(*snap, "lead_status:\"Qualified\"");
  CHECK(PageText(*snap, qualified, 0, 10) == "3: c1 b1 b2");
  CHECK(PageText(*snap, qualified, 1, 1) == "3: b1");
  CHECK(PageText(*snap, qualified, 2, 5) == "3: b2");
  CHECK(PageText(*snap, Roaring(), 0, 10) == "0:");
}

TEST_CASE("lead search rows carry the lead's current status, owner, times and fields") {
  testing::TestDb db;
  REQUIRE(db.Ingest({StatusUpserted("sa", "Potential", 1, "2024-01-01T00:00:00Z"),
                     StatusUpserted("sb", "Qualified", 2, "2024-01-01T00:00:00Z"),
                     Ev({{"lead_id", "l1"}, {"status_id", "sa"}, {"owner_id", "u1"}, {"fields", {{"City", "Pune"}}}},
                        "lead.created", "2024-01-02T10:00:00.123Z"),
                     Ev({{"lead_id", "l1"}, {"fields", {{"Score", 7}, {"City", nullptr}}}}, "lead.updated",
                        "2024-01-05T00:00:00Z"),
                     Changed("l1", "sb", "2024-01-04T00:00:00Z")}) == 0);
  auto snap = db.store()->NewSnapshot();
  std::vector<LeadAttributes> page;
  uint64_t total = 0;
  REQUIRE_OK(SearchLeads(*snap, "org1", Select(*snap, ""), 0, 10, &page, &total));
  REQUIRE(page.size() == 1);
  CHECK(page[0].lead_id == "l1");
  CHECK(page[0].status_id == "sb");
  CHECK(page[0].owner_id == std::optional<std::string>("u1"));
  CHECK(FormatRfc3339Ms(page[0].created_ms) == "2024-01-02T10:00:00.123Z");
  CHECK(FormatRfc3339Ms(page[0].modified_ms) == "2024-01-05T00:00:00.000Z");
  CHECK(page[0].fields.dump() == R"({"Score":7})");
}

TEST_CASE("lead search pages agree with a sort of every row over random histories") {
  std::mt19937 rng(20240601);
  for (int round = 0; round < 5; ++round) {
    testing::TestDb db;
    std::vector<std::string> events = {StatusUpserted("sa", "A", 1, "2024-01-01T00:00:00Z"),
                                       StatusUpserted("sb", "B", 2, "2024-01-01T00:00:00Z")};
    const int n = 60;
    for (int i = 0; i < n; ++i) {
      // Few distinct days and instants, so ties on day and millisecond abound.
      const int64_t at = testing::Ms("2024-02-01T00:00:00Z") + static_cast<int64_t>(rng() % 4) * kMsPerDay +
                         static_cast<int64_t>(rng() % 3) * 1000;
      events.push_back(Created("l" + std::to_string(rng() % 1000), rng() % 2 ? "sa" : "sb", FormatRfc3339Ms(at)));
    }
    std::shuffle(events.begin() + 2, events.end(), rng);
    REQUIRE(db.Ingest(events, 7) == 0);
    auto snap = db.store()->NewSnapshot();
    for (const char* query : {"", "lead_status:\"B\""}) {
      const Roaring leads = Select(*snap, query);
      std::vector<LeadAttributes> every;
      uint64_t total = 0;
      REQUIRE_OK(SearchLeads(*snap, "org1", leads, 0, 1000, &every, &total));
      REQUIRE(every.size() == total);
      // The reference: the same rows, sorted independently.
      std::vector<std::pair<int64_t, std::string>> expected;
      for (const auto& a : every) expected.emplace_back(a.created_ms, a.lead_id);
      std::sort(expected.begin(), expected.end());
      for (size_t i = 0; i < every.size(); ++i) CHECK(every[i].lead_id == expected[i].second);
      for (uint64_t skip = 0; skip <= total; skip += 3) {
        std::vector<LeadAttributes> page;
        REQUIRE_OK(SearchLeads(*snap, "org1", leads, skip, 5, &page, &total));
        REQUIRE(page.size() == std::min<uint64_t>(5, total - skip));
        for (size_t i = 0; i < page.size(); ++i) CHECK(page[i].lead_id == expected[skip + i].second);
      }
    }
  }
}

}  // namespace leadflow::views
