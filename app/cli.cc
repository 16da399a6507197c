#include "app/cli.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <set>
#include <thread>

#include <CLI/CLI.hpp>

#include "ingest/memory_budget.h"
#include "views/records.h"

#ifndef LEADFLOW_VERSION
#define LEADFLOW_VERSION "0.0.0"
#endif

namespace leadflow::app {

const char* Version() { return LEADFLOW_VERSION; }

int DefaultApplyWorkers() {
  // A second worker gives ~1.5-1.75x on the 2-core machine (docs/design.md).
  return static_cast<int>(std::clamp<unsigned>(std::thread::hardware_concurrency(), 1, 8));
}

namespace {

std::string EnvName(const std::string& flag) {
  std::string env = "LEADFLOW_";
  for (char c : flag) env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return env;
}

// A flag with its environment variable; its default (the variable's value
// now) is shown by --help.
template <class T>
CLI::Option* Add(CLI::App* app, const std::string& name, T& var, const std::string& help) {
  return app->add_option("--" + name, var, help)->envname(EnvName(name))->capture_default_str();
}

// An integer flag from lo to hi.
template <class T>
CLI::Option* AddInt(CLI::App* app, const std::string& name, T& var, int64_t lo, int64_t hi, const std::string& help) {
  return Add(app, name, var, help)->check(CLI::Range(lo, hi));
}

// --memory-budget: a size MemoryBudget::Parse accepts, into bytes.
CLI::Option* AddBudget(CLI::App* app, uint64_t* bytes) {
  *bytes = ingest::MemoryBudget::kDefaultBytes;
  CLI::Option* o = app->add_option_function<std::string>(
      "--memory-budget", [bytes](const std::string& text) { *bytes = *ingest::MemoryBudget::Parse(text); },
      "Memory for what grows with the state and the stream: decoded leads (LRU), RocksDB memtables and block "
      "cache, the reports' decoded bitmaps, Kafka prefetch, batches in flight (ingest/memory_budget.h). "
      "MiB, or with a unit: 512M, 2G; 128M to 1048576M");
  o->envname("LEADFLOW_MEMORY_BUDGET")->default_str("2G")->type_name("SIZE");
  o->check(CLI::Validator(
      [](std::string& text) -> std::string {
        if (ingest::MemoryBudget::Parse(text)) return "";
        return "must be a size from 128M to 1048576M (MiB, or with a unit: 512M, 2G), got '" + text + "'";
      },
      ""));
  return o;
}

CLI::Option* AddMinFreeDisk(CLI::App* app, int64_t& mb) {
  return AddInt(app, "min-free-disk-mb", mb, 1, 10'000'000,
                "Free space (MB) the data directory needs: below it start is refused and ingest pauses, and a "
                "checkpoint that would pass it waits until space is freed");
}

CLI::Option* AddApplyWorkers(CLI::App* app, int& workers) {
  workers = DefaultApplyWorkers();
  return AddInt(app, "apply-workers", workers, 1, 64,
                "Threads that decode and apply events and write each batch, in parallel (default: the "
                "processors, at most 8); the state is the same for any number");
}

CLI::Option* AddDataDir(CLI::App* app, std::string& dir) {
  return Add(app, "data-dir", dir, "RocksDB state directory (required)");
}

void AddCommon(CLI::App* app, CommonOptions* common) {
  Add(app, "config", common->config,
      "Config file (TOML or INI) with flags as `name = value`: top-level keys, or a [serve], [ingest] or "
      "[shards] section; the command line and LEADFLOW_* variables win over it")
      ->type_name("FILE");
  Add(app, "log-format", common->log_format, "Log lines as text or as one JSON object each")
      ->check(CLI::IsMember({"text", "json"}));
  Add(app, "log-level", common->log_level, "Least severe level logged (librdkafka's own lines too)")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
}

void AddServe(CLI::App* app, ServeOptions* o) {
  Add(app, "brokers", o->brokers, "Kafka bootstrap servers HOST:PORT[,...] (required)");
  Add(app, "topic", o->topic, "Events topic (any number of partitions)");
  Add(app, "dlq-topic", o->dlq_topic, "Dead-letter topic");
  Add(app, "group", o->group, "Kafka consumer group");
  Add(app, "instance-id", o->instance_id,
      "Static group membership id (group.instance.id): a restart with the same id within the session timeout "
      "takes its partitions back without a rebalance; two live processes must never share one (default: derived "
      "from the host name and the data directory)");
  AddDataDir(app, o->data_dir);
  Add(app, "listen", o->listen, "HTTP address HOST:PORT (port 0: any free one, logged)");
  Add(app, "credentials", o->credentials, "Credentials file: API keys per org (required; docs/credentials.example.json)")
      ->type_name("FILE");
  AddInt(app, "threads", o->threads, 1, 256, "HTTP I/O threads");
  Add(app, "web-dir", o->web_dir,
      "Serve the dashboard's files (/, /assets/...) from this directory, read at each request, instead of the "
      "copy built in (for working on the page: web/ of the source tree)")
      ->type_name("DIR");
  AddInt(app, "stream-min-interval-ms", o->stream_min_interval_ms, 0, 60'000,
         "Report streams: the least time between two events of one stream; changes in between are sent as one");
  AddInt(app, "stream-heartbeat-ms", o->stream_heartbeat_ms, 100, 600'000,
         "Report streams: a heartbeat comment after this long without an event (keeps proxies from closing "
         "idle streams, and finds clients that went away)");
  AddInt(app, "lsq-rate-limit", o->lsq_rate_limit, 1, 1'000'000,
         "Leads Not Contacted calls allowed per org per window");
  AddInt(app, "lsq-rate-window", o->lsq_rate_window, 1, 1'000'000, "Length of that sliding window, in seconds");
  AddInt(app, "close-rate-limit", o->close_rate_limit, 0, 1'000'000,
         "Close endpoints: calls allowed per API key per endpoint group (method and path) per window, an org's "
         "keys together 3 times as many; 0: no limit");
  AddInt(app, "close-rate-window", o->close_rate_window, 1, 86'400, "Length of that fixed window, in seconds");
  Add(app, "kafka-config", o->kafka_config,
      "librdkafka properties for the consumer and the dead-letter producer, one KEY=VALUE a line (# comments), "
      "after leadflow's own: SASL, TLS and tuning without secrets on the command line")
      ->type_name("FILE");
  app->add_option("--kafka-prop", o->kafka_props,
      "A librdkafka property for the consumer and the dead-letter producer, after the --kafka-config file's; may "
      "be repeated (in the environment: one per line)")
      ->envname("LEADFLOW_KAFKA_PROP")
      ->type_name("KEY=VALUE")
      ->delimiter('\n')
      ->transform(CLI::Validator(
          [](std::string& kv) -> std::string {
            if (!kv.empty() && kv.back() == '\r') kv.pop_back();
            const size_t eq = kv.find('=');
            // The value may be a secret: never echoed.
            if (eq == std::string::npos || eq == 0) return "must be KEY=VALUE (a value was given without '=')";
            return "";
          },
          ""));
  AddInt(app, "dlq-max-message-bytes", o->dlq_max_message_bytes, 4096, 100'000'000,
         "Largest dead-letter envelope; a bigger original is cut to fit");
  AddMinFreeDisk(app, o->min_free_disk_mb);
  AddApplyWorkers(app, o->apply_workers);
  AddBudget(app, &o->memory_budget_bytes);
  AddInt(app, "checkpoint-interval-ms", o->checkpoint_interval_ms, 1, 60'000,
         "How often live batches, applied in memory and served at once, are written to RocksDB with their "
         "positions; a kill -9 replays at most that much");
  Add(app, "tls-cert", o->tls_cert, "PEM certificate chain: serve HTTPS instead of HTTP (with --tls-key)")
      ->type_name("FILE");
  Add(app, "tls-key", o->tls_key, "PEM private key of --tls-cert")->type_name("FILE");
  Add(app, "advertise", o->advertise,
      "HOST:PORT the other instances of a cluster reach this one's HTTP at; setting it makes this instance one "
      "of several sharing --topic and --group (README, \"Running a cluster\"); empty: a single instance that "
      "owns the whole topic")
      ->type_name("HOST:PORT");
  Add(app, "cluster-topic", o->cluster_topic,
      "The cluster's compacted metadata topic (1 partition), created if absent (default: <topic>.leadflow-cluster.<group>)");
  Add(app, "partitioner", o->partitioner,
      "How the producers pick an org's partition from its org_id key: consistent (CRC32: librdkafka, kcat, "
      "leadflow-gen), murmur2 (the Java client, Kafka Streams), fnv1a (Sarama); every instance must agree")
      ->check(CLI::IsMember({"consistent", "murmur2", "fnv1a"}));
  AddInt(app, "heartbeat-ms", o->heartbeat_ms, 50, 60'000,
         "How often a cluster instance publishes its member record (address, owned partitions, lag)");
  AddInt(app, "member-timeout-ms", o->member_timeout_ms, 100, 600'000,
         "A cluster instance with no member record for this long is taken as gone (more than --heartbeat-ms)");
  AddInt(app, "forward-connect-timeout-ms", o->forward_connect_timeout_ms, 10, 60'000,
         "Cluster mode: how long connecting to the owner of a request's org may take before the request is "
         "answered 503");
  AddInt(app, "forward-timeout-ms", o->forward_timeout_ms, 100, 600'000,
         "Cluster mode: how long the owner of a request's org may take to answer it before it is answered 503");
  AddInt(app, "standby-replicas", o->standby_replicas, 0, 16,
         "Cluster mode: warm copies of every partition's shard kept on other instances (each applies the "
         "partition too); when an owner dies, its orgs are answered from a copy within seconds, and a copy "
         "that the group then assigns takes over without a replay");
  Add(app, "peer-ca", o->peer_ca,
      "Cluster mode: PEM CA certificates that verify the other instances' certificates when they serve HTTPS "
      "(--tls-cert), for forwarded requests (default: the system's CAs)")
      ->type_name("FILE");
  AddInt(app, "max-stale-messages", o->max_stale_messages, 0, 1'000'000'000,
         "Cluster mode: the most messages of its partition a standby copy may lag and still answer for an org "
         "whose owner is dead or restoring (else 503)");
  AddInt(app, "drain-ms", o->drain_ms, 0, 600'000,
         "Cluster mode: on SIGTERM, how long the instance goes on answering while it tells the others it is "
         "leaving (its member record says draining, so they send its orgs' requests to standby copies; /readyz "
         "answers 503) before it stops; a second signal stops it at once");
  AddInt(app, "dormant-shard-ttl-ms", o->dormant_shard_ttl_ms, 0, int64_t{1} << 40,
         "Cluster mode: how long a partition's state kept here while neither owned nor copied (dormant) waits to "
         "be taken up again (then it resumes from its position) before it is dropped (then it is replayed); 0: "
         "never dropped");
}

void AddIngest(CLI::App* app, IngestOptions* o) {
  Add(app, "file", o->file, "NDJSON events, one per line; - for stdin (required)")->type_name("FILE");
  AddDataDir(app, o->data_dir);
  Add(app, "dead-letters", o->dead_letters, "Write invalid lines here, one JSON envelope each (default: drop them)")
      ->type_name("FILE");
  app->add_option_function<int64_t>(
         "--batch", [o](int64_t v) { o->batch = v; },
         "Events per write batch (default: from the memory budget, one per 5 KiB of it)")
      ->envname("LEADFLOW_BATCH")
      ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}));
  AddMinFreeDisk(app, o->min_free_disk_mb);
  AddApplyWorkers(app, o->apply_workers);
  AddBudget(app, &o->memory_budget_bytes);
}

