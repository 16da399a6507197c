// A leadflow service under test: its own topics, consumer group, data
// directory, port and credentials, run as a real `leadflow serve` process
// against the real broker.
#ifndef LEADFLOW_TESTS_INTEGRATION_SERVICE_H_
#define LEADFLOW_TESTS_INTEGRATION_SERVICE_H_

#include <memory>
#include <string>

#include "tests/integration/cluster.h"
#include "tests/testing/harness.h"

namespace leadflow::it {

class Service {
 public:
  // Creates the topics; partitions for the events topic.
  explicit Service(int partitions = 3);
  void Start();
  void Kill9();
  void Stop();  // SIGTERM and wait

  const std::string& topic() const { return topic_; }
  const std::string& dlq() const { return dlq_; }
  const std::string& dir() const { return dir_.path(); }
  std::string data_dir() const { return dir_.path() + "/data"; }
  int port() const { return port_; }
  // The API key of an org in the credentials file ("key-<org>").
  static std::string KeyOf(const std::string& org) { return "key-" + org; }
  std::string Log() const;

 private:
  testing::TempDir dir_;
  std::string topic_, dlq_, group_;
  int port_ = 0;
  std::unique_ptr<Process> proc_;
};

}  // namespace leadflow::it

#endif  // LEADFLOW_TESTS_INTEGRATION_SERVICE_H_
