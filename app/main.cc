// leadflow: main() only wires the modules together.
//
//   leadflow serve  --brokers H:P --data-dir DIR --credentials FILE [--listen H:P]
//                   [--topic T] [--dlq-topic T] [--group G] [--threads N]
//                   [--lsq-rate-limit N] [--lsq-rate-window SECONDS]
//                   [--kafka-prop KEY=VALUE ...] [--dlq-max-message-bytes N]
//                   [--min-free-disk-mb N]
//   leadflow ingest --file events.ndjson --data-dir DIR [--dead-letters FILE] [--batch N]
//
// Shutdown is one sequence: signal -> stop accepting HTTP -> stop and close
// the consumer -> join -> close the store.
#include <signal.h>

#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
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

#include <librdkafka/rdkafkacpp.h>
#include <nlohmann/json.hpp>
#include <rocksdb/version.h>

#include "api/credentials.h"
#include "api/rate_limiter.h"
#include "api/server.h"
#include "app/flags.h"
#include "ingest/file_ingest.h"
#include "ingest/kafka_config.h"
#include "ingest/kafka_ingest.h"
#include "ingest/memory_budget.h"
#include "ingest/shard.h"
#include "state/disk.h"
#include "state/log.h"
#include "state/store.h"
#include "views/write/applier.h"
#include "views/records.h"

namespace leadflow {
namespace {

const char* kUsage =
    "usage:\n"
    "  leadflow serve --brokers HOST:PORT --data-dir DIR --credentials FILE [--listen HOST:PORT]\n"
    "                 [--topic NAME] [--dlq-topic NAME] [--group ID] [--threads N]\n"
    "                 [--lsq-rate-limit N] [--lsq-rate-window SECONDS]\n"
    "                 [--kafka-config FILE] [--kafka-prop KEY=VALUE ...] [--dlq-max-message-bytes N]\n"
    "                 [--min-free-disk-mb N]\n"
    "                 [--apply-workers N] [--memory-budget SIZE] [--checkpoint-interval-ms N]\n"
    "  leadflow ingest --file events.ndjson --data-dir DIR [--dead-letters FILE] [--batch N] [--apply-workers N]\n"
    "                  [--min-free-disk-mb N] [--memory-budget SIZE]\n"
    "  leadflow shards --data-dir DIR [--drop SHARD]   (the data directory's shards, one JSON line each;\n"
    "                  --drop deletes one, with no service running, to rebuild it from its partition)\n"
    "--memory-budget: MiB, or with a unit (512M, 2G); default 2G (ingest/memory_budget.h).\n"
    "--checkpoint-interval-ms: how often live batches, applied in memory and served at once, are written\n"
    "                 to RocksDB with their positions (1-60000; default 1000). A kill -9 replays at most that.\n"
    "Every flag also reads LEADFLOW_<FLAG> from the environment (e.g. LEADFLOW_BROKERS).\n";

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

// A Prometheus label value: backslash, double quote and newline escaped.
std::string PromLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
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
  *out += "# HELP leadflow_build_info The build: its libraries' versions (always 1).\n"
          "# TYPE leadflow_build_info gauge\n"
          "leadflow_build_info{rocksdb=\"" + std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) +
          "." + std::to_string(ROCKSDB_PATCH) + "\",librdkafka=\"" + PromLabel(RdKafka::version_str()) +
          "\",compiler=\"" + PromLabel(__VERSION__) + "\"} 1\n";
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
                  ingest::ConsumerState::kDiskFull, ingest::ConsumerState::kStoreError,
                  ingest::ConsumerState::kStopped}) {
    *out += std::string("leadflow_consumer_state{state=\"") + ingest::ConsumerStateName(st) + "\"} " +
            (st == h.state ? "1" : "0") + "\n";
  }
  AppendCounter(out, "leadflow_consumer_restarts_total", "Consumer sessions that ended in a fault and were restarted.",
                "counter", h.restarts);
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
                                                    {"staged", b.staged_bytes}};
  for (const auto& [name, bytes] : parts) {
    *out += std::string("leadflow_memory_budget_bytes{part=\"") + name + "\"} " + std::to_string(bytes) + "\n";
  }
}