void AddShards(CLI::App* app, ShardsOptions* o) {
  AddDataDir(app, o->data_dir);
  app->add_option_function<int64_t>(
         "--drop", [o](int64_t v) { o->drop = v; },
         "Delete this shard's state (no service may run on the directory); the next `leadflow serve` rebuilds "
         "it from its partition")
      ->envname("LEADFLOW_DROP")
      ->type_name("SHARD")
      ->check(CLI::Range(int64_t{0}, static_cast<int64_t>(views::kMaxShard)));
}

// The config file's values for the flags of sub not given on the command
// line or in the environment (CLI11 has applied those). Throws CLI errors.
void ApplyConfigFile(CLI::App* sub, const std::string& path) {
  if (path.empty()) return;
  {
    std::ifstream probe(path);
    if (!probe) throw CLI::FileError("--config: cannot read " + path);
  }
  const std::vector<CLI::ConfigItem> items = CLI::ConfigTOML().from_file(path);
  std::set<std::string> subcommands;
  for (const CLI::App* s : sub->get_parent()->get_subcommands({})) subcommands.insert(s->get_name());
  for (const CLI::ConfigItem& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // section markers
    if (!item.parents.empty()) {
      if (item.parents.size() != 1 || !subcommands.count(item.parents[0])) {
        std::string sections;
        for (const std::string& name : subcommands) sections += (sections.empty() ? "[" : ", [") + name + "]";
        throw CLI::ConfigError("--config " + path + ": unknown section or key '" + item.fullname() +
                               "' (sections: " + sections + ")");
      }
      if (item.parents[0] != sub->get_name()) continue;
    }
    CLI::Option* opt = item.name == "config" ? nullptr : sub->get_option_no_throw("--" + item.name);
    if (opt == nullptr || opt->get_name() == "--help") {
      throw CLI::ConfigError("--config " + path + ": '" + item.name + "' is not a flag of leadflow " +
                             sub->get_name());
    }
    if (opt->count() > 0) continue;  // the command line or the environment gave it
    try {
      opt->add_result(item.inputs);
      opt->run_callback();
    } catch (const CLI::Error& e) {
      throw CLI::ValidationError(std::string(e.what()) + " (from --config " + path + ")");
    }
  }
}

}  // namespace

