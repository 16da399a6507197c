// detail::RouteOrg (ingest/detail/routing.h): where a cluster instance
// answers an org's request: its own caught-up copy, the owner elsewhere, a
// standby copy here or elsewhere within --max-stale-messages, or 503 with
// why; a forwarded request is never forwarded again.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ingest/detail/routing.h"

namespace leadflow::ingest::detail {
namespace {

// A cluster of members "a" (owner of partition 0 unless said otherwise),
// "b" and "c", each on port 800x.
struct Fixture {
  ClusterSnapshot snap;
  Fixture() {
    snap.config = ClusterConfig{"t", 2, "consistent"};
    for (std::string id : {"a", "b", "c"}) {
      ClusterSnapshot::Member m;
      m.record.instance = id;
      m.record.advertise = "127.0.0.1:800" + std::string(1, id[0] - 'a' + '1');
      m.live = true;
      snap.members.push_back(m);
    }
    snap.partitions.resize(2);
    for (int p = 0; p < 2; ++p) {
      snap.partitions[p].partition = p;
      OwnerClaim c;
      c.instance = "a";
      snap.partitions[p].claim = c;
      snap.partitions[p].owner = "a";
      snap.partitions[p].servable = true;
    }
  }
  ClusterSnapshot::Member& member(const std::string& id) {
    for (auto& m : snap.members) {
      if (m.record.instance == id) return m;
    }
    throw 0;
  }
};

RouteOptions As(const std::string& self, bool forwarded = false, int64_t max_stale = 100) {
  RouteOptions o;
  o.self = self;
  o.forwarded = forwarded;
  o.max_stale_messages = max_stale;
  return o;
}

LocalCopy Owned(bool servable, int64_t lag = 0) { return LocalCopy{true, false, servable, lag}; }
LocalCopy Standby(bool servable, int64_t lag = 0) { return LocalCopy{false, true, servable, lag}; }

}  // namespace

TEST_CASE("the owner answers its caught-up partition; others forward to it, once") {
  Fixture f;
  Route r = RouteOrg(f.snap, 0, Owned(true, 3), As("a"));
  CHECK(r.kind == Route::Kind::kHere);
  CHECK(r.replica == "owner");
  CHECK(r.lag == 3);
  r = RouteOrg(f.snap, 0, LocalCopy{}, As("b"));
  CHECK(r.kind == Route::Kind::kForward);
  CHECK(r.instance == "a");
  CHECK(r.advertise == "127.0.0.1:8001");
  // Even with a caught-up standby here, the owner's exact answer wins.
  r = RouteOrg(f.snap, 0, Standby(true, 0), As("b"));
  CHECK(r.kind == Route::Kind::kForward);
  // A forwarded request is not sent on: 503 naming the owner.
  r = RouteOrg(f.snap, 0, LocalCopy{}, As("b", true));
  CHECK(r.kind == Route::Kind::kUnavailable);
  CHECK(r.reason.find("owned by a at 127.0.0.1:8001") != std::string::npos);
  // ... or answered from a standby copy here, when it has one.
  r = RouteOrg(f.snap, 0, Standby(true, 5), As("b", true));
  CHECK(r.kind == Route::Kind::kHere);
  CHECK(r.replica == "standby");
  CHECK(r.lag == 5);
  // An HTTPS owner is forwarded to only with a TLS client.
  f.member("a").record.scheme = "https";
  r = RouteOrg(f.snap, 0, LocalCopy{}, As("b"));
  CHECK(r.kind == Route::Kind::kUnavailable);
  CHECK(r.reason.find("serves https (not forwarded to without a TLS client)") != std::string::npos);
  RouteOptions tls = As("b");
  tls.https_peers = true;
  r = RouteOrg(f.snap, 0, LocalCopy{}, tls);
  CHECK(r.kind == Route::Kind::kForward);
  CHECK(r.https);
}

TEST_CASE("without a live caught-up owner, a standby copy within the staleness bound answers") {
  Fixture f;
  f.snap.partitions[0].owner.reset();  // a is dead: no owner until the group moves the partition
  f.member("a").live = false;
  // No copy anywhere: 503.
  Route r = RouteOrg(f.snap, 0, LocalCopy{}, As("b"));
  CHECK(r.kind == Route::Kind::kUnavailable);
  CHECK(r.reason == "partition 0 has no live owner now");
  // A copy here, caught up: served here, as a standby.
  r = RouteOrg(f.snap, 0, Standby(true, 7), As("b"));
  CHECK(r.kind == Route::Kind::kHere);
  CHECK(r.replica == "standby");
  // Too stale, or not caught up once: 503 saying so.
  r = RouteOrg(f.snap, 0, Standby(true, 101), As("b"));
  CHECK(r.kind == Route::Kind::kUnavailable);
  CHECK(r.reason.find("101 messages behind (--max-stale-messages 100)") != std::string::npos);
  r = RouteOrg(f.snap, 0, Standby(false, 1), As("b"));
  CHECK(r.kind == Route::Kind::kUnavailable);
  CHECK(r.reason.find("still catching up") != std::string::npos);
  // Copies elsewhere: the least behind of the servable ones within the bound.
  f.snap.partitions[0].standbys = {{"b", true, 50}, {"c", true, 20}};
  r = RouteOrg(f.snap, 0, LocalCopy{}, As("a"));
  CHECK(r.kind == Route::Kind::kForward);
  CHECK(r.instance == "c");
  CHECK(r.advertise == "127.0.0.1:8003");
  f.snap.partitions[0].standbys = {{"b", true, 500}, {"c", false, 0}};
  CHECK(RouteOrg(f.snap, 0, LocalCopy{}, As("a")).kind == Route::Kind::kUnavailable);
  // Never forwarded to itself, nor a second time.
  f.snap.partitions[0].standbys = {{"c", true, 0}};
  CHECK(RouteOrg(f.snap, 0, LocalCopy{}, As("c")).kind == Route::Kind::kUnavailable);
  CHECK(RouteOrg(f.snap, 0, LocalCopy{}, As("b", true)).kind == Route::Kind::kUnavailable);
}

TEST_CASE("a new owner restoring its shard: its standby or another copy answers meanwhile, never the half-restored shard") {
  Fixture f;
  f.snap.partitions[0].claim->instance = "b";
  f.snap.partitions[0].owner = "b";
  f.snap.partitions[0].servable = false;  // b replays
  f.snap.partitions[0].standbys = {{"c", true, 0}};
  // b itself: its own copy is not served; forwarded to the caught-up standby.
  Route r = RouteOrg(f.snap, 0, Owned(false, 4000), As("b"));
  CHECK(r.kind == Route::Kind::kForward);
  CHECK(r.instance == "c");
  r = RouteOrg(f.snap, 0, Owned(false, 4000), As("b", true));
  CHECK(r.kind == Route::Kind::kUnavailable);
  CHECK(r.reason == "partition 0 is being restored here (4000 messages behind)");
  // c answers from its copy; a forwards to c.
  CHECK(RouteOrg(f.snap, 0, Standby(true, 0), As("c")).replica == "standby");
  r = RouteOrg(f.snap, 0, LocalCopy{}, As("a"));
  CHECK(r.kind == Route::Kind::kForward);
  CHECK(r.instance == "c");
  // Without the copy: 503 naming the restoring owner.
  f.snap.partitions[0].standbys.clear();
  r = RouteOrg(f.snap, 0, LocalCopy{}, As("a"));
  CHECK(r.kind == Route::Kind::kUnavailable);
  CHECK(r.reason == "partition 0 is being restored by its owner b at 127.0.0.1:8002");
}

TEST_CASE("a draining owner (stopping) still answers, but its orgs go to a standby copy first") {
  Fixture f;
  f.member("a").record.draining = true;
  // No copy anywhere: the draining owner, exactly.
  Route r = RouteOrg(f.snap, 0, LocalCopy{}, As("b"));
  CHECK(r.kind == Route::Kind::kForward);
  CHECK(r.instance == "a");
  // A copy here: answered here.
  r = RouteOrg(f.snap, 0, Standby(true, 2), As("b"));
  CHECK(r.kind == Route::Kind::kHere);
  CHECK(r.replica == "standby");
  // A copy elsewhere: forwarded there.
  f.snap.partitions[0].standbys = {{"c", true, 0}};
  r = RouteOrg(f.snap, 0, LocalCopy{}, As("b"));
  CHECK(r.kind == Route::Kind::kForward);
  CHECK(r.instance == "c");
  // A copy too stale: the owner after all.
  f.snap.partitions[0].standbys = {{"c", true, 1000}};
  r = RouteOrg(f.snap, 0, LocalCopy{}, As("b"));
  CHECK(r.kind == Route::Kind::kForward);
  CHECK(r.instance == "a");
  // The draining owner itself answers what reaches it.
  r = RouteOrg(f.snap, 0, Owned(true), As("a"));
  CHECK(r.kind == Route::Kind::kHere);
  CHECK(r.replica == "owner");
  // A forwarded request is not sent on to it either.
  CHECK(RouteOrg(f.snap, 0, LocalCopy{}, As("b", true)).kind == Route::Kind::kUnavailable);
}

TEST_CASE("a 503's Retry-After: the restore's lag at the catch-up rate, 1 to 30 s; 5 s without a rate or an owner") {
  CHECK(RetryAfterSeconds(0, 1000) == 1);
  CHECK(RetryAfterSeconds(2500, 1000) == 3);
  CHECK(RetryAfterSeconds(10'000'000, 1000) == 30);
  CHECK(RetryAfterSeconds(100, 0) == kUnknownRetrySeconds);
  Fixture f;
  RouteOptions o = As("a");
  o.catch_up_rate = 1000;
  // Restoring here, 4,500 messages behind: 5 s.
  Route r = RouteOrg(f.snap, 0, Owned(false, 4500), o);
  CHECK(r.kind == Route::Kind::kUnavailable);
  CHECK(r.retry_after_seconds == 5);
  // Restoring by its owner elsewhere, as its record says.
  f.snap.partitions[0].servable = false;
  f.snap.partitions[0].lag = 1200;
  o.self = "b";
  r = RouteOrg(f.snap, 0, LocalCopy{}, o);
  CHECK(r.retry_after_seconds == 2);
  // No live owner: the group's session timeout, then a restore.
  f.snap.partitions[0].owner.reset();
  f.member("a").live = false;
  r = RouteOrg(f.snap, 0, LocalCopy{}, o);
  CHECK(r.retry_after_seconds == kUnknownRetrySeconds);
  // Owned elsewhere, not forwarded again: at once elsewhere.
  f.snap.partitions[0].owner = "a";
  f.snap.partitions[0].servable = true;
  f.member("a").live = true;
  o.forwarded = true;
  r = RouteOrg(f.snap, 0, LocalCopy{}, o);
  CHECK(r.kind == Route::Kind::kUnavailable);
  CHECK(r.retry_after_seconds == 1);
}

}  // namespace leadflow::ingest::detail
