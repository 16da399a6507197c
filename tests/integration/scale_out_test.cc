// Several leadflow instances as one cluster (issue 13, `serve --advertise`),
// through the real broker: they share the events topic's partitions in one
// consumer group and publish who owns which partition, at which address,
// through the cluster's compacted metadata topic (ingest/cluster_view.h).
// Every instance sees the same owners and addresses (GET /cluster), and
// every instance answers every org exactly as a single instance does: the
// owner of the org's home partition computes it, the others forward the
// request to it and return its answer unchanged; a request is forwarded
// once at most, and a rate limit is counted once, at the owner.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/status_report_json.h"
#include "ingest/home_partition.h"
#include "tests/integration/service.h"
#include "tests/testing/check_ok.h"
#include "views/status_report.h"

namespace leadflow::it {
namespace {

constexpr int kPartitions = 6;

std::vector<std::string> ClusterArgs() {
  return {"--kafka-prop",        "session.timeout.ms=6000",
          "--kafka-prop",        "heartbeat.interval.ms=500",
          "--heartbeat-ms",      "300",
          "--member-timeout-ms", "2000",
          "--memory-budget",     "256MiB",
          "--apply-workers",     "1"};
}

std::optional<nlohmann::json> ClusterJson(int port, const std::string& key) {
  HttpResult r = HttpGet(port, "/cluster", {{"Authorization", BasicAuth(key)}});
  if (r.status != 200) return std::nullopt;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// partition -> owner's advertised address, as instance at port sees it;
// nullopt unless every partition has a servable owner.
std::optional<std::map<int, std::string>> Owners(int port, const std::string& key) {
  auto j = ClusterJson(port, key);
  if (!j || !(*j)["metadata"]["complete"].get<bool>()) return std::nullopt;
  std::map<int, std::string> out;
  for (const auto& a : (*j)["assignment"]) {
    if (a["owner"].is_null() || !a["owner"]["servable"].get<bool>()) return std::nullopt;
    out[a["partition"].get<int>()] = a["owner"]["advertise"].get<std::string>();
  }
  if (static_cast<int>(out.size()) != kPartitions) return std::nullopt;
  return out;
}

}  // namespace

TEST_CASE("three instances in one cluster agree on owners and addresses, and each answers every org exactly") {
  ServiceOptions oa;
  oa.advertise = true;
  oa.extra_args = ClusterArgs();
  Service a(kPartitions, oa);
  ServiceOptions ob = oa;
  ob.topic = a.topic();
  ob.group = a.group();
  Service b(kPartitions, ob);
  Service c(kPartitions, ob);
  std::vector<Service*> all = {&a, &b, &c};

  const std::string events = a.dir() + "/events.ndjson";
  const std::vector<std::string> orgs = {"org_acme", "org_globex", "org_initech", "org_umbrella", "org_hooli",
                                         "org_vandelay"};
  std::vector<Message> messages =
      GenerateStream({"--seed", "21", "--orgs", "6", "--leads", "300", "--days", "120", "--dup-share", "0.05",
                      "--ooo-share", "0.1", "--invalid-share", "0.002"},
                     events);
  ReferenceRun ref;
  IngestReference(events, a.dir() + "/reference", &ref);
  Produce(a.topic(), messages);  // keyed by org_id, librdkafka's default partitioner: `consistent`

  for (Service* s : all) s->Start();
  const std::string key = Service::KeyOf("org_acme");
  std::map<int, std::string> owners;
  {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    bool agreed = false;
    while (!agreed && std::chrono::steady_clock::now() < until) {
      auto oa_ = Owners(a.port(), key), ob_ = Owners(b.port(), key), oc_ = Owners(c.port(), key);
      agreed = oa_ && ob_ && oc_ && *oa_ == *ob_ && *ob_ == *oc_ && std::set<std::string>([&] {
                                                                       std::set<std::string> v;
                                                                       for (auto& [p, addr] : *oa_) v.insert(addr);
                                                                       return v;
                                                                     }()).size() == 3;
      if (agreed) owners = *oa_;
      if (!agreed) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    REQUIRE_MESSAGE(agreed, std::string(a.Log() + "\n---\n" + b.Log() + "\n---\n" + c.Log()));
  }
  for (Service* s : all) CHECK_MESSAGE(WaitReady(s->port(), std::chrono::seconds(30)), s->Log());

  // What /cluster says each instance owns is what its consumer holds, and
  // each member's address is the one it serves on.
  auto j = ClusterJson(b.port(), key);
  REQUIRE(j);
  CHECK((*j)["partitions"] == kPartitions);
  CHECK((*j)["partitioner"] == "consistent");
  CHECK((*j)["members"].size() == 3);
  for (Service* s : all) {
    const std::string addr = "127.0.0.1:" + std::to_string(s->port());
    std::set<int> listed;
    for (const auto& [p, owner] : owners) {
      if (owner == addr) listed.insert(p);
    }
    std::set<int> consumed;
    for (int p = 0; p < kPartitions; ++p) {
      if (Metric(s->port(), "leadflow_consumer_partition_assigned{topic=\"" + s->topic() + "\",partition=\"" +
                                std::to_string(p) + "\"}") > 0) {
        consumed.insert(p);
      }
    }
    CHECK(listed == consumed);
    CHECK(Metric(s->port(), "leadflow_partitions{role=\"owner\"}") == static_cast<double>(listed.size()));
    CHECK(Metric(s->port(), "leadflow_cluster_members{state=\"live\"}") == 3);
    CHECK(Metric(s->port(), "leadflow_cluster_view_complete") == 1);
    bool self_listed = false;
    for (const auto& m : (*j)["members"]) self_listed |= m["advertise"] == addr && m["live"].get<bool>();
    CHECK(self_listed);
  }

  // Each org, asked of every instance: the same answer, byte for byte the
  // reference's, computed by the owner of the org's home partition (the
  // others forward the request to it and return its answer unchanged).
  std::map<std::string, std::string> instance_at;  // address -> instance id
  for (const auto& m : (*j)["members"]) instance_at[m["advertise"]] = m["instance"];
  for (const std::string& org : orgs) {
    const int home = ingest::HomePartition(ingest::Partitioner::kConsistent, org, kPartitions);
    INFO(org, " home ", home, " owned by ", owners[home]);
    auto snap = ref.store->NewSnapshot();
    views::StatusReport report;
    REQUIRE_OK(views::ComputeStatusReport(*snap, org, std::nullopt, nullptr, &report));
    const std::string expected = api::RenderStatusReport(report, api::ReportFilter());
    for (Service* s : all) {
      const bool owner = owners[home] == "127.0.0.1:" + std::to_string(s->port());
      auto res = HttpGet(s->port(), "/api/v1/report/statuses/lead/" + org + "/",
                         {{"Authorization", BasicAuth(Service::KeyOf(org))}});
      REQUIRE(res.status == 200);
      CHECK(res.body == expected);
      CHECK(res.headers["Leadflow-Served-By"] == instance_at[owners[home]]);
      const std::string timing = res.headers["Server-Timing"];
      CHECK(timing.rfind("app;dur=", 0) == 0);
      CHECK((timing.find("fwd;dur=") != std::string::npos) == !owner);
      // A lead search page comes back the same way.
      auto page = HttpGet(s->port(), "/api/v1/lead/?_limit=5", {{"Authorization", BasicAuth(Service::KeyOf(org))}});
      CHECK(page.status == 200);
      CHECK(page.body.find("\"total_results\"") != std::string::npos);
      if (!owner) {
        // Forwarded once at most: a request that already was is answered
        // here, 503 naming the owner.
        auto loop = HttpGet(s->port(), "/api/v1/report/statuses/lead/" + org + "/",
                            {{"Authorization", BasicAuth(Service::KeyOf(org))}, {"Leadflow-Forwarded-By", "x"}});
        CHECK(loop.status == 503);
        CHECK(loop.headers["Retry-After"] == "1");
        CHECK(loop.body.find(owners[home]) != std::string::npos);
      }
    }
  }
  // LeadSquared's rate limit is counted once, at the owner: 30 calls over
  // the three instances (25 allowed per 5 s) are 25 answers and 5 429s.
  {
    const std::string org = "org_hooli";
    int limited = 0, answered = 0;
    for (int i = 0; i < 30; ++i) {
      Service* s = all[i % 3];
      auto r = HttpPost(s->port(), "/Leads/NotContacted?accessKey=u$r" + org + "&secretKey=s3" + org,
                        R"({"Parameter":{"LookupName":"ProspectActivityDate_Max","LookupValue":"","SqlOperator":"<"}})");
      (r.status == 429 ? limited : answered) += 1;
      CHECK(r.status != 503);
    }
    CHECK(answered == 25);
    CHECK(limited == 5);
  }
  double forwarded = 0;
  for (Service* s : all) forwarded += Metric(s->port(), "leadflow_forwarded_requests_total{result=\"ok\"}");
  CHECK(forwarded >= 2 * orgs.size() * 2 + 20);

  // /cluster needs a credential; a single instance has none.
  CHECK(HttpGet(a.port(), "/cluster").status == 401);
  CHECK(HttpGet(a.port(), "/cluster", {{"Authorization", BasicAuth("nope")}}).status == 401);

  // An instance whose partitioner differs from the cluster's stops (exit 2)
  // before it joins the group: nothing moves.
  ServiceOptions od = ob;
  od.extra_args.insert(od.extra_args.end(), {"--partitioner", "murmur2"});
  Service d(kPartitions, od);
  d.Start();
  const int status = d.WaitExit();
  CHECK_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 2), d.Log());
  CHECK(d.FullLog().find("partitioner murmur2) differs from the cluster's") != std::string::npos);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto after = Owners(a.port(), key);
  CHECK((after && *after == owners));

  // A clean stop leaves the cluster at once (a tombstone, not the timeout).
  c.Stop();
  {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    double live = -1;
    while (std::chrono::steady_clock::now() < until) {
      live = Metric(a.port(), "leadflow_cluster_members{state=\"live\"}");
      if (live == 2) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(live == 2);
  }
  a.Stop();
  b.Stop();
}

TEST_CASE("a single instance has no /cluster") {
  Service s(1, ServiceOptions{});
  s.Start();
  REQUIRE(WaitReady(s.port(), std::chrono::seconds(60)));
  CHECK(HttpGet(s.port(), "/cluster", {{"Authorization", BasicAuth(Service::KeyOf("org1"))}}).status == 404);
  s.Stop();
}

}  // namespace leadflow::it
