// leadflow-bench-live: the live write path alone, deterministic enough for
// callgrind. Applies an NDJSON file to a state directory the way `leadflow
// serve` applies a live stream: small batches staged in memory (the store's
// overlay, state/store.h Stage) and checkpointed to RocksDB every
// --checkpoint-every events (instead of once a second: a profiler slows the
// process, a timer would checkpoint more often per event), one applier
// worker, the service's memory budget. No broker and no HTTP: what is left is
// the per-event cost of a live commit (dedup, lead load, diff, chunk deltas,
// stage, folds, checkpoints).
//
//   leadflow-bench-live --data-dir DIR --file EVENTS.ndjson [--batch 200]
//       [--checkpoint-every 20000] [--lines N] [--warmup-lines N]
//       [--memory-budget-mb 1536]
//
// DIR is changed (use a copy of a prepared state). Prints events, batches,
// wall and CPU seconds (getrusage: every thread of the process) and CPU
// microseconds per event. The first --warmup-lines (default 2,000) are
// applied before the clock starts: the first commit loads the duplicate set
// and the lead cache starts empty. Under callgrind, count the measured part
// alone: --collect-atstart=no --toggle-collect='*RunMeasured*'
// --toggle-collect='*FoldStaged*' (the store's thread). See docs/design.md,
// issue 11, session 26.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "ingest/memory_budget.h"
#include "ingest/pipeline.h"
#include "state/store.h"

namespace {

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "leadflow-bench-live: %s\n", msg.c_str());
  std::exit(1);
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

struct Run {
  leadflow::state::Store* store = nullptr;
  leadflow::ingest::Pipeline* pipeline = nullptr;
  const std::vector<std::string>* lines = nullptr;
  size_t batch = 0, checkpoint_every = 0;
  size_t batches = 0;
  std::vector<double> commit_ms;  // each measured batch's Commit, in ms
  bool timed = false;
};

// Applies lines [begin, end) in batches, checkpointing every
// checkpoint_every events, and checkpoints at the end.
void Apply(Run* run, size_t begin, size_t end) {
  using leadflow::Status;
  const leadflow::ingest::SourcePosition source{"file", leadflow::ingest::SourcePosition::kLocal};
  size_t since_checkpoint = 0;
  for (size_t i = begin; i < end; ++i) {
    Status s = run->pipeline->Add((*run->lines)[i], std::nullopt, source, static_cast<int64_t>(i));
    if (!s.ok()) Die("add: " + s.ToString());
    if (run->pipeline->pending() < run->batch && i + 1 < end) continue;
    const auto c0 = std::chrono::steady_clock::now();
    if (s = run->pipeline->Commit(); !s.ok()) Die("commit: " + s.ToString());
    if (run->timed) {
      run->commit_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - c0).count());
    }
    ++run->batches;
    since_checkpoint += run->batch;
    if (since_checkpoint >= run->checkpoint_every) {
      if (s = run->store->Checkpoint(); !s.ok()) Die("checkpoint: " + s.ToString());
      since_checkpoint = 0;
    }
  }
  if (Status s = run->store->Checkpoint(); !s.ok()) Die("checkpoint: " + s.ToString());
}

// The measured part, by name for callgrind's --toggle-collect.
[[gnu::noinline]] void RunMeasured(Run* run, size_t begin, size_t end) { Apply(run, begin, end); }

}  // namespace

