// How --memory-budget is spent. One number bounds the memory that grows with
// the state and the stream; it is split between the consumers that hold
// most of it:
//
//   lead cache      35%  leads kept decoded between batches (views::Applier,
//                        LRU by estimated bytes; an evicted lead is read
//                        back from RocksDB, where every batch wrote it)
//   write buffers   20%  RocksDB's memtables of every column family together
//                        (a WriteBufferManager: the largest is flushed
//                        when they reach it)
//   block cache     13%  RocksDB's cache of table blocks (the reports' reads
//                        and the duplicate set's confirmations)
//   bitmap cache     7%  whole bitmaps the reports read, and their folds
//                        over a period, kept decoded for as long as they do
//                        not change (state/bitmap_cache.h; `serve` only)
//   prefetch        1/16 fetched messages librdkafka holds before they are
//                        consumed (queued.max.messages.kbytes), 16-256 MiB
//   report cache    1/64 rendered status reports by org, parameters and
//                        state version (api/report_cache.h; `serve` only)
//   the rest             the batch being applied and the one being written
//                        (their cap, batch_events, is sized from the budget:
//                        about 1.4 KB of memory per event of the cap was
//                        measured for the two together), live batches staged
//                        ahead of their checkpoint (state/store.h Stage: at
//                        most staged_bytes, 1/16 of the budget; the stage
//                        that passes it checkpoints at once; a second of
//                        20,000 events/s is ~5 MB), the tables' indexes
//                        and Bloom filters (kept open, state/store.cc), HTTP,
//                        the allocator's slack
//
// Outside the split: the duplicate set (views/write/dedup_set.h), exact and
// unbounded in time as the contract requires, holds 8 bytes of fingerprint
// table per distinct event at 38-75% load (11-21 bytes an event: ~0.5 GiB
// at the full bench's 34M events) plus the whole keys of at most
// DedupSet::kOpenLimit recent events; it is reported as
// leadflow_dedup_set_bytes. docs/design.md (session 9, "--memory-budget")
// has the measurements behind the split.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "state/store.h"

namespace leadflow::ingest {

struct MemoryBudget {
  static constexpr uint64_t kDefaultBytes = uint64_t{2} << 30;
  static constexpr uint64_t kMinBytes = uint64_t{128} << 20;
  static constexpr uint64_t kMaxBytes = uint64_t{1} << 40;

  uint64_t total = 0;
  uint64_t lead_cache = 0;
  uint64_t write_buffers = 0;
  uint64_t block_cache = 0;
  uint64_t bitmap_cache = 0;
  uint64_t prefetch = 0;
  uint64_t report_cache = 0;
  // Live batches staged in memory before a checkpoint writes them
  // (state::Store::Options::max_staged_bytes): total / 16.
  uint64_t staged_bytes = 0;
  // Events per batch while catching up (the Kafka consumer's message cap,
  // `ingest --file`'s default --batch): one per 5 KiB of the budget,
  // 10,000 to 1,000,000 (2 GiB: 419,430). Bigger batches write each touched
  // lead record and bitmap chunk once for more events (docs/design.md,
  // session 10).
  uint64_t batch_events = 0;

  // The split of total bytes (kMinBytes to kMaxBytes).
  static MemoryBudget Split(uint64_t total);
  // "2048" (MiB), "512M", "512MiB", "2G", "2GiB" (case-insensitive) ->
  // bytes within [kMinBytes, kMaxBytes]; nullopt for anything else.
  static std::optional<uint64_t> Parse(std::string_view text);
  // "2.0 GiB: lead cache 716.8 MiB, write buffers ..." for the start-up log.
  std::string Describe() const;
  // The store's share: block cache, write buffers and staged bytes (the
  // bitmap cache is the reports', set by whoever serves them).
  state::Store::Options StoreOptions() const;
};

}  // namespace leadflow::ingest
