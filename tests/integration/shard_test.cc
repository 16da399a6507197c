// Shards over the real broker (ingest/shard.h): a service consuming a topic
// of 3 partitions keeps one shard per partition (its orgs, position and
// totals, listed by `leadflow shards`), and a shard dropped from the stopped
// service's data directory is rebuilt from its partition alone, to the
// reports and totals of an uninterrupted run.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/service.h"

namespace leadflow::it {
namespace {

// `leadflow shards --data-dir dir [args]`: its exit code and stdout lines.
int RunShards(const std::string& dir, const std::string& args, std::vector<nlohmann::json>* lines) {
  const std::string out = dir + ".shards.out";
  const int status = std::system((LeadflowBin() + " shards --data-dir " + dir + " " + args + " > " + out +
                                  " 2>> " + dir + ".shards.log").c_str());
  lines->clear();
  for (const std::string& line : ReadLines(out)) {
    if (!line.empty()) lines->push_back(nlohmann::json::parse(line));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("a shard per partition; one dropped from the data directory is rebuilt from its partition alone") {
  Service svc(3);
  const std::string events = svc.dir() + "/events.ndjson";
  const std::vector<std::string> orgs = {"org_acme", "org_globex", "org_initech", "org_umbrella", "org_hooli",
                                         "org_vandelay"};
  std::vector<Message> messages = GenerateStream(
      {"--seed", "9", "--orgs", "6", "--leads", "300", "--days", "200", "--dup-share", "0.05", "--ooo-share", "0.1",
       "--invalid-share", "0.002"},
      events);
  Produce(svc.topic(), messages);
  ReferenceRun ref;
  IngestReference(events, svc.dir() + "/reference", &ref);

  svc.Start();
  REQUIRE_MESSAGE(WaitReady(svc.port(), std::chrono::seconds(120)), svc.Log());
  CheckSameAsReference(svc.port(), ref, orgs);
  svc.Stop();

  std::vector<nlohmann::json> shards;
  REQUIRE(RunShards(svc.data_dir(), "", &shards) == 0);
  REQUIRE(shards.size() >= 2);  // 6 orgs over 3 partitions: the partitioner spreads them
  std::map<std::string, int> org_shards;
  uint64_t positions = 0, applied = 0, duplicate = 0, dead = 0;
  const nlohmann::json* biggest = nullptr;
  for (const auto& s : shards) {
    INFO(s.dump());
    CHECK(s["topic"] == svc.topic());
    CHECK(s["shard"].get<int>() == s["partition"].get<int>() + 1);
    for (const auto& o : s["orgs"]) ++org_shards[o.get<std::string>()];
    positions += s["position"].get<uint64_t>();
    applied += s["applied"].get<uint64_t>();
    duplicate += s["duplicate"].get<uint64_t>();
    dead += s["dead_lettered"].get<uint64_t>();
    if (!biggest || s["orgs"].size() > (*biggest)["orgs"].size()) biggest = &s;
  }
  for (const std::string& org : orgs) CHECK(org_shards[org] == 1);
  CHECK(positions == messages.size());
  CHECK(applied == ref.applied);
  CHECK(duplicate == ref.duplicates);
  CHECK(dead == ref.dead_lettered);

  const int dropped = (*biggest)["shard"].get<int>();
  const std::vector<nlohmann::json> before_drop = shards;
  std::vector<nlohmann::json> out;
  REQUIRE(RunShards(svc.data_dir(), "--drop " + std::to_string(dropped), &out) == 0);
  REQUIRE(out.size() == 1);
  CHECK(out[0]["shard"] == dropped);
  REQUIRE(RunShards(svc.data_dir(), "", &shards) == 0);
  for (const auto& s : shards) CHECK(s["shard"] != dropped);
  CHECK(RunShards(svc.data_dir(), "--drop " + std::to_string(dropped), &out) == 2);  // gone

  // Restarted, the service reads the dropped shard's partition from its
  // start: the same reports and totals as the uninterrupted run.
  svc.Start();
  REQUIRE_MESSAGE(WaitReady(svc.port(), std::chrono::seconds(120)), svc.Log());
  CheckSameAsReference(svc.port(), ref, orgs);
  svc.Stop();
  // The dropped shard is back as it was: orgs, position and totals.
  REQUIRE(RunShards(svc.data_dir(), "", &out) == 0);
  CHECK(out == before_drop);
}

}  // namespace leadflow::it
