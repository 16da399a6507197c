// The round-trip property of contract section 2: every _queries value of
// every status row and every transition _query, given back to the lead
// search, selects exactly as many leads as its cell counts — for random
// histories, periods (any millisecond, any offset) and report filters.
#include "views/query_eval.h"

#include <doctest/doctest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "api/status_report_json.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "views/query_parser.h"
#include "views/status_report.h"
#include "views/time.h"

namespace leadflow::testing {
namespace {

using nlohmann::json;

std::vector<std::string> RandomEvents(std::mt19937_64& rng, std::vector<int64_t>* instants) {
  std::vector<std::string> events = {
      StatusUpserted("sa", "Potential", 1, "2022-01-01T00:00:00Z"),
      StatusUpserted("sb", "Qual\"ified \\ B", 2, "2022-01-01T00:00:00Z"),
      StatusUpserted("sc", "Customer", 3, "2022-01-01T00:00:00Z"),
      StatusUpserted("sd", "Bad Fit", 4, "2022-01-01T00:00:00Z"),
  };
  const char* statuses[] = {"sa", "sb", "sc", "sd"};
  const char* sources[] = {"web", "referral", "ads"};
  const int64_t base = Ms("2023-11-20T00:00:00Z");
  const int64_t span = 120 * views::kMsPerDay;
  auto instant = [&]() -> int64_t {
    int64_t t = base + static_cast<int64_t>(rng() % static_cast<uint64_t>(span));
    switch (rng() % 4) {
      case 0: return views::DayStartMs(views::DayOf(t));
      case 1: return t - ((t % 1000) + 1000) % 1000;
      default: return t;
    }
  };
  int n = 0;
  auto ev = [&](json j, const std::string& type, int64_t at) {
    j["event_id"] = "q" + std::to_string(n++);
    j["type"] = type;
    j["org_id"] = "org1";
    j["occurred_at"] = views::FormatRfc3339Ms(at);
    events.push_back(j.dump());
    instants->push_back(at);
  };
  for (int l = 0; l < 60; ++l) {
    const std::string id = "l" + std::to_string(l);
    const int64_t created = instant();
    ev({{"lead_id", id}, {"status_id", statuses[rng() % 4]}, {"owner_id", "u" + std::to_string(rng() % 3)},
        {"fields", {{"Source", sources[rng() % 3]}, {"Score", static_cast<int>(rng() % 30)}}}},
       "lead.created", created);
    for (int c = static_cast<int>(rng() % 6); c > 0; --c) {
      int64_t at = rng() % 6 == 0 ? created : created + static_cast<int64_t>(rng() % (40 * views::kMsPerDay));
      ev({{"lead_id", id}, {"status_id", statuses[rng() % 4]}}, "lead.status_changed", at);
    }
    if (rng() % 15 == 0) ev({{"lead_id", id}}, "lead.deleted", instant());
  }
  std::shuffle(events.begin() + 4, events.end(), rng);
  return events;
}

int64_t CountOf(const state::Reader& reader, const std::string& query) {
  views::Query q;
  Status s = views::ParseQuery(query, &q);
  REQUIRE_MESSAGE(s.ok(), s.ToString(), " in ", query);
  Roaring leads;
  REQUIRE_OK(views::EvaluateQuery(reader, "org1", q, nullptr, &leads));
  return static_cast<int64_t>(leads.cardinality());
}

}  // namespace

TEST_CASE("every _queries value selects exactly the leads its cell counts") {
  std::mt19937_64 rng(4242);
  const std::vector<std::string> filters = {"", "\"Source\":\"web\"", "lead_status:\"customer\" or \"Score\" >= 15",
                                            "not owner_id:\"u1\""};
  size_t checked = 0;
  for (int round = 0; round < 3; ++round) {
    TestDb db;
    std::vector<int64_t> instants;
    db.Ingest(RandomEvents(rng, &instants), 1 + rng() % 25);
    auto snap = db.store()->NewSnapshot();
    for (int p = 0; p < 16; ++p) {
      std::optional<views::Period> period;
      if (p % 6 != 0) {
        int64_t a = Ms("2023-11-15T00:00:00Z") + static_cast<int64_t>(rng() % (150ULL * 86400000ULL));
        int64_t b = a + 1 + static_cast<int64_t>(rng() % (60ULL * 86400000ULL));
        if (p % 3 == 0) a = a / 1000 * 1000;                       // a whole second
        if (p % 4 == 0) b = views::DayStartMs(views::DayOf(b)) + 5 * 3600000;  // a local midnight at -5
        if (p % 4 == 1) {
          // Bounds on, just before and just after event instants.
          a = instants[rng() % instants.size()] + static_cast<int64_t>(rng() % 3) - 1;
          b = instants[rng() % instants.size()] + static_cast<int64_t>(rng() % 3) - 1;
          if (a > b) std::swap(a, b);
          if (a == b) ++b;
        }
        period = views::Period{a, b};
      }
      const std::string& filter = filters[static_cast<size_t>(p) % filters.size()];
      Roaring universe;
      api::ReportFilter rf;
      if (!filter.empty()) {
        views::Query fq;
        REQUIRE_OK(views::ParseQuery(filter, &fq));
        REQUIRE_OK(views::EvaluateQuery(*snap, "org1", fq, nullptr, &universe));
        rf = {api::ReportFilter::Kind::kQuery, filter};
      }
      views::StatusReport report;
      REQUIRE_OK(views::ComputeStatusReport(*snap, "org1", period, filter.empty() ? nullptr : &universe, &report));
      json body = json::parse(api::RenderStatusReport(report, rf));
      INFO("round ", round, " period ", p, " filter ", filter);
      for (const auto& row : body["status_overview"]) {
        for (auto it = row["_queries"].begin(); it != row["_queries"].end(); ++it) {
          INFO(row["status_label"].get<std::string>(), " ", it.key(), ": ", it->get<std::string>());
          CHECK(CountOf(*snap, it->get<std::string>()) == row[it.key()].get<int64_t>());
          ++checked;
        }
      }
      for (const char* list : {"status_transitions", "status_transitions_summary"}) {
        if (!body.contains(list)) continue;
        for (const auto& t : body[list]) {
          INFO(list, ": ", t["_query"].get<std::string>());
          CHECK(CountOf(*snap, t["_query"].get<std::string>()) == t["count"].get<int64_t>());
          ++checked;
        }
      }
    }
  }
  CHECK(checked > 500);
}

}  // namespace leadflow::testing