// A flag's value as a positive integer (at most max), or the fallback when unset.
bool PositiveIntFlag(const app::Flags& flags, const std::string& name, int64_t fallback, int64_t* out,
                     int64_t max = 1'000'000) {
  const std::optional<std::string> text = flags.Find(name);
  if (!text) {
    *out = fallback;
    return true;
  }
  if (text->empty() || text->size() > std::to_string(max).size()) return false;
  int64_t v = 0;
  for (char c : *text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return v >= 1 && v <= max;
}

// --min-free-disk-mb in bytes (default 64 MB), or false for a bad value.
bool MinFreeDiskBytes(const app::Flags& flags, uint64_t* bytes) {
  int64_t mb = 0;
  if (!PositiveIntFlag(flags, "min-free-disk-mb", 64, &mb, 10'000'000)) return false;
  *bytes = static_cast<uint64_t>(mb) << 20;
  return true;
}

// --apply-workers (default: the processors, at most 8; a second worker
// gives ~1.75x on the 2-core machine, docs/design.md), or false for a bad
// value.
bool ApplyWorkers(const app::Flags& flags, size_t* workers) {
  const int64_t cores = std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, 8);
  int64_t n = 0;
  if (!PositiveIntFlag(flags, "apply-workers", cores, &n, 64)) return false;
  *workers = static_cast<size_t>(n);
  return true;
}

int BadApplyWorkers(const app::Flags& flags) {
  return Fail("--apply-workers must be a number from 1 to 64, got '" + flags.Get("apply-workers") + "'");
}

// --memory-budget (default 2 GiB) split between the caches, or false for a
// bad value.
bool Budget(const app::Flags& flags, ingest::MemoryBudget* budget) {
  uint64_t bytes = ingest::MemoryBudget::kDefaultBytes;
  if (auto text = flags.Find("memory-budget")) {
    std::optional<uint64_t> parsed = ingest::MemoryBudget::Parse(*text);
    if (!parsed) return false;
    bytes = *parsed;
  }
  *budget = ingest::MemoryBudget::Split(bytes);
  return true;
}

int BadBudget(const app::Flags& flags) {
  return Fail("--memory-budget must be a size from 128M to 1048576M (MiB, or with a unit: 512M, 2G), got '" +
              flags.Get("memory-budget") + "'");
}

state::Store::Options StoreOptions(const ingest::MemoryBudget& budget) {
  state::Store::Options o;
  o.block_cache_bytes = budget.block_cache;
  o.write_buffer_bytes = budget.write_buffers;
  o.max_staged_bytes = budget.staged_bytes;
  return o;
}

