// Faults the way operations meet them, against real brokers: a broker killed
// during catch-up (for longer and for shorter than the consumer's session
// timeout), poison messages, a dead-letter topic that is missing or too
// small, a full disk. In every case ingest either goes on by itself or stops
// visibly (metrics, /readyz, the log) and goes on once the cause is gone;
// no event is lost or counted twice, and no dead letter is published twice.
#include <doctest/doctest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>

#include <nlohmann/json.hpp>

#include "ingest/shard.h"
#include "tests/integration/service.h"
#include "state/store.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "views/keys.h"

namespace leadflow::it {
namespace {

using nlohmann::json;
using std::chrono::seconds;

bool WaitFor(const std::function<bool()>& done, seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

double StateMetric(int port, const char* state) {
  return Metric(port, std::string("leadflow_consumer_state{state=\"") + state + "\"}");
}

std::vector<json> Envelopes(const std::string& dlq) {
  std::vector<json> out;
  for (const auto& m : ConsumeAll(dlq, std::chrono::milliseconds(3000))) out.push_back(json::parse(m.value));
  return out;
}

const std::string kValid =
    R"({"event_id":"v1","type":"lead.created","org_id":"org1","occurred_at":"2024-01-02T00:00:00Z","lead_id":"l1","status_id":"s1"})";

// A small tmpfs of a test's own, for full-disk tests (mounting needs root;
// elsewhere ok() is false and the test says so and skips).
class SmallDisk {
 public:
  SmallDisk(const std::string& path, const char* size) : path_(path) {
    std::filesystem::create_directories(path_);
    const std::string options = std::string("size=") + size;
    mounted_ = mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~SmallDisk() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  }
  bool ok() const { return mounted_; }
  const std::string& error() const { return error_; }
  // Fills the file system but for `leave` bytes (a filler file).
  void Fill(uint64_t leave) {
    struct statvfs st{};
    REQUIRE(statvfs(path_.c_str(), &st) == 0);
    const uint64_t free = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
    REQUIRE(free > leave);
    int fd = open((path_ + "/filler").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    REQUIRE(fd >= 0);
    struct stat fst{};
    REQUIRE(fstat(fd, &fst) == 0);
    REQUIRE(posix_fallocate(fd, fst.st_size, static_cast<off_t>(free - leave)) == 0);
    close(fd);
  }
  void Free() { std::filesystem::remove(path_ + "/filler"); }
  // Bytes the files under dir take on disk.
  static uint64_t DirBytes(const std::string& dir) {
    uint64_t total = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      struct stat st{};
      if (e.is_regular_file() && stat(e.path().c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
    return total;
  }

 private:
  std::string path_, error_;
  bool mounted_ = false;
};

// Splits messages into n consecutive parts.
std::vector<std::vector<Message>> Split(const std::vector<Message>& messages, size_t n) {
  std::vector<std::vector<Message>> parts(n);
  for (size_t i = 0; i < messages.size(); ++i) parts[i * n / messages.size()].push_back(messages[i]);
  return parts;
}

}  // namespace

TEST_CASE("a broker killed during catch-up, down longer than the session timeout and then briefly, "
          "is ridden out by itself and the reports equal an uninterrupted run's") {
  PrivateBroker broker;
  ScopedBrokers scoped(broker.brokers());
  Service svc(3);
  const std::string events = svc.dir() + "/events.ndjson";
  std::vector<Message> messages = GenerateStream(
      {"--seed", "9", "--orgs", "3", "--leads", "1500", "--days", "300", "--dup-share", "0.05", "--ooo-share", "0.1",
       "--invalid-share", "0.002"},
      events);
  Produce(svc.topic(), messages);
  ReferenceRun ref;
  IngestReference(events, svc.dir() + "/reference", &ref);
  // A slow catch-up (about 40 s for the stream), so that the outages fall inside it.
  broker.ClientQuota("leadflow", 250'000);

  // A fatal librdkafka error (as the fencing after a long outage, which the
  // outage below causes only some of the time) after 3 batches: the
  // consumer is replaced and resumes from the stored positions.
  setenv("LEADFLOW_FAULT_FATAL_AFTER_BATCHES", "3", 1);
  svc.Start();
  unsetenv("LEADFLOW_FAULT_FATAL_AFTER_BATCHES");
  REQUIRE_MESSAGE(WaitFor([&] { return Metric(svc.port(), "leadflow_consumer_restarts_total") >= 1 &&
                                       StateMetric(svc.port(), "running") == 1; },
                          seconds(60)),
                  svc.Log());
  CHECK(svc.FullLog().find("consumer fatal error") != std::string::npos);
  REQUIRE(Metric(svc.port(), "leadflow_ready") == 0);

  // Longer than the consumer's session timeout (45 s): the group forgets
  // the member, which comes back fenced (a fatal error in librdkafka).
  broker.Kill9();
  std::this_thread::sleep_for(seconds(50));
  CHECK(Metric(svc.port(), "leadflow_consumer_lag_messages") > 0);  // not 0 while messages wait
  broker.Start();
  const double after_long = Metric(svc.port(), "leadflow_events_applied_total");
  REQUIRE_MESSAGE(WaitFor([&] { return Metric(svc.port(), "leadflow_events_applied_total") > after_long; },
                          seconds(120)),
                  svc.Log());

  // A short outage (a restart of the broker, well inside the session timeout).
  if (Metric(svc.port(), "leadflow_ready") == 0) {
    broker.Kill9();
    broker.Start();
  } else {
    MESSAGE("caught up before the short outage; it was not exercised during catch-up");
  }
  REQUIRE_MESSAGE(WaitReady(svc.port(), seconds(300)), svc.Log());
  MESSAGE("consumer restarts (1 injected, more if the long outage fenced the consumer): ",
          Metric(svc.port(), "leadflow_consumer_restarts_total"));
  CHECK(Metric(svc.port(), "leadflow_consumer_up") == 1);
  CHECK(Metric(svc.port(), "leadflow_consumer_lag_messages") == 0);
  CheckSameAsReference(svc.port(), ref, {"org_acme", "org_globex", "org_initech"});
  CHECK(Envelopes(svc.dlq()).size() == ref.dead_lettered);  // each letter once
  svc.Stop();
}

TEST_CASE("a poison message of almost 1 MB is dead-lettered once, cut to fit, and the events after it are applied") {
  Service svc(1);
  const std::string poison = R"({"event_id":"p1","type":"lead.bogus","org_id":"org1","occurred_at":"2024-01-01T00:00:00Z","pad":")" +
                             std::string(1'000'000, 'x') + "\"}";
  Produce(svc.topic(), {{"org1", "this is not json", {}},
                        {"org1", R"({"event_id":"b2","type":"lead.created","org_id":"org1"})", {}},
                        {"org1", poison, {}},
                        {"org1", kValid, {}}});
  svc.Start();
  REQUIRE_MESSAGE(WaitReady(svc.port(), seconds(90)), svc.Log());
  CHECK(Metric(svc.port(), "leadflow_events_applied_total") == 1);
  CHECK(Metric(svc.port(), "leadflow_events_dead_lettered_total") == 3);
  CHECK(Metric(svc.port(), "leadflow_dead_letter_failures_total") == 0);
  std::vector<json> letters = Envelopes(svc.dlq());
  REQUIRE(letters.size() == 3);
  CHECK(letters[0]["original"] == "this is not json");
  CHECK(letters[0]["offset"] == 0);
  CHECK(letters[1]["offset"] == 1);
  CHECK(!letters[1].contains("original_truncated"));
  const json& cut = letters[2];
  CHECK(cut["offset"] == 2);
  CHECK(cut["reason"].get<std::string>().find("lead.bogus") != std::string::npos);
  CHECK(cut["original_truncated"] == true);
  CHECK(cut["original_bytes"] == poison.size());
  const std::string kept = cut["original"].get<std::string>();
  CHECK(kept.size() > 900'000);
  CHECK(poison.compare(0, kept.size(), kept) == 0);  // a prefix of the original
  CHECK(cut.dump().size() <= 1'000'000);
  svc.Stop();
}

TEST_CASE("a dead-letter topic that refuses a letter as too large gets it without the copy of the original") {
  ServiceOptions opts;
  opts.create_dlq = false;
  Service svc(1, opts);
  CreateTopic(svc.dlq(), 1, {{"max.message.bytes", "20000"}});
  const std::string poison = R"({"event_id":"p1","type":"lead.bogus","org_id":"org1","occurred_at":"2024-01-01T00:00:00Z","pad":")" +
                             std::string(100'000, 'x') + "\"}";
  Produce(svc.topic(), {{"org1", "not json", {}}, {"org1", poison, {}}, {"org1", kValid, {}}});
  svc.Start();
  REQUIRE_MESSAGE(WaitReady(svc.port(), seconds(90)), svc.Log());
  CHECK(Metric(svc.port(), "leadflow_events_applied_total") == 1);
  std::vector<json> letters = Envelopes(svc.dlq());
  REQUIRE(letters.size() == 2);
  CHECK(letters[0]["original"] == "not json");
  CHECK(letters[1]["original"].is_null());
  CHECK(letters[1]["original_truncated"] == true);
  CHECK(letters[1]["original_bytes"] == poison.size());
  CHECK(svc.FullLog().find("sending it without the copy of the original") != std::string::npos);
  svc.Stop();
}

TEST_CASE("a missing dead-letter topic stops ingest visibly, and ingest goes on by itself once the topic exists") {
  ServiceOptions opts;
  opts.create_dlq = false;
  opts.extra_args = {"--kafka-prop", "message.timeout.ms=3000"};
  Service svc(1, opts);
  Produce(svc.topic(), {{"org1", "not json", {}}, {"org1", kValid, {}}});
  svc.Start();
  REQUIRE_MESSAGE(WaitFor([&] { return StateMetric(svc.port(), "dead_letter_blocked") == 1; }, seconds(90)),
                  svc.Log());
  CHECK(Metric(svc.port(), "leadflow_consumer_up") == 0);
  CHECK(Metric(svc.port(), "leadflow_events_applied_total") == 0);
  CHECK(Metric(svc.port(), "leadflow_consumer_lag_messages") == 2);
  CHECK(Metric(svc.port(), "leadflow_dead_letter_failures_total") >= 1);
  HttpResult ready = HttpGet(svc.port(), "/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.body.find("dead_letter_blocked") != std::string::npos);
  CHECK(ready.body.find(svc.dlq()) != std::string::npos);
  CHECK(svc.FullLog().find("dead-letter topic " + svc.dlq() + " did not take the letter") != std::string::npos);

  CreateTopic(svc.dlq(), 1);
  REQUIRE_MESSAGE(WaitReady(svc.port(), seconds(120)), svc.Log());
  CHECK(Metric(svc.port(), "leadflow_events_applied_total") == 1);
  CHECK(Metric(svc.port(), "leadflow_events_dead_lettered_total") == 1);
  CHECK(Metric(svc.port(), "leadflow_consumer_up") == 1);
  std::vector<json> letters = Envelopes(svc.dlq());
  REQUIRE(letters.size() == 1);  // published once, however many retries
  CHECK(letters[0]["original"] == "not json");
  svc.Stop();
}

TEST_CASE("a full disk pauses ingest visibly, a restart on it is refused cleanly, and ingest resumes exactly") {
  Service svc(1, ServiceOptions{true, {"--min-free-disk-mb", "16"}, "", "", ""});
  SmallDisk disk(svc.dir() + "/small", "160m");
  if (!disk.ok()) {
    MESSAGE("skipped: cannot mount a tmpfs here (", disk.error(), "); run as root to test a full disk");
    return;
  }
  svc.set_data_dir(svc.dir() + "/small/data");
  const std::string events = svc.dir() + "/events.ndjson";
  std::vector<Message> messages = GenerateStream(
      {"--seed", "5", "--orgs", "3", "--leads", "600", "--days", "200", "--dup-share", "0.05", "--ooo-share", "0.1"},
      events);
  ReferenceRun ref;
  IngestReference(events, svc.dir() + "/reference", &ref);
  const std::vector<std::vector<Message>> parts = Split(messages, 3);

  Produce(svc.topic(), parts[0]);
  svc.Start();
  REQUIRE_MESSAGE(WaitReady(svc.port(), seconds(90)), svc.Log());
  const double applied_first = Metric(svc.port(), "leadflow_events_applied_total");

  // The disk fills while leadflow runs: ingest pauses, visibly.
  disk.Fill(4u << 20);
  REQUIRE_MESSAGE(WaitFor([&] { return StateMetric(svc.port(), "disk_full") == 1; }, seconds(30)), svc.Log());
  Produce(svc.topic(), parts[1]);
  CHECK(WaitFor([&] { return Metric(svc.port(), "leadflow_consumer_lag_messages") ==
                             static_cast<double>(parts[1].size()); },
                seconds(10)));
  CHECK(Metric(svc.port(), "leadflow_events_applied_total") == applied_first);
  CHECK(Metric(svc.port(), "leadflow_consumer_up") == 0);
  CHECK(HttpGet(svc.port(), "/readyz").body.find("disk nearly full") != std::string::npos);

  // Space returns: ingest goes on by itself.
  disk.Free();
  REQUIRE_MESSAGE(WaitFor([&] { return Metric(svc.port(), "leadflow_consumer_lag_messages") == 0 &&
                                       StateMetric(svc.port(), "running") == 1; },
                          seconds(60)),
                  svc.Log());

  // Full again, and the process dies: a restart on the full disk is refused
  // with the reason (exit status 2), not an abort inside RocksDB.
  disk.Fill(4u << 20);
  REQUIRE(WaitFor([&] { return StateMetric(svc.port(), "disk_full") == 1; }, seconds(30)));
  Produce(svc.topic(), parts[2]);
  svc.Kill9();
  {
    Process again({LeadflowBin(), "serve", "--brokers", Brokers(), "--topic", svc.topic(), "--data-dir", svc.data_dir(),
                   "--credentials", svc.dir() + "/credentials.json", "--listen", "127.0.0.1:0", "--min-free-disk-mb",
                   "16"},
                  svc.dir() + "/refused.log");
    const int status = again.Wait();
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 2);
  }
  const std::vector<std::string> refused = ReadLines(svc.dir() + "/refused.log");
  REQUIRE(!refused.empty());
  CHECK(refused.back().find("no space left on device") != std::string::npos);

  disk.Free();
  svc.Start();
  REQUIRE_MESSAGE(WaitReady(svc.port(), seconds(90)), svc.Log());
  REQUIRE_MESSAGE(WaitFor([&] { return Metric(svc.port(), "leadflow_consumer_lag_messages") == 0; }, seconds(60)),
                  svc.Log());
  CheckSameAsReference(svc.port(), ref, {"org_acme", "org_globex", "org_initech"});
  svc.Stop();
}

TEST_CASE("a disk that fills during a burst of events pauses ingest before the failing write, and ingest resumes "
          "exactly once space returns") {
  // A small pause threshold: only the room needed for the next batch
  // keeps RocksDB from writing into a full disk.
  Service svc(1, ServiceOptions{true, {"--min-free-disk-mb", "1"}, "", "", ""});
  SmallDisk disk(svc.dir() + "/small", "100m");
  if (!disk.ok()) {
    MESSAGE("skipped: cannot mount a tmpfs here (", disk.error(), "); run as root to test a full disk");
    return;
  }
  svc.set_data_dir(svc.dir() + "/small/data");
  const std::string events = svc.dir() + "/events.ndjson";
  std::vector<Message> messages =
      GenerateStream({"--seed", "4", "--orgs", "3", "--leads", "3000", "--days", "60", "--dup-share", "0.02"}, events);
  ReferenceRun ref;
  IngestReference(events, svc.dir() + "/reference", &ref);
  const std::vector<std::vector<Message>> parts = Split(messages, 10);
  Produce(svc.topic(), parts[0]);
  svc.Start();
  REQUIRE_MESSAGE(WaitReady(svc.port(), seconds(90)), svc.Log());

  disk.Fill(1'200'000);  // above the threshold, below what the rest needs
  for (size_t i = 1; i < parts.size(); ++i) Produce(svc.topic(), parts[i]);
  REQUIRE_MESSAGE(WaitFor([&] { return StateMetric(svc.port(), "disk_full") == 1; }, seconds(60)), svc.Log());
  CHECK(Metric(svc.port(), "leadflow_consumer_up") == 0);
  CHECK(WaitFor([&] { return Metric(svc.port(), "leadflow_consumer_lag_messages") > 0; }, seconds(10)));
  CHECK(svc.FullLog().find("No space left on device") == std::string::npos);  // RocksDB never hit the wall

  // Space returns, but less than the whole backlog would need as one
  // batch (CheckDisk's estimate, 4x its message bytes): ingest goes on in
  // batches that fit, never waiting for a room the disk cannot give.
  uint64_t backlog_bytes = 0;
  for (size_t i = 1; i < parts.size(); ++i) {
    for (const Message& m : parts[i]) backlog_bytes += (m.key ? m.key->size() : 0) + m.value.size();
  }
  disk.Free();
  disk.Fill(1'000'000 + 3 * backlog_bytes);
  REQUIRE_MESSAGE(WaitFor([&] { return Metric(svc.port(), "leadflow_consumer_lag_messages") == 0 &&
                                       StateMetric(svc.port(), "running") == 1; },
                          seconds(60)),
                  svc.Log());
  CheckSameAsReference(svc.port(), ref, {"org_acme", "org_globex", "org_initech"});
  MESSAGE("backlog ", backlog_bytes, " bytes; state ", SmallDisk::DirBytes(svc.dir() + "/small/data"), " bytes");
  svc.Stop();
}

TEST_CASE("a stored position that cannot be read stops the service with the reason; it never re-reads the "
          "partition from its start") {
  Service svc(1);
  Produce(svc.topic(), {{"org1", kValid, {}}});
  svc.Start();
  REQUIRE_MESSAGE(WaitReady(svc.port(), seconds(60)), svc.Log());
  REQUIRE(Metric(svc.port(), "leadflow_events_applied_total") == 1);
  svc.Stop();
  auto corrupt_position = [&](const std::string& value) {
    std::unique_ptr<state::Store> store;
    REQUIRE_OK(state::Store::Open(svc.data_dir(), state::Store::Options(), &store));
    state::WriteBatch batch;
    batch.Put(state::Cf::kMeta, views::keys::ConsumerOffset(svc.topic(), 0), value);
    REQUIRE_OK(store->Write(&batch));
  };
  corrupt_position("?");
  svc.Start();
  // Corrupt state is a stop for a human to look at, not a loop of retries.
  REQUIRE_MESSAGE(WaitFor([&] { return !svc.Running(); }, seconds(60)), svc.Log());
  const int status = svc.WaitExit();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(svc.FullLog().find("stored position of " + svc.topic() + "[0] is malformed") != std::string::npos);
  // Read from the start, the one event would have been counted as a
  // duplicate; the persisted totals say it was never consumed again.
  {
    std::unique_ptr<state::Store> store;
    REQUIRE_OK(state::Store::Open(svc.data_dir(), state::Store::Options(), &store));
    std::string v;
    REQUIRE_OK(store->Get(state::Cf::kMeta, views::keys::ShardTotal(ingest::ShardOfPartition(0), "duplicate"), &v));
    CHECK(views::keys::ReadI64(v, 0) == 0);
  }
  // Mended (here: the position of the one event applied), it goes on.
  std::string next;
  views::keys::AppendI64(&next, 1);
  corrupt_position(next);
  svc.Start();
  REQUIRE_MESSAGE(WaitReady(svc.port(), seconds(60)), svc.Log());
  CHECK(Metric(svc.port(), "leadflow_events_applied_total") == 1);
  CHECK(Metric(svc.port(), "leadflow_events_duplicate_total") == 0);
  svc.Stop();
}

}  // namespace leadflow::it
