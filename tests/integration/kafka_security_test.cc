// leadflow on a secured Kafka: the test broker's SASL/PLAIN listener
// (scripts/kafka.sh with KAFKA_SASL_PORT, started so by scripts/test.sh; its
// address and user in LEADFLOW_TEST_SASL_*), configured the way an operator
// would: a --kafka-config file, --kafka-prop on top.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/integration/service.h"
#include "tests/testing/harness.h"

namespace leadflow::it {
namespace {

struct SaslListener {
  std::string brokers, user, password;
};

SaslListener Sasl() {
  const char* brokers = std::getenv("LEADFLOW_TEST_SASL_BROKERS");
  REQUIRE_MESSAGE(brokers != nullptr, "LEADFLOW_TEST_SASL_BROKERS is not set: run the tests with scripts/test.sh");
  const char* user = std::getenv("LEADFLOW_TEST_SASL_USER");
  const char* password = std::getenv("LEADFLOW_TEST_SASL_PASSWORD");
  REQUIRE(user != nullptr);
  REQUIRE(password != nullptr);
  return {brokers, user, password};
}

std::string SaslConfig(const SaslListener& sasl) {
  return "# the test broker's SASL listener\n"
         "security.protocol=SASL_PLAINTEXT\n"
         "sasl.mechanisms=PLAIN\n"
         "sasl.username=" + sasl.user + "\n"
         "sasl.password=" + sasl.password + "\n";
}

std::vector<Message> Stream() {
  using namespace leadflow::testing;
  std::vector<Message> out;
  for (const std::string& e : {StatusUpserted("sa", "Potential", 1, "2023-01-01T00:00:00Z"),
                               Created("l1", "sa", "2024-01-02T00:00:00Z"),
                               Created("l2", "sa", "2024-01-03T00:00:00Z")}) {
    out.push_back({OrgKey(e), e, {}});
  }
  out.push_back({std::string("org1"), "not json", {}});  // for the dead-letter producer
  return out;
}

}  // namespace

TEST_CASE("on a SASL listener, configured by --kafka-config, the consumer and the dead-letter producer authenticate") {
  const SaslListener sasl = Sasl();
  testing::TempDir conf_dir;
  const std::string conf = conf_dir.path() + "/kafka.properties";
  WriteFile(conf, SaslConfig(sasl));
  ServiceOptions options;
  options.brokers = sasl.brokers;
  options.extra_args = {"--kafka-config", conf};
  Service svc(1, options);
  Produce(svc.topic(), Stream());
  svc.Start();
  REQUIRE_MESSAGE(WaitReady(svc.port(), std::chrono::seconds(60)), svc.Log());
  CHECK(Metric(svc.port(), "leadflow_events_applied_total") == 3);
  CHECK(Metric(svc.port(), "leadflow_events_dead_lettered_total") == 1);
  // The dead letter went out through the SASL listener too (read back on
  // the plain one).
  CHECK(ConsumeAll(svc.dlq(), std::chrono::milliseconds(3000)).size() == 1);
  auto res = HttpGet(svc.port(), "/api/v1/report/statuses/lead/org1/?date_start=2024-01-01&date_end=2024-02-01",
                     {{"Authorization", BasicAuth(Service::KeyOf("org1"))}});
  REQUIRE_MESSAGE(res.status == 200, res.body);
  CHECK(nlohmann::json::parse(res.body)["status_overview"][0]["gained"] == 2);
  svc.Stop();
  CHECK(svc.FullLog().find(sasl.password) == std::string::npos);
}

TEST_CASE("a wrong SASL password is a visible, named failure, never a silent stall, and is not logged") {
  const SaslListener sasl = Sasl();
  testing::TempDir conf_dir;
  const std::string conf = conf_dir.path() + "/kafka.properties";
  WriteFile(conf, SaslConfig(sasl));
  // --kafka-prop wins over the file: here with a wrong password.
  const std::string wrong = "wrong-" + UniqueName("password");
  ServiceOptions options;
  options.brokers = sasl.brokers;
  options.extra_args = {"--kafka-config", conf, "--kafka-prop", "sasl.password=" + wrong};
  Service svc(1, options);
  Produce(svc.topic(), Stream());
  svc.Start();
  // /readyz says why it is not ready, within a few seconds.
  HttpResult ready;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    ready = HttpGet(svc.port(), "/readyz");
    if (ready.status == 503 && ready.body.find("uthenticat") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  CHECK(ready.status == 503);
  CHECK_MESSAGE(ready.body.find("uthenticat") != std::string::npos, ready.body, "\n", svc.Log());
  CHECK(Metric(svc.port(), "leadflow_events_applied_total") <= 0);
  svc.Stop();
  const std::string log = svc.FullLog();
  CHECK(log.find("uthenticat") != std::string::npos);
  CHECK(log.find(wrong) == std::string::npos);
  CHECK(log.find(sasl.password) == std::string::npos);
}

}  // namespace leadflow::it
