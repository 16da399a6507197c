// The status report pushed as server-sent events (issue 14): over the real
// broker and HTTP, a subscriber gets the report when it opens the stream
// and again when an event changes it, nothing for other orgs' events,
// resumes by Last-Event-ID, and N subscribers of one report cost one
// computation per change.
#include <doctest/doctest.h>

#include <memory>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/service.h"
#include "tests/testing/harness.h"

namespace leadflow::it {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::vector<Message> Keyed(const std::vector<std::string>& events) {
  std::vector<Message> out;
  for (const auto& e : events) out.push_back({OrgKey(e), e, {}});
  return out;
}

const std::string kJan = "?date_start=2024-01-01&date_end=2024-02-01";
const std::string kReport1 = "/api/v1/report/statuses/lead/org1/" + kJan;
const std::string kStream1 = "/api/v1/report/statuses/lead/org1/stream" + kJan;

std::map<std::string, std::string> Auth(const std::string& org) {
  return {{"Authorization", "Bearer " + Service::KeyOf(org)}};
}

}  // namespace

TEST_CASE("report stream: the report at once, again when an event changes it, nothing for another org's") {
  using namespace leadflow::testing;
  Service svc(3, ServiceOptions{true, {"--stream-heartbeat-ms", "400", "--stream-min-interval-ms", "100"}, "", "", ""});
  Produce(svc.topic(), Keyed({StatusUpserted("sa", "Potential", 1, "2023-01-01T00:00:00Z"),
                              StatusUpserted("sb", "Qualified", 2, "2023-01-01T00:00:00Z"),
                              Created("l1", "sa", "2023-12-01T00:00:00Z"), Created("l2", "sa", "2024-01-05T00:00:00Z"),
                              StatusUpserted("sa", "Potential", 1, "2023-01-01T00:00:00Z", "org2"),
                              Created("m1", "sa", "2024-01-03T00:00:00Z", "org2")}));
  svc.Start();
  REQUIRE_MESSAGE(WaitReady(svc.port(), 60s), svc.Log());

  EventStream stream(svc.port(), kStream1, Auth("org1"));
  REQUIRE_MESSAGE(stream.status() == 200, stream.body());
  CHECK(stream.headers().at("content-type").rfind("text/event-stream", 0) == 0);
  CHECK(stream.headers().at("cache-control") == "no-store");
  std::optional<EventStream::Event> first = stream.NextReport(10s);
  REQUIRE(first);
  CHECK(first->event == "report");
  CHECK(first->data == HttpGet(svc.port(), kReport1, Auth("org1")).body);
  CHECK(json::parse(first->data)["status_overview"][0]["ended"] == 2);
  const std::string first_id = first->id;
  CHECK(first_id.find('-') != std::string::npos);
  CHECK(Metric(svc.port(), "leadflow_report_streams") == 1);

  // Heartbeats while nothing changes.
  std::optional<EventStream::Event> beat = stream.Next(5s);
  REQUIRE(beat);
  CHECK(beat->event == "comment");
  CHECK(beat->data == " heartbeat");

  // Another org's event: applied (its report shows it), and no event here.
  Produce(svc.topic(), Keyed({Changed("m1", "sb", "2024-01-10T00:00:00Z", "org2")}));
  const std::string org2 = "/api/v1/report/statuses/lead/org2/" + kJan;
  for (int i = 0; i < 100 && json::parse(HttpGet(svc.port(), org2, Auth("org2")).body)["status_overview"][1]["ended"] != 1; ++i) {
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE(json::parse(HttpGet(svc.port(), org2, Auth("org2")).body)["status_overview"][1]["ended"] == 1);
  CHECK_FALSE(stream.NextReport(1500ms));

  // An org1 event outside the period: the org changed, the report did not.
  const double unchanged = Metric(svc.port(), "leadflow_report_stream_unchanged_total");
  Produce(svc.topic(), Keyed({Created("l9", "sa", "2024-03-05T00:00:00Z")}));
  CHECK_FALSE(stream.NextReport(1500ms));
  CHECK(Metric(svc.port(), "leadflow_report_stream_unchanged_total") > unchanged);

  // Four more subscribers of the same report, then a change: every one gets
  // the new report, computed once (the report cache's single flight).
  std::vector<std::unique_ptr<EventStream>> more;
  for (int i = 0; i < 4; ++i) {
    more.push_back(std::make_unique<EventStream>(svc.port(), kStream1, Auth("org1")));
    REQUIRE(more.back()->NextReport(10s));
  }
  const double misses = Metric(svc.port(), "leadflow_report_cache_misses_total");
  const auto sent = std::chrono::steady_clock::now();
  Produce(svc.topic(), Keyed({Changed("l2", "sb", "2024-01-20T00:00:00Z")}));
  std::optional<EventStream::Event> changed = stream.NextReport(10s);
  REQUIRE(changed);
  MESSAGE("produce to event: " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - sent).count() << " ms");
  CHECK(changed->id != first_id);
  const std::string now_report = HttpGet(svc.port(), kReport1, Auth("org1")).body;
  CHECK(changed->data == now_report);
  CHECK(json::parse(changed->data)["status_overview"][1]["gained"] == 1);
  for (auto& m : more) {
    std::optional<EventStream::Event> e = m->NextReport(10s);
    REQUIRE(e);
    CHECK(e->id == changed->id);
    CHECK(e->data == now_report);
  }
  CHECK(Metric(svc.port(), "leadflow_report_cache_misses_total") == misses + 1);
  CHECK(Metric(svc.port(), "leadflow_report_streams") == 5);

  SUBCASE("Last-Event-ID: the current id resumes without a resend; an older one gets the report at once") {
    EventStream resumed(svc.port(), kStream1, {{"Authorization", "Bearer " + Service::KeyOf("org1")},
                                               {"Last-Event-ID", changed->id}});
    REQUIRE(resumed.status() == 200);
    CHECK_FALSE(resumed.NextReport(1s));
    EventStream behind(svc.port(), kStream1 + "&lastEventId=" + first_id, Auth("org1"));
    std::optional<EventStream::Event> e = behind.NextReport(10s);
    REQUIRE(e);
    CHECK(e->id == changed->id);
    // The resumed stream goes on with the next change.
    Produce(svc.topic(), Keyed({Changed("l1", "sb", "2024-01-21T00:00:00Z")}));
    std::optional<EventStream::Event> next = resumed.NextReport(10s);
    REQUIRE(next);
    CHECK(next->data == HttpGet(svc.port(), kReport1, Auth("org1")).body);
  }

  SUBCASE("refusals are the report's own: 401, 404 for another org's key, 400, 405") {
    EventStream none(svc.port(), kStream1);
    CHECK(none.status() == 401);
    CHECK(none.body() == R"({"error":"Unauthorized"})");
    CHECK(none.headers().count("www-authenticate") == 1);
    EventStream foreign(svc.port(), kStream1, Auth("org2"));
    CHECK(foreign.status() == 404);
    CHECK(foreign.body() == R"({"error":"Not found"})");
    EventStream bad(svc.port(), "/api/v1/report/statuses/lead/org1/stream?date_end=2024-01-01", Auth("org1"));
    CHECK(bad.status() == 400);
    CHECK(HttpPost(svc.port(), kStream1, "{}", Auth("org1")).status == 405);
  }

  SUBCASE("a subscriber that goes away is dropped") {
    more.clear();
    bool dropped = false;
    for (int i = 0; i < 50 && !dropped; ++i) {
      dropped = Metric(svc.port(), "leadflow_report_streams") == 1;
      if (!dropped) std::this_thread::sleep_for(100ms);
    }
    CHECK(dropped);
  }
}

}  // namespace leadflow::it
