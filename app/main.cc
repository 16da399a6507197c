// leadflow: main() only wires the modules together. The command line, its
// environment variables and config file: app/cli.h (`leadflow --help`).
//
// Shutdown is one sequence: signal -> stop accepting HTTP -> stop and close
// the consumer -> join -> close the store.
#include <signal.h>

#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <thread>
#include <variant>

#include <librdkafka/rdkafkacpp.h>
#include <nlohmann/json.hpp>
#include <rocksdb/version.h>

#include "api/credentials.h"
#include "api/forwarder.h"
#include "api/close_rate_limit.h"
#include "api/rate_limiter.h"
#include "api/report_stream.h"
#include "api/server.h"
#include "app/allocator.h"
#include "app/cli.h"
#include "ingest/cluster_view.h"
#include "ingest/detail/routing.h"
#include "ingest/file_ingest.h"
#include "ingest/kafka_config.h"
#include "ingest/home_partition.h"
#include "ingest/kafka_ingest.h"
#include "ingest/memory_budget.h"
#include "ingest/prom_text.h"
#include "ingest/shard.h"
#include "state/disk.h"
#include "state/log.h"
#include "state/store.h"
#include "views/write/applier.h"
#include "views/records.h"

namespace leadflow {
namespace {

using ingest::PromLabel;

int Fail(const std::string& message) {
  LogError(message);
  return 2;
}

void AppendCounter(std::string* out, const char* name, const char* help, const char* type, uint64_t v) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
          std::to_string(v) + "\n";
}

// The same for a value that may have a fraction (printed with 3 decimals;
// a whole number without).
void AppendValue(std::string* out, const char* name, const char* help, const char* type, double v) {
  std::ostringstream line;
  if (v == static_cast<double>(static_cast<int64_t>(v))) {
    line << static_cast<int64_t>(v);
  } else {
    line << std::fixed << std::setprecision(3) << v;
  }
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
          line.str() + "\n";
}

// The standard process_* metrics (as Prometheus' client libraries name
// them), from /proc/self, and leadflow_build_info.
void AppendProcessMetrics(std::string* out) {
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // Fields after the command (which may hold spaces), from field 3 (state).
  const size_t close = stat.rfind(')');
  std::vector<std::string> f;
  if (close != std::string::npos) {
    std::istringstream rest(stat.substr(close + 2));
    for (std::string v; rest >> v;) f.push_back(v);
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  auto field = [&](size_t n) { return n - 3 < f.size() ? std::stod(f[n - 3]) : 0.0; };  // n: 1-based, man proc
  if (f.size() > 21) {
    AppendValue(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter",
          (field(14) + field(15)) / ticks);
    AppendValue(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge", field(23));
    AppendValue(out, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", field(24) * page);
    struct sysinfo info {};
    if (sysinfo(&info) == 0) {
      const double boot = static_cast<double>(std::time(nullptr) - info.uptime);
      AppendValue(out, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge",
            boot + field(22) / ticks);
    }
  }
  std::error_code ec;
  size_t fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  AppendValue(out, "process_open_fds", "Number of open file descriptors.", "gauge", static_cast<double>(fds));
  struct rlimit limit {};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    AppendValue(out, "process_max_fds", "Maximum number of open file descriptors.", "gauge",
                static_cast<double>(limit.rlim_cur));
  }
  *out += "# HELP leadflow_build_info The build: leadflow's version and its libraries' (always 1).\n"
          "# TYPE leadflow_build_info gauge\n"
          "leadflow_build_info{version=\"" + PromLabel(app::Version()) + "\",rocksdb=\"" +
          std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) + "." + std::to_string(ROCKSDB_PATCH) +
          "\",librdkafka=\"" + PromLabel(RdKafka::version_str()) +
          "\",compiler=\"" + PromLabel(__VERSION__) + "\",allocator=\"" + PromLabel(app::AllocatorDescription()) +
          "\"} 1\n";
}

void AppendIngestHealth(std::string* out, const ingest::IngestHealth& h, const std::string& data_dir) {
  AppendCounter(out, "leadflow_consumer_lag_messages",
                "Messages of the topic not yet applied (last known value while the broker cannot be asked).", "gauge",
                static_cast<uint64_t>(std::max<int64_t>(0, h.lag_messages)));
  if (!h.partitions.empty()) {
    *out += "# HELP leadflow_consumer_partition_lag_messages Messages of a partition not yet applied.\n"
            "# TYPE leadflow_consumer_partition_lag_messages gauge\n";
    for (const auto& p : h.partitions) {
      *out += "leadflow_consumer_partition_lag_messages{topic=\"" + PromLabel(h.topic) + "\",partition=\"" +
              std::to_string(p.partition) + "\"} " + std::to_string(std::max<int64_t>(0, p.end - p.next)) + "\n";
    }
    *out += "# HELP leadflow_consumer_partition_position The next offset of a partition to apply (the stored "
            "position).\n# TYPE leadflow_consumer_partition_position gauge\n";
    for (const auto& p : h.partitions) {
      *out += "leadflow_consumer_partition_position{topic=\"" + PromLabel(h.topic) + "\",partition=\"" +
              std::to_string(p.partition) + "\"} " + std::to_string(p.next) + "\n";
    }
    *out += "# HELP leadflow_consumer_partition_assigned 1 while this process consumes the partition (0: another "
            "member of the consumer group does, or none yet).\n# TYPE leadflow_consumer_partition_assigned gauge\n";
    for (const auto& p : h.partitions) {
      *out += "leadflow_consumer_partition_assigned{topic=\"" + PromLabel(h.topic) + "\",partition=\"" +
              std::to_string(p.partition) + "\"} " + (p.assigned ? "1" : "0") + "\n";
    }
  }
  if (h.newest_applied_ms >= 0) {
    const double ts = static_cast<double>(h.newest_applied_ms) / 1000.0;
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    AppendValue(out, "leadflow_consumer_newest_applied_message_timestamp_seconds",
                "Kafka timestamp of the newest message applied since start.", "gauge", ts);
    AppendValue(out, "leadflow_consumer_newest_applied_message_age_seconds",
                "Seconds since the Kafka timestamp of the newest message applied (how far the state trails the "
                "topic's clock).",
                "gauge", std::max(0.0, now - ts));
  }
  AppendCounter(out, "leadflow_ready", "1 once caught up.", "gauge", h.ready ? 1 : 0);
  AppendCounter(out, "leadflow_consumer_up", "1 while the consumer is assigned and consuming.", "gauge",
                h.state == ingest::ConsumerState::kRunning ? 1 : 0);
  *out += "# HELP leadflow_consumer_state The consumer's state (1 for the current one).\n"
          "# TYPE leadflow_consumer_state gauge\n";
  for (auto st : {ingest::ConsumerState::kStarting, ingest::ConsumerState::kRunning,
                  ingest::ConsumerState::kRestarting, ingest::ConsumerState::kDeadLetterBlocked,
                  ingest::ConsumerState::kRerouteBlocked,
                  ingest::ConsumerState::kDiskFull, ingest::ConsumerState::kStoreError,
                  ingest::ConsumerState::kStopped}) {
    *out += std::string("leadflow_consumer_state{state=\"") + ingest::ConsumerStateName(st) + "\"} " +
            (st == h.state ? "1" : "0") + "\n";
  }
  AppendCounter(out, "leadflow_consumer_restarts_total", "Consumer sessions that ended in a fault and were restarted.",
                "counter", h.restarts);
  AppendCounter(out, "leadflow_consumer_group_commits_total",
                "Commits of the applied positions to the consumer group (for Kafka's tools; at most one a second).",
                "counter", h.group_commits);
  AppendCounter(out, "leadflow_dead_letter_failures_total",
                "Dead letters the dead-letter topic did not take (each blocks ingest until retried).", "counter",
                h.dead_letter_failures);
  *out += "# HELP leadflow_consumer_seconds_since_progress Seconds since a message was last consumed or a batch "
          "committed.\n# TYPE leadflow_consumer_seconds_since_progress gauge\nleadflow_consumer_seconds_since_progress " +
          std::to_string(h.seconds_since_progress) + "\n";
  if (auto free = state::FreeBytes(data_dir)) {
    AppendCounter(out, "leadflow_disk_free_bytes", "Free bytes on the data directory's file system.", "gauge", *free);
  }
}

// State writes per family (operations and bytes since the process opened
// the store): what ingest costs the store, e.g. keys written per event.
void AppendStateWrites(std::string* out, const state::WriteCounters& c) {
  AppendCounter(out, "leadflow_state_write_batches_total", "Atomic state writes (one per committed batch).",
                "counter", c.batches);
  *out += "# HELP leadflow_state_write_ops_total State keys put or deleted, per column family.\n"
          "# TYPE leadflow_state_write_ops_total counter\n";
  for (size_t i = 0; i < static_cast<size_t>(state::Cf::kCount); ++i) {
    *out += std::string("leadflow_state_write_ops_total{family=\"") + state::CfName(static_cast<state::Cf>(i)) +
            "\"} " + std::to_string(c.ops[i]) + "\n";
  }
  *out += "# HELP leadflow_state_write_bytes_total Key and value bytes written to the state, per column family.\n"
          "# TYPE leadflow_state_write_bytes_total counter\n";
  for (size_t i = 0; i < static_cast<size_t>(state::Cf::kCount); ++i) {
    *out += std::string("leadflow_state_write_bytes_total{family=\"") + state::CfName(static_cast<state::Cf>(i)) +
            "\"} " + std::to_string(c.bytes[i]) + "\n";
  }
}

// Live batches staged in memory and their checkpoints (state/store.h Stage).
void AppendCheckpoints(std::string* out, const state::Store::CheckpointStats& c) {
  AppendCounter(out, "leadflow_state_checkpoints_total",
                "Checkpoints: staged live batches written to RocksDB with their positions, in one atomic write.",
                "counter", c.checkpoints);
  AppendCounter(out, "leadflow_state_checkpoint_failures_total",
                "Checkpoints that failed (ingest stops until one succeeds; the batches stay served from memory).",
                "counter", c.failures);
  AppendCounter(out, "leadflow_state_staged_batches_total", "Batches applied in memory ahead of a checkpoint.",
                "counter", c.staged_batches);
  AppendCounter(out, "leadflow_state_staged_bytes", "Estimated memory of the batches not checkpointed yet.", "gauge",
                c.staged_bytes);
  AppendCounter(out, "leadflow_state_staged_keys", "State keys with changes not checkpointed yet.", "gauge",
                c.staged_keys);
  *out += "# HELP leadflow_state_last_checkpoint_seconds Time the last checkpoint's write took.\n"
          "# TYPE leadflow_state_last_checkpoint_seconds gauge\n"
          "leadflow_state_last_checkpoint_seconds " +
          std::to_string(c.last_seconds) + "\n";
}

// RocksDB's own numbers an operator watches: compaction debt and work,
// level 0 files (reads slow down and writes stall as they pile up),
// memtables, files on disk, the block cache, stopped writes, background
// errors.
void AppendRocksDb(std::string* out, const state::Store& store) {
  auto family = [&](const char* name, const char* help, const char* property) {
    *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n";
    for (const auto& [cf, v] : store.FamilyIntProperty(property)) {
      *out += std::string(name) + "{family=\"" + cf + "\"} " + std::to_string(v) + "\n";
    }
  };
  family("leadflow_rocksdb_pending_compaction_bytes", "Bytes RocksDB estimates its compactions must rewrite.",
         "rocksdb.estimate-pending-compaction-bytes");
  family("leadflow_rocksdb_level0_files", "Table files in level 0 (a read checks each; compactions merge them down).",
         "rocksdb.num-files-at-level0");
  family("leadflow_rocksdb_memtable_bytes", "Bytes in memtables (active and immutable).",
         "rocksdb.cur-size-all-mem-tables");
  family("leadflow_rocksdb_sst_bytes", "Bytes of table files.", "rocksdb.total-sst-files-size");
  auto db = [&](const char* name, const char* help, const char* type, const char* property) {
    if (auto v = store.DbIntProperty(property)) AppendCounter(out, name, help, type, *v);
  };
  db("leadflow_rocksdb_running_compactions", "Compactions running.", "gauge", "rocksdb.num-running-compactions");
  db("leadflow_rocksdb_running_flushes", "Memtable flushes running.", "gauge", "rocksdb.num-running-flushes");
  db("leadflow_rocksdb_block_cache_usage_bytes", "Bytes in the block cache.", "gauge", "rocksdb.block-cache-usage");
  db("leadflow_rocksdb_write_stopped", "1 while RocksDB stops writes (too many level 0 files or pending bytes).",
     "gauge", "rocksdb.is-write-stopped");
  db("leadflow_rocksdb_background_errors", "Background errors (flush or compaction) since open.", "gauge",
     "rocksdb.background-errors");
}

// The reports' bitmap cache (state/bitmap_cache.h).
void AppendBitmapCache(std::string* out, const state::BitmapCache::Stats& c) {
  AppendCounter(out, "leadflow_bitmap_cache_hits_total", "Bitmaps a report read decoded from the bitmap cache.",
                "counter", c.hits);
  AppendCounter(out, "leadflow_bitmap_cache_misses_total",
                "Bitmaps a report read from RocksDB (not cached, or changed since).", "counter", c.misses);
  AppendCounter(out, "leadflow_bitmap_cache_bytes", "Estimated memory of the bitmap cache.", "gauge", c.bytes);
  AppendCounter(out, "leadflow_bitmap_cache_entries", "Bitmaps in the bitmap cache.", "gauge", c.entries);
}

// The memory budget and its split (ingest/memory_budget.h), so that an
// operator can compare it with the process's resident memory.
void AppendMemoryBudget(std::string* out, const ingest::MemoryBudget& b) {
  *out += "# HELP leadflow_memory_budget_bytes The --memory-budget and its parts.\n"
          "# TYPE leadflow_memory_budget_bytes gauge\n";
  const std::pair<const char*, uint64_t> parts[] = {{"total", b.total},
                                                    {"lead_cache", b.lead_cache},
                                                    {"write_buffers", b.write_buffers},
                                                    {"block_cache", b.block_cache},
                                                    {"bitmap_cache", b.bitmap_cache},
                                                    {"prefetch", b.prefetch},
                                                    {"report_cache", b.report_cache},
                                                    {"staged", b.staged_bytes}};
  for (const auto& [name, bytes] : parts) {
    *out += std::string("leadflow_memory_budget_bytes{part=\"") + name + "\"} " + std::to_string(bytes) + "\n";
  }
}

// Opens the state in dir and checks its layout (views::CheckStateFormat);
// on failure returns false with the message for Fail.
bool OpenState(const std::string& dir, uint64_t min_free_bytes, const state::Store::Options& options,
               std::unique_ptr<state::Store>* store, std::string* error) {
  // A disk that cannot take writes is refused here, with the reason, before
  // RocksDB's recovery tries to write to it.
  Status s = state::CheckWritable(dir, min_free_bytes);
  if (!s.ok()) {
    *error = "cannot use " + dir + " for state: " + s.message() + "; free space and start again";
    return false;
  }
  s = state::Store::Open(dir, options, store);
  if (!s.ok()) {
    *error = "cannot open state in " + dir + ": " + s.ToString();
    return false;
  }
  s = views::CheckStateFormat(store->get());
  if (!s.ok()) {
    *error = "state in " + dir + ": " + s.ToString();
    return false;
  }
  return true;
}

// A stable static-membership id for this host and state directory, so that a
// restart after a crash takes its partitions back at once. Only one process
// can hold a data directory (RocksDB locks it), so two live members never
// share the id.
std::string InstanceId(const std::string& data_dir) {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  std::error_code ec;
  std::string path = std::filesystem::weakly_canonical(data_dir, ec).string();
  if (ec) path = data_dir;
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (char c : std::string(host) + "|" + path) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "leadflow-%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Cluster mode: why org is not answered when some member saw its events
// on partitions other than its home (its state would be split between
// shards); nullopt when it was not.
std::optional<std::string> SplitOrgReason(const ingest::detail::ClusterSnapshot& snap, const std::string& org,
                                          int32_t home) {
  auto it = snap.split_orgs.find(org);
  if (it == snap.split_orgs.end()) return std::nullopt;
  std::string parts;
  for (int32_t p : it->second) parts += (parts.empty() ? "" : ", ") + std::to_string(p);
  return "org " + org + " has events on partition " + parts + " besides its home partition " + std::to_string(home) +
         " in a data directory that applied them before it was in a cluster (a cluster re-routes them), so its "
         "state is split between shards: rebuild that data directory (docs/operations.md, \"Running a cluster\")";
}

int Serve(const app::ServeOptions& o) {
  const std::string& data_dir = o.data_dir;
  api::Credentials credentials;
  Status s = api::Credentials::LoadFile(o.credentials, &credentials);
  if (!s.ok()) return Fail(s.ToString());

  // Signals are taken by sigwait below; every thread started later inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const uint64_t min_free_bytes = static_cast<uint64_t>(o.min_free_disk_mb) << 20;
  // The consumer's and the dead-letter producer's librdkafka properties:
  // the file's first, then each --kafka-prop (a later setting wins).
  ingest::KafkaProperties kafka_props;
  if (!o.kafka_config.empty()) {
    Status c = ingest::ReadKafkaConfig(o.kafka_config, &kafka_props);
    if (!c.ok()) return Fail("--kafka-config: " + c.ToString());
  }
  for (const std::string& kv : o.kafka_props) {  // KEY=VALUE (app/cli.cc checked)
    const size_t eq = kv.find('=');
    kafka_props.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }

  const ingest::MemoryBudget budget = ingest::MemoryBudget::Split(o.memory_budget_bytes);
  std::unique_ptr<state::Store> store;
  std::string error;
  state::Store::Options store_options = budget.StoreOptions();
  store_options.checkpoint_interval_ms = o.checkpoint_interval_ms;
  store_options.min_free_disk_bytes = min_free_bytes;
  store_options.bitmap_cache_bytes = budget.bitmap_cache;  // the reports' (ingest --file serves none)
  if (!OpenState(data_dir, min_free_bytes, store_options, &store, &error)) return Fail(error);
  LogInfo("memory budget " + budget.Describe() + "; allocator " + app::AllocatorDescription());

  ingest::Stats stats;
  ingest::KafkaIngestOptions kopts;
  kopts.brokers = o.brokers;
  kopts.topic = o.topic;
  // A data directory's shards are the partitions of one topic.
  if (Status bound = ingest::CheckShardTopic(*store, kopts.topic); !bound.ok()) return Fail(bound.message());
  kopts.dlq_topic = o.dlq_topic;
  kopts.group = o.group;
  kopts.instance_id = o.instance_id.empty() ? InstanceId(data_dir) : o.instance_id;
  kopts.kafka_properties = kafka_props;
  kopts.dlq_max_message_bytes = static_cast<size_t>(o.dlq_max_message_bytes);
  kopts.data_dir = data_dir;
  kopts.min_free_disk_bytes = min_free_bytes;
  kopts.apply_workers = static_cast<size_t>(o.apply_workers);
  kopts.lead_cache_bytes = budget.lead_cache;
  kopts.prefetch_bytes = budget.prefetch;
  kopts.batch_max_messages = static_cast<size_t>(budget.batch_events);
  if (const char* inject = std::getenv("LEADFLOW_FAULT_FATAL_AFTER_BATCHES")) {
    kopts.fault_fatal_after_batches = std::atoi(inject);  // tests only (kafka_ingest.h)
  }
  if (const char* inject = std::getenv("LEADFLOW_FAULT_CONSUME_DELAY_US")) {
    kopts.fault_consume_delay_us = std::atoi(inject);  // tests only (kafka_ingest.h)
  }
  kopts.cluster_mode = !o.advertise.empty();
  if (kopts.cluster_mode) kopts.home_partitioner = ingest::ParsePartitioner(o.partitioner);  // app/cli.cc checked
  kopts.dormant_shard_ttl_ms = o.dormant_shard_ttl_ms;
  // Which orgs each landed batch changed, for the report cache (and the
  // pushed reports of issue 14); the cache itself.
  views::ChangeFeed change_feed;
  kopts.change_feed = &change_feed;
  api::ReportCache report_cache(budget.report_cache);
  api::ReportStreams streams;
  streams.Follow(&change_feed);  // streams are woken by the ingest's notes, not polled
  std::unique_ptr<ingest::ClusterView> cluster;  // cluster mode (below)
  if (kopts.cluster_mode && o.standby_replicas > 0) {
    kopts.standby_partitions = [&cluster] { return cluster ? cluster->WantedStandbys() : std::vector<int32_t>(); };
  }
  std::unique_ptr<ingest::KafkaIngest> kafka;
  s = ingest::KafkaIngest::Create(kopts, store.get(), &stats, &kafka);
  if (!s.ok()) return Fail(s.ToString());

  // Cluster mode (issue 13): this instance's part in the cluster's
  // metadata topic, and its view of the other instances.
  std::atomic<bool> cluster_conflict{false};
  if (kopts.cluster_mode) {
    ingest::ClusterViewOptions copts;
    copts.brokers = o.brokers;
    copts.topic = o.topic;
    copts.cluster_topic = o.cluster_topic;
    copts.group = o.group;
    copts.instance_id = kopts.instance_id;
    copts.advertise = o.advertise;
    copts.scheme = o.tls_cert.empty() ? "http" : "https";
    copts.version = app::Version();
    copts.partitioner = *ingest::ParsePartitioner(o.partitioner);  // app/cli.cc checked
    copts.heartbeat_ms = o.heartbeat_ms;
    copts.member_timeout_ms = o.member_timeout_ms;
    copts.standby_replicas = o.standby_replicas;
    copts.store = store.get();  // Smart Views mirror the cluster topic's
    copts.max_stale_messages = o.max_stale_messages;
    copts.kafka_properties = kafka_props;
    copts.local = [&kafka] { return kafka->Health(); };
    // From the shards' org lists (ingest/shard.h): each org under the shard
    // of an owned partition p whose home is not p.
    copts.foreign_orgs = [&kafka, &store, &cluster]() {
      std::vector<ingest::detail::MemberRecord::Foreign> out;
      ingest::ShardsMeta meta;
      std::unique_ptr<state::Reader> snap = store->NewSnapshot();
      if (!ingest::LoadShards(*snap, &meta).ok()) return out;
      for (const auto& pl : kafka->Health().partitions) {
        if (!pl.assigned) continue;
        auto shard = meta.shards.find(ingest::ShardOfPartition(pl.partition));
        if (shard == meta.shards.end()) continue;
        for (const std::string& org : shard->second.orgs) {
          const std::optional<int32_t> home = cluster->HomeOf(org);
          if (home && *home != pl.partition) out.push_back({org, pl.partition});
        }
      }
      return out;
    };
    copts.on_conflict = [&cluster_conflict](const Status&) {
      cluster_conflict.store(true);
      kill(getpid(), SIGTERM);  // exits 2: a configuration error
    };
    s = ingest::ClusterView::Create(copts, &cluster);
    if (!s.ok()) return Fail(s.ToString());
  }

  api::HttpMetrics http_metrics;
  api::RateLimiter lsq_rate_limiter(o.lsq_rate_limit, o.lsq_rate_window);
  std::optional<api::CloseRateLimiter> close_rate_limiter;
  if (o.close_rate_limit > 0) close_rate_limiter.emplace(o.close_rate_limit, o.close_rate_window);
  api::ServiceContext ctx;
  ctx.store = store.get();
  ctx.credentials = &credentials;
  ctx.http_metrics = &http_metrics;
  ctx.lsq_rate_limiter = &lsq_rate_limiter;
  ctx.close_rate_limiter = close_rate_limiter ? &*close_rate_limiter : nullptr;
  ctx.change_feed = &change_feed;
  ctx.report_cache = &report_cache;
  ctx.streams = &streams;
  ctx.web_dir = o.web_dir;
  ctx.ingest = [&kafka, &cluster] {
    const ingest::IngestHealth h = kafka->Health();
    api::IngestView v;
    v.ready = h.ready;
    v.lag_messages = h.lag_messages;
    v.consumer = ingest::ConsumerStateName(h.state);
    v.reason = h.reason;
    if (cluster && !cluster->Complete()) {
      v.ready = false;
      if (v.reason.empty()) v.reason = "cluster view: " + cluster->Waiting();
    }
    if (cluster && cluster->draining()) {
      v.ready = false;
      v.reason = "draining: stopping (its orgs are answered by standby copies where they exist)";
    }
    return v;
  };
  std::unique_ptr<api::Forwarder> forwarder;
  if (cluster) {
    api::ForwarderOptions fopts;
    fopts.instance = kopts.instance_id;
    fopts.connect_timeout = std::chrono::milliseconds(o.forward_connect_timeout_ms);
    fopts.answer_timeout = std::chrono::milliseconds(o.forward_timeout_ms);
    // A relayed report stream hears from its owner at least every heartbeat
    // (the owner runs with the same flags).
    fopts.stream_idle_timeout = std::chrono::milliseconds(2 * int64_t{o.stream_heartbeat_ms} + 30000);
    // HTTPS peers (--tls-cert) are verified against --peer-ca, else the
    // system's CAs, and by the name they advertise.
    fopts.tls = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
    {
      boost::system::error_code ec;
      fopts.tls->set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                                 boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                                 boost::asio::ssl::context::no_tlsv1_1,
                             ec);
      if (o.peer_ca.empty()) {
        fopts.tls->set_default_verify_paths(ec);
      } else {
        fopts.tls->load_verify_file(o.peer_ca, ec);
      }
      if (ec) return Fail("--peer-ca " + o.peer_ca + ": " + ec.message());
    }
    forwarder = std::make_unique<api::Forwarder>(fopts);
    ctx.cluster = [&cluster] { return cluster->Json(); };
    // Where a request for org goes (ingest/detail/routing.h): nullopt
    // when org's home partition is unknown yet or the org is split (503).
    auto route = [&cluster, &kafka, max_stale = o.max_stale_messages](
                     const std::string& org, bool forwarded) -> std::variant<std::string, ingest::detail::Route> {
      const std::optional<int32_t> home = cluster->HomeOf(org);
      if (!home) return std::string("the cluster's configuration is not known yet");
      auto snap = cluster->Snapshot();
      if (auto split = SplitOrgReason(*snap, org, *home)) return *split;
      ingest::detail::LocalCopy local;
      for (const auto& pl : kafka->Health().partitions) {
        if (pl.partition != *home || !(pl.assigned || pl.standby)) continue;
        local.owned = pl.assigned;
        local.standby = pl.standby;
        local.servable = pl.servable;
        local.lag = std::max<int64_t>(0, pl.end - pl.next);
      }
      ingest::detail::RouteOptions ro;
      ro.self = cluster->options().instance_id;
      ro.max_stale_messages = max_stale;
      ro.forwarded = forwarded;
      ro.https_peers = true;  // the forwarder has a TLS client
      ro.catch_up_rate = kafka->CatchUpRate();
      return ingest::detail::RouteOrg(*snap, *home, local, ro);
    };
    // nullopt when this instance answers org's requests now, else why not
    // (503). A request forwarded here is answered from any copy that may
    // answer (route's forwarded), one from a client only by the owner's
    // caught-up copy or a standby copy here when no owner can answer.
    ctx.serve_org = [route](const std::string& org) -> std::optional<api::ServiceContext::Unserved> {
      auto r = route(org, /*forwarded=*/true);
      if (auto* why = std::get_if<std::string>(&r)) return api::ServiceContext::Unserved{*why, 1};
      const auto& decision = std::get<ingest::detail::Route>(r);
      if (decision.kind == ingest::detail::Route::Kind::kHere) return std::nullopt;
      return api::ServiceContext::Unserved{decision.reason, decision.retry_after_seconds};
    };
    // The instance a request is sent on to: the owner of its org, or a
    // standby copy while no owner can answer (else answered here: served,
    // or 503 with serve_org's reason).
    ctx.forward_target = [route, &ctx](const api::Request& req) -> std::optional<api::ForwardTarget> {
      if (req.find(api::kForwardedByHeader) != req.end()) return std::nullopt;  // forwarded once already
      const std::optional<api::RequestOrgInfo> info = api::RequestOrg(req, ctx);
      if (!info) return std::nullopt;
      auto r = route(info->org, /*forwarded=*/false);
      const auto* decision = std::get_if<ingest::detail::Route>(&r);
      if (!decision || decision->kind != ingest::detail::Route::Kind::kForward) return std::nullopt;
      const std::string& addr = decision->advertise;
      const size_t colon = addr.rfind(':');
      if (colon == std::string::npos) return std::nullopt;
      std::string host = addr.substr(0, colon);
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
      return api::ForwardTarget{host, addr.substr(colon + 1), decision->instance, decision->https};
    };
    ctx.forwarder = forwarder.get();
    ctx.smart_view_write = [&cluster](std::string_view org, std::string_view id, const views::SmartView* view) {
      return cluster->PublishSmartView(org, id, view);
    };
    ctx.instance = kopts.instance_id;
    ctx.org_shard = [&cluster, &kafka](const std::string& org) -> std::optional<api::ServiceContext::OrgShard> {
      const std::optional<int32_t> home = cluster->HomeOf(org);
      if (!home) return std::nullopt;
      api::ServiceContext::OrgShard out;
      out.partition = *home;
      for (const auto& pl : kafka->Health().partitions) {
        if (pl.partition != *home || !(pl.assigned || pl.standby)) continue;
        out.lag = std::max<int64_t>(0, pl.end - pl.next);
        out.replica = pl.assigned ? "owner" : "standby";
      }
      return out;
    };
  }
  ctx.append_metrics = [&](std::string* out) {
    AppendCounter(out, "leadflow_events_applied_total", "Events applied to the views.", "counter",
                  stats.events_applied.load());
    AppendCounter(out, "leadflow_events_duplicate_total", "Events skipped as duplicates.", "counter",
                  stats.events_duplicate.load());
    AppendCounter(out, "leadflow_events_dead_lettered_total", "Invalid events sent to the dead-letter topic.",
                  "counter", stats.events_dead_lettered.load());
    AppendCounter(out, "leadflow_anomalies_total", "Events kept but ignored for reports.", "counter",
                  stats.anomalies.load());
    AppendCounter(out, "leadflow_batches_total", "Write batches committed.", "counter", stats.batches.load());
    const api::ReportCache::Stats rc = report_cache.stats();
    AppendCounter(out, "leadflow_report_cache_hits_total",
                  "Status reports answered from the report cache (or from another request's computation).", "counter",
                  rc.hits);
    AppendCounter(out, "leadflow_report_cache_misses_total", "Status reports computed for the report cache.",
                  "counter", rc.misses);
    AppendCounter(out, "leadflow_report_cache_evictions_total", "Report cache entries evicted for room.", "counter",
                  rc.evictions);
    AppendCounter(out, "leadflow_report_cache_bytes", "Report cache memory, estimated.", "gauge", rc.bytes);
    AppendCounter(out, "leadflow_report_cache_entries", "Report cache entries.", "gauge", rc.entries);
    AppendCounter(out, "leadflow_events_rerouted_total",
                  "Cluster mode: events read off their org's home partition and sent on to it (their batch committed).",
                  "counter", stats.events_rerouted.load());
    AppendCounter(out, "leadflow_reroute_copies_skipped_total",
                  "Cluster mode: re-routed copies a home shard here skipped as already applied (sent again by a "
                  "standby copy, a replay or a retry).",
                  "counter", stats.reroute_copies_skipped.load());
    AppendCounter(out, "leadflow_rerouted_orgs",
                  "Cluster mode: distinct orgs this process re-routed events of (producers that do not key them "
                  "by org_id with the cluster's partitioner).",
                  "gauge", stats.rerouted_orgs.load());
    AppendCounter(out, "leadflow_dedup_set_keys", "Distinct events in the duplicate set.", "gauge",
                  stats.dedup_set_keys.load());
    AppendCounter(out, "leadflow_dedup_set_bytes", "Estimated memory of the duplicate set.", "gauge",
                  stats.dedup_set_bytes.load());
    stats.batch_metrics.Render(out);
    AppendIngestHealth(out, kafka->Health(), data_dir);
    kafka->AppendKafkaStats(out);
    AppendProcessMetrics(out);
    AppendCounter(out, "leadflow_state_live_bytes", "Estimated live bytes of state.", "gauge",
                  store->IntProperty("rocksdb.estimate-live-data-size"));
    AppendStateWrites(out, store->write_counters());
    AppendCheckpoints(out, store->checkpoint_stats());
    AppendBitmapCache(out, store->bitmap_cache_stats());
    AppendRocksDb(out, *store);
    AppendMemoryBudget(out, budget);
    if (cluster) cluster->AppendMetrics(out);
    if (cluster) kafka->AppendHandoffMetrics(out);
    if (forwarder) forwarder->AppendMetrics(out);
  };

  api::ServerOptions sopts;
  sopts.listen = o.listen;
  sopts.threads = o.threads;
  sopts.tls_cert_file = o.tls_cert;
  sopts.tls_key_file = o.tls_key;
  sopts.stream_min_interval = std::chrono::milliseconds(o.stream_min_interval_ms);
  sopts.stream_heartbeat = std::chrono::milliseconds(o.stream_heartbeat_ms);
  api::Server server(sopts, &ctx);
  s = server.Start();
  if (!s.ok()) return Fail(s.ToString());

  if (cluster) cluster->Start();
  Status ingest_status;
  std::atomic<bool> stopping{false};
  std::atomic<bool> ingest_failed{false};
  std::thread ingest_thread([&] {
    // A cluster instance joins the group only once its config is the
    // cluster's (else it stops, exit 2, without moving any partition).
    while (cluster && !cluster->Agreed() && !stopping.load()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (stopping.load()) return;
    try {
      ingest_status = kafka->Run();
    } catch (const std::exception& e) {
      ingest_status = Status::Corruption(std::string("ingest thread: ") + e.what());
      LogError(ingest_status.ToString());
    }
    if (!ingest_status.ok()) {
      ingest_failed.store(true);
      kill(getpid(), SIGTERM);  // state corruption ends the process
    }
  });

  int sig = 0;
  sigwait(&signals, &sig);
  LogInfo("shutting down (signal " + std::to_string(sig) + ")");
  // Cluster mode: go on answering for --drain-ms while the others learn
  // that this member leaves (its record says draining; they route its
  // orgs to standby copies and /readyz answers 503 for load balancers),
  // unless the stop is this process's own (a config conflict, a failed
  // ingest) or a second signal comes.
  if (cluster && o.drain_ms > 0 && !cluster_conflict.load() && !ingest_failed.load()) {
    cluster->Drain();
    LogInfo("draining for " + std::to_string(o.drain_ms) + " ms (a second signal stops at once)");
    const timespec wait{o.drain_ms / 1000, static_cast<long>(o.drain_ms % 1000) * 1000000L};
    if (sigtimedwait(&signals, nullptr, &wait) > 0) LogInfo("second signal: stopping now");
  }
  server.Stop();
  stopping.store(true);
  kafka->RequestStop();
  ingest_thread.join();
  if (cluster) cluster->Stop();  // after ingest: the member record's last word is final
  cluster.reset();
  kafka.reset();
  store.reset();
  LogInfo("stopped");
  if (cluster_conflict.load()) return 2;
  return ingest_status.ok() ? 0 : 1;
}

int IngestFile(const app::IngestOptions& o) {
  app::AllocatorBatchMode();  // a batch: freed pages are kept until exit (app/allocator.h)
  const std::string& file = o.file;
  const std::string& data_dir = o.data_dir;
  std::ifstream in_file;
  std::istream* in = &std::cin;
  if (file != "-") {
    in_file.open(file);
    if (!in_file) return Fail("cannot read " + file);
    in = &in_file;
  }
  std::ofstream dlq_file;
  std::ostream* dlq = nullptr;
  if (!o.dead_letters.empty()) {
    dlq_file.open(o.dead_letters);
    if (!dlq_file) return Fail("cannot write " + o.dead_letters);
    dlq = &dlq_file;
  }
  const uint64_t min_free_bytes = static_cast<uint64_t>(o.min_free_disk_mb) << 20;
  const ingest::MemoryBudget budget = ingest::MemoryBudget::Split(o.memory_budget_bytes);
  // Events per write batch: big batches amortize the lead rewrites; the
  // default is the budget's (ingest/memory_budget.h).
  const int64_t batch = o.batch.value_or(static_cast<int64_t>(budget.batch_events));
  std::unique_ptr<state::Store> store;
  std::string error;
  if (!OpenState(data_dir, min_free_bytes, budget.StoreOptions(), &store, &error)) return Fail(error);
  // On a terminal, a progress line after each batch (at most twice a
  // second): lines done and the rate; the summary line stays on stdout.
  const auto started = std::chrono::steady_clock::now();
  auto last_shown = started;
  bool shown = false;
  ingest::FileIngestProgress progress;
  if (isatty(STDERR_FILENO)) {
    progress = [&](const ingest::FileIngestResult& r) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_shown < std::chrono::milliseconds(500)) return;
      last_shown = now;
      shown = true;
      const double secs = std::chrono::duration<double>(now - started).count();
      std::fprintf(stderr, "\r%llu lines, %.0f lines/s, %llu applied, %llu duplicates, %llu dead-lettered   ",
                   static_cast<unsigned long long>(r.lines), secs > 0 ? r.lines / secs : 0.0,
                   static_cast<unsigned long long>(r.applied), static_cast<unsigned long long>(r.duplicates),
                   static_cast<unsigned long long>(r.dead_lettered));
    };
  }
  const size_t workers = static_cast<size_t>(o.apply_workers);
  ingest::FileIngestResult result;
  std::unique_ptr<ingest::Pipeline> finished;
  Status s = ingest::IngestStream(*in, store.get(), static_cast<size_t>(batch), dlq, &result, progress, workers,
                                  budget.lead_cache, &finished);
  // The process exits next: its caches are left to the OS, not freed one
  // lead at a time (the store still closes properly below).
  (void)finished.release();
  if (shown) std::fprintf(stderr, "\n");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // This run's counts (the store's all-time totals are in serve's /metrics).
  std::cout << "lines " << result.lines << " applied " << result.applied << " duplicates " << result.duplicates
            << " dead_lettered " << result.dead_lettered << " seconds " << std::fixed << std::setprecision(1) << secs
            << "\n";
  // What the run wrote to the state, per event taken in (lines but dead
  // letters), and per family.
  const state::WriteCounters w = store->write_counters();
  const double events = static_cast<double>(std::max<uint64_t>(1, result.applied + result.duplicates));
  std::cout << "state writes: " << std::setprecision(2) << w.TotalOps() / events << " keys and "
            << std::setprecision(0) << w.TotalBytes() / events << " bytes per event (" << w.TotalOps() << " keys, "
            << w.TotalBytes() << " bytes, " << w.batches << " batches)\n";
  for (size_t i = 0; i < static_cast<size_t>(state::Cf::kCount); ++i) {
    if (!w.ops[i]) continue;
    std::cout << "  " << std::left << std::setw(13) << state::CfName(static_cast<state::Cf>(i)) << std::right
              << std::setprecision(3) << std::setw(8) << w.ops[i] / events << " keys/event "
              << std::setprecision(0) << std::setw(8) << w.bytes[i] / events << " bytes/event\n";
  }
  if (!s.ok()) return Fail(s.ToString() + " (the counts above were committed)");
  return 0;
}

// `leadflow shards`: lists the shards of a data directory (ingest/shard.h),
// or drops one.
nlohmann::json ShardJson(const ingest::ShardInfo& info, const std::string& topic) {
  nlohmann::json j = {{"shard", info.shard}};
  if (auto p = ingest::PartitionOfShard(info.shard)) {
    j["topic"] = topic;
    j["partition"] = *p;
    j["position"] = info.position ? nlohmann::json(*info.position) : nlohmann::json(nullptr);
  } else {
    j["source"] = "local";
    j["next_offset"] = info.next_offset.value_or(0);
  }
  j["applied"] = info.totals.applied;
  j["duplicate"] = info.totals.duplicate;
  j["dead_lettered"] = info.totals.dead_lettered;
  j["anomalies"] = info.totals.anomalies;
  j["orgs"] = info.orgs;
  if (!info.reroute_marks.empty()) {
    // Cluster mode: per origin partition, the highest offset whose
    // re-routed event this shard applied (docs/operations.md).
    nlohmann::json marks = nlohmann::json::object();
    for (const auto& [origin, mark] : info.reroute_marks) marks[std::to_string(origin)] = mark;
    j["reroute_marks"] = marks;
  }
  return j;
}

int Shards(const app::ShardsOptions& o) {
  const std::string& data_dir = o.data_dir;
  const std::optional<int64_t> drop = o.drop;
  if (!std::filesystem::exists(data_dir)) return Fail("no data directory " + data_dir);
  std::unique_ptr<state::Store> store;
  std::string error;
  if (!OpenState(data_dir, 0, state::Store::Options(), &store, &error)) return Fail(error);
  ingest::ShardsMeta meta;
  Status s = ingest::ListShards(*store, &meta);
  if (!s.ok()) return Fail("state in " + data_dir + ": " + s.ToString());
  if (!drop) {
    for (const auto& [shard, info] : meta.shards) std::cout << ShardJson(info, meta.topic).dump() << "\n";
    return 0;
  }
  ingest::ShardInfo dropped;
  s = ingest::DropShard(store.get(), static_cast<uint32_t>(*drop), &dropped);
  if (!s.ok()) return Fail("cannot drop shard " + std::to_string(*drop) + ": " + s.message());
  std::cout << ShardJson(dropped, meta.topic).dump() << "\n";
  if (auto p = ingest::PartitionOfShard(dropped.shard)) {
    LogInfo("dropped shard " + std::to_string(dropped.shard) + ": the next `leadflow serve` consumes " + meta.topic +
            "[" + std::to_string(*p) + "] from its start and rebuilds it");
  } else {
    LogInfo("dropped the local shard: ingest its files again to rebuild it");
  }
  return 0;
}

}  // namespace
}  // namespace leadflow

int main(int argc, char** argv) {
  using namespace leadflow;
  app::CommandLine cli;
  if (std::optional<int> done = app::ParseCommandLine(argc, argv, &cli, std::cout, std::cerr)) return *done;
  ConfigureLog(cli.common.log_format == "json" ? LogFormat::kJson : LogFormat::kText,
               *ParseLogLevel(cli.common.log_level));
  switch (cli.command) {
    case app::CommandLine::Command::kServe:
      return Serve(cli.serve);
    case app::CommandLine::Command::kIngest:
      return IngestFile(cli.ingest);
    case app::CommandLine::Command::kShards:
      return Shards(cli.shards);
  }
  return 2;
}