int BadMinFreeDisk(const app::Flags& flags) {
  return Fail("--min-free-disk-mb must be a number of megabytes from 1 to 10000000, got '" +
              flags.Get("min-free-disk-mb") + "'");
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

int Serve(const app::Flags& flags) {
  const std::string brokers = flags.Get("brokers");
  const std::string data_dir = flags.Get("data-dir");
  const std::string creds_path = flags.Get("credentials");
  if (brokers.empty()) return Fail("--brokers is required (or LEADFLOW_BROKERS)");
  if (data_dir.empty()) return Fail("--data-dir is required (or LEADFLOW_DATA_DIR)");
  if (creds_path.empty()) return Fail("--credentials is required (or LEADFLOW_CREDENTIALS)");
  int64_t lsq_rate_limit = 0, lsq_rate_window = 0;
  if (!PositiveIntFlag(flags, "lsq-rate-limit", 25, &lsq_rate_limit)) {
    return Fail("--lsq-rate-limit (or LEADFLOW_LSQ_RATE_LIMIT) must be an integer from 1 to 1000000, got '" +
                flags.Get("lsq-rate-limit") + "'");
  }
  if (!PositiveIntFlag(flags, "lsq-rate-window", 5, &lsq_rate_window)) {
    return Fail("--lsq-rate-window (or LEADFLOW_LSQ_RATE_WINDOW) must be a number of seconds from 1 to 1000000, got '" +
                flags.Get("lsq-rate-window") + "'");
  }

  api::Credentials credentials;
  Status s = api::Credentials::LoadFile(creds_path, &credentials);
  if (!s.ok()) return Fail(s.ToString());

  // Signals are taken by sigwait below; every thread started later inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  uint64_t min_free_bytes = 0;
  if (!MinFreeDiskBytes(flags, &min_free_bytes)) return BadMinFreeDisk(flags);
  int64_t dlq_max_bytes = 0;
  if (!PositiveIntFlag(flags, "dlq-max-message-bytes", 1000000, &dlq_max_bytes, 100'000'000) ||
      dlq_max_bytes < 4096) {
    return Fail("--dlq-max-message-bytes must be a number from 4096 to 100000000, got '" +
                flags.Get("dlq-max-message-bytes") + "'");
  }
  // The consumer's and the dead-letter producer's librdkafka properties:
  // the file's first, then each --kafka-prop (a later setting wins).
  ingest::KafkaProperties kafka_props;
  if (const std::string config = flags.Get("kafka-config"); !config.empty()) {
    Status c = ingest::ReadKafkaConfig(config, &kafka_props);
    if (!c.ok()) return Fail("--kafka-config: " + c.ToString());
  }
  for (const std::string& kv : flags.GetAll("kafka-prop")) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return Fail("--kafka-prop must be KEY=VALUE (a value was given without '=')");
    kafka_props.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }

  int64_t checkpoint_ms = 0;
  if (!PositiveIntFlag(flags, "checkpoint-interval-ms", 1000, &checkpoint_ms, 60'000)) {
    return Fail("--checkpoint-interval-ms must be a number from 1 to 60000, got '" +
                flags.Get("checkpoint-interval-ms") + "'");
  }

  ingest::MemoryBudget budget;
  if (!Budget(flags, &budget)) return BadBudget(flags);
  std::unique_ptr<state::Store> store;
  std::string error;
  state::Store::Options store_options = StoreOptions(budget);
  store_options.checkpoint_interval_ms = static_cast<int>(checkpoint_ms);
  store_options.min_free_disk_bytes = min_free_bytes;
  store_options.bitmap_cache_bytes = budget.bitmap_cache;  // the reports' (ingest --file serves none)
  if (!OpenState(data_dir, min_free_bytes, store_options, &store, &error)) return Fail(error);
  LogInfo("memory budget " + budget.Describe());

  ingest::Stats stats;
  ingest::KafkaIngestOptions kopts;
  kopts.brokers = brokers;
  kopts.topic = flags.Get("topic", kopts.topic);
  // A data directory's shards are the partitions of one topic.
  if (Status bound = ingest::CheckShardTopic(*store, kopts.topic); !bound.ok()) return Fail(bound.message());
  kopts.dlq_topic = flags.Get("dlq-topic", kopts.dlq_topic);
  kopts.group = flags.Get("group", kopts.group);
  kopts.instance_id = InstanceId(data_dir);
  kopts.kafka_properties = kafka_props;
  kopts.dlq_max_message_bytes = static_cast<size_t>(dlq_max_bytes);
  kopts.data_dir = data_dir;
  kopts.min_free_disk_bytes = min_free_bytes;
  if (!ApplyWorkers(flags, &kopts.apply_workers)) return BadApplyWorkers(flags);
  kopts.lead_cache_bytes = budget.lead_cache;
  kopts.prefetch_bytes = budget.prefetch;
  kopts.batch_max_messages = static_cast<size_t>(budget.batch_events);
  if (const char* inject = std::getenv("LEADFLOW_FAULT_FATAL_AFTER_BATCHES")) {
    kopts.fault_fatal_after_batches = std::atoi(inject);  // tests only (kafka_ingest.h)
  }
  std::unique_ptr<ingest::KafkaIngest> kafka;
  s = ingest::KafkaIngest::Create(kopts, store.get(), &stats, &kafka);
  if (!s.ok()) return Fail(s.ToString());

  api::HttpMetrics http_metrics;
  api::RateLimiter lsq_rate_limiter(lsq_rate_limit, lsq_rate_window);
  api::ServiceContext ctx;
  ctx.store = store.get();
  ctx.credentials = &credentials;
  ctx.http_metrics = &http_metrics;
  ctx.lsq_rate_limiter = &lsq_rate_limiter;
  ctx.ingest = [&kafka] {
    const ingest::IngestHealth h = kafka->Health();
    api::IngestView v;
    v.ready = h.ready;
    v.lag_messages = h.lag_messages;
    v.consumer = ingest::ConsumerStateName(h.state);
    v.reason = h.reason;
    return v;
  };
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
    AppendCounter(out, "leadflow_dedup_set_keys", "Distinct events in the duplicate set.", "gauge",
                  stats.dedup_set_keys.load());
    AppendCounter(out, "leadflow_dedup_set_bytes", "Estimated memory of the duplicate set.", "gauge",
                  stats.dedup_set_bytes.load());
    stats.batch_metrics.Render(out);
    AppendIngestHealth(out, kafka->Health(), data_dir);
    AppendProcessMetrics(out);
    AppendCounter(out, "leadflow_state_live_bytes", "Estimated live bytes of state.", "gauge",
                  store->IntProperty("rocksdb.estimate-live-data-size"));
    AppendStateWrites(out, store->write_counters());
    AppendCheckpoints(out, store->checkpoint_stats());
    AppendBitmapCache(out, store->bitmap_cache_stats());
    AppendRocksDb(out, *store);
    AppendMemoryBudget(out, budget);
  };

  api::ServerOptions sopts;
  sopts.listen = flags.Get("listen", sopts.listen);
  try {
    sopts.threads = std::stoi(flags.Get("threads", "4"));
  } catch (const std::exception&) {
    return Fail("--threads must be a number");
  }
  api::Server server(sopts, &ctx);
  s = server.Start();
  if (!s.ok()) return Fail(s.ToString());

  Status ingest_status;
  std::thread ingest_thread([&] {
    try {
      ingest_status = kafka->Run();
    } catch (const std::exception& e) {
      ingest_status = Status::Corruption(std::string("ingest thread: ") + e.what());
      LogError(ingest_status.ToString());
    }
    if (!ingest_status.ok()) kill(getpid(), SIGTERM);  // state corruption ends the process
  });

  int sig = 0;
  sigwait(&signals, &sig);
  LogInfo("shutting down (signal " + std::to_string(sig) + ")");
  server.Stop();
  kafka->RequestStop();
  ingest_thread.join();
  kafka.reset();
  store.reset();
  LogInfo("stopped");
  return ingest_status.ok() ? 0 : 1;
}

