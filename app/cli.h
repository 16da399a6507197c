// Cli: leadflow's command line (CLI11). Three subcommands, each with its own
// --help (meaning, default, range and environment variable of every flag):
//
//   leadflow serve  ...   the service: Kafka in, HTTP reports out
//   leadflow ingest ...   apply an NDJSON file (or stdin) to a data directory
//   leadflow shards ...   list or drop a data directory's shards
//   leadflow --version
//
// Every flag has three other sources, in this order of precedence:
//   1. the command line (--name VALUE or --name=VALUE),
//   2. the environment, LEADFLOW_<NAME> (dashes as underscores, upper case;
//      a repeatable flag takes one value per line),
//   3. the config file given by --config FILE (or LEADFLOW_CONFIG): TOML or
//      INI `name = value` lines, flags by their long name without dashes in
//      front (`data-dir = "/var/lib/leadflow"`; a repeatable one as an array,
//      `kafka-prop = ["a=b", "c=d"]`). Keys at the top level are for the
//      subcommand being run; a `[serve]`, `[ingest]` or `[shards]` section
//      holds keys for that subcommand only, so one file can serve all three.
//      A key no subcommand knows is an error naming it (a typo is never
//      ignored); a key of another subcommand at the top level is too.
//   4. the default shown by --help.
// Values are checked (type and range) whatever their source, with an error
// naming the flag and the value; parse errors exit 2, --help and --version 0.
//
// Thread safety: not thread-safe; used by main() only.
#ifndef LEADFLOW_APP_CLI_H_
#define LEADFLOW_APP_CLI_H_

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace leadflow::app {

// Flags every subcommand has.
struct CommonOptions {
  std::string config;              // --config: the config file read (empty: none)
  std::string log_format = "text";  // --log-format: text | json
  std::string log_level = "info";   // --log-level: debug | info | warn | error
};

struct ServeOptions {
  std::string brokers;
  std::string topic = "leadflow.events";
  std::string dlq_topic = "leadflow.events.dlq";
  std::string group = "leadflow";
  std::string instance_id;  // empty: derived from the host and the data directory
  std::string data_dir;
  std::string listen = "127.0.0.1:8080";
  std::string credentials;
  int threads = 4;
  int64_t lsq_rate_limit = 25;
  int64_t lsq_rate_window = 5;
  int64_t close_rate_limit = 0;  // 0: none
  int64_t close_rate_window = 5;
  std::string kafka_config;
  std::vector<std::string> kafka_props;  // KEY=VALUE, checked
  int64_t dlq_max_message_bytes = 1'000'000;
  int64_t min_free_disk_mb = 64;
  int apply_workers = 0;  // set to the default (DefaultApplyWorkers) before parsing
  uint64_t memory_budget_bytes = 0;  // from --memory-budget (MemoryBudget::Parse)
  int checkpoint_interval_ms = 1000;
  std::string tls_cert;  // PEM certificate chain; with tls_key, HTTPS instead of HTTP
  std::string tls_key;   // PEM private key
  // Cluster mode (issue 13): set by --advertise.
  std::string advertise;      // HOST:PORT; empty: a single instance
  std::string cluster_topic;  // empty: <topic>.leadflow-cluster
  std::string partitioner = "consistent";
  int heartbeat_ms = 1000;
  int member_timeout_ms = 3000;
  int forward_connect_timeout_ms = 1000;
  int forward_timeout_ms = 30000;
  int standby_replicas = 0;
  std::string peer_ca;  // PEM CAs that verify HTTPS peers; empty: the system's
  int64_t max_stale_messages = 10000;
  int drain_ms = 3000;
  int64_t dormant_shard_ttl_ms = 600000;
  std::string web_dir;  // the dashboard's files from disk; empty: built in
  int stream_min_interval_ms = 200;
  int stream_heartbeat_ms = 15000;
};

struct IngestOptions {
  std::string file;  // "-" for stdin
  std::string data_dir;
  std::string dead_letters;      // empty: none
  std::optional<int64_t> batch;  // unset: the memory budget's
  int64_t min_free_disk_mb = 64;
  int apply_workers = 0;
  uint64_t memory_budget_bytes = 0;
};

struct ShardsOptions {
  std::string data_dir;
  std::optional<int64_t> drop;
};

struct CommandLine {
  enum class Command { kServe, kIngest, kShards } command = Command::kServe;
  CommonOptions common;
  ServeOptions serve;
  IngestOptions ingest;
  ShardsOptions shards;
};

// The version --version prints and leadflow_build_info shows.
const char* Version();

// The default --apply-workers: the processors, at most 8.
int DefaultApplyWorkers();

// Parses argv into *out. Returns nullopt to go on, or the exit code when the
// process should stop now: 0 after --help or --version (printed to out), 2
// after an error (printed to err with a pointer to --help). Reads the
// environment and the config file as the header comment says.
std::optional<int> ParseCommandLine(int argc, const char* const* argv, CommandLine* cli, std::ostream& out,
                                    std::ostream& err);

}  // namespace leadflow::app

#endif  // LEADFLOW_APP_CLI_H_
