// leadflow-bench-decode: the cost of decoding events (ingest/decode.h) alone,
// without Kafka or RocksDB. Reads every line of an NDJSON file (one message
// value per line, as leadflow-gen writes them) into memory, then times
// DecodeEvent over all of them, on one thread.
//
//   leadflow-bench-decode FILE [--rounds N]
//
// Prints one line per round and the median: events/s and ns/event, with how
// many events were refused (dead letters count as decoded events: refusing
// one is a decode too).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "ingest/decode.h"

namespace {

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "leadflow-bench-decode: %s\n", msg.c_str());
  std::exit(1);
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(std::move(line));
  }
  return lines;
}

struct Round {
  double seconds = 0;
  size_t refused = 0;
};

Round DecodeAll(const std::vector<std::string>& lines) {
  Round round;
  leadflow::views::Event event;
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& line : lines) {
    round.refused += !leadflow::ingest::DecodeEvent(line, std::nullopt, &event).ok();
  }
  round.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return round;
}

void Print(const char* label, size_t events, const Round& round) {
  std::printf("%s: %zu events (%zu refused) in %.3f s: %.0f events/s, %.1f ns/event\n", label, events, round.refused,
              round.seconds, events / round.seconds, 1e9 * round.seconds / events);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: leadflow-bench-decode FILE [--rounds N]");
  int rounds = 3;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else {
      Die("unknown argument " + a);
    }
  }
  if (rounds < 1) Die("--rounds must be at least 1");
  const std::vector<std::string> lines = ReadLines(argv[1]);
  if (lines.empty()) Die(std::string(argv[1]) + " has no lines");
  std::vector<Round> results;
  for (int r = 0; r < rounds; ++r) {
    results.push_back(DecodeAll(lines));
    Print(("round " + std::to_string(r + 1)).c_str(), lines.size(), results.back());
  }
  std::sort(results.begin(), results.end(), [](const Round& a, const Round& b) { return a.seconds < b.seconds; });
  Print("median", lines.size(), results[results.size() / 2]);
  return 0;
}
