// DiffLead's shortcut for a batch of status changes and activities only
// (the attributes after follow from the ones before; no derivation from the
// history, and the row's fields are reused, not encoded again) gives what
// the full derivation gives: the same bitmap, log and index operations, the
// same row and the same attributes, over random leads (created or not,
// deleted, with changes and activities before creation, ties on the
// instant, no-op changes, names absent).
#include "views/write/lead_diff.h"

#include <doctest/doctest.h>

#include <random>
#include <string>

namespace leadflow::views {
namespace {

using nlohmann::json;

LeadRecord RandomLead(std::mt19937_64& rng) {
  const int64_t base = 1714557600000;  // 2024-05-01T10:00:00Z
  auto at = [&] { return base + static_cast<int64_t>(rng() % (40 * 86400000ull)) - 10 * 86400000ll; };
  auto time = [&] { return EventTime{at(), rng() % 1000}; };
  auto fields = [&] {
    json f = json::object();
    for (int i = rng() % 4; i > 0; --i) f["f" + std::to_string(rng() % 5)] = rng() % 2 ? json("v" + std::to_string(rng() % 3)) : json(rng() % 9);
    return f;
  };
  const char* statuses[] = {"s1", "s2", "s3"};
  LeadRecord r;
  r.num = static_cast<uint32_t>(rng() % 200000);
  if (rng() % 5) r.created = LeadCreation{time(), statuses[rng() % 3], rng() % 2 ? std::optional<std::string>("u1") : std::nullopt, fields()};
  for (int i = rng() % 4; i > 0; --i) r.changes.push_back({time(), statuses[rng() % 3]});
  std::sort(r.changes.begin(), r.changes.end(), [](const auto& a, const auto& b) { return a.time < b.time; });
  for (int i = rng() % 4; i > 0; --i) r.updates.push_back({time(), fields(), std::nullopt});
  std::sort(r.updates.begin(), r.updates.end(), [](const auto& a, const auto& b) { return a.time < b.time; });
  r.deleted = rng() % 8 == 0;
  if (rng() % 3) {
    r.last_activity_ms = at();
    if (rng() % 4) r.last_activity_name = "call";
  }
  return r;
}

// The shortcut's diff and attributes after equal the full derivation's:
// every operation, the row, and the attributes (encoded).
void CheckSameDiff(const LeadDiff& fast, const LeadDiff& full, const std::optional<LeadAttributes>& fast_attrs,
                   const std::optional<LeadAttributes>& full_attrs) {
  CHECK(fast.bitmap_ops == full.bitmap_ops);
  CHECK(fast.fact_ops == full.fact_ops);
  CHECK(fast.log_puts == full.log_puts);
  CHECK(fast.log_deletes == full.log_deletes);
  CHECK(fast.pairs == full.pairs);
  CHECK(fast.index_puts == full.index_puts);
  CHECK(fast.index_deletes == full.index_deletes);
  CHECK(fast.row == full.row);
  CHECK(fast.row_changed == full.row_changed);
  REQUIRE(fast_attrs.has_value() == full_attrs.has_value());
  if (fast_attrs) CHECK(fast_attrs->Encode() == full_attrs->Encode());
}

TEST_CASE("a batch of activities only diffs as the full derivation does") {
  std::mt19937_64 rng(5);
  int shortcut_changed = 0;
  for (int i = 0; i < 2000; ++i) {
    const LeadRecord before = RandomLead(rng);
    LeadRecord after = before;
    for (int k = 1 + rng() % 3; k > 0; --k) {  // as Applier::ApplyLeadEvent applies an activity
      const int64_t ms = rng() % 4 == 0 ? after.last_activity_ms : before.created ? before.created->time.at_ms + static_cast<int64_t>(rng() % (20 * 86400000ull)) - 86400000ll : 1714557600000;
      if (ms >= after.last_activity_ms) {
        after.last_activity_ms = ms;
        after.last_activity_name = rng() % 3 ? std::optional<std::string>(rng() % 2 ? "call" : "email") : std::nullopt;
      }
    }
    const std::optional<LeadAttributes> attrs_before = DeriveAttributes("lead1", before);
    const std::string row_before = attrs_before ? attrs_before->Encode() : "";
    StatusNames names;
    const LeadFacts facts = DeriveFacts(before, &names);
    std::optional<LeadAttributes> fast_attrs = attrs_before, full_attrs = attrs_before;
    const LeadDiff fast = DiffLead("org1", "lead1", after, LeadBefore{&facts, &names, false, &fast_attrs, &row_before, true});
    const LeadDiff full = DiffLead("org1", "lead1", after, LeadBefore{&facts, &names, false, &full_attrs, &row_before, false});
    CAPTURE(i);
    CheckSameDiff(fast, full, fast_attrs, full_attrs);
    CHECK(full_attrs.has_value() == DeriveAttributes("lead1", after).has_value());
    shortcut_changed += fast.row_changed;
  }
  CHECK(shortcut_changed > 500);  // the activities did move most rows
}

TEST_CASE("a batch of status changes and activities diffs as the full derivation does") {
  std::mt19937_64 rng(7);
  const char* statuses[] = {"s1", "s2", "s3", "s4"};
  int status_moved = 0, rows_changed = 0;
  for (int i = 0; i < 3000; ++i) {
    const LeadRecord before = RandomLead(rng);
    LeadRecord after = before;
    const int64_t around = before.created ? before.created->time.at_ms : 1714557600000;
    auto at = [&] { return around + static_cast<int64_t>(rng() % (20 * 86400000ull)) - 2 * 86400000ll; };
    for (int k = 1 + rng() % 3; k > 0; --k) {  // as Applier::ApplyLeadEvent applies them
      if (rng() % 2) {
        after.ApplyChange(StatusChange{EventTime{rng() % 5 == 0 && !after.changes.empty() ? after.changes.back().time.at_ms : at(), rng() % 1000},
                                       statuses[rng() % 4]});
      } else {
        after.ApplyActivity(at(), rng() % 3 ? std::optional<std::string>(rng() % 2 ? "call" : "email") : std::nullopt);
      }
    }
    const bool changed = after.changes.size() != before.changes.size();
    const std::optional<LeadAttributes> attrs_before = DeriveAttributes("lead1", before);
    const std::string row_before = attrs_before ? attrs_before->Encode() : "";
    StatusNames fast_names, full_names;
    const LeadFacts fast_facts = DeriveFacts(before, &fast_names), full_facts = DeriveFacts(before, &full_names);
    std::optional<LeadAttributes> fast_attrs = attrs_before, full_attrs = attrs_before;
    const LeadDiff fast = DiffLead("org1", "lead1", after, LeadBefore{&fast_facts, &fast_names, changed, &fast_attrs, &row_before, true});
    const LeadDiff full = DiffLead("org1", "lead1", after, LeadBefore{&full_facts, &full_names, changed, &full_attrs, &row_before, false});
    CAPTURE(i);
    CheckSameDiff(fast, full, fast_attrs, full_attrs);
    if (fast_attrs) {
      CHECK(fast.row == fast_attrs->Encode());
      status_moved += fast_attrs->status_id != attrs_before->status_id;
    }
    rows_changed += fast.row_changed;
  }
  CHECK(status_moved > 300);  // the changes did move many leads' status
  CHECK(rows_changed > 1000);
}

}  // namespace
}  // namespace leadflow::views
