// Overlay: writes staged in memory ahead of RocksDB (Store::Stage), read
// through by every reader of the store, and written to RocksDB later as one
// checkpoint (Store::Checkpoint). Internal to state/store.cc; its own header
// so that its rules are tested apart (tests/state/overlay_test.cc).
//
// A table holds, per family and key, the ops staged on the key in order,
// each with the version of the stage that wrote it. A reader pinned at
// version V sees the ops of versions <= V, over the RocksDB snapshot that
// the table was staged on (Store keeps the two together in a View), so it
// never sees half a stage nor a stage twice (once in the table and once in
// RocksDB).
//
// Resolving a key's ops gives what a RocksDB Get would give had they been
// written: the last Put or Delete, else the base value, then the merge
// operands after it folded by the family's merge operator (FullMergeV2).
// A checkpoint writes one op per key: the resolved value when the ops hold
// a Put or Delete, else the operands joined by the operator's
// PartialMergeMulti (one operand), or each operand when it declines.
//
// Thread safety: OverlayTable::mu guards ops and the maps; the store's
// stage path holds it exclusively while it adds, readers share it while
// they copy a key's ops out (Find). A frozen table is no longer added to.
#ifndef LEADFLOW_STATE_OVERLAY_H_
#define LEADFLOW_STATE_OVERLAY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "state/status.h"
#include "state/store.h"

namespace rocksdb {
class MergeOperator;
class WriteBatch;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace leadflow::state::detail {

struct OverlayOp {
  enum Kind : uint8_t { kPut, kDelete, kMerge };
  uint64_t version = 0;
  Kind kind = kPut;
  std::string value;  // the Put's value or the merge operand
};

using OverlayOps = std::vector<OverlayOp>;

class OverlayTable {
 public:
  // Adds an op (the caller holds mu exclusively). hint: the position of the
  // last Add in the same family, for keys added in order (amortized O(1)).
  using Map = std::map<std::string, OverlayOps, std::less<>>;
  struct Hint {
    Map::iterator it;
    bool set = false;
  };
  void Add(Cf cf, std::string_view key, OverlayOp::Kind kind, std::string_view value, uint64_t version, Hint* hint);

  // Appends the key's ops of versions <= version to *out, from the last
  // Put or Delete among them (what comes before it is of no use to the
  // reader, so *out is cleared first when there is one); takes mu shared.
  void Find(Cf cf, std::string_view key, uint64_t version, OverlayOps* out) const;

  // Folds (the caller holds mu exclusively). MergesAtEnd: the merge
  // operands after the last Put or Delete of hint's key. InsertFolded: the
  // key's value as of version (its ops up to version folded) inserted as a
  // Put (found) or Delete of that version after those ops, so that readers
  // of that version on fold only the operands after it (at most about
  // kFoldAfter, as RocksDB's max_successive_merges); then the ops before
  // the last Put or Delete of a version <= oldest are dropped (oldest: the
  // oldest version a reader holds; none of them reads those ops).
  static constexpr size_t kFoldAfter = 16;
  static size_t MergesAtEnd(const Hint& hint);  // of hint's key
  void InsertFolded(Cf cf, std::string_view key, uint64_t version, bool found, std::string value, uint64_t oldest);
  // Appends (key, ops) to *out for every key in [begin, end) of the family
  // in order, with its ops of versions <= version from the last Put or
  // Delete among them (takes mu shared; copies the range out first so the
  // caller reads it without the lock).
  void CopyRange(Cf cf, std::string_view begin, std::string_view end, uint64_t version,
                 std::vector<std::pair<std::string, OverlayOps>>* out) const;

  bool empty() const { return ops_ == 0; }
  size_t ops() const { return ops_; }
  size_t keys() const { return keys_; }
  // Estimated bytes of memory (keys, values, per-node overhead).
  size_t bytes() const { return bytes_; }

  Map& map(Cf cf) { return maps_[static_cast<size_t>(cf)]; }
  const Map& map(Cf cf) const { return maps_[static_cast<size_t>(cf)]; }

  mutable std::shared_mutex mu;

 private:
  // Find on one key's ops.
  static void Find(const OverlayOps& ops, uint64_t version, OverlayOps* out);
  Map maps_[static_cast<size_t>(Cf::kCount)];
  size_t ops_ = 0;
  size_t keys_ = 0;
  size_t bytes_ = 0;
};

// The index of the last Put or Delete in ops, or -1.
long LastBase(const OverlayOps& ops);
// The merge operands after it.
size_t MergesAtEnd(const OverlayOps& ops);

// The value of a key after ops, over base (nullptr: absent in RocksDB; not
// read when ops hold a Put or Delete). *found false when the result is
// absent. merge: the family's operator (nullptr for a family without one:
// a merge op is then Corruption). Sets *needs_base and returns OK without
// resolving when base is needed and base_known is false.
Status ResolveOps(const rocksdb::MergeOperator* merge, std::string_view key, const OverlayOps& ops,
                  bool base_known, const std::string* base, bool* needs_base, bool* found, std::string* value);

// Appends the table's ops to *wb as one op per key (see the header
// comment), in family and key order; counts them in *counts.
Status AppendCheckpoint(const OverlayTable& table, const std::vector<rocksdb::ColumnFamilyHandle*>& handles,
                        const std::vector<std::shared_ptr<rocksdb::MergeOperator>>& merges, rocksdb::WriteBatch* wb,
                        WriteCounters* counts);

}  // namespace leadflow::state::detail

#endif  // LEADFLOW_STATE_OVERLAY_H_
