// End to end over the real broker and HTTP: events produced to Kafka become
// the lead status change report, which follows the stream as it flows.
#include "tests/integration/service.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <thread>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "tests/testing/harness.h"

namespace leadflow::it {
namespace {

using nlohmann::json;

std::vector<Message> Keyed(const std::vector<std::string>& events) {
  std::vector<Message> out;
  for (const auto& e : events) out.push_back({OrgKey(e), e, {}});
  return out;
}

json Row(const json& report, const std::string& label) {
  for (const auto& r : report["status_overview"]) {
    if (r["status_label"] == label) return r;
  }
  return json();
}

const char* kJan = "/api/v1/report/statuses/lead/org1/?date_start=2024-01-01&date_end=2024-02-01";

}  // namespace

TEST_CASE("the applied positions are committed to the consumer group at most once a second, however many batches") {
  // Each batch used to commit its positions to the group (for Kafka's
  // tools): hundreds of commits a second when live, and a group
  // coordinator that fell behind had thousands queued ahead of the
  // heartbeats, so the session timed out and the partitions were lost.
  using namespace leadflow::testing;
  Service svc(1);
  Produce(svc.topic(), Keyed({StatusUpserted("sa", "Potential", 1, "2023-01-01T00:00:00Z")}));
  svc.Start();
  REQUIRE_MESSAGE(WaitReady(svc.port(), std::chrono::seconds(60)), svc.Log());
  const double batches0 = Metric(svc.port(), "leadflow_batch_events_count");
  const double commits0 = Metric(svc.port(), "leadflow_consumer_group_commits_total");
  const auto t0 = std::chrono::steady_clock::now();
  constexpr int kEvents = 80;
  for (int i = 0; i < kEvents; ++i) {
    Produce(svc.topic(), Keyed({Created("l" + std::to_string(i), "sa", "2024-01-05T00:00:00Z")}));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string position = "leadflow_consumer_partition_position{topic=\"" + svc.topic() + "\",partition=\"0\"}";
  for (int i = 0; i < 200 && Metric(svc.port(), position) < kEvents + 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(Metric(svc.port(), position) == kEvents + 1);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double batches = Metric(svc.port(), "leadflow_batch_events_count") - batches0;
  const double commits = Metric(svc.port(), "leadflow_consumer_group_commits_total") - commits0;
  INFO("batches ", batches, ", group commits ", commits, " in ", seconds, " s");
  CHECK(batches >= 2 * (seconds + 2));  // enough batches that one commit each would break the rule below
  CHECK(commits >= 1);
  CHECK(commits <= seconds + 2);
  // The last positions still reach the group, within about a second.
  std::string out;
  bool caught_up = false;
  for (int attempt = 0; attempt < 20 && !caught_up; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    out = ConsumerGroups("--describe --group " + svc.group());
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream cols(line);
      std::string group, topic, partition, current, end, lag;
      if ((cols >> group >> topic >> partition >> current >> end >> lag) && topic == svc.topic()) {
        caught_up = current == std::to_string(kEvents + 1) && lag == "0";
      }
    }
  }
  CHECK_MESSAGE(caught_up, out);
}

TEST_CASE("events produced to Kafka become the report over HTTP, and the report follows the stream") {
  using namespace leadflow::testing;
  // librdkafka's statistics every half second (10 s by default), and JSON logs.
  Service svc(3, ServiceOptions{true,
                                {"--memory-budget", "256M", "--kafka-prop", "statistics.interval.ms=500",
                                 "--log-format", "json"},
                                "", "", ""});
  Produce(svc.topic(), Keyed({StatusUpserted("sa", "Potential", 1, "2023-01-01T00:00:00Z"),
                              StatusUpserted("sb", "Qualified", 2, "2023-01-01T00:00:00Z"),
                              Created("l1", "sa", "2023-12-01T00:00:00Z"), Created("l2", "sa", "2024-01-05T00:00:00Z"),
                              Changed("l1", "sb", "2024-01-10T12:00:00Z")}));
  svc.Start();
  REQUIRE_MESSAGE(WaitReady(svc.port(), std::chrono::seconds(60)), svc.Log());

  auto res = HttpGet(svc.port(), kJan, {{"Authorization", BasicAuth(Service::KeyOf("org1"))}});
  REQUIRE_MESSAGE(res.status == 200, res.body);
  json report = json::parse(res.body);
  CHECK(Row(report, "Potential")["started"] == 1);
  CHECK(Row(report, "Potential")["ended"] == 1);
  CHECK(Row(report, "Potential")["entered"] == 1);
  CHECK(Row(report, "Qualified")["ended"] == 1);
  CHECK(Row(report, "Qualified")["gained"] == 1);
  CHECK(report["status_transitions"].size() == 2);
  CHECK(report["status_transitions_summary"].size() == 2);
  // The memory budget and its split, as configured.
  CHECK(Metric(svc.port(), "leadflow_memory_budget_bytes{part=\"total\"}") == 256.0 * (1 << 20));
  CHECK(Metric(svc.port(), "leadflow_memory_budget_bytes{part=\"lead_cache\"}") > 0);
  CHECK(Metric(svc.port(), "leadflow_memory_budget_bytes{part=\"bitmap_cache\"}") > 0);
  // The report read its bitmaps through the bitmap cache: the same report
  // again finds them there, and answers the same.
  CHECK(Metric(svc.port(), "leadflow_bitmap_cache_misses_total") > 0);
  CHECK(HttpGet(svc.port(), kJan, {{"Authorization", BasicAuth(Service::KeyOf("org1"))}}).body == res.body);
  CHECK(Metric(svc.port(), "leadflow_bitmap_cache_hits_total") > 0);
  CHECK(Metric(svc.port(), "leadflow_bitmap_cache_entries") > 0);
  // The batch that brought the stream in: counted in each step's histogram
  // and in the sizes' (5 messages).
  CHECK(Metric(svc.port(), "leadflow_batch_phase_seconds_count{phase=\"commit\"}") >= 1);
  CHECK(Metric(svc.port(), "leadflow_batch_phase_seconds_count{phase=\"collect\"}") >= 1);
  CHECK(Metric(svc.port(), "leadflow_batch_events_sum") >= 5);

  SUBCASE("Bearer works like Basic; no key is 401; another org's key is 404") {
    auto bearer = HttpGet(svc.port(), kJan, {{"Authorization", "Bearer " + Service::KeyOf("org1")}});
    CHECK(bearer.body == res.body);
    auto none = HttpGet(svc.port(), kJan);
    CHECK(none.status == 401);
    CHECK(none.body == R"({"error":"Unauthorized"})");
    auto foreign = HttpGet(svc.port(), kJan, {{"Authorization", BasicAuth(Service::KeyOf("org2"))}});
    CHECK(foreign.status == 404);
    CHECK(foreign.body == R"({"error":"Not found"})");
  }

  SUBCASE("Kafka's own tools see leadflow's positions and lag; /metrics shows them per partition") {
    double positions = 0;
    for (int p = 0; p < 3; ++p) {
      const std::string labels = "{topic=\"" + svc.topic() + "\",partition=\"" + std::to_string(p) + "\"}";
      CHECK(Metric(svc.port(), "leadflow_consumer_partition_lag_messages" + labels) == 0);
      positions += Metric(svc.port(), "leadflow_consumer_partition_position" + labels);
    }
    CHECK(positions == 5);  // the 5 messages, all applied
    // Produced moments ago: the newest applied message is that young.
    const double age = Metric(svc.port(), "leadflow_consumer_newest_applied_message_age_seconds");
    CHECK(age >= 0);
    CHECK(age < 300);
    CHECK(Metric(svc.port(), "leadflow_consumer_newest_applied_message_timestamp_seconds") > 1.6e9);
    // kafka-consumer-groups --describe: a row per partition (GROUP TOPIC
    // PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...), every one caught up.
    std::string out;
    bool caught_up = false;
    for (int attempt = 0; attempt < 20 && !caught_up; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
      out = ConsumerGroups("--describe --group " + svc.group());
      int rows = 0;
      long long current_sum = 0;
      bool all_zero = true;
      std::istringstream lines(out);
      std::string line;
      while (std::getline(lines, line)) {
        std::istringstream cols(line);
        std::string group, topic, partition, current, end, lag;
        if (!(cols >> group >> topic >> partition >> current >> end >> lag) || topic != svc.topic()) continue;
        ++rows;
        if (current == "-" || current != end || lag != "0") all_zero = false;
        if (current != "-") current_sum += std::stoll(current);
      }
      caught_up = rows == 3 && all_zero && current_sum == 5;
    }
    CHECK_MESSAGE(caught_up, out);
  }

  SUBCASE("the metrics pass promtool check metrics and include the process and build metrics") {
    // librdkafka's statistics, once one was made after the messages came.
    for (int i = 0; i < 100 && Metric(svc.port(), "leadflow_kafka_client_messages_received_total") < 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const HttpResult metrics = HttpGet(svc.port(), "/metrics");
    REQUIRE(metrics.status == 200);
    testing::TempDir dir;
    WriteFile(dir.path() + "/metrics.txt", metrics.body);
    REQUIRE_MESSAGE(std::system("command -v promtool >/dev/null") == 0,
                    "promtool is missing (Debian's prometheus package): run scripts/deps.sh");
    const std::string lint_path = dir.path() + "/promtool.txt";
    const int rc =
        std::system(("promtool check metrics <" + dir.path() + "/metrics.txt >" + lint_path + " 2>&1").c_str());
    std::string lint;
    for (const std::string& line : ReadLines(lint_path)) lint += line + "\n";
    CHECK_MESSAGE(rc == 0, lint);
    CHECK(lint.empty());
    CHECK(Metric(svc.port(), "process_resident_memory_bytes") > 1e6);
    CHECK(Metric(svc.port(), "process_cpu_seconds_total") > 0);
    CHECK(Metric(svc.port(), "process_open_fds") > 0);
    CHECK(metrics.body.find("\nleadflow_build_info{version=\"") != std::string::npos);
    // librdkafka's statistics: the broker is up, the group too, with every
    // partition of the topic assigned.
    CHECK(metrics.body.find("leadflow_kafka_broker_up{broker=\"" + Brokers()) != std::string::npos);
    CHECK(Metric(svc.port(), "leadflow_kafka_consumer_group_up") == 1);
    CHECK(Metric(svc.port(), "leadflow_kafka_consumer_group_assigned_partitions") == 3);
    CHECK(Metric(svc.port(), "leadflow_kafka_client_messages_received_total") >= 5);
    CHECK(Metric(svc.port(), "leadflow_kafka_stats_timestamp_seconds") > 1.7e9);
    // RocksDB's own: per family and database-wide.
    CHECK(Metric(svc.port(), "leadflow_rocksdb_level0_files{family=\"bitmaps\"}") >= 0);
    CHECK(Metric(svc.port(), "leadflow_rocksdb_sst_bytes{family=\"leads\"}") >= 0);
    CHECK(Metric(svc.port(), "leadflow_rocksdb_running_compactions") >= 0);
    CHECK(Metric(svc.port(), "leadflow_rocksdb_block_cache_usage_bytes") >= 0);
    CHECK(Metric(svc.port(), "leadflow_rocksdb_write_stopped") == 0);
    // Every metric the shipped dashboard and alert rules use is one this
    // service exports (a histogram's by its family name).
    for (const char* file : {"/deploy/grafana/leadflow.json", "/deploy/prometheus/leadflow-alerts.yml"}) {
      std::string text;
      for (const std::string& line : ReadLines(std::string(LEADFLOW_SOURCE_DIR) + file)) text += line + "\n";
      REQUIRE(!text.empty());
      const std::regex name(R"(\b(?:leadflow|process)_[a-z_]+)");
      for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator(); ++it) {
        std::string family = it->str();
        for (const char* suffix : {"_bucket", "_count", "_sum"}) {
          const std::string sfx(suffix);
          if (family.size() > sfx.size() && family.compare(family.size() - sfx.size(), sfx.size(), sfx) == 0 &&
              metrics.body.find("# TYPE " + family + " ") == std::string::npos) {
            family.resize(family.size() - sfx.size());
          }
        }
        CHECK_MESSAGE(metrics.body.find("# TYPE " + family + " ") != std::string::npos, std::string(file), ": ", family);
      }
    }
  }

  SUBCASE("a new event changes the report while the service runs") {
    Produce(svc.topic(), Keyed({Changed("l2", "sb", "2024-01-20T00:00:00Z")}));
    bool changed = false;
    for (int i = 0; i < 200 && !changed; ++i) {
      auto r = HttpGet(svc.port(), kJan, {{"Authorization", BasicAuth(Service::KeyOf("org1"))}});
      changed = r.status == 200 && Row(json::parse(r.body), "Qualified")["ended"] == 2;
      if (!changed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(changed);
    CHECK(Metric(svc.port(), "leadflow_events_applied_total") == 6);
    // The lag follows within moments (it is refreshed right after each batch commits).
    bool caught_up = false;
    for (int i = 0; i < 40 && !caught_up; ++i) {
      caught_up = Metric(svc.port(), "leadflow_consumer_lag_messages") == 0;
      if (!caught_up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(caught_up);
    // The live batch was staged (served from memory at once) and goes to
    // RocksDB with the next checkpoint (--checkpoint-interval-ms, 1 s).
    CHECK(Metric(svc.port(), "leadflow_state_staged_batches_total") >= 1);
    bool checkpointed = false;
    for (int i = 0; i < 100 && !checkpointed; ++i) {
      checkpointed = Metric(svc.port(), "leadflow_state_checkpoints_total") >= 1 &&
                     Metric(svc.port(), "leadflow_state_staged_keys") == 0;
      if (!checkpointed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(checkpointed);
    CHECK(Metric(svc.port(), "leadflow_state_checkpoint_failures_total") == 0);
  }

  SUBCASE("a slow client does not hold up others") {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(svc.port()));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    const char partial[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";  // never finished
    REQUIRE(write(fd, partial, sizeof(partial) - 1) > 0);
    for (int i = 0; i < 20; ++i) {
      auto start = std::chrono::steady_clock::now();
      CHECK(HttpGet(svc.port(), "/healthz").status == 200);
      CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    }
    close(fd);
  }

  svc.Stop();
}

TEST_CASE("--log-format json: every line of the log is a JSON object, librdkafka's own lines too") {
  testing::TempDir dir;
  WriteFile(dir.path() + "/credentials.json", R"([{"org_id":"org1","api_key":"key-org1"}])");
  // No broker on port 1: librdkafka's consumer and watcher log their failed
  // connections (raw `%3|...|FAIL|` lines on stderr before they were routed).
  Process p({LeadflowBin(), "serve", "--brokers", "127.0.0.1:1", "--data-dir", dir.path() + "/data", "--credentials",
             dir.path() + "/credentials.json", "--listen", "127.0.0.1:0", "--log-format", "json"},
            dir.path() + "/log");
  bool consumer = false, watcher = false;
  std::vector<std::string> lines;
  for (int i = 0; i < 100 && !(consumer && watcher); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    lines = ReadLines(dir.path() + "/log");
    for (const std::string& line : lines) {
      const json j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("logger", "") == "librdkafka") {
        consumer |= j.value("client", "") == "consumer";
        watcher |= j.value("client", "") == "watcher";
      }
    }
  }
  p.Kill(SIGTERM);
  CHECK(WIFEXITED(p.Wait()));
  lines = ReadLines(dir.path() + "/log");
  CHECK(consumer);
  CHECK(watcher);
  REQUIRE(!lines.empty());
  for (const std::string& line : lines) {
    CAPTURE(line);
    const json j = json::parse(line, nullptr, false);
    REQUIRE(j.is_object());
    CHECK(j["ts"].is_string());
    CHECK(j["level"].is_string());
    CHECK(j["msg"].is_string());
  }
}

TEST_CASE("--log-level warn leaves out the info lines; bad CLI values exit 2 before anything starts") {
  testing::TempDir dir;
  WriteFile(dir.path() + "/credentials.json", R"([{"org_id":"org1","api_key":"key-org1"}])");
  Process p({LeadflowBin(), "ingest", "--file", "/dev/null", "--data-dir", dir.path() + "/data", "--log-level", "warn"},
            dir.path() + "/log");
  CHECK(WIFEXITED(p.Wait()));
  for (const std::string& line : ReadLines(dir.path() + "/log")) CHECK(line.find(" INFO ") == std::string::npos);
  Process q({LeadflowBin(), "serve", "--threads", "4x"}, dir.path() + "/log2");
  const int status = q.Wait();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 2);
  std::string text;
  for (const std::string& line : ReadLines(dir.path() + "/log2")) text += line + "\n";
  CHECK(text.find("--threads") != std::string::npos);
  Process h({LeadflowBin(), "serve", "--help"}, dir.path() + "/log3");
  const int help = h.Wait();
  CHECK(WIFEXITED(help));
  CHECK(WEXITSTATUS(help) == 0);
}

TEST_CASE("ingest --file keeps freed pages in every jemalloc arena, the main thread's included") {
  // AllocatorBatchMode (app/allocator.h) sets each arena's decay to never;
  // jemalloc refuses the all-arenas index for it, which once left arena 0
  // returning pages after 10 s (and re-zeroing them: 7.8% of a one-worker
  // run's CPU, session 38). jemalloc's own statistics at exit say each
  // arena's decay: "N/A" is never.
  testing::TempDir dir;
  {
    std::ofstream events(dir.path() + "/events.ndjson");
    for (int i = 0; i < 5000; ++i) {
      events << R"({"event_id":"e)" << i << R"(","type":"lead.created","org_id":"org1","lead_id":"l)" << i
             << R"(","occurred_at":"2024-01-01T00:00:00Z","status_id":"sa"})" << "\n";
    }
  }
  setenv("MALLOC_CONF", "stats_print:true", 1);
  Process p({LeadflowBin(), "ingest", "--file", dir.path() + "/events.ndjson", "--data-dir", dir.path() + "/data"},
            dir.path() + "/log");
  unsetenv("MALLOC_CONF");
  const int status = p.Wait();
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  std::ifstream log(dir.path() + "/log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  if (text.find("Merged arenas stats") == std::string::npos) {
    MESSAGE("leadflow is not linked with jemalloc: nothing to check");
    return;
  }
  // "arenas[N]:" ... "decaying:  time ..." then " dirty: <decay ms or N/A> ..."
  const std::regex arena_decay(R"(arenas\[(\d+)\]:[\s\S]*?decaying:[^\n]*\n\s*dirty:\s*(\S+))");
  size_t arenas = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), arena_decay); it != std::sregex_iterator(); ++it) {
    CAPTURE((*it)[1].str());
    CHECK((*it)[2].str() == "N/A");
    ++arenas;
  }
  CHECK(arenas >= 2);  // arena 0 (this thread's) and the writer's at least
}

