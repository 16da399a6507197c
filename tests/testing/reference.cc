#include "tests/testing/reference.h"

#include <algorithm>
#include <set>

namespace leadflow::testing {

RefReport ReferenceReport(const std::vector<RefEvent>& events, std::optional<std::pair<int64_t, int64_t>> period) {
  struct Timed {
    int64_t at;
    size_t arrival;
    std::string status;
  };
  struct Lead {
    std::optional<Timed> created;
    std::vector<Timed> changes;
    bool deleted = false;
  };
  std::set<std::string> seen;
  std::map<std::string, Lead> leads;
  std::set<std::string> statuses;
  for (size_t i = 0; i < events.size(); ++i) {
    const RefEvent& e = events[i];
    if (!seen.insert(e.event_id).second) continue;
    Lead& l = leads[e.lead];
    if (!e.status.empty()) statuses.insert(e.status);
    if (e.type == "lead.created") {
      Timed t{e.at, i, e.status};
      if (!l.created || e.at < l.created->at) l.created = t;
    } else if (e.type == "lead.status_changed") {
      l.changes.push_back({e.at, i, e.status});
    } else if (e.type == "lead.deleted") {
      l.deleted = true;
    }
  }
  RefReport r;
  for (const auto& s : statuses) r.rows[s] = std::vector<int64_t>(6, 0);
  for (auto& [id, l] : leads) {
    if (!l.created || l.deleted) continue;
    std::sort(l.changes.begin(), l.changes.end(),
              [](const Timed& a, const Timed& b) { return a.at != b.at ? a.at < b.at : a.arrival < b.arrival; });
    // (at, from, to) transitions: creation first.
    struct Tr {
      int64_t at;
      std::string from, to;
    };
    std::vector<Tr> trs{{l.created->at, "", l.created->status}};
    for (const auto& c : l.changes) {
      if (c.at < l.created->at || c.status == trs.back().to) continue;
      trs.push_back({c.at, trs.back().to, c.status});
    }
    auto status_at = [&](int64_t t) {
      std::string s;
      for (const auto& tr : trs) {
        if (tr.at < t) s = tr.to;
      }
      return s;
    };
    const int64_t lo = period ? period->first : INT64_MIN;
    const int64_t hi = period ? period->second : INT64_MAX;
    std::set<std::string> entered, left;
    std::set<std::pair<std::string, std::string>> pairs;
    for (const auto& tr : trs) {
      if (tr.at < lo || tr.at >= hi) continue;
      entered.insert(tr.to);
      if (!tr.from.empty()) left.insert(tr.from);
      pairs.insert({tr.from, tr.to});
    }
    for (const auto& s : entered) r.rows[s][4]++;
    for (const auto& s : left) r.rows[s][5]++;
    for (const auto& p : pairs) r.transitions[p]++;
    if (!period) {
      r.rows[trs.back().to][1]++;
      continue;
    }
    const std::string s0 = status_at(lo), s1 = status_at(hi);
    if (!s0.empty()) r.rows[s0][0]++;
    if (!s1.empty()) r.rows[s1][1]++;
    if (!s1.empty() && s0 != s1) r.rows[s1][2]++;
    if (!s0.empty() && s0 != s1) r.rows[s0][3]++;
    if (!s1.empty() && s0 != s1) r.summary[{s0, s1}]++;
  }
  return r;
}

}  // namespace leadflow::testing
