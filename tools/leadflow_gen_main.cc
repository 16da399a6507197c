// leadflow-gen: writes a realistic CRM lead event stream (contract section 1)
// to an NDJSON file or a Kafka topic. See Usage() for the flags.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "tools/eventgen.h"
#include "tools/eventgen_util.h"
#include "tools/kafka_sink.h"

namespace leadflow::tools {
namespace {

constexpr double kDefaultLiveRate = 20;  // events/s when --live without --rate

std::atomic<bool> g_stop{false};

void OnSignal(int sig) {
  g_stop.store(true);
  std::signal(sig, SIG_DFL);  // a second signal kills
}

const char kUsage[] =
    "usage: leadflow-gen [options] (--ndjson FILE|- | --brokers HOST:PORT --topic NAME)\n"
    "  --seed N                 random seed (default 1)\n"
    "  --orgs N                 orgs: org_acme, org_globex, ... (default 3)\n"
    "  --first-org N            name orgs from the N-th name on (default 0: org_acme)\n"
    "  --leads N                backfill leads per org (default 1000)\n"
    "  --big-org-leads N        leads of the first org (default: --leads)\n"
    "  --statuses N             statuses per org (default 5)\n"
    "  --users N                users per org (default 4)\n"
    "  --days X                 history span in days; 0 = no backfill (default 30)\n"
    "  --start RFC3339          history start (default 2024-01-01T00:00:00Z;\n"
    "                           with --live: now minus --days)\n"
    "  --changes-per-lead X     mean status changes per lead (default 2.5)\n"
    "  --activities-per-lead X  mean activities per lead, skewed (default 6)\n"
    "  --updates-per-lead X     mean field updates per lead (default 1.5)\n"
    "  --lead-lifetime-days X   mean span of a lead's events (default 10); a\n"
    "                           lead's events past the backfill end are cut off\n"
    "  --dup-share F            share of events re-emitted as duplicates (0)\n"
    "  --ooo-share F            share of events emitted out of order (0)\n"
    "  --invalid-share F        share of deliberately invalid messages (0)\n"
    "  --rate EVENTS_PER_SEC    pace the output (token bucket); 0 = unpaced\n"
    "  --live                   after the backfill, keep producing events at\n"
    "                           wall-clock time (at --rate, default 20/s)\n"
    "  --max-events N           stop after N messages\n"
    "  --kafka-prop K=V         extra librdkafka producer property (repeatable)\n"
    "  --progress SECONDS       print progress to stderr every SECONDS\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "leadflow-gen: %s (see --help)\n", message.c_str());
  return 2;
}

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<double> ParseDouble(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || *end != '\0' || !(v == v)) return std::nullopt;
  return v;
}

std::optional<int64_t> ParseInt(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return v;
}

// Paces calls to Acquire() at `rate` per second, with a small burst.
class TokenBucket {
 public:
  explicit TokenBucket(double rate)
      : rate_(rate), burst_(std::max(1.0, rate / 10)), last_(Clock::now()) {}

  void Acquire(const std::atomic<bool>& stop) {
    for (;;) {
      const auto now = Clock::now();
      const double elapsed_s = std::chrono::duration<double>(now - last_).count();
      tokens_ = std::min(burst_, tokens_ + elapsed_s * rate_);
      last_ = now;
      if (tokens_ >= 1) {
        tokens_ -= 1;
        return;
      }
      if (stop.load(std::memory_order_relaxed)) return;
      // Sleep at least a millisecond and send what accrued as a burst: a
      // sleep per event (50 us apart at 20,000/s) cost the generator ~0.4
      // of a core in context switches, taken from the service it loads on
      // the bench's two cores.
      const double wait_s = std::min(0.1, std::max(0.001, (1 - tokens_) / rate_));
      std::this_thread::sleep_for(std::chrono::duration<double>(wait_s));
    }
  }

 private:
  using Clock = std::chrono::steady_clock;
  double rate_;
  double burst_;
  double tokens_ = 1;
  Clock::time_point last_;
};

struct Flags {
  GeneratorOptions options;
  std::optional<int64_t> start_ms;
  std::string ndjson;
  std::string brokers;
  std::string topic;
  std::vector<std::pair<std::string, std::string>> kafka_props;
  double rate = 0;
  bool live = false;
  uint64_t max_events = 0;
  double progress_s = 0;
};

