// Integration test support: the real local Kafka broker (started by
// scripts/kafka.sh; its address in LEADFLOW_TEST_BROKERS), topics, a
// librdkafka producer and consumer, leadflow processes, and HTTP calls.
#ifndef LEADFLOW_TESTS_INTEGRATION_CLUSTER_H_
#define LEADFLOW_TESTS_INTEGRATION_CLUSTER_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace leadflow::it {

// The broker list: a ScopedBrokers' while one lives, else
// LEADFLOW_TEST_BROKERS (the test fails when that is unset).
std::string Brokers();

// While it lives, Brokers() (and so CreateTopic, Produce, ConsumeAll and new
// Services) use these brokers. Not nestable; one thread.
class ScopedBrokers {
 public:
  explicit ScopedBrokers(const std::string& brokers);
  ~ScopedBrokers();
  ScopedBrokers(const ScopedBrokers&) = delete;
  ScopedBrokers& operator=(const ScopedBrokers&) = delete;
};

// A broker of a test's own (scripts/kafka.sh with its own state directory
// and free ports), for fault tests that kill it. Deleted with its data on
// destruction.
class PrivateBroker {
 public:
  PrivateBroker();  // formats and starts it; fails the test if it does not start
  ~PrivateBroker();
  PrivateBroker(const PrivateBroker&) = delete;
  PrivateBroker& operator=(const PrivateBroker&) = delete;
  const std::string& brokers() const { return brokers_; }
  void Start();  // starts it again on the same data and ports
  void Kill9();  // SIGKILL, as a crash
  void Stop();   // SIGTERM and wait
  // Throttles the fetches of a client.id (leadflow's consumer is "leadflow").
  void ClientQuota(const std::string& client_id, int64_t bytes_per_second);

 private:
  int Run(const std::string& command);
  std::string dir_, brokers_, env_;
};
// Kafka's kafka-consumer-groups tool (scripts/kafka.sh consumer-groups)
// against Brokers() with args; its standard output.
std::string ConsumerGroups(const std::string& args);

// A name unique to this run ("it-<pid>-<n>-<suffix>").
std::string UniqueName(const std::string& suffix);
// Creates a topic (with topic configs such as {"max.message.bytes", "10000"})
// and waits until it is usable.
void CreateTopic(const std::string& topic, int partitions,
                 const std::vector<std::pair<std::string, std::string>>& configs = {});

struct Message {
  std::optional<std::string> key;
  std::string value;
  std::map<std::string, std::string> headers;
};
// Produces messages (acks=all) and waits until every one is delivered.
void Produce(const std::string& topic, const std::vector<Message>& messages);
// The same with librdkafka's `partitioner` property (empty: its default,
// consistent_random), recording the partition each message went to (by
// index) when partitions is given.
void ProduceWith(const std::string& topic, const std::vector<Message>& messages, const std::string& partitioner,
                 std::vector<int32_t>* partitions);
// The same to one partition, whatever the key (a producer that partitions
// otherwise than by the org_id key).
void ProduceToPartition(const std::string& topic, const std::vector<Message>& messages, int32_t partition);
// The key a leadflow producer would use: the value's org_id, if any.
std::optional<std::string> OrgKey(const std::string& json_value);
// Reads a whole topic from the beginning (until no message for idle).
std::vector<Message> ConsumeAll(const std::string& topic, std::chrono::milliseconds idle);

// A free TCP port on 127.0.0.1.
int FreePort();

// A leadflow child process; stderr goes to a log file. Killed (SIGKILL) on
// destruction if still running.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  void Kill(int signal);
  // Waits for exit; returns the exit status as from waitpid (also when
  // Running() saw the exit first).
  int Wait();
  bool Running();

 private:
  pid_t pid_ = -1;
  int status_ = 0;
};

struct HttpResult {
  int status = 0;  // 0: connection failed
  std::string body;
  std::map<std::string, std::string> headers;
};
HttpResult HttpGet(int port, const std::string& target, const std::map<std::string, std::string>& headers = {});
// POSTs body (Content-Type: application/json) to target.
HttpResult HttpPost(int port, const std::string& target, const std::string& body,
                    const std::map<std::string, std::string>& headers = {});
HttpResult HttpDelete(int port, const std::string& target, const std::map<std::string, std::string>& headers = {});

// A client of a server-sent event stream (GET target), as EventSource reads
// one: status and header fields of the answer, then its events as they
// come. Over HTTP/1.1, chunked or not.
class EventStream {
 public:
  EventStream(int port, const std::string& target, const std::map<std::string, std::string>& headers = {});
  ~EventStream();
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  int status() const { return status_; }  // 0: no answer
  const std::map<std::string, std::string>& headers() const { return headers_; }  // names lower-case
  // An answer other than 200: its whole body.
  const std::string& body() const { return body_; }

  struct Event {
    std::string id, event, data;  // event "comment" for a comment line (data: its text)
    std::string retry;
  };
  // The next event or comment, waiting at most timeout; nullopt when none
  // came (closed() tells whether the stream ended).
  std::optional<Event> Next(std::chrono::milliseconds timeout);
  // The next event that is not a comment.
  std::optional<Event> NextReport(std::chrono::milliseconds timeout);
  bool closed() const { return closed_; }

 private:
  bool Fill(std::chrono::steady_clock::time_point deadline);  // more payload; false on timeout or close
  int fd_ = -1;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
  std::string body_;
  bool chunked_ = false, closed_ = false;
  std::string raw_;      // bytes read, not yet decoded
  std::string payload_;  // decoded body, not yet parsed into events
  size_t chunk_left_ = 0;
};

// Polls GET /readyz until 200 or the deadline; returns whether it became ready.
bool WaitReady(int port, std::chrono::seconds deadline);
// A metric's value from GET /metrics, or -1.
double Metric(int port, const std::string& name);

// "Basic base64(key:)".
std::string BasicAuth(const std::string& key);

// Paths of the binaries under test.
std::string LeadflowBin();
std::string GeneratorBin();

// Writes text to a file.
void WriteFile(const std::string& path, const std::string& text);
std::vector<std::string> ReadLines(const std::string& path);

}  // namespace leadflow::it

#endif  // LEADFLOW_TESTS_INTEGRATION_CLUSTER_H_
