#include "ingest/file_ingest.h"

#include <nlohmann/json.hpp>

namespace leadflow::ingest {

Status IngestStream(std::istream& in, state::Store* store, size_t batch_lines, std::ostream* dead_letters,
                    FileIngestResult* result) {
  Stats stats;
  Pipeline pipeline(store, &stats);
  *result = FileIngestResult();
  const SourcePosition source{"file", 0};
  std::string line;
  auto flush = [&]() -> Status {
    if (dead_letters) {
      for (const auto& d : pipeline.dead_letters()) {
        nlohmann::json j = {{"reason", d.reason}, {"line", d.offset + 1}};
        try {
          j["original"] = d.value;
          *dead_letters << j.dump() << "\n";
        } catch (const std::exception&) {
          j["original"] = nullptr;
          *dead_letters << j.dump() << "\n";
        }
      }
    }
    return pipeline.Commit();
  };
  int64_t line_no = -1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++result->lines;
    // Line numbers are not consumer positions; dead letters still carry them.
    Status s = pipeline.Add(line, std::nullopt, source, line_no, /*track_position=*/false);
    if (!s.ok()) return s;
    if (pipeline.pending() >= batch_lines) {
      if (!(s = flush()).ok()) return s;
    }
  }
  Status s = flush();
  result->applied = stats.events_applied;
  result->duplicates = stats.events_duplicate;
  result->dead_lettered = stats.events_dead_lettered;
  return s;
}

}  // namespace leadflow::ingest
