// Bitmap chunks (Cf::kBitmaps) are changed by merge operands, never read,
// changed and written back by the writer.
//
// A chunk's value is a portable CRoaring bitmap of lead numbers
// (views/keys.h BitmapChunk). A batch that adds leads to a chunk or removes
// them writes one operand, a *delta* (remove these, then add those), with
// WriteBatch::Merge; RocksDB folds the deltas into the chunk when it flushes
// or compacts, and when a reader asks for the chunk before that (Get and
// Scan return the folded bitmap, as if it had been written whole). So a
// batch costs a few bytes per changed (chunk, lead) instead of a rewrite of
// every chunk it touches: at 1M leads an all-time chunk holds up to 65,536
// lead numbers, and a live batch touches most of an org's big chunks.
//
// A chunk that ends empty is stored as an empty value, which Get and Scan
// of Cf::kBitmaps treat as absent.
#ifndef LEADFLOW_STATE_BITMAP_MERGE_H_
#define LEADFLOW_STATE_BITMAP_MERGE_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <roaring/roaring.hh>

#include "state/status.h"

namespace rocksdb {
class MergeOperator;
}  // namespace rocksdb

namespace leadflow::state {

// The operand that removes `removes` from a chunk, then adds `adds`.
std::string EncodeBitmapDelta(const Roaring& adds, const Roaring& removes);
// The same operand from sorted lists of lead numbers (duplicates allowed),
// byte for byte: a delta of a few numbers in one chunk (a live batch's, at
// most a handful per chunk) is written directly in CRoaring's portable
// layout, with no bitmap built; any other goes through CRoaring.
std::string EncodeBitmapDelta(std::span<const uint32_t> adds, std::span<const uint32_t> removes);
// Its inverse; Corruption when bytes are not a delta.
Status DecodeBitmapDelta(std::string_view bytes, Roaring* adds, Roaring* removes);

// The stored form of a chunk: empty for an empty bitmap (absent to readers),
// else the run-optimized portable serialization.
std::string EncodeBitmapChunk(Roaring* bitmap);
// The bitmap of a stored (non-empty) chunk; Corruption when malformed.
Status DecodeBitmapChunk(std::string_view bytes, Roaring* out);

// The merge operator of Cf::kBitmaps (Store::Open installs it): folds deltas
// into a chunk in order (FullMergeV2), and consecutive deltas into one
// (PartialMergeMulti; a later delta wins for a lead both touch).
std::shared_ptr<rocksdb::MergeOperator> NewBitmapMergeOperator();

}  // namespace leadflow::state

#endif  // LEADFLOW_STATE_BITMAP_MERGE_H_
