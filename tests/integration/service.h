// A leadflow service under test: its own topics, consumer group, data
// directory, port and credentials, run as a real `leadflow serve` process
// against the real broker.
#ifndef LEADFLOW_TESTS_INTEGRATION_SERVICE_H_
#define LEADFLOW_TESTS_INTEGRATION_SERVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "tests/integration/cluster.h"
#include "state/store.h"
#include "tests/testing/harness.h"

namespace leadflow::it {

struct ServiceOptions {
  bool create_dlq = true;                // create the dead-letter topic
  std::vector<std::string> extra_args;   // more `leadflow serve` flags
  // The --brokers the service is given (default Brokers()); its topics are
  // created through Brokers() either way.
  std::string brokers;
  // Another service's topic and consumer group (with its dead-letter topic),
  // to run a second process in the same group; nothing is created then.
  std::string topic, group;
  // Cluster mode: `--advertise <advertise_host>:<port>` (issue 13).
  bool advertise = false;
  std::string advertise_host = "127.0.0.1";
};

class Service {
 public:
  // Creates the topics (on Brokers() as it is now); partitions for the events topic.
  explicit Service(int partitions = 3, ServiceOptions options = {});
  void Start();
  void Kill9();
  int Stop();  // SIGTERM and wait; the exit status as from waitpid (-1: not running)
  void Signal(int sig);  // sends sig, does not wait
  // Whether the process runs; WaitExit waits for it to end by itself and
  // returns its status as from waitpid.
  bool Running() { return proc_ && proc_->Running(); }
  int WaitExit();

  const std::string& topic() const { return topic_; }
  const std::string& dlq() const { return dlq_; }
  const std::string& group() const { return group_; }
  const std::string& dir() const { return dir_.path(); }
  std::string data_dir() const { return data_dir_override_.empty() ? dir_.path() + "/data" : data_dir_override_; }
  int port() const { return port_; }
  // The API key of an org in the credentials file ("key-<org>").
  static std::string KeyOf(const std::string& org) { return "key-" + org; }
  // The last 4000 bytes of the log; FullLog() all of it.
  std::string Log() const;
  std::string FullLog() const;
  // Sets the data directory (before Start), e.g. on a small file system.
  void set_data_dir(const std::string& dir) { data_dir_override_ = dir; }

 private:
  testing::TempDir dir_;
  std::string topic_, dlq_, group_, brokers_, data_dir_override_;
  ServiceOptions options_;
  int port_ = 0;
  std::unique_ptr<Process> proc_;
};

// An uninterrupted run to compare with: events (an NDJSON file) ingested by
// `leadflow ingest --file` into dir, and its counts.
struct ReferenceRun {
  std::unique_ptr<state::Store> store;  // opened once the ingest finished
  uint64_t lines = 0, applied = 0, duplicates = 0, dead_lettered = 0;
};
void IngestReference(const std::string& events, const std::string& dir, ReferenceRun* out);

// The generator's stream (leadflow-gen with these flags) written to path;
// its lines, keyed by org, as messages.
std::vector<Message> GenerateStream(const std::vector<std::string>& gen_flags, const std::string& path);

// Checks that the service on port answers the status report of every org
// in orgs, overall and for a few periods, exactly as the reference's state,
// and that its persisted totals equal the reference's counts.
void CheckSameAsReference(int port, const ReferenceRun& ref, const std::vector<std::string>& orgs);

}  // namespace leadflow::it

#endif  // LEADFLOW_TESTS_INTEGRATION_SERVICE_H_