int main(int argc, char** argv) {
  using namespace leadflow;
  std::string dir, file;
  size_t batch = 200, checkpoint_every = 20000, max_lines = 0, warmup = 2000;
  uint64_t budget_mb = 1536;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--data-dir") dir = next();
    else if (a == "--file") file = next();
    else if (a == "--batch") batch = std::stoul(next());
    else if (a == "--checkpoint-every") checkpoint_every = std::stoul(next());
    else if (a == "--lines") max_lines = std::stoul(next());
    else if (a == "--warmup-lines") warmup = std::stoul(next());
    else if (a == "--memory-budget-mb") budget_mb = std::stoull(next());
    else Die("unknown argument " + a);
  }
  if (dir.empty() || file.empty() || batch == 0) Die("usage: --data-dir DIR --file EVENTS.ndjson [--batch N]");

  std::ifstream in(file, std::ios::binary);
  if (!in) Die("cannot read " + file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line) && (max_lines == 0 || lines.size() < max_lines);) {
    if (!line.empty()) lines.push_back(std::move(line));
  }

  const ingest::MemoryBudget budget = ingest::MemoryBudget::Split(budget_mb << 20);
  state::Store::Options o = budget.StoreOptions();  // the service's
  o.bitmap_cache_bytes = budget.bitmap_cache;
  o.checkpoint_interval_ms = 3'600'000;  // checkpoints come from this loop
  std::unique_ptr<state::Store> store;
  if (Status s = state::Store::Open(dir, o, &store); !s.ok()) Die("open " + dir + ": " + s.ToString());
  ingest::Stats stats;
  std::unique_ptr<ingest::Pipeline> pipeline;
  if (Status s = ingest::Pipeline::Create(store.get(), &stats, &pipeline, 1, budget.lead_cache); !s.ok()) {
    Die("pipeline: " + s.ToString());
  }

  Run run;
  run.store = store.get();
  run.pipeline = pipeline.get();
  run.lines = &lines;
  run.batch = batch;
  run.checkpoint_every = checkpoint_every;
  warmup = std::min(warmup, lines.size());
  Apply(&run, 0, warmup);
  run.batches = 0;
  run.timed = true;
  const uint64_t applied0 = stats.events_applied;
  const state::WriteCounters written0 = store->write_counters();
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = CpuSeconds();
  RunMeasured(&run, warmup, lines.size());
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = CpuSeconds() - cpu0;
  const size_t measured = lines.size() - warmup;
  const uint64_t applied = stats.events_applied - applied0;
  std::printf("events %zu applied %llu batches %zu wall %.3f s cpu %.3f s cpu/event %.2f us\n", measured,
              static_cast<unsigned long long>(applied), run.batches, wall, cpu,
              measured == 0 ? 0.0 : cpu * 1e6 / static_cast<double>(measured));
  // What the checkpoints wrote to RocksDB, per event and family (staged
  // batches reach RocksDB only through checkpoints).
  const state::WriteCounters written = store->write_counters();
  std::printf("written per event:");
  double ops = 0, bytes = 0;
  for (size_t f = 0; f < static_cast<size_t>(state::Cf::kCount); ++f) {
    const double n_ops = static_cast<double>(written.ops[f] - written0.ops[f]) / static_cast<double>(std::max<size_t>(measured, 1));
    const double b = static_cast<double>(written.bytes[f] - written0.bytes[f]) / static_cast<double>(std::max<size_t>(measured, 1));
    ops += n_ops;
    bytes += b;
    if (n_ops > 0) std::printf(" %s %.2f keys %.0f B;", state::CfName(static_cast<state::Cf>(f)), n_ops, b);
  }
  std::printf(" total %.2f keys %.0f B\n", ops, bytes);
  // The commits' latency: a live event waits for its batch's commit (add the
  // broker's and the consumer's share for send-to-visible).
  std::vector<double> ms = run.commit_ms;
  std::sort(ms.begin(), ms.end());
  auto q = [&](double f) { return ms.empty() ? 0.0 : ms[std::min(ms.size() - 1, static_cast<size_t>(f * ms.size()))]; };
  std::printf("commit ms: p50 %.2f p90 %.2f p99 %.2f max %.2f\n", q(0.5), q(0.9), q(0.99), ms.empty() ? 0.0 : ms.back());
  std::vector<size_t> order(run.commit_ms.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return run.commit_ms[a] > run.commit_ms[b]; });
  std::printf("slowest batches (index: ms):");
  for (size_t i = 0; i < std::min<size_t>(8, order.size()); ++i) std::printf(" %zu: %.1f", order[i], run.commit_ms[order[i]]);
  std::printf("\n");
  std::fflush(stdout);
  std::_Exit(0);  // the caches are left to the OS, as `ingest --file` does
}
