// Record sets changed by merge operands: a value that is a set of records,
// each a fixed-size id (kRecordIdBytes, the set's order: by the id's bytes)
// and a payload of up to 65535 bytes, and deltas that remove records by id
// and put records (replacing any of the same id), which the family's merge
// operator folds into the set (FullMergeV2) or into one delta
// (PartialMergeMulti), as state/entry_set_merge.h does for fixed-size
// entries. The transition log (Cf::kLog: per org and UTC hour, each
// effective transition's (instant, lead number, index) -> (from, to)) is
// kept this way, so that a batch writes one operand per hour it changes,
// not a key per transition.
//
// Thread safety: pure functions; the operator is stateless.
#ifndef LEADFLOW_STATE_RECORD_SET_MERGE_H_
#define LEADFLOW_STATE_RECORD_SET_MERGE_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "state/status.h"

namespace rocksdb {
class MergeOperator;
}  // namespace rocksdb

namespace leadflow::state {

inline constexpr size_t kRecordIdBytes = 16;

// Appends one record (id: kRecordIdBytes bytes; payload: at most 65535).
void AppendRecord(std::string* out, std::string_view id, std::string_view payload);

// Calls fn(id, payload) for each record of a set (or of a delta's puts), in
// order; stops early when fn returns false. Corruption when bytes are not
// a concatenation of records.
Status ForEachRecord(std::string_view bytes, const std::function<bool(std::string_view, std::string_view)>& fn);

// The operand that removes the records whose ids are in `removes` (sorted,
// distinct ids, concatenated), then puts `puts` (records sorted by id,
// distinct ids).
std::string EncodeRecordDelta(std::string_view puts, std::string_view removes);
// Its inverse (views into bytes); Corruption when bytes are not a delta.
Status DecodeRecordDelta(std::string_view bytes, std::string_view* puts, std::string_view* removes);

// The merge operator of Cf::kLog (Store::Open installs it). A folded value
// is the records of the set sorted by id ("" when empty).
std::shared_ptr<rocksdb::MergeOperator> NewRecordSetMergeOperator();

}  // namespace leadflow::state

#endif  // LEADFLOW_STATE_RECORD_SET_MERGE_H_
