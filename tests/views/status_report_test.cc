#include "views/status_report.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>

#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "tests/testing/reference.h"
#include "views/time.h"

namespace leadflow::testing {
namespace {

const std::string kT = "2023-06-01T00:00:00Z";  // statuses exist from here

std::vector<std::string> Statuses() {
  return {StatusUpserted("sa", "Potential", 1, kT), StatusUpserted("sb", "Qualified", 2, kT),
          StatusUpserted("sc", "Customer", 3, kT)};
}

std::vector<std::string> With(std::vector<std::string> events) {
  auto all = Statuses();
  all.insert(all.end(), events.begin(), events.end());
  return all;
}

struct Case {
  const char* name;
  std::vector<std::string> events;
  std::optional<views::Period> period;
  const char* expected;
};

const views::Period kJan = views::Period{Ms("2024-01-01T00:00:00Z"), Ms("2024-02-01T00:00:00Z")};

}  // namespace

TEST_CASE("the status report follows every edge rule of the contract") {
  const std::vector<Case> cases = {
      {"a created lead is a transition from null into its status",
       With({Created("l1", "sa", "2024-01-10T10:00:00Z")}), kJan,
       "Potential: started=0 ended=1 gained=1 lost=0 entered=1 left=0\n"
       "Qualified: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "T null->Potential 1\n"
       "S null->Potential 1\n"},
      {"A -> B -> C is two transitions and one summary row A -> C",
       With({Created("l1", "sa", "2023-12-01T00:00:00Z"), Changed("l1", "sb", "2024-01-05T00:00:00Z"),
             Changed("l1", "sc", "2024-01-06T00:00:00Z")}),
       kJan,
       "Potential: started=1 ended=0 gained=0 lost=1 entered=0 left=1\n"
       "Qualified: started=0 ended=0 gained=0 lost=0 entered=1 left=1\n"
       "Customer: started=0 ended=1 gained=1 lost=0 entered=1 left=0\n"
       "T Potential->Qualified 1\n"
       "T Qualified->Customer 1\n"
       "S Potential->Customer 1\n"},
      {"a change into the current status is a no-op counted nowhere",
       With({Created("l1", "sa", "2023-12-01T00:00:00Z"), Changed("l1", "sa", "2024-01-05T00:00:00Z")}), kJan,
       "Potential: started=1 ended=1 gained=0 lost=0 entered=0 left=0\n"
       "Qualified: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"},
      {"a change dated before the creation is ignored",
       With({Created("l1", "sa", "2024-01-10T00:00:00Z"), Changed("l1", "sb", "2024-01-09T00:00:00Z")}), kJan,
       "Potential: started=0 ended=1 gained=1 lost=0 entered=1 left=0\n"
       "Qualified: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "T null->Potential 1\n"
       "S null->Potential 1\n"},
      {"a change at exactly the creation instant applies",
       With({Created("l1", "sa", "2024-01-10T00:00:00Z"), Changed("l1", "sb", "2024-01-10T00:00:00Z")}), kJan,
       "Potential: started=0 ended=0 gained=0 lost=0 entered=1 left=1\n"
       "Qualified: started=0 ended=1 gained=1 lost=0 entered=1 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "T null->Potential 1\n"
       "T Potential->Qualified 1\n"
       "S null->Qualified 1\n"},
      {"a change at exactly T0 is inside the period and not yet in started",
       With({Created("l1", "sa", "2023-12-01T00:00:00Z"), Changed("l1", "sb", "2024-01-01T00:00:00Z")}), kJan,
       "Potential: started=1 ended=0 gained=0 lost=1 entered=0 left=1\n"
       "Qualified: started=0 ended=1 gained=1 lost=0 entered=1 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "T Potential->Qualified 1\n"
       "S Potential->Qualified 1\n"},
      {"a change at exactly T1 is outside the period",
       With({Created("l1", "sa", "2023-12-01T00:00:00Z"), Changed("l1", "sb", "2024-02-01T00:00:00Z")}), kJan,
       "Potential: started=1 ended=1 gained=0 lost=0 entered=0 left=0\n"
       "Qualified: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"},
      {"a change one millisecond before T1 is inside the period",
       With({Created("l1", "sa", "2023-12-01T00:00:00Z"), Changed("l1", "sb", "2024-01-31T23:59:59.999Z")}), kJan,
       "Potential: started=1 ended=0 gained=0 lost=1 entered=0 left=1\n"
       "Qualified: started=0 ended=1 gained=1 lost=0 entered=1 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "T Potential->Qualified 1\n"
       "S Potential->Qualified 1\n"},
      {"a lead created at exactly T0 has no status at T0",
       With({Created("l1", "sa", "2024-01-01T00:00:00Z")}), kJan,
       "Potential: started=0 ended=1 gained=1 lost=0 entered=1 left=0\n"
       "Qualified: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "T null->Potential 1\n"
       "S null->Potential 1\n"},
      {"transitions count distinct leads: A->B->A->B is one A->B",
       With({Created("l1", "sa", "2023-12-01T00:00:00Z"), Changed("l1", "sb", "2024-01-02T00:00:00Z"),
             Changed("l1", "sa", "2024-01-03T00:00:00Z"), Changed("l1", "sb", "2024-01-04T00:00:00Z")}),
       kJan,
       "Potential: started=1 ended=0 gained=0 lost=1 entered=1 left=1\n"
       "Qualified: started=0 ended=1 gained=1 lost=0 entered=1 left=1\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "T Potential->Qualified 1\n"
       "T Qualified->Potential 1\n"
       "S Potential->Qualified 1\n"},
      {"A -> B -> A within the period has no summary row",
       With({Created("l1", "sa", "2023-12-01T00:00:00Z"), Changed("l1", "sb", "2024-01-02T00:00:00Z"),
             Changed("l1", "sa", "2024-01-03T00:00:00Z")}),
       kJan,
       "Potential: started=1 ended=1 gained=0 lost=0 entered=1 left=1\n"
       "Qualified: started=0 ended=0 gained=0 lost=0 entered=1 left=1\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "T Potential->Qualified 1\n"
       "T Qualified->Potential 1\n"},
      {"a deleted lead leaves every report, past periods too",
       With({Created("l1", "sa", "2023-12-01T00:00:00Z"), Created("l2", "sa", "2023-12-01T00:00:00Z"),
             Changed("l1", "sb", "2024-01-05T00:00:00Z"), Deleted("l1", "2024-03-01T00:00:00Z")}),
       kJan,
       "Potential: started=1 ended=1 gained=0 lost=0 entered=0 left=0\n"
       "Qualified: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"},
      {"events of a lead wait for its creation",
       With({Changed("l1", "sb", "2024-01-05T00:00:00Z")}), kJan,
       "Potential: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Qualified: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"},
      {"a late creation applies the changes that waited for it",
       With({Changed("l1", "sb", "2024-01-05T00:00:00Z"), Created("l1", "sa", "2024-01-02T00:00:00Z")}), kJan,
       "Potential: started=0 ended=0 gained=0 lost=0 entered=1 left=1\n"
       "Qualified: started=0 ended=1 gained=1 lost=0 entered=1 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "T null->Potential 1\n"
       "T Potential->Qualified 1\n"
       "S null->Qualified 1\n"},
      {"of two creations the earlier one wins",
       With({Created("l1", "sb", "2024-01-20T00:00:00Z"), Created("l1", "sa", "2023-12-20T00:00:00Z")}), kJan,
       "Potential: started=1 ended=1 gained=0 lost=0 entered=0 left=0\n"
       "Qualified: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"},
      {"a late change turns a later change into a no-op",
       With({Created("l1", "sa", "2023-12-01T00:00:00Z"), Changed("l1", "sb", "2024-01-20T00:00:00Z"),
             Changed("l1", "sb", "2024-01-10T00:00:00Z")}),
       views::Period{Ms("2024-01-15T00:00:00Z"), Ms("2024-02-01T00:00:00Z")},
       "Potential: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Qualified: started=1 ended=1 gained=0 lost=0 entered=0 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"},
      {"a status no upsert named is reported with its id as label",
       With({Created("l1", "s_unknown", "2024-01-10T00:00:00Z")}), kJan,
       "Potential: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Qualified: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "s_unknown: started=0 ended=1 gained=1 lost=0 entered=1 left=0\n"
       "T null->s_unknown 1\n"
       "S null->s_unknown 1\n"},
      {"a deleted status follows the others and only when it has counts",
       With({StatusUpserted("sd", "Old", 0, kT), StatusUpserted("se", "Gone", 5, kT),
             StatusDeleted("sd", "2023-07-01T00:00:00Z"), StatusDeleted("se", "2023-07-01T00:00:00Z"),
             Created("l1", "sd", "2023-12-01T00:00:00Z")}),
       kJan,
       "Potential: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Qualified: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Old(deleted): started=1 ended=1 gained=0 lost=0 entered=0 left=0\n"},
      {"an upsert after a delete undeletes the status",
       With({StatusDeleted("sb", "2023-07-01T00:00:00Z"), StatusUpserted("sb", "Qualified!", 2, "2023-08-01T00:00:00Z")}),
       kJan,
       "Potential: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Qualified!: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"},
      {"an older upsert does not replace a newer one",
       With({StatusUpserted("sb", "Stale", 2, "2023-05-01T00:00:00Z")}), kJan,
       "Potential: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Qualified: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"},
      {"statuses without a position follow, by first appearance",
       {StatusUpserted("z", "Zed", std::nullopt, "2023-01-02T00:00:00Z"),
        StatusUpserted("y", "Why", std::nullopt, "2023-01-01T00:00:00Z"),
        StatusUpserted("x", "Ex", 7, "2023-01-03T00:00:00Z"), Created("l1", "w", "2022-01-01T00:00:00Z")},
       kJan,
       "Ex: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "w: started=1 ended=1 gained=0 lost=0 entered=0 left=0\n"
       "Why: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "Zed: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"},
      {"the overall report has the current status and all-time entered and left",
       With({Created("l1", "sa", "2023-12-01T00:00:00Z"), Changed("l1", "sb", "2024-01-05T00:00:00Z"),
             Created("l2", "sa", "2030-01-01T00:00:00Z")}),
       std::nullopt,
       "Potential: ended=1 entered=2 left=1\n"
       "Qualified: ended=1 entered=1 left=0\n"
       "Customer: ended=0 entered=0 left=0\n"
       "T null->Potential 2\n"
       "T Potential->Qualified 1\n"},
      {"a period inside one day uses the edges exactly",
       With({Created("l1", "sa", "2024-01-10T10:00:00.000Z"), Changed("l1", "sb", "2024-01-10T10:00:00.500Z"),
             Changed("l1", "sc", "2024-01-10T10:00:01.000Z")}),
       views::Period{Ms("2024-01-10T10:00:00.001Z"), Ms("2024-01-10T10:00:01.000Z")},
       "Potential: started=1 ended=0 gained=0 lost=1 entered=0 left=1\n"
       "Qualified: started=0 ended=1 gained=1 lost=0 entered=1 left=0\n"
       "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
       "T Potential->Qualified 1\n"
       "S Potential->Qualified 1\n"},
  };
  for (const auto& c : cases) {
    SUBCASE(c.name) {
      TestDb db;
      db.Ingest(c.events);
      CHECK(db.ReportText(c.period) == c.expected);
    }
  }
}

TEST_CASE("Close's example relations hold: change = gained - lost, entered >= gained, left >= lost") {
  TestDb db;
  std::vector<std::string> events = Statuses();
  // 5 leads in Potential before the period, 3 created during it; one old and
  // one new lead move to Qualified.
  for (int i = 0; i < 5; ++i) events.push_back(Created("old" + std::to_string(i), "sa", "2023-12-01T00:00:00Z"));
  for (int i = 0; i < 3; ++i) events.push_back(Created("new" + std::to_string(i), "sa", "2024-01-0" + std::to_string(i + 2) + "T00:00:00Z"));
  events.push_back(Changed("old0", "sb", "2024-01-15T00:00:00Z"));
  events.push_back(Changed("new0", "sb", "2024-01-16T00:00:00Z"));
  db.Ingest(events);
  auto r = db.Report(kJan);
  CHECK(ReportToText(r) ==
        "Potential: started=5 ended=6 gained=2 lost=1 entered=3 left=2\n"
        "Qualified: started=0 ended=2 gained=2 lost=0 entered=2 left=0\n"
        "Customer: started=0 ended=0 gained=0 lost=0 entered=0 left=0\n"
        "T null->Potential 3\n"
        "T Potential->Qualified 2\n"
        "S null->Potential 2\n"
        "S null->Qualified 1\n"
        "S Potential->Qualified 1\n");
  for (const auto& row : r.rows) {
    CHECK(row.ended - row.started == row.gained - row.lost);
    CHECK(row.entered >= row.gained);
    CHECK(row.left >= row.lost);
  }
}

TEST_CASE("a duplicate event changes no report, even with a different body") {
  TestDb db;
  auto created = Created("l1", "sa", "2023-12-01T00:00:00Z");
  auto change = Changed("l1", "sb", "2024-01-05T00:00:00Z");
  auto impostor = WithEventId(Changed("l1", "sc", "2024-01-06T00:00:00Z"), "dup-id");
  db.Ingest(With({created, change, WithEventId(change, "dup-id")}));
  const std::string before = db.ReportText(kJan);
  db.Ingest({created, change, impostor, created});
  CHECK(db.ReportText(kJan) == before);
  CHECK(before.find("Qualified: started=0 ended=1") != std::string::npos);
}

namespace {

std::string NextId(int* n) {
  std::string id = "e";
  id += std::to_string((*n)++);
  return id;
}

// A random history: leads created and changed at random instants (many on
// exact day, month and year boundaries), arriving shuffled, with duplicates.
std::vector<RefEvent> RandomHistory(std::mt19937_64& rng, int leads) {
  const int64_t base = Ms("2022-11-30T00:00:00Z");
  const int64_t span = Ms("2025-02-01T00:00:00Z") - base;
  auto instant = [&]() -> int64_t {
    int64_t t = base + static_cast<int64_t>(rng() % static_cast<uint64_t>(span));
    switch (rng() % 4) {
      case 0: return views::DayStartMs(views::DayOf(t));                       // a day boundary
      case 1: return views::DayStartMs(views::FirstDayOfMonth(views::MonthOfDay(views::DayOf(t))));
      default: return t;
    }
  };
  const char* statuses[] = {"sa", "sb", "sc", "sd"};
  std::vector<RefEvent> out;
  int n = 0;
  for (int l = 0; l < leads; ++l) {
    std::string lead = "l" + std::to_string(l);
    const int64_t created = instant();
    out.push_back({NextId(&n), "lead.created", lead, statuses[rng() % 4], created});
    if (rng() % 10 == 0) out.push_back({NextId(&n), "lead.created", lead, statuses[rng() % 4], instant()});
    const int changes = static_cast<int>(rng() % 6);
    for (int c = 0; c < changes; ++c) {
      int64_t at = rng() % 5 == 0 ? instant() : created + static_cast<int64_t>(rng() % (90LL * views::kMsPerDay));
      if (rng() % 8 == 0) at = created;  // at exactly the creation
      out.push_back({NextId(&n), "lead.status_changed", lead, statuses[rng() % 4], at});
    }
    if (rng() % 15 == 0) out.push_back({NextId(&n), "lead.deleted", lead, "", instant()});
  }
  std::shuffle(out.begin(), out.end(), rng);
  const size_t dups = out.size() / 10;
  for (size_t i = 0; i < dups; ++i) out.push_back(out[rng() % out.size()]);
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

std::string ToJson(const RefEvent& e) {
  if (e.type == "lead.created") return WithEventId(Created(e.lead, e.status, views::FormatRfc3339Ms(e.at)), e.event_id);
  if (e.type == "lead.deleted") return WithEventId(Deleted(e.lead, views::FormatRfc3339Ms(e.at)), e.event_id);
  return WithEventId(Changed(e.lead, e.status, views::FormatRfc3339Ms(e.at)), e.event_id);
}

std::string RefToText(const RefReport& r, bool overall) {
  std::string out;
  for (const auto& [s, v] : r.rows) {
    out += s + ":";
    if (!overall) out += " started=" + std::to_string(v[0]);
    out += " ended=" + std::to_string(v[1]);
    if (!overall) out += " gained=" + std::to_string(v[2]) + " lost=" + std::to_string(v[3]);
    out += " entered=" + std::to_string(v[4]) + " left=" + std::to_string(v[5]) + "\n";
  }
  for (const auto& [p, n] : r.transitions) out += "T " + (p.first.empty() ? "null" : p.first) + "->" + p.second + " " + std::to_string(n) + "\n";
  for (const auto& [p, n] : r.summary) out += "S " + (p.first.empty() ? "null" : p.first) + "->" + p.second + " " + std::to_string(n) + "\n";
  return out;
}

// The views' report in the reference's text form (rows and pairs by id).
std::string ViewToText(const views::StatusReport& r) {
  RefReport ref;
  for (const auto& row : r.rows) ref.rows[row.status.id] = {row.started, row.ended, row.gained, row.lost, row.entered, row.left};
  for (const auto& t : r.transitions) ref.transitions[{t.from ? t.from->id : "", t.to.id}] = t.count;
  for (const auto& t : r.summary) ref.summary[{t.from ? t.from->id : "", t.to.id}] = t.count;
  return RefToText(ref, !r.period.has_value());
}

}  // namespace

TEST_CASE("the report equals a brute-force reference over random histories, periods and arrival orders") {
  std::mt19937_64 rng(20261124);
  for (int round = 0; round < 4; ++round) {
    auto history = RandomHistory(rng, 60);
    TestDb db;
    std::vector<std::string> json;
    for (const auto& e : history) json.push_back(ToJson(e));
    db.Ingest(json, 1 + rng() % 40);
    CHECK(ViewToText(db.Report(std::nullopt)) == RefToText(ReferenceReport(history, std::nullopt), true));
    const int64_t lo = Ms("2022-11-01T00:00:00Z"), hi = Ms("2025-03-01T00:00:00Z");
    for (int p = 0; p < 60; ++p) {
      int64_t a = lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo));
      int64_t b = lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo));
      if (p % 3 == 0) a = views::DayStartMs(views::DayOf(a));
      if (p % 4 == 0) b = views::DayStartMs(views::FirstDayOfYear(views::YearOfDay(views::DayOf(b))));
      if (p % 5 == 0) b = a + 1 + static_cast<int64_t>(rng() % 100000);
      if (a == b) continue;
      if (a > b) std::swap(a, b);
      INFO("period ", views::FormatRfc3339Ms(a), " .. ", views::FormatRfc3339Ms(b));
      CHECK(ViewToText(db.Report(views::Period{a, b})) == RefToText(ReferenceReport(history, std::make_pair(a, b)), false));
    }
  }
}

TEST_CASE("arrival order and batch boundaries do not change the report") {
  std::mt19937_64 rng(7);
  auto history = RandomHistory(rng, 40);
  // Arrival order legitimately decides between events of one lead at the
  // same instant; keep one event per (lead, instant) so that none tie.
  std::set<std::pair<std::string, int64_t>> instants;
  std::set<std::string> ids;
  std::vector<std::string> json;
  for (const auto& e : history) {
    if (ids.count(e.event_id) || instants.insert({e.lead, e.at}).second) {
      ids.insert(e.event_id);
      json.push_back(ToJson(e));
    }
  }
  TestDb one_batch, tiny_batches;
  one_batch.Ingest(json, 100000);
  std::reverse(json.begin(), json.end());
  tiny_batches.Ingest(json, 3);
  const views::Period period{Ms("2023-03-15T12:34:56.789Z"), Ms("2024-07-01T00:00:00Z")};
  CHECK(one_batch.ReportText(period) == tiny_batches.ReportText(period));
  CHECK(one_batch.ReportText(std::nullopt) == tiny_batches.ReportText(std::nullopt));
}

}  // namespace leadflow::testing