std::optional<int> ParseCommandLine(int argc, const char* const* argv, CommandLine* cli, std::ostream& out,
                                    std::ostream& err) {
  CLI::App app("leadflow: Close's lead status change report and LeadSquared's Leads Not Contacted, from lead "
               "events in Kafka, served over HTTP",
               "leadflow");
  app.set_version_flag("--version", std::string("leadflow ") + Version());
  app.require_subcommand(1, 1);
  app.footer(
      "Every flag also reads LEADFLOW_<FLAG> from the environment (e.g. LEADFLOW_DATA_DIR) and the --config "
      "file; the command line wins, then the environment, then the file. `leadflow SUBCOMMAND --help` lists a "
      "subcommand's flags.");
  CLI::App* serve = app.add_subcommand("serve", "Run the service: consume the topic, keep the views, serve reports");
  CLI::App* ingest = app.add_subcommand("ingest", "Apply an NDJSON file of events to a data directory, then exit");
  CLI::App* shards = app.add_subcommand("shards", "List a data directory's shards (one JSON line each), or drop one");
  // Each subcommand binds its own copy of the common flags: CLI11 reads the
  // environment for every subcommand, parsed or not, so one shared copy
  // would take an environment value over the parsed subcommand's flag.
  CommonOptions common[3];
  CLI::App* const subs[3] = {serve, ingest, shards};
  for (int i = 0; i < 3; ++i) {
    CLI::App* sub = subs[i];
    AddCommon(sub, &common[i]);
    sub->footer(
        "Each flag reads LEADFLOW_<FLAG> from the environment too, and --config FILE; the command line wins, "
        "then the environment, then the file, then the default shown.");
  }
  AddServe(serve, &cli->serve);
  AddIngest(ingest, &cli->ingest);
  AddShards(shards, &cli->shards);

  try {
    app.parse(argc, argv);
    const int parsed = serve->parsed() ? 0 : ingest->parsed() ? 1 : 2;
    CLI::App* sub = subs[parsed];
    ApplyConfigFile(sub, common[parsed].config);
    cli->common = common[parsed];
    auto require = [&](const std::string& value, const char* flag) {
      if (value.empty()) {
        throw CLI::RequiredError(std::string(flag) + " is required (or " +
                                 EnvName(std::string(flag).substr(2)) + ", or in the --config file)");
      }
    };
    if (sub == serve) {
      cli->command = CommandLine::Command::kServe;
      require(cli->serve.brokers, "--brokers");
      require(cli->serve.data_dir, "--data-dir");
      require(cli->serve.credentials, "--credentials");
      if (cli->serve.tls_cert.empty() != cli->serve.tls_key.empty()) {
        throw CLI::ValidationError("--tls-cert and --tls-key go together: give both or neither");
      }
      if (!cli->serve.advertise.empty()) {
        const std::string& a = cli->serve.advertise;
        const size_t colon = a.rfind(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == a.size() ||
            a.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
          throw CLI::ValidationError("--advertise: must be HOST:PORT, got '" + a + "'");
        }
      }
      if (cli->serve.standby_replicas > 0 && cli->serve.advertise.empty()) {
        throw CLI::ValidationError("--standby-replicas needs --advertise: standby copies are kept by the other "
                                   "instances of a cluster");
      }
      if (cli->serve.member_timeout_ms <= cli->serve.heartbeat_ms) {
        throw CLI::ValidationError("--member-timeout-ms (" + std::to_string(cli->serve.member_timeout_ms) +
                                   ") must be greater than --heartbeat-ms (" +
                                   std::to_string(cli->serve.heartbeat_ms) + ")");
      }
    } else if (sub == ingest) {
      cli->command = CommandLine::Command::kIngest;
      require(cli->ingest.file, "--file");
      require(cli->ingest.data_dir, "--data-dir");
    } else {
      cli->command = CommandLine::Command::kShards;
      require(cli->shards.data_dir, "--data-dir");
    }
  } catch (const CLI::CallForHelp&) {
    CLI::App* sub = serve->parsed() ? serve : ingest->parsed() ? ingest : shards->parsed() ? shards : &app;
    out << (sub == &app ? app.help() : sub->help("leadflow"));
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::CallForVersion& e) {
    out << e.what() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    err << "leadflow: " << e.what() << "\nRun `leadflow --help` or `leadflow SUBCOMMAND --help` for the flags.\n";
    return 2;
  }
  return std::nullopt;
}

}  // namespace leadflow::app
