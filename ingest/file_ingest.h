// File ingest: `leadflow ingest --file events.ndjson`, the broker-less way in
// for backfills. Each line is one message value, through the same decode and
// apply path as Kafka (ingest/pipeline.h). Duplicates are skipped by event_id,
// so ingesting a file twice changes nothing.
//
// Thread safety: one call at a time per store.
#ifndef LEADFLOW_INGEST_FILE_INGEST_H_
#define LEADFLOW_INGEST_FILE_INGEST_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <ostream>
#include <string>

#include "ingest/pipeline.h"
#include "state/status.h"
#include "state/store.h"

namespace leadflow::ingest {

// What one call took in: counts of this run only (the store's all-time
// totals are in its metrics).
struct FileIngestResult {
  uint64_t lines = 0;          // non-blank lines read
  uint64_t applied = 0;        // lines committed as new events
  uint64_t duplicates = 0;     // lines committed as duplicates
  uint64_t dead_lettered = 0;  // invalid lines
};

// Called after every committed batch with the counts so far.
using FileIngestProgress = std::function<void(const FileIngestResult&)>;

// Reads NDJSON from in (blank lines are skipped) and applies it in batches of
// batch_lines. Invalid lines are written to dead_letters (one JSON envelope
// per line: reason, line number, original) when it is non-null. *result
// holds what was committed, also when an error stops the run.
// apply_workers, lead_cache_bytes: see Pipeline::Create.
// finished: when non-null, the pipeline is handed here once its last write
// has landed instead of being destroyed, so that a process about to exit
// can leave its memory (the lead caches, the duplicate set: ~5% of an
// `ingest --file` run to free) to the OS. It must not be used again: its
// counters were local to this call.
Status IngestStream(std::istream& in, state::Store* store, size_t batch_lines, std::ostream* dead_letters,
                    FileIngestResult* result, const FileIngestProgress& progress = nullptr,
                    size_t apply_workers = 1, size_t lead_cache_bytes = views::Applier::kDefaultLeadCacheBytes,
                    std::unique_ptr<Pipeline>* finished = nullptr);

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_FILE_INGEST_H_
