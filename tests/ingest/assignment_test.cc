// detail::Assignment (ingest/detail/assignment.h): which messages a session
// applies, and when it is caught up, from the rebalance and consume events
// alone.
#include <doctest/doctest.h>

#include "ingest/detail/assignment.h"

namespace leadflow::ingest::detail {

TEST_CASE("Assignment applies a partition's messages from its position on, once, and none of a revoked partition") {
  Assignment a;
  CHECK(a.empty());
  CHECK_FALSE(a.Wants(0, 0));  // nothing assigned: a stale message
  a.Assign(0, 10, -1);
  a.Assign(1, 0, -1);
  CHECK(a.size() == 2);
  CHECK_FALSE(a.Wants(0, 9));  // before the stored position: applied already
  CHECK(a.Wants(0, 10));
  a.Consumed(0, 10);
  CHECK(a.next(0) == 11);
  CHECK_FALSE(a.Wants(0, 10));  // read again after a fetch retry: not twice
  CHECK(a.Wants(0, 12));        // a gap (compaction, transactions) is fine
  a.Consumed(0, 12);
  CHECK(a.next(0) == 13);
  a.Revoke(0);
  CHECK_FALSE(a.Wants(0, 13));  // a message of a revoked partition still queued
  CHECK_FALSE(a.next(0).has_value());
  a.Consumed(0, 20);  // ignored: not assigned
  CHECK_FALSE(a.next(0).has_value());
  CHECK(a.Wants(1, 0));
  // Assigned again (from the store's position after the revoke): from there.
  a.Assign(0, 11, -1);
  CHECK(a.Wants(0, 11));
  a.Reset();
  CHECK(a.empty());
  CHECK_FALSE(a.assigned_once());
  CHECK_FALSE(a.Wants(1, 5));
}

TEST_CASE("Assignment is caught up only when it holds every partition and each has reached a known target") {
  Assignment a;
  CHECK_FALSE(a.CaughtUp(2));  // never assigned
  a.Assign(0, 5, -1);
  CHECK_FALSE(a.CaughtUp(2));  // partition 1 is another member's (or a dead one's)
  a.Assign(1, 0, -1);
  CHECK_FALSE(a.CaughtUp(0));  // the topic's partitions not known
  // Targets unknown: never guessed caught up, even at the end.
  CHECK_FALSE(a.CaughtUp(2));
  CHECK(a.UnknownTargets() == std::vector<int32_t>{0, 1});
  a.SetTarget(0, 5, 0);
  CHECK(a.UnknownTargets() == std::vector<int32_t>{1});
  CHECK_FALSE(a.CaughtUp(2));
  // Partition 1's records before 3 are gone (retention): its position
  // moves up to the start.
  a.SetTarget(1, 4, 3);
  CHECK(a.next(1) == 3);
  CHECK_FALSE(a.CaughtUp(2));
  a.Consumed(1, 3);
  CHECK(a.CaughtUp(2));
  // A position is never moved down by a start below it.
  a.SetTarget(0, 5, 1);
  CHECK(a.next(0) == 5);
  // A partition assigned once the service is ready has no target.
  a.Revoke(1);
  CHECK_FALSE(a.CaughtUp(2));
  a.Assign(1, 0, std::nullopt);
  CHECK(a.UnknownTargets().empty());
  CHECK(a.CaughtUp(2));
  a.SetTarget(1, 100, 0);  // no target tracked: nothing changes
  CHECK(a.CaughtUp(2));
}

TEST_CASE("Assignment: a kept partition rewound after a cooperative revoke is read again from the stored position") {
  Assignment a;
  a.Assign(0, 10, -1);
  a.Assign(1, 0, -1);
  a.Assign(2, 7, std::nullopt);
  CHECK(a.partitions() == std::vector<int32_t>{0, 1, 2});
  a.Consumed(0, 10);
  a.Consumed(0, 11);
  a.Consumed(1, 4);
  // Partition 1 goes to another member; the pending batch (0's 10 and 11,
  // 1's 4) is dropped, so 0 is read again from its stored position.
  a.Revoke(1);
  a.Rewind(0, 10);
  CHECK(a.partitions() == std::vector<int32_t>{0, 2});
  CHECK(a.next(0) == 10);
  CHECK(a.Wants(0, 10));  // not taken for a message read twice
  CHECK_FALSE(a.Wants(0, 9));
  // Its readiness target is kept; partition 2 still has none.
  CHECK(a.UnknownTargets() == std::vector<int32_t>{0});
  a.Rewind(1, 0);  // not assigned: nothing
  CHECK_FALSE(a.next(1).has_value());
  CHECK_FALSE(a.Wants(1, 4));
}

}  // namespace leadflow::ingest::detail

namespace leadflow::ingest::detail {

TEST_CASE("Assignment: a partition is servable once it reached its target; every assignment has its own epoch") {
  Assignment a;
  CHECK_FALSE(a.AllServable());  // nothing assigned yet in this session
  a.Assign(2, 0, -1);
  const uint64_t first = a.assigned_epoch(2);
  CHECK(first > 0);
  CHECK_FALSE(a.Servable(2));  // target unknown: never guessed
  CHECK_FALSE(a.AllServable());
  a.SetTarget(2, 5, 0);
  CHECK_FALSE(a.Servable(2));
  for (int64_t o = 0; o < 5; ++o) a.Consumed(2, o);
  CHECK(a.Servable(2));
  CHECK(a.AllServable());
  a.Assign(3, 7, std::nullopt);  // no target: servable at once
  CHECK(a.Servable(3));
  CHECK(a.AllServable());
  CHECK_FALSE(a.Servable(4));  // not assigned
  a.Revoke(2);
  CHECK(a.assigned_epoch(2) == 0);
  a.Assign(2, 5, -1);  // taken back: a new epoch, not servable until its target is known and reached
  CHECK(a.assigned_epoch(2) > first);
  CHECK_FALSE(a.AllServable());
  a.Revoke(2);
  a.Revoke(3);
  CHECK(a.AllServable());  // owns nothing now, but was assigned in this session
  a.Reset();
  CHECK_FALSE(a.AllServable());
}

}  // namespace leadflow::ingest::detail
