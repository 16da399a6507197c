#include "ingest/kafka_config.h"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::ingest {
namespace {

TEST_CASE("a Kafka configuration file: KEY=VALUE lines, comments, values with '=' and spaces") {
  KafkaProperties props;
  REQUIRE_OK(ParseKafkaConfig("# a secured cluster\n"
                              "security.protocol=SASL_SSL\r\n"
                              "\n"
                              "  sasl.mechanisms = SCRAM-SHA-512  \n"
                              "! also a comment\n"
                              "sasl.password=a=b c\n"
                              "ssl.ca.location=/etc/ssl/ca.pem",  // no final newline
                              "kafka.properties", &props));
  const KafkaProperties want = {{"security.protocol", "SASL_SSL"},
                                {"sasl.mechanisms", "SCRAM-SHA-512"},
                                {"sasl.password", "a=b c"},
                                {"ssl.ca.location", "/etc/ssl/ca.pem"}};
  CHECK(props == want);
}

TEST_CASE("a bad line names the file and line, never its text (it may be a secret)") {
  KafkaProperties props;
  Status s = ParseKafkaConfig("a=1\nsasl.password hunter2\n", "k.properties", &props);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message() == "k.properties line 2: expected KEY=VALUE");
  CHECK(s.message().find("hunter2") == std::string::npos);
  s = ParseKafkaConfig(" = hunter2\n", "k.properties", &props);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message() == "k.properties line 1: the property name is empty");
}

TEST_CASE("ReadKafkaConfig reads a file; a missing one is an I/O error") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/kafka.properties";
  {
    std::ofstream(path) << "client.id=x\n";
  }
  KafkaProperties props;
  REQUIRE_OK(ReadKafkaConfig(path, &props));
  CHECK(props == KafkaProperties{{"client.id", "x"}});
  CHECK(ReadKafkaConfig(dir.path() + "/missing", &props).code() == Status::Code::kIoError);
}

}  // namespace
}  // namespace leadflow::ingest
