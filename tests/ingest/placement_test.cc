// detail::ClusterState (ingest/detail/placement.h): the cluster topic's
// records folded into owners and members, with liveness on the reader's
// clock; a zombie or a dead owner never owns a partition.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "ingest/detail/placement.h"

namespace leadflow::ingest::detail {
namespace {

MemberRecord Member(const std::string& id, std::vector<int32_t> owned, bool servable = true) {
  MemberRecord m;
  m.instance = id;
  m.advertise = "127.0.0.1:" + std::to_string(8000 + id.back());
  for (int32_t p : owned) m.owned.push_back({p, 90, 100, servable});
  return m;
}

OwnerClaim Claim(const std::string& id) {
  OwnerClaim c;
  c.instance = id;
  c.advertise = "127.0.0.1:" + std::to_string(8000 + id.back());
  c.claimed_ms = 1767225600000;
  return c;
}

}  // namespace

TEST_CASE("placement records round-trip, and bad values are refused with a reason") {
  ClusterConfig c{"leadflow.events", 6, "consistent"};
  ClusterConfig c2;
  std::string error;
  REQUIRE(DecodeConfig(EncodeConfig(c), &c2, &error));
  CHECK(c2 == c);
  MemberRecord m = Member("a", {3, 1});
  m.standby.push_back({4, 5, 9, false});
  m.ready = true;
  m.seq = 7;
  MemberRecord m2;
  REQUIRE(DecodeMember(EncodeMember(m), &m2, &error));
  CHECK(m2.instance == "a");
  CHECK(m2.advertise == m.advertise);
  REQUIRE(m2.owned.size() == 2);
  CHECK(m2.owned[0].partition == 1);  // sorted
  CHECK(m2.owned[1].next == 90);
  CHECK(m2.owned[1].end == 100);
  CHECK(m2.standby.size() == 1);
  CHECK(m2.ready);
  CHECK(m2.seq == 7);
  OwnerClaim o;
  REQUIRE(DecodeOwner(EncodeOwner(Claim("b")), &o, &error));
  CHECK(o.instance == "b");
  CHECK(o.restore == "replay");

  CHECK_FALSE(DecodeConfig("nope", &c2, &error));
  CHECK(error == "not a JSON object");
  CHECK_FALSE(DecodeConfig(R"({"topic":"t","partitions":0,"partitioner":"consistent"})", &c2, &error));
  CHECK_FALSE(DecodeConfig(R"({"topic":"t","partitions":"6","partitioner":"consistent"})", &c2, &error));
  CHECK(error == "\"partitions\" has the wrong type");
  CHECK_FALSE(DecodeMember(R"({"instance":""})", &m2, &error));
  CHECK_FALSE(DecodeMember(R"({"instance":"a","owned":[{"p":-1}]})", &m2, &error));
  CHECK_FALSE(DecodeMember(R"({"instance":"a","owned":{}})", &m2, &error));
  CHECK_FALSE(DecodeOwner(R"([1])", &o, &error));
}

TEST_CASE("the owner of a partition is its latest claimant while live and listing it") {
  ClusterState s;
  const int64_t timeout = 3000;
  s.Apply(kConfigKey, EncodeConfig({"t", 4, "consistent"}), 0);
  CHECK_FALSE(s.OwnerOf(0, 0, timeout));  // no claim yet

  s.Apply(OwnerKey(0), EncodeOwner(Claim("a")), 100);
  CHECK_FALSE(s.OwnerOf(0, 100, timeout));  // claimed, but no member record lists it yet
  s.Apply(MemberKey("a"), EncodeMember(Member("a", {0, 1})), 100);
  CHECK(s.OwnerOf(0, 100, timeout) == "a");
  CHECK_FALSE(s.OwnerOf(1, 100, timeout));  // a lists 1, but never claimed it

  // b takes 0 over: its claim is later in the log. a still heartbeats with
  // 0 in its list (it has not processed its revoke yet): a zombie, not the owner.
  s.Apply(OwnerKey(0), EncodeOwner(Claim("b")), 200);
  s.Apply(MemberKey("a"), EncodeMember(Member("a", {0, 1})), 250);
  CHECK_FALSE(s.OwnerOf(0, 250, timeout));  // b has not listed it yet: a hand-off gap
  s.Apply(MemberKey("b"), EncodeMember(Member("b", {0})), 300);
  CHECK(s.OwnerOf(0, 300, timeout) == "b");

  // b dies: no record within the timeout, no owner (on the reader's clock).
  CHECK(s.OwnerOf(0, 300 + timeout, timeout) == "b");
  CHECK_FALSE(s.OwnerOf(0, 301 + timeout, timeout));
  // a clean stop's tombstone ends the membership at once.
  s.Apply(MemberKey("b"), std::nullopt, 400);
  CHECK_FALSE(s.OwnerOf(0, 400, timeout));

  ClusterSnapshot snap = s.Snapshot(400, timeout);
  REQUIRE(snap.config);
  CHECK(snap.partitions.size() == 4);
  CHECK(snap.members.size() == 1);
  CHECK(snap.LiveMembers() == 1);
  CHECK(snap.partitions[0].claim->instance == "b");
  CHECK_FALSE(snap.partitions[0].owner);
  CHECK(snap.FindMember("a") != nullptr);
  CHECK(snap.FindMember("b") == nullptr);
}

TEST_CASE("a snapshot carries each owner's servability and lag; bad and unknown records are counted or ignored") {
  ClusterState s;
  s.Apply(kConfigKey, EncodeConfig({"t", 2, "murmur2"}), 0);
  s.Apply(OwnerKey(1), EncodeOwner(Claim("a")), 0);
  s.Apply(MemberKey("a"), EncodeMember(Member("a", {1}, false)), 0);
  s.Apply("member/b", R"({"instance":"c"})", 0);  // key and instance disagree
  s.Apply("owner/x", EncodeOwner(Claim("a")), 0);
  s.Apply("owner/", EncodeOwner(Claim("a")), 0);
  s.Apply(kConfigKey, "{}", 0);  // a bad config keeps the last good one
  s.Apply("future/thing", "{}", 0);
  ClusterSnapshot snap = s.Snapshot(10, 3000);
  CHECK(snap.records == 8);
  CHECK(snap.bad_records == 4);
  REQUIRE(snap.config);
  CHECK(snap.config->partitioner == "murmur2");
  REQUIRE(snap.partitions.size() == 2);
  CHECK(snap.partitions[1].owner == "a");
  CHECK_FALSE(snap.partitions[1].servable);
  CHECK(snap.partitions[1].lag == 10);
  CHECK(snap.members[0].last_seen_ago_ms == 10);
  CHECK(snap.split_orgs.empty());
}

TEST_CASE("orgs a member reports off their home partition are split orgs of the cluster, live member or not") {
  ClusterState s;
  s.Apply(kConfigKey, EncodeConfig({"t", 6, "consistent"}), 0);
  MemberRecord a = Member("a", {1, 3});
  a.foreign = {{"org_x", 3}, {"org_y", 1}};
  MemberRecord b = Member("b", {2});
  b.foreign = {{"org_x", 2}};
  MemberRecord decoded;
  std::string error;
  REQUIRE(DecodeMember(EncodeMember(a), &decoded, &error));
  CHECK(decoded.foreign == a.foreign);
  CHECK_FALSE(DecodeMember(R"({"instance":"a","foreign":[{"org":1,"p":2}]})", &decoded, &error));
  CHECK_FALSE(DecodeMember(R"({"instance":"a","foreign":[3]})", &decoded, &error));
  s.Apply(MemberKey("a"), EncodeMember(a), 0);
  s.Apply(MemberKey("b"), EncodeMember(b), 0);
  ClusterSnapshot snap = s.Snapshot(100000, 3000);  // both long dead: still known split
  REQUIRE(snap.split_orgs.size() == 2);
  CHECK(snap.split_orgs["org_x"] == std::vector<int32_t>{2, 3});
  CHECK(snap.split_orgs["org_y"] == std::vector<int32_t>{1});
}

}  // namespace leadflow::ingest::detail

