// Leads Not Contacted against a brute-force reference: random histories
// (out of order, with duplicates, updates, deletes and activities before
// creation) and random windows, codes and filters.
#include "views/not_contacted.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "views/time.h"

namespace leadflow::testing {
namespace {

using nlohmann::json;

struct RefLead {
  std::optional<int64_t> created;
  size_t created_arrival = 0;
  std::string owner;
  json fields = json::object();
  bool deleted = false;
  struct Update {
    int64_t at;
    size_t arrival;
    json fields;
  };
  std::vector<Update> updates;
  std::vector<std::pair<int64_t, int64_t>> activities;  // (code, at)
};

}  // namespace

TEST_CASE("Leads Not Contacted equals a brute-force reference over random histories and queries") {
  std::mt19937_64 rng(99);
  const int64_t base = Ms("2024-01-01T00:00:00Z");
  const int64_t span = 60 * views::kMsPerDay;
  auto instant = [&]() -> int64_t {
    int64_t t = base + static_cast<int64_t>(rng() % static_cast<uint64_t>(span));
    switch (rng() % 4) {
      case 0: return views::DayStartMs(views::DayOf(t));
      case 1: return t - ((t % 1000) + 1000) % 1000;  // a whole second
      default: return t;
    }
  };
  const char* sources[] = {"web", "Web", "referral", "ads"};
  for (int round = 0; round < 3; ++round) {
    std::vector<std::string> events = {StatusUpserted("sa", "Potential", 1, "2023-01-01T00:00:00Z")};
    int n = 0;
    auto ev = [&](json j, const std::string& type, int64_t at) {
      j["event_id"] = "r" + std::to_string(round) + "-" + std::to_string(n++);
      j["type"] = type;
      j["org_id"] = "org1";
      j["occurred_at"] = views::FormatRfc3339Ms(at);
      events.push_back(j.dump());
    };
    for (int l = 0; l < 50; ++l) {
      const std::string id = "l" + std::to_string(l);
      json fields = {{"Source", sources[rng() % 4]}};
      if (rng() % 3) fields["Score"] = static_cast<int>(rng() % 50);
      json created = {{"lead_id", id}, {"status_id", "sa"}, {"fields", fields}};
      if (rng() % 4) created["owner_id"] = "u" + std::to_string(rng() % 3);
      ev(created, "lead.created", instant());
      for (int u = static_cast<int>(rng() % 3); u > 0; --u) {
        json f = rng() % 2 ? json{{"Score", static_cast<int>(rng() % 50)}} : json{{"Source", sources[rng() % 4]}};
        if (rng() % 5 == 0) f = {{"Score", nullptr}};
        ev({{"lead_id", id}, {"fields", f}}, "lead.updated", instant());
      }
      for (int a = static_cast<int>(rng() % 5); a > 0; --a) {
        ev({{"lead_id", id}, {"activity_id", "a" + std::to_string(n)}, {"activity_event", 21 + static_cast<int>(rng() % 3)}},
           "activity.logged", instant());
      }
      if (rng() % 12 == 0) ev({{"lead_id", id}}, "lead.deleted", instant());
    }
    std::shuffle(events.begin() + 1, events.end(), rng);
    for (int d = 0; d < 20; ++d) events.push_back(events[1 + rng() % (events.size() - 1)]);

    // The reference state, replayed from the distinct events.
    std::map<std::string, RefLead> leads;
    std::set<std::string> seen;
    for (size_t i = 0; i < events.size(); ++i) {
      json e = json::parse(events[i]);
      if (!seen.insert(e["event_id"].get<std::string>()).second || !e.contains("lead_id")) continue;
      RefLead& l = leads[e["lead_id"].get<std::string>()];
      const int64_t at = Ms(e["occurred_at"].get<std::string>());
      const std::string type = e["type"];
      if (type == "lead.created" && (!l.created || at < *l.created)) {
        l.created = at;
        l.created_arrival = i;
        l.owner = e.value("owner_id", "");
        l.fields = e["fields"];
      } else if (type == "lead.updated") {
        l.updates.push_back({at, i, e["fields"]});
      } else if (type == "lead.deleted") {
        l.deleted = true;
      } else if (type == "activity.logged") {
        l.activities.emplace_back(e["activity_event"].get<int64_t>(), at);
      }
    }
    for (auto& [id, l] : leads) {
      std::sort(l.updates.begin(), l.updates.end(),
                [](const auto& a, const auto& b) { return a.at != b.at ? a.at < b.at : a.arrival < b.arrival; });
      for (const auto& u : l.updates) {
        if (!l.created || u.at < *l.created) continue;
        for (auto it = u.fields.begin(); it != u.fields.end(); ++it) {
          if (it->is_null()) l.fields.erase(it.key()); else l.fields[it.key()] = *it;
        }
      }
    }

    TestDb db;
    db.Ingest(events, 1 + rng() % 30);
    auto snap = db.store()->NewSnapshot();
    for (int qn = 0; qn < 80; ++qn) {
      views::NotContactedQuery q;
      q.page_size = 10000;
      if (rng() % 2) q.activity_codes.push_back(21 + static_cast<int64_t>(rng() % 3));
      if (rng() % 3 == 0) q.activity_codes.push_back(21 + static_cast<int64_t>(rng() % 3));
      if (rng() % 4) {
        int64_t a = instant() / 1000 * 1000, b = instant() / 1000 * 1000;
        if (a > b) std::swap(a, b);
        q.activity_window = views::InstantRange{a, b + 999};
      }
      const int filter = static_cast<int>(rng() % 5);
      const std::string src = sources[rng() % 4];
      const int threshold = static_cast<int>(rng() % 50);
      if (filter == 1) q.lead_filters.push_back({"Source", views::LeadCondition::Op::kEq, {src}});
      if (filter == 2) q.lead_filters.push_back({"source", views::LeadCondition::Op::kLike, {src}});
      if (filter == 3) q.lead_filters.push_back({"Score", views::LeadCondition::Op::kGe, {threshold}});
      if (filter == 4) q.lead_filters.push_back({"Score", views::LeadCondition::Op::kNeq, {threshold}});
      std::optional<std::pair<int64_t, int64_t>> created_range;
      if (rng() % 3 == 0) {
        int64_t a = instant() / 1000 * 1000, b = instant() / 1000 * 1000;
        if (a > b) std::swap(a, b);
        created_range = {a, b + 999};
        q.lead_date_filters.push_back({"CreatedOn", views::InstantRange{a, b + 999}});
      }

      std::vector<std::pair<int64_t, std::string>> expected;
      for (const auto& [id, l] : leads) {
        if (!l.created || l.deleted) continue;
        const json* score = l.fields.contains("Score") ? &l.fields["Score"] : nullptr;
        const std::string source = l.fields.value("Source", "");
        auto lower = [](std::string s) { for (char& c : s) c = static_cast<char>(std::tolower(c)); return s; };
        if (filter == 1 && source != src) continue;
        if (filter == 2 && lower(source) != lower(src)) continue;
        if (filter == 3 && !(score && score->get<int>() >= threshold)) continue;
        if (filter == 4 && !(score && score->get<int>() != threshold)) continue;
        if (created_range && (*l.created < created_range->first || *l.created > created_range->second)) continue;
        bool contacted = false;
        for (const auto& [code, at] : l.activities) {
          bool code_ok = q.activity_codes.empty() ||
                         std::find(q.activity_codes.begin(), q.activity_codes.end(), code) != q.activity_codes.end();
          bool time_ok = !q.activity_window || (at >= q.activity_window->from_ms && at <= q.activity_window->to_ms);
          contacted = contacted || (code_ok && time_ok);
        }
        if (!contacted) expected.emplace_back(*l.created, id);
      }
      std::sort(expected.begin(), expected.end());
      std::string want, got;
      for (const auto& [t, id] : expected) want += id + " ";
      views::NotContactedResult r;
      REQUIRE_OK(views::ComputeNotContacted(*snap, "org1", q, &r));
      for (const auto& row : r.rows) got += row[0].get<std::string>() + " ";
      INFO("round ", round, " query ", qn, " filter ", filter);
      CHECK(got == want);
      CHECK(r.total_count == static_cast<int64_t>(expected.size()));
    }
  }
}

}  // namespace leadflow::testing
