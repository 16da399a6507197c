#include "state/append_merge.h"

#include <deque>
#include <string>

#include <rocksdb/merge_operator.h>
#include <rocksdb/slice.h>

namespace leadflow::state {
namespace {

class AppendMergeOperator : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    size_t n = in.existing_value ? in.existing_value->size() : 0;
    for (const rocksdb::Slice& operand : in.operand_list) n += operand.size();
    out->new_value.clear();
    out->new_value.reserve(n);
    if (in.existing_value) out->new_value.append(in.existing_value->data(), in.existing_value->size());
    for (const rocksdb::Slice& operand : in.operand_list) out->new_value.append(operand.data(), operand.size());
    return true;
  }

  bool PartialMergeMulti(const rocksdb::Slice& /*key*/, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* /*logger*/) const override {
    new_value->clear();
    for (const rocksdb::Slice& operand : operands) new_value->append(operand.data(), operand.size());
    return true;
  }

  const char* Name() const override { return "leadflow.Append"; }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> NewAppendMergeOperator() { return std::make_shared<AppendMergeOperator>(); }

}  // namespace leadflow::state
