#include "ingest/file_ingest.h"

#include <nlohmann/json.hpp>

namespace leadflow::ingest {

Status IngestStream(std::istream& in, state::Store* store, size_t batch_lines, std::ostream* dead_letters,
                    FileIngestResult* result, const FileIngestProgress& progress, size_t apply_workers,
                    size_t lead_cache_bytes, std::unique_ptr<Pipeline>* finished) {
  *result = FileIngestResult();
  Stats stats;
  std::unique_ptr<Pipeline> owned;
  Status s = Pipeline::Create(store, &stats, &owned, apply_workers, lead_cache_bytes);
  if (!s.ok()) return s;
  Pipeline& pipeline = *owned;
  // The stats start at the store's totals; this run's counts are the growth.
  const uint64_t applied0 = stats.events_applied, duplicates0 = stats.events_duplicate,
                 dead0 = stats.events_dead_lettered;
  uint64_t lines_committed = 0, lines_handed_off = 0;
  const SourcePosition source{"file", SourcePosition::kLocal};
  std::string line;
  auto flush = [&]() -> Status {
    if (Status applied = pipeline.ApplyAdded(); !applied.ok()) return applied;
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
    const uint64_t lines = result->lines;
    Status c = pipeline.Commit();
    if (!c.ok()) return c;
    // A large batch is still being written when Commit returns (it lands
    // before the next Commit or Sync returns): the earlier ones have landed.
    lines_committed = lines_handed_off;
    lines_handed_off = lines;
    result->applied = stats.events_applied - applied0;
    result->duplicates = stats.events_duplicate - duplicates0;
    result->dead_lettered = stats.events_dead_lettered - dead0;
    if (progress) {
      FileIngestResult so_far = *result;
      so_far.lines = lines_handed_off;
      progress(so_far);
    }
    return Status::Ok();
  };
  int64_t line_no = -1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++result->lines;
    // The local source: line numbers name dead letters; arrival numbers
    // come from the local shard's counter.
    s = pipeline.Add(line, std::nullopt, source, line_no);
    if (s.ok() && pipeline.pending() >= batch_lines) s = flush();
    if (!s.ok()) {
      result->lines = lines_committed;
      return s;
    }
  }
  if (pipeline.pending() > 0) s = flush();
  if (s.ok()) s = pipeline.Sync();
  if (!s.ok()) result->lines = lines_committed;
  if (s.ok() && finished) *finished = std::move(owned);
  return s;
}

}  // namespace leadflow::ingest
