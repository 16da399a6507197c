// MembersAt computes "leads in S at t" forward (XOR of the flips before t's
// day) or backward (current members XOR the flips from t's day on); both
// must agree at every instant of a generated history, including instants
// before the first and after the last event, and at day, month and year
// boundaries.
#include <doctest/doctest.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "tools/eventgen.h"
#include "views/detail/report_sets.h"
#include "views/time.h"

namespace leadflow::views::detail {
namespace {

TEST_CASE("MembersAt forward and backward agree at every instant") {
  tools::GeneratorOptions o;
  o.seed = 21;
  o.orgs = 1;
  o.leads_per_org = 400;
  o.days = 430;  // 2024-01-01 .. 2025-03-06: two years, month and year ends
  o.changes_per_lead = 5;
  o.lead_lifetime_days = 60;
  o.ooo_share = 0.1;
  o.dup_share = 0.05;
  o.delete_share = 0.05;
  tools::EventGenerator gen(o);
  std::vector<std::string> stream;
  tools::Event e;
  while (gen.Next(&e)) stream.push_back(e.value);
  testing::TestDb db;
  db.Ingest(stream, 500);

  const std::vector<std::string> ids = {"stat_acme_1", "stat_acme_2", "stat_acme_3", "stat_acme_4", "stat_acme_5"};
  auto snap = db.store()->NewSnapshot();
  const int64_t first = testing::Ms("2023-12-25T00:00:00Z");
  const int64_t last = testing::Ms("2025-04-10T00:00:00Z");
  int nonempty = 0;
  for (int64_t t = first; t < last; t += 86'400'000 + 3'600'000 * 5 + 17) {  // drifts across the day
    for (int64_t at : {t, DayStartMs(DayOf(t))}) {
      std::unordered_map<std::string, Roaring> fwd, bwd, aut;
      REQUIRE_OK(MembersAt(*snap, "org_acme", ids, at, &fwd, Direction::kForward));
      REQUIRE_OK(MembersAt(*snap, "org_acme", ids, at, &bwd, Direction::kBackward));
      REQUIRE_OK(MembersAt(*snap, "org_acme", ids, at, &aut));
      for (const auto& id : ids) {
        CAPTURE(at);
        CAPTURE(id);
        CHECK(fwd[id] == bwd[id]);
        CHECK(aut[id] == fwd[id]);
        nonempty += !fwd[id].isEmpty();
      }
    }
  }
  CHECK(nonempty > 1000);
}

}  // namespace
}  // namespace leadflow::views::detail
