// The merge operator of Cf::kLeads: a merge operand is appended to the
// value, bytes after bytes. The views layer gives those bytes a meaning (a
// lead record followed by its journal, views/records.h lead_journal), so a
// batch writes what it changed in a lead instead of the whole record again;
// RocksDB joins the pieces when it flushes, compacts or a reader asks.
#ifndef LEADFLOW_STATE_APPEND_MERGE_H_
#define LEADFLOW_STATE_APPEND_MERGE_H_

#include <memory>

namespace rocksdb {
class MergeOperator;
}  // namespace rocksdb

namespace leadflow::state {

// FullMergeV2: the existing value (none: empty) followed by each operand;
// PartialMergeMulti: the operands joined.
std::shared_ptr<rocksdb::MergeOperator> NewAppendMergeOperator();

}  // namespace leadflow::state

#endif  // LEADFLOW_STATE_APPEND_MERGE_H_
