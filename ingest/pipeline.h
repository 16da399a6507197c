// Pipeline: the one path from raw message bytes to applied state, shared by
// the Kafka consumer and `leadflow ingest --file`. Decodes each message,
// applies valid events to the views' pending batch, collects invalid ones as
// dead letters, and commits the batch together with the source positions.
//
// Thread safety: one thread at a time. The counters in Stats are atomics and
// may be read from any thread.
#ifndef LEADFLOW_INGEST_PIPELINE_H_
#define LEADFLOW_INGEST_PIPELINE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "state/status.h"
#include "state/store.h"
#include "views/applier.h"

namespace leadflow::ingest {

// Counters exported as metrics. Updated when a batch commits. The event
// totals are persisted with every batch, so they survive restarts and count
// each event exactly once however often the process is killed.
struct Stats {
  std::atomic<uint64_t> events_applied{0};
  std::atomic<uint64_t> events_duplicate{0};
  std::atomic<uint64_t> events_dead_lettered{0};
  std::atomic<uint64_t> anomalies{0};
  std::atomic<uint64_t> batches{0};
};

struct SourcePosition {
  std::string topic;
  int32_t partition = 0;
  friend bool operator<(const SourcePosition& a, const SourcePosition& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  }
};

struct DeadLetter {
  std::string reason;
  std::string value;               // the original bytes
  std::optional<std::string> key;  // the original key
  SourcePosition source;
  int64_t offset = -1;
};

class Pipeline {
 public:
  // store and stats must outlive the Pipeline. Loads the persisted totals
  // into stats.
  Pipeline(state::Store* store, Stats* stats);
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Decodes and applies one message at (source, offset). Invalid messages
  // become dead letters. With track_position, Commit stores offset + 1 as the
  // source's next position. Non-OK only when the store fails; the batch is
  // then discarded.
  Status Add(std::string_view value, std::optional<std::string_view> key, const SourcePosition& source,
             int64_t offset, bool track_position = true);

  // Dead letters of the pending batch; the caller publishes them before Commit.
  const std::vector<DeadLetter>& dead_letters() const { return dead_letters_; }

  // Messages added since the last commit.
  size_t pending() const { return pending_; }

  // Atomically writes the pending state and, for every source seen, the next
  // offset to read. Then starts an empty batch.
  Status Commit();
  // Discards the pending batch.
  void Reset();

  // The stored next offset of a source, or nullopt. Reads the store.
  std::optional<int64_t> StoredPosition(const SourcePosition& source) const;

 private:
  state::Store* store_;
  Stats* stats_;
  views::Applier applier_;
  std::vector<DeadLetter> dead_letters_;
  std::map<SourcePosition, int64_t> next_offsets_;
  size_t pending_ = 0;
  uint64_t pending_applied_ = 0;
  uint64_t pending_duplicates_ = 0;
};

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_PIPELINE_H_