// Parses argv into *flags; returns an error message, empty on success.
std::string ParseFlags(int argc, char** argv, Flags* flags) {
  GeneratorOptions& o = flags->options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_value = true;
    }
    if (arg == "--help" || arg == "-h") return "help";
    if (arg == "--live") {
      flags->live = true;
      continue;
    }
    static constexpr std::string_view kValueFlags[] = {
        "--seed", "--orgs", "--first-org", "--leads", "--big-org-leads", "--statuses", "--users", "--days",
        "--changes-per-lead", "--activities-per-lead", "--updates-per-lead",
        "--lead-lifetime-days", "--dup-share", "--ooo-share", "--invalid-share", "--start",
        "--rate", "--max-events", "--progress", "--ndjson", "--brokers", "--topic",
        "--kafka-prop"};
    if (std::find(std::begin(kValueFlags), std::end(kValueFlags), arg) == std::end(kValueFlags)) {
      return "unknown flag " + arg;
    }
    if (!has_value) {
      if (i + 1 >= argc) return "missing value for " + arg;
      value = argv[++i];
    }
    auto integer = [&](int64_t lo, int64_t hi) -> std::optional<int64_t> {
      auto v = ParseInt(value);
      if (!v || *v < lo || *v > hi) return std::nullopt;
      return v;
    };
    auto real = [&](double lo, double hi) -> std::optional<double> {
      auto v = ParseDouble(value);
      if (!v || *v < lo || *v > hi) return std::nullopt;
      return v;
    };
    std::optional<int64_t> n;
    std::optional<double> x;
    bool ok = true;
    if (arg == "--seed") {
      ok = (n = integer(0, INT64_MAX)).has_value();
      if (ok) o.seed = static_cast<uint64_t>(*n);
    } else if (arg == "--orgs") {
      ok = (n = integer(1, 100000)).has_value();
      if (ok) o.orgs = static_cast<int>(*n);
    } else if (arg == "--leads") {
      ok = (n = integer(0, 1'000'000'000)).has_value();
      if (ok) o.leads_per_org = static_cast<int>(*n);
    } else if (arg == "--first-org") {
      ok = (n = integer(0, 1'000'000)).has_value();
      if (ok) o.first_org = static_cast<int>(*n);
    } else if (arg == "--big-org-leads") {
      ok = (n = integer(0, 1'000'000'000)).has_value();
      if (ok) o.big_org_leads = static_cast<int>(*n);
    } else if (arg == "--statuses") {
      ok = (n = integer(1, 1000)).has_value();
      if (ok) o.statuses_per_org = static_cast<int>(*n);
    } else if (arg == "--users") {
      ok = (n = integer(1, 30000)).has_value();
      if (ok) o.users_per_org = static_cast<int>(*n);
    } else if (arg == "--days") {
      ok = (x = real(0, 36500)).has_value();
      if (ok) o.days = *x;
    } else if (arg == "--changes-per-lead") {
      ok = (x = real(0, 10000)).has_value();
      if (ok) o.changes_per_lead = *x;
    } else if (arg == "--activities-per-lead") {
      ok = (x = real(0, 10000)).has_value();
      if (ok) o.activities_per_lead = *x;
    } else if (arg == "--updates-per-lead") {
      ok = (x = real(0, 10000)).has_value();
      if (ok) o.updates_per_lead = *x;
    } else if (arg == "--lead-lifetime-days") {
      ok = (x = real(0.001, 36500)).has_value();
      if (ok) o.lead_lifetime_days = *x;
    } else if (arg == "--dup-share") {
      ok = (x = real(0, 1)).has_value();
      if (ok) o.dup_share = *x;
    } else if (arg == "--ooo-share") {
      ok = (x = real(0, 1)).has_value();
      if (ok) o.ooo_share = *x;
    } else if (arg == "--invalid-share") {
      ok = (x = real(0, 1)).has_value();
      if (ok) o.invalid_share = *x;
    } else if (arg == "--start") {
      flags->start_ms = ParseRfc3339Ms(value);
      ok = flags->start_ms.has_value();
    } else if (arg == "--rate") {
      ok = (x = real(0, 1e9)).has_value();
      if (ok) flags->rate = *x;
    } else if (arg == "--max-events") {
      ok = (n = integer(0, INT64_MAX)).has_value();
      if (ok) flags->max_events = static_cast<uint64_t>(*n);
    } else if (arg == "--progress") {
      ok = (x = real(0, 1e6)).has_value();
      if (ok) flags->progress_s = *x;
    } else if (arg == "--ndjson") {
      flags->ndjson = value;
    } else if (arg == "--brokers") {
      flags->brokers = value;
    } else if (arg == "--topic") {
      flags->topic = value;
    } else if (arg == "--kafka-prop") {
      size_t eq = value.find('=');
      ok = eq != std::string::npos && eq > 0;
      if (ok) flags->kafka_props.emplace_back(value.substr(0, eq), value.substr(eq + 1));
    }
    if (!ok) return "bad value for " + arg + ": '" + value + "'";
  }
  if (flags->ndjson.empty() == flags->brokers.empty()) {
    return "give exactly one of --ndjson and --brokers";
  }
  if (!flags->brokers.empty() && flags->topic.empty()) return "--brokers needs --topic";
  return "";
}

void PrintStats(const char* prefix, const GeneratorStats& s, double elapsed_s) {
  std::fprintf(stderr,
               "leadflow-gen%s: %llu events (originals %llu, duplicates %llu, out-of-order %llu, "
               "invalid %llu), leads %llu (peak alive %llu), %.2f s, %.0f events/s\n",
               prefix, static_cast<unsigned long long>(s.emitted),
               static_cast<unsigned long long>(s.originals),
               static_cast<unsigned long long>(s.duplicates),
               static_cast<unsigned long long>(s.delayed),
               static_cast<unsigned long long>(s.invalid),
               static_cast<unsigned long long>(s.leads_created),
               static_cast<unsigned long long>(s.leads_alive_max), elapsed_s,
               elapsed_s > 0 ? static_cast<double>(s.emitted) / elapsed_s : 0.0);
}

int Run(int argc, char** argv) {
  Flags flags;
  if (std::string error = ParseFlags(argc, argv, &flags); !error.empty()) {
    if (error == "help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    return UsageError(error);
  }
  GeneratorOptions& options = flags.options;
  const double live_rate = flags.rate > 0 ? flags.rate : kDefaultLiveRate;
  if (flags.live) {
    const int64_t now = WallClockMs();
    options.live_start_ms = now;
    options.live_events_per_sec = live_rate;
    options.clock = WallClockMs;
    options.start_ms = flags.start_ms.value_or(now - std::llround(options.days * kMsPerDay));
  } else if (flags.start_ms) {
    options.start_ms = *flags.start_ms;
  }

  std::unique_ptr<KafkaSink> kafka;
  FILE* file = nullptr;
  if (!flags.brokers.empty()) {
    std::string error;
    kafka = KafkaSink::Create(flags.brokers, flags.topic, flags.kafka_props, &error);
    if (!kafka) {
      std::fprintf(stderr, "leadflow-gen: cannot create Kafka producer: %s\n", error.c_str());
      return 1;
    }
  } else if (flags.ndjson == "-") {
    file = stdout;
  } else if (!(file = std::fopen(flags.ndjson.c_str(), "w"))) {
    std::fprintf(stderr, "leadflow-gen: %s: %s\n", flags.ndjson.c_str(), std::strerror(errno));
    return 1;
  }
  // Static: stdout may still be flushed through it after Run() returns.
  static char file_buffer[1 << 20];
  if (file) std::setvbuf(file, file_buffer, _IOFBF, sizeof file_buffer);

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);

  EventGenerator generator(std::move(options));
  TokenBucket bucket(live_rate);
  const auto started = std::chrono::steady_clock::now();
  auto next_progress = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                     std::chrono::duration<double>(flags.progress_s));
  Event event;
  int status = 0;
  while (!g_stop.load(std::memory_order_relaxed)) {
    if (flags.max_events > 0 && generator.stats().emitted >= flags.max_events) break;
    const bool paced = flags.rate > 0 || generator.live_phase();
    if (paced) bucket.Acquire(g_stop);
    if (!generator.Next(&event)) break;
    if (kafka) {
      if (!kafka->Write(event.key, event.value, g_stop)) break;
    } else {
      event.value.push_back('\n');
      if (std::fwrite(event.value.data(), 1, event.value.size(), file) != event.value.size() ||
          (paced && std::fflush(file) != 0)) {
        if (errno != EPIPE) {
          std::fprintf(stderr, "leadflow-gen: write: %s\n", std::strerror(errno));
          status = 1;
        }
        break;
      }
    }
    if (flags.progress_s > 0 && std::chrono::steady_clock::now() >= next_progress) {
      next_progress += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(flags.progress_s));
      PrintStats(" progress", generator.stats(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
  }

  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (file && std::fflush(file) != 0 && errno != EPIPE) {
    std::fprintf(stderr, "leadflow-gen: write: %s\n", std::strerror(errno));
    status = 1;
  }
  if (file && file != stdout) std::fclose(file);
  if (kafka) {
    const auto flush_started = std::chrono::steady_clock::now();
    kafka->Finish(std::chrono::seconds(60));
    const double flush_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - flush_started).count();
    std::fprintf(stderr,
                 "leadflow-gen: kafka: enqueued %llu, delivered %llu, failed %llu "
                 "(flush %.2f s)%s%s\n",
                 static_cast<unsigned long long>(kafka->enqueued()),
                 static_cast<unsigned long long>(kafka->delivered()),
                 static_cast<unsigned long long>(kafka->failed()), flush_s,
                 kafka->first_error().empty() ? "" : ", first error: ",
                 kafka->first_error().c_str());
    if (kafka->failed() > 0) status = 1;
  }
  PrintStats("", generator.stats(), elapsed_s);
  return status;
}

}  // namespace
}  // namespace leadflow::tools

int main(int argc, char** argv) { return leadflow::tools::Run(argc, argv); }