namespace leadflow::ingest::detail {

TEST_CASE("standby copies go to the highest-ranked live members other than the claimant, and move little") {
  ClusterState s;
  const int64_t timeout = 3000;
  const int partitions = 12;
  s.Apply(kConfigKey, EncodeConfig({"t", partitions, "consistent"}), 0);
  for (std::string id : {"a", "b", "c", "d"}) s.Apply(MemberKey(id), EncodeMember(Member(id, {})), 0);
  for (int p = 0; p < partitions; ++p) s.Apply(OwnerKey(p), EncodeOwner(Claim(p % 2 ? "a" : "b")), 0);
  ClusterSnapshot four = s.Snapshot(0, timeout);
  std::map<std::string, int> copies;
  for (int p = 0; p < partitions; ++p) {
    const std::vector<std::string> one = StandbysFor(four, p, 1);
    REQUIRE(one.size() == 1);
    CHECK(one[0] != four.partitions[p].claim->instance);  // never the owner
    const std::vector<std::string> two = StandbysFor(four, p, 2);
    REQUIRE(two.size() == 2);
    CHECK(two[0] == one[0]);  // the first choice stays the first
    CHECK(two[1] != two[0]);
    CHECK(StandbysFor(four, p, 5).size() == 3);  // all but the claimant
    CHECK(StandbysFor(four, p, 0).empty());
    ++copies[one[0]];
  }
  CHECK(copies.size() >= 2);  // spread, not all on one member
  // d dies: only the copies d held move; every other stays where it was.
  ClusterSnapshot three = s.Snapshot(0, timeout);
  three.members[3].live = false;
  REQUIRE(three.members[3].record.instance == "d");
  for (int p = 0; p < partitions; ++p) {
    const std::string before = StandbysFor(four, p, 1)[0];
    const std::string after = StandbysFor(three, p, 1)[0];
    if (before != "d") CHECK(after == before);
    CHECK(after != "d");
  }
  // A draining member takes no copy; the rank is a pure function.
  three.members[2].record.draining = true;
  for (int p = 0; p < partitions; ++p) CHECK(StandbysFor(three, p, 1)[0] != "c");
  CHECK(RendezvousRank("a", 1) == RendezvousRank("a", 1));
  CHECK(RendezvousRank("a", 1) != RendezvousRank("a", 2));
}

TEST_CASE("a snapshot lists the live standby copies of each partition with their servability and lag") {
  ClusterState s;
  s.Apply(kConfigKey, EncodeConfig({"t", 2, "consistent"}), 0);
  s.Apply(OwnerKey(0), EncodeOwner(Claim("a")), 0);
  s.Apply(MemberKey("a"), EncodeMember(Member("a", {0})), 0);
  MemberRecord b = Member("b", {});
  b.standby.push_back({0, 95, 100, true});
  MemberRecord c = Member("c", {});
  c.standby.push_back({0, 10, 100, false});
  c.standby.push_back({1, 7, 7, true});
  s.Apply(MemberKey("b"), EncodeMember(b), 0);
  s.Apply(MemberKey("c"), EncodeMember(c), 2000);
  ClusterSnapshot snap = s.Snapshot(3500, 3000);  // b is dead by now, c live
  REQUIRE(snap.partitions[0].standbys.size() == 1);
  CHECK(snap.partitions[0].standbys[0].instance == "c");
  CHECK_FALSE(snap.partitions[0].standbys[0].servable);
  CHECK(snap.partitions[0].standbys[0].lag == 90);
  REQUIRE(snap.partitions[1].standbys.size() == 1);
  CHECK(snap.partitions[1].standbys[0].servable);
  CHECK(snap.partitions[1].standbys[0].lag == 0);
  snap = s.Snapshot(2000, 3000);
  CHECK(snap.partitions[0].standbys.size() == 2);
}

}  // namespace leadflow::ingest::detail
