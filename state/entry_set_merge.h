// Entry sets changed by merge operands: a value that is a sorted set of
// fixed-size entries (kEntryBytes each, ordered by their bytes), and deltas
// that remove and add entries, which the family's merge operator folds into
// the set (FullMergeV2) or into one delta (PartialMergeMulti), as
// state/bitmap_merge.h does for bitmap chunks. The exact date index
// (Cf::kAttrIndex: per org, attribute and UTC day, the (instant, lead number)
// of every lead whose date falls on the day) is kept this way, so that a
// batch writes one operand per (attribute, day) it changes, not a delete and
// a put per lead whose ModifiedOn or activity date moved.
//
// Thread safety: pure functions; the operator is stateless.
#ifndef LEADFLOW_STATE_ENTRY_SET_MERGE_H_
#define LEADFLOW_STATE_ENTRY_SET_MERGE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "state/status.h"

namespace rocksdb {
class MergeOperator;
}  // namespace rocksdb

namespace leadflow::state {

inline constexpr size_t kEntryBytes = 12;

// The operand that removes `removes`, then adds `adds`: each a concatenation
// of sorted, distinct entries.
std::string EncodeEntryDelta(std::string_view adds, std::string_view removes);
// Its inverse (views into bytes); Corruption when bytes are not a delta.
Status DecodeEntryDelta(std::string_view bytes, std::string_view* adds, std::string_view* removes);

// Set operations on concatenations of sorted, distinct entries.
void EntryDifference(std::string_view a, std::string_view b, std::string* out);  // a \ b
void EntryUnion(std::string_view a, std::string_view b, std::string* out);

// The merge operator of Cf::kAttrIndex (Store::Open installs it). A folded
// value is the sorted concatenation of the set's entries ("" when empty).
std::shared_ptr<rocksdb::MergeOperator> NewEntrySetMergeOperator();

}  // namespace leadflow::state

#endif  // LEADFLOW_STATE_ENTRY_SET_MERGE_H_
