// Several processes in one consumer group, through the real broker: the
// group rebalances cooperatively (ingest/kafka_ingest.h), so a process that
// joins takes some partitions and the others are consumed on; a partition
// that moves away and back resumes from the survivor's own stored position,
// so nothing is lost or counted twice; a static member restarted within the
// session timeout takes its partitions back without moving any other; and a
// consumer stopped before its first assignment exits cleanly (librdkafka
// 2.0's cooperative assignor aborts if such a consumer is closed).
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/service.h"

namespace leadflow::it {
namespace {

constexpr int kPartitions = 6;

// The partitions a service consumes now, from its metrics; nullopt while a
// partition's flag is not published yet (or the service does not answer).
std::optional<std::set<int>> Assigned(const Service& svc) {
  std::set<int> out;
  for (int p = 0; p < kPartitions; ++p) {
    const double v = Metric(svc.port(), "leadflow_consumer_partition_assigned{topic=\"" + svc.topic() +
                                            "\",partition=\"" + std::to_string(p) + "\"}");
    if (v < 0) return std::nullopt;
    if (v > 0) out.insert(p);
  }
  return out;
}

// Waits until pred(a's partitions, b's partitions) holds for both read at
// the same moment, or the deadline.
template <typename Pred>
bool WaitAssigned(const Service& a, const Service& b, std::chrono::seconds deadline, Pred pred,
                  std::set<int>* out_a = nullptr, std::set<int>* out_b = nullptr) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    auto pa = Assigned(a);
    auto pb = Assigned(b);
    if (pa && pb && pred(*pa, *pb)) {
      if (out_a) *out_a = *pa;
      if (out_b) *out_b = *pb;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

bool Split(const std::set<int>& a, const std::set<int>& b) {
  if (a.empty() || b.empty() || a.size() + b.size() != kPartitions) return false;
  std::set<int> all(a);
  all.insert(b.begin(), b.end());
  return all.size() == kPartitions;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Static membership with a short session, so that a member gone for good
// hands its partitions over within seconds (the broker's minimum is 6 s).
std::vector<std::string> GroupArgs() {
  return {"--kafka-prop", "session.timeout.ms=6000", "--kafka-prop", "heartbeat.interval.ms=500"};
}

}  // namespace

TEST_CASE("two processes in one group split the partitions; moved partitions come back to the survivor exactly") {
  ServiceOptions oa;
  oa.extra_args = GroupArgs();
  oa.extra_args.insert(oa.extra_args.end(), {"--memory-budget", "256MiB"});
  Service a(kPartitions, oa);
  ServiceOptions ob = oa;
  ob.topic = a.topic();
  ob.group = a.group();
  Service b(kPartitions, ob);

  const std::string events = a.dir() + "/events.ndjson";
  const std::vector<std::string> orgs = {"org_acme", "org_globex", "org_initech", "org_umbrella", "org_hooli",
                                         "org_vandelay"};
  std::vector<Message> messages = GenerateStream(
      {"--seed", "13", "--orgs", "6", "--leads", "1500", "--days", "200", "--dup-share", "0.05", "--ooo-share", "0.1",
       "--invalid-share", "0.002"},
      events);
  ReferenceRun ref;
  IngestReference(events, a.dir() + "/reference", &ref);
  const size_t half = messages.size() / 2;
  Produce(a.topic(), std::vector<Message>(messages.begin(), messages.begin() + half));

  // b joins while a is still catching up on the first half (slowed to
  // ~5,000 messages a second): a loses some partitions in the middle of a
  // batch, drops it and reads the ones it keeps again from their stored
  // positions.
  setenv("LEADFLOW_FAULT_CONSUME_DELAY_US", "200", 1);
  a.Start();
  unsetenv("LEADFLOW_FAULT_CONSUME_DELAY_US");
  {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (a.FullLog().find("assigned " + a.topic()) == std::string::npos && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  b.Start();
  std::set<int> pa, pb;
  REQUIRE_MESSAGE(WaitAssigned(a, b, std::chrono::seconds(60), Split, &pa, &pb), std::string(a.Log() + "\n---\n" + b.Log()));
  MESSAGE("a consumes " << pa.size() << " partitions, b " << pb.size());
  Produce(a.topic(), std::vector<Message>(messages.begin() + half, messages.end()));

  // Neither owns every partition, so neither says it is ready (each holds
  // only its partitions' orgs).
  CHECK(HttpGet(a.port(), "/readyz").status == 503);
  CHECK(HttpGet(b.port(), "/readyz").status == 503);

  // b restarted within the session timeout (same data directory: same
  // static member id) takes back the same partitions; a's are not touched.
  const size_t a_revokes = Count(a.FullLog(), "partitions revoked");
  b.Stop();
  b.Start();
  std::set<int> pa2, pb2;
  REQUIRE_MESSAGE(WaitAssigned(a, b, std::chrono::seconds(30), Split, &pa2, &pb2), std::string(a.Log() + "\n---\n" + b.Log()));
  CHECK(pa2 == pa);
  CHECK(pb2 == pb);
  CHECK(Count(a.FullLog(), "partitions revoked") == a_revokes);

  // b gone for good: after its session times out, a takes its partitions
  // back from a's own stored positions and ends with exactly the
  // uninterrupted run's state.
  b.Stop();
  {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    bool done = false;
    while (!done && std::chrono::steady_clock::now() < until) {
      auto now = Assigned(a);
      done = now && now->size() == kPartitions && Metric(a.port(), "leadflow_consumer_lag_messages") == 0;
      if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    REQUIRE_MESSAGE(done, a.Log());
  }
  CHECK(WaitReady(a.port(), std::chrono::seconds(30)));
  CheckSameAsReference(a.port(), ref, orgs);
  const std::string log = a.FullLog();
  CHECK(Count(log, "partitions revoked") >= 1);
  // The revoke normally comes while a batch is being collected, so the
  // partitions a kept are read again (with the rewind disabled, this test
  // then fails on the totals and reports above). Whether it does is a race
  // with the broker's rebalance, so a run where it came between batches
  // only warns, with a's rebalance lines.
  WARN(Count(log, "rewound ") >= 1);
  if (Count(log, "rewound ") == 0) {
    std::string lines;
    size_t at = 0;
    while (at < log.size()) {
      size_t end = log.find('\n', at);
      if (end == std::string::npos) end = log.size();
      const std::string line = log.substr(at, end - at);
      if (line.find("revoked") != std::string::npos || line.find("assigned") != std::string::npos ||
          line.find("lost") != std::string::npos || line.find("batch") != std::string::npos) lines += line + "\n";
      at = end + 1;
    }
    MESSAGE(lines);
  }
  a.Stop();
}

TEST_CASE("a consumer stopped before or while it joins its group exits cleanly") {
  Service first(kPartitions, ServiceOptions{});
  Produce(first.topic(), {{std::string("org_acme"), R"({"nope":1})", {}}});
  // SIGTERM at moments from before the group is joined to after the first
  // assignment (counted from when the process answers HTTP, with its
  // signals taken): every exit is a clean one (0), never librdkafka's abort.
  for (int delay_ms : {0, 30, 100, 250, 500, 800, 1200, 2000, 3500}) {
    CAPTURE(delay_ms);
    ServiceOptions o;
    o.topic = first.topic();
    o.group = UniqueName("join");
    Service svc(kPartitions, o);
    svc.Start();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (HttpGet(svc.port(), "/healthz").status != 200 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    const int status = svc.Stop();
    CHECK_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0), svc.Log());
  }
}

}  // namespace leadflow::it