TEST_CASE("a --memory-budget that is not a size is refused at start with the reason") {
  for (const char* bad : {"12", "2T", "lots"}) {
    CAPTURE(bad);
    testing::TempDir dir;
    Process p({LeadflowBin(), "ingest", "--file", "-", "--data-dir", dir.path() + "/data", "--memory-budget", bad},
              dir.path() + "/log");
    const int status = p.Wait();
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 2);
    std::ifstream log(dir.path() + "/log");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    CHECK(text.find("--memory-budget") != std::string::npos);
    CHECK(text.find("must be a size") != std::string::npos);
    CHECK(text.find(bad) != std::string::npos);
  }
}

TEST_CASE("invalid events go to the dead-letter topic with the reason and ingestion goes on") {
  using namespace leadflow::testing;
  Service svc(1);
  std::vector<Message> messages = Keyed({StatusUpserted("sa", "Potential", 1, "2023-01-01T00:00:00Z")});
  messages.push_back({std::string("org1"), "this is not json", {}});
  messages.push_back({std::string("org1"), R"({"event_id":"x1","type":"lead.created","org_id":"org1","occurred_at":"2024-01-01T00:00:00Z","status_id":"sa"})", {}});
  messages.push_back({std::string("org1"), R"({"event_id":"x2","type":"lead.exploded","org_id":"org1","occurred_at":"2024-01-01T00:00:00Z"})", {}});
  messages.push_back({std::nullopt, std::string("\xff\xfe binary", 9), {}});
  auto valid = Keyed({Created("l1", "sa", "2024-01-02T00:00:00Z")});
  messages.insert(messages.end(), valid.begin(), valid.end());
  Produce(svc.topic(), messages);
  svc.Start();
  REQUIRE_MESSAGE(WaitReady(svc.port(), std::chrono::seconds(60)), svc.Log());
  CHECK(Metric(svc.port(), "leadflow_events_dead_lettered_total") == 4);
  CHECK(Metric(svc.port(), "leadflow_events_applied_total") == 2);

  auto dead = ConsumeAll(svc.dlq(), std::chrono::milliseconds(3000));
  REQUIRE(dead.size() == 4);
  std::vector<std::string> reasons;
  for (const auto& d : dead) {
    reasons.push_back(d.headers.count("leadflow-reason") ? d.headers.at("leadflow-reason") : "");
    json env = json::parse(d.value);
    CHECK(env["reason"] == reasons.back());
    CHECK(env["topic"] == svc.topic());
    CHECK(d.headers.at("leadflow-source").rfind(svc.topic() + "/0/", 0) == 0);
    // The original once: as text when it is UTF-8, else as base64.
    CHECK(env.contains("original_base64") == env["original"].is_null());
  }
  CHECK(reasons[0] == "not valid JSON at byte 2");
  CHECK(reasons[1] == "missing field lead_id");
  CHECK(reasons[2] == "unknown type lead.exploded");
  CHECK(reasons[3] == "not valid JSON at byte 1");
  CHECK(json::parse(dead[0].value)["original"] == "this is not json");
  CHECK(json::parse(dead[3].value)["original"].is_null());  // not UTF-8: base64 only
  CHECK(json::parse(dead[3].value)["original_base64"] == "//4gYmluYXJ5");

  auto res = HttpGet(svc.port(), "/api/v1/report/statuses/lead/org1/",
                     {{"Authorization", BasicAuth(Service::KeyOf("org1"))}});
  REQUIRE(res.status == 200);
  CHECK(Row(json::parse(res.body), "Potential")["ended"] == 1);
  svc.Stop();
}

}  // namespace leadflow::it