int IngestFile(const app::Flags& flags) {
  const std::string file = flags.Get("file");
  const std::string data_dir = flags.Get("data-dir");
  if (file.empty()) return Fail("--file is required");
  if (data_dir.empty()) return Fail("--data-dir is required (or LEADFLOW_DATA_DIR)");
  std::ifstream in_file;
  std::istream* in = &std::cin;
  if (file != "-") {
    in_file.open(file);
    if (!in_file) return Fail("cannot read " + file);
    in = &in_file;
  }
  std::ofstream dlq_file;
  std::ostream* dlq = nullptr;
  if (auto path = flags.Find("dead-letters")) {
    dlq_file.open(*path);
    if (!dlq_file) return Fail("cannot write " + *path);
    dlq = &dlq_file;
  }
  uint64_t min_free_bytes = 0;
  if (!MinFreeDiskBytes(flags, &min_free_bytes)) return BadMinFreeDisk(flags);
  ingest::MemoryBudget budget;
  if (!Budget(flags, &budget)) return BadBudget(flags);
  // Events per write batch: big batches amortize the lead rewrites; the
  // default is the budget's (ingest/memory_budget.h).
  int64_t batch = 0;
  if (!PositiveIntFlag(flags, "batch", static_cast<int64_t>(budget.batch_events), &batch, 10'000'000)) {
    return Fail("--batch must be a number from 1 to 10000000, got '" + flags.Get("batch") + "'");
  }
  std::unique_ptr<state::Store> store;
  std::string error;
  if (!OpenState(data_dir, min_free_bytes, StoreOptions(budget), &store, &error)) return Fail(error);
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
  size_t workers = 1;
  if (!ApplyWorkers(flags, &workers)) return BadApplyWorkers(flags);
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
  return j;
}

int Shards(const app::Flags& flags) {
  const std::string data_dir = flags.Get("data-dir");
  if (data_dir.empty()) return Fail("--data-dir is required (or LEADFLOW_DATA_DIR)");
  std::optional<int64_t> drop;
  if (auto d = flags.Find("drop")) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(d->c_str(), &end, 10);
    if (d->empty() || *end != '\0' || errno != 0 || v < 0 || v > views::kMaxShard) {
      return Fail("--drop must be a shard number (see `leadflow shards`), got '" + *d + "'");
    }
    drop = v;
  }
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
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  app::Flags flags;
  if (command == "serve") {
    Status s = app::Flags::Parse(
        args,
        {"brokers", "topic", "dlq-topic", "group", "data-dir", "listen", "credentials", "threads", "lsq-rate-limit",
         "lsq-rate-window", "kafka-config", "kafka-prop", "dlq-max-message-bytes", "min-free-disk-mb", "apply-workers",
         "memory-budget", "checkpoint-interval-ms"},
        &flags);
    if (!s.ok()) return Fail(s.message() + "\n" + kUsage);
    return Serve(flags);
  }
  if (command == "ingest") {
    Status s = app::Flags::Parse(args, {"file", "data-dir", "dead-letters", "batch", "min-free-disk-mb", "apply-workers",
                                         "memory-budget"},
                                 &flags);
    if (!s.ok()) return Fail(s.message() + "\n" + kUsage);
    return IngestFile(flags);
  }
  if (command == "shards") {
    Status s = app::Flags::Parse(args, {"data-dir", "drop"}, &flags);
    if (!s.ok()) return Fail(s.message() + "\n" + kUsage);
    return Shards(flags);
  }
  if (command == "--help" || command == "help" || command == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "unknown command " << command << "\n" << kUsage;
  return 2;
}
