#include "app/cli.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing/harness.h"

// The command line as a user meets it: --help and --version, errors for bad
// values wherever they come from, and the precedence of the command line,
// the environment and the config file.

namespace leadflow::app {
namespace {

struct Parsed {
  std::optional<int> exit;
  std::string out, err;
  CommandLine cli;
};

Parsed ParseArgv(const std::vector<const char*>& argv) {
  Parsed p;
  std::ostringstream out, err;
  p.exit = ParseCommandLine(static_cast<int>(argv.size()), argv.data(), &p.cli, out, err);
  p.out = out.str();
  p.err = err.str();
  return p;
}

Parsed Parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"leadflow"};
  argv.insert(argv.end(), args.begin(), args.end());
  return ParseArgv(argv);
}

// Sets an environment variable for the scope of the test.
struct Env {
  Env(const char* name, const std::string& value) : name_(name) { setenv(name, value.c_str(), 1); }
  ~Env() { unsetenv(name_); }
  const char* name_;
};

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string WriteFile(const testing::TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.path() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

constexpr const char* kServeRequired[] = {"--brokers", "b:9092", "--data-dir", "/d", "--credentials", "/c"};

Parsed ParseServe(std::initializer_list<const char*> more) {
  std::vector<const char*> argv{"leadflow", "serve"};
  argv.insert(argv.end(), std::begin(kServeRequired), std::end(kServeRequired));
  argv.insert(argv.end(), more.begin(), more.end());
  return ParseArgv(argv);
}

TEST_CASE("--help of every subcommand shows each flag with its meaning, default and environment variable") {
  const Parsed top = Parse({"--help"});
  REQUIRE(top.exit == 0);
  for (const char* sub : {"serve", "ingest", "shards"}) CHECK(Has(top.out, sub));

  const Parsed serve = Parse({"serve", "--help"});
  REQUIRE(serve.exit == 0);
  CHECK(serve.err.empty());
  CHECK(Has(serve.out, "Usage: leadflow serve"));
  for (const char* flag : {"--brokers", "--topic", "--dlq-topic", "--group", "--data-dir", "--listen", "--credentials",
                           "--threads", "--lsq-rate-limit", "--lsq-rate-window", "--kafka-config", "--kafka-prop",
                           "--dlq-max-message-bytes", "--min-free-disk-mb", "--apply-workers", "--memory-budget",
                           "--checkpoint-interval-ms", "--tls-cert", "--tls-key", "--config", "--log-format",
                           "--log-level"}) {
    CAPTURE(flag);
    CHECK(Has(serve.out, flag));
  }
  CHECK(Has(serve.out, "LEADFLOW_BROKERS"));
  CHECK(Has(serve.out, "LEADFLOW_CHECKPOINT_INTERVAL_MS"));
  CHECK(Has(serve.out, "=leadflow.events"));  // a default
  CHECK(Has(serve.out, "=127.0.0.1:8080"));
  CHECK(Has(serve.out, "[1 - 256]=4"));  // a range and a default

  const Parsed ingest = Parse({"ingest", "--help"});
  REQUIRE(ingest.exit == 0);
  CHECK(Has(ingest.out, "--file"));
  CHECK(Has(ingest.out, "--batch"));
  CHECK(!Has(ingest.out, "--brokers"));
  const Parsed shards = Parse({"shards", "-h"});
  REQUIRE(shards.exit == 0);
  CHECK(Has(shards.out, "--drop"));
}

TEST_CASE("--version prints the version and exits 0") {
  const Parsed p = Parse({"--version"});
  REQUIRE(p.exit == 0);
  CHECK(p.out == std::string("leadflow ") + Version() + "\n");
  CHECK(std::string(Version()) != "0.0.0");
}

TEST_CASE("bad values are refused with the flag and the value named, exit 2") {
  struct Case {
    std::vector<const char*> args;
    std::string message;
  };
  const Case cases[] = {
      {{"--threads", "4x"}, "--threads"},
      {{"--threads", "-7"}, "-7"},
      {{"--threads=-7"}, "-7"},
      {{"--threads", "0"}, "--threads"},
      {{"--threads", "257"}, "257"},
      {{"--checkpoint-interval-ms", "60001"}, "--checkpoint-interval-ms"},
      {{"--dlq-max-message-bytes", "100"}, "--dlq-max-message-bytes"},
      {{"--memory-budget", "12"}, "must be a size"},
      {{"--memory-budget", "lots"}, "'lots'"},
      {{"--apply-workers", "65"}, "--apply-workers"},
      {{"--log-format", "xml"}, "--log-format"},
      {{"--log-level", "loud"}, "--log-level"},
      {{"--no-such-flag", "1"}, "--no-such-flag"},
      {{"--tls-cert", "/c.pem"}, "--tls-key"},
      {{"--standby-replicas", "1"}, "--standby-replicas needs --advertise"},
      {{"--standby-replicas", "17", "--advertise", "h:1"}, "--standby-replicas"},
      {{"--max-stale-messages", "-1"}, "--max-stale-messages"},
  };
  for (const Case& c : cases) {
    std::vector<const char*> argv{"leadflow", "serve"};
    argv.insert(argv.end(), std::begin(kServeRequired), std::end(kServeRequired));
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    CommandLine cli;
    std::ostringstream out, err;
    CAPTURE(c.args[0]);
    CHECK(ParseCommandLine(static_cast<int>(argv.size()), argv.data(), &cli, out, err) == 2);
    CHECK(Has(err.str(), c.message));
    CHECK(Has(err.str(), "--help"));
  }
  CHECK(Parse({}).exit == 2);
  CHECK(Parse({"frobnicate"}).exit == 2);
}

TEST_CASE("required flags are named when missing, with their environment variable") {
  const Parsed p = Parse({"serve", "--data-dir", "/d", "--credentials", "/c"});
  REQUIRE(p.exit == 2);
  CHECK(Has(p.err, "--brokers is required"));
  CHECK(Has(p.err, "LEADFLOW_BROKERS"));
  const Parsed i = Parse({"ingest", "--data-dir", "/d"});
  REQUIRE(i.exit == 2);
  CHECK(Has(i.err, "--file is required"));
}

TEST_CASE("values are typed and defaults apply") {
  Parsed p = ParseServe({"--threads", "8", "--kafka-prop", "a=1", "--kafka-prop=b=2=3", "--memory-budget", "512M"});
  REQUIRE(!p.exit);
  CHECK(p.cli.command == CommandLine::Command::kServe);
  CHECK(p.cli.serve.brokers == "b:9092");
  CHECK(p.cli.serve.threads == 8);
  CHECK(p.cli.serve.topic == "leadflow.events");
  CHECK(p.cli.serve.checkpoint_interval_ms == 1000);
  CHECK(p.cli.serve.memory_budget_bytes == uint64_t{512} << 20);
  CHECK(p.cli.serve.apply_workers == DefaultApplyWorkers());
  CHECK(p.cli.serve.kafka_props == std::vector<std::string>{"a=1", "b=2=3"});
  CHECK(p.cli.common.log_format == "text");

  Parsed i = Parse({"ingest", "--file", "-", "--data-dir", "/d"});
  REQUIRE(!i.exit);
  CHECK(i.cli.command == CommandLine::Command::kIngest);
  CHECK(!i.cli.ingest.batch);
  CHECK(i.cli.ingest.memory_budget_bytes == uint64_t{2} << 30);
  Parsed b = Parse({"ingest", "--file", "-", "--data-dir", "/d", "--batch", "5000"});
  REQUIRE(!b.exit);
  CHECK(b.cli.ingest.batch == 5000);

  Parsed s = Parse({"shards", "--data-dir", "/d", "--drop", "3"});
  REQUIRE(!s.exit);
  CHECK(s.cli.command == CommandLine::Command::kShards);
  CHECK(s.cli.shards.drop == 3);
  CHECK(Parse({"shards", "--data-dir", "/d", "--drop", "-1"}).exit == 2);
}

TEST_CASE("a --kafka-prop without '=' is refused without echoing it (it may be a secret)") {
  const Parsed p = ParseServe({"--kafka-prop", "sasl.password:hunter2"});
  REQUIRE(p.exit == 2);
  CHECK(Has(p.err, "KEY=VALUE"));
  CHECK(!Has(p.err, "hunter2"));
}

TEST_CASE("the command line wins over the environment, which wins over the config file") {
  testing::TempDir dir;
  const std::string config = WriteFile(dir, "leadflow.toml",
                                       "# leadflow\n"
                                       "threads = 6\n"
                                       "group = \"from-file\"\n"
                                       "topic = \"file-topic\"\n"
                                       "kafka-prop = [\"x=1\", \"y=2\"]\n"
                                       "[ingest]\n"
                                       "batch = 77\n");
  {
    Parsed p = ParseServe({"--config", config.c_str()});
    REQUIRE(!p.exit);
    CHECK(p.cli.serve.threads == 6);
    CHECK(p.cli.serve.group == "from-file");
    CHECK(p.cli.serve.kafka_props == std::vector<std::string>{"x=1", "y=2"});
  }
  {
    Env env("LEADFLOW_THREADS", "7");
    Env props("LEADFLOW_KAFKA_PROP", "p=1\nq=2\n");
    Parsed p = ParseServe({"--config", config.c_str(), "--group", "from-flag"});
    REQUIRE(!p.exit);
    CHECK(p.cli.serve.threads == 7);            // environment over file
    CHECK(p.cli.serve.group == "from-flag");    // flag over file
    CHECK(p.cli.serve.topic == "file-topic");   // file over default
    CHECK(p.cli.serve.kafka_props == std::vector<std::string>{"p=1", "q=2"});
    Parsed q = ParseServe({"--config", config.c_str(), "--threads", "9"});
    REQUIRE(!q.exit);
    CHECK(q.cli.serve.threads == 9);  // flag over environment
  }
  {
    // The config file named by the environment; its [ingest] section is
    // for ingest only.
    // (Top-level keys are the subcommand's: serve's keys above would be
    // errors for ingest, so a shared file puts them in sections.)
    const std::string shared = WriteFile(dir, "shared.toml",
                                         "log-level = \"warn\"\n[serve]\nthreads = 6\n[ingest]\nbatch = 77\n");
    Env env("LEADFLOW_CONFIG", shared);
    Parsed i = Parse({"ingest", "--file", "-", "--data-dir", "/d"});
    REQUIRE(!i.exit);
    CHECK(i.cli.ingest.batch == 77);
    CHECK(i.cli.common.log_level == "warn");
    const Parsed wrong = Parse({"ingest", "--config", config.c_str(), "--file", "-", "--data-dir", "/d"});
    REQUIRE(wrong.exit == 2);
    CHECK(Has(wrong.err, "'threads' is not a flag of leadflow ingest"));
  }
  {
    // A common flag (every subcommand has it) on the command line wins over
    // its environment variable too.
    Env env("LEADFLOW_LOG_FORMAT", "json");
    CHECK(Parse({"ingest", "--file", "-", "--data-dir", "/d", "--log-format", "text"}).cli.common.log_format == "text");
    CHECK(Parse({"shards", "--data-dir", "/d"}).cli.common.log_format == "json");
  }
  // INI form, and required flags from the file.
  const std::string ini = WriteFile(dir, "leadflow.ini",
                                    "[serve]\nbrokers=k:9092\ndata-dir=/var/lib/leadflow\ncredentials=/etc/c.json\n");
  Parsed p = Parse({"serve", "--config", ini.c_str()});
  REQUIRE(!p.exit);
  CHECK(p.cli.serve.brokers == "k:9092");
  CHECK(p.cli.serve.data_dir == "/var/lib/leadflow");
}

TEST_CASE("a config file's mistakes are errors naming the file and the key") {
  testing::TempDir dir;
  struct Case {
    std::string text, message;
  };
  const Case cases[] = {
      {"thread = 4\n", "'thread' is not a flag of leadflow serve"},
      {"batch = 4\n", "'batch' is not a flag of leadflow serve"},
      {"[sevre]\nthreads = 4\n", "sevre"},
      {"threads = 0\n", "--threads"},
      {"memory-budget = \"12\"\n", "must be a size"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    const std::string path = WriteFile(dir, "bad.toml", c.text);
    const Parsed p = ParseServe({"--config", path.c_str()});
    REQUIRE(p.exit == 2);
    CHECK(Has(p.err, c.message));
  }
  const Parsed missing = ParseServe({"--config", "/no/such/leadflow.toml"});
  REQUIRE(missing.exit == 2);
  CHECK(Has(missing.err, "/no/such/leadflow.toml"));
}

TEST_CASE("the example config in deploy/ is accepted as it is") {
  const std::string path = std::string(LEADFLOW_SOURCE_DIR) + "/deploy/leadflow.toml";
  const Parsed serve = Parse({"serve", "--config", path.c_str()});
  REQUIRE_MESSAGE(!serve.exit, serve.err);
  CHECK(serve.cli.serve.brokers == "kafka-1:9092,kafka-2:9092");
  CHECK(serve.cli.serve.data_dir == "/var/lib/leadflow");
  CHECK(serve.cli.common.log_format == "json");
  const Parsed ingest = Parse({"ingest", "--config", path.c_str(), "--file", "-"});
  REQUIRE_MESSAGE(!ingest.exit, ingest.err);
  CHECK(ingest.cli.ingest.data_dir == "/var/lib/leadflow");
}

}  // namespace
}  // namespace leadflow::app
