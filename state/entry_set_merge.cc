#include "state/entry_set_merge.h"

#include <cstdint>
#include <cstring>
#include <deque>

#include <rocksdb/merge_operator.h>
#include <rocksdb/slice.h>

#include "state/detail/fixed_runs.h"

namespace leadflow::state {

namespace {

// Delta layout: 'E', the adds' size in bytes (4 bytes, little-endian), the
// adds, the removes.
constexpr char kDeltaTag = 'E';
constexpr size_t kDeltaHeader = 5;

int Compare(const char* a, const char* b) { return std::memcmp(a, b, kEntryBytes); }

class EntrySetMergeOperator : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    std::string set, scratch;
    if (in.existing_value != nullptr) {
      if (in.existing_value->size() % kEntryBytes != 0) return false;  // RocksDB reports Corruption
      set.assign(in.existing_value->data(), in.existing_value->size());
    }
    for (const rocksdb::Slice& operand : in.operand_list) {
      std::string_view adds, removes;
      if (!DecodeEntryDelta(operand.ToStringView(), &adds, &removes).ok()) return false;
      EntryDifference(set, removes, &scratch);
      EntryUnion(scratch, adds, &set);
    }
    out->new_value = std::move(set);
    return true;
  }

  bool PartialMergeMulti(const rocksdb::Slice& /*key*/, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* /*logger*/) const override {
    // Applying "remove R, then add A" for the deltas in turn equals one
    // delta with R = the union of the removes and A = the adds of each
    // delta not removed by a later one.
    std::string adds, removes, scratch;
    for (const rocksdb::Slice& operand : operands) {
      std::string_view next_adds, next_removes;
      if (!DecodeEntryDelta(operand.ToStringView(), &next_adds, &next_removes).ok()) return false;
      EntryDifference(adds, next_removes, &scratch);
      EntryUnion(scratch, next_adds, &adds);
      EntryUnion(removes, next_removes, &scratch);
      removes.swap(scratch);
    }
    *new_value = EncodeEntryDelta(adds, removes);
    return true;
  }

  const char* Name() const override { return "leadflow.EntrySetDelta"; }
};

}  // namespace

std::string EncodeEntryDelta(std::string_view adds, std::string_view removes) {
  std::string out(kDeltaHeader, '\0');
  out[0] = kDeltaTag;
  const uint32_t adds_size = static_cast<uint32_t>(adds.size());
  for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<char>((adds_size >> (8 * i)) & 0xFF);
  out.append(adds);
  out.append(removes);
  return out;
}

Status DecodeEntryDelta(std::string_view bytes, std::string_view* adds, std::string_view* removes) {
  if (bytes.size() < kDeltaHeader || bytes[0] != kDeltaTag) return Status::Corruption("bad entry delta");
  uint32_t adds_size = 0;
  for (int i = 0; i < 4; ++i) adds_size |= uint32_t{static_cast<unsigned char>(bytes[1 + i])} << (8 * i);
  const size_t rest = bytes.size() - kDeltaHeader;
  if (adds_size > rest || adds_size % kEntryBytes != 0 || (rest - adds_size) % kEntryBytes != 0) {
    return Status::Corruption("bad entry delta");
  }
  *adds = bytes.substr(kDeltaHeader, adds_size);
  *removes = bytes.substr(kDeltaHeader + adds_size);
  return Status::Ok();
}

void EntryDifference(std::string_view a, std::string_view b, std::string* out) {
  out->clear();
  size_t i = 0, j = 0;
  while (i < a.size()) {
    if (j >= b.size()) {
      out->append(a.substr(i));
      break;
    }
    const int c = Compare(a.data() + i, b.data() + j);
    if (c < 0) {
      out->append(a.data() + i, kEntryBytes);
      i += kEntryBytes;
    } else {
      if (c == 0) i += kEntryBytes;
      j += kEntryBytes;
    }
  }
}

void EntryUnion(std::string_view a, std::string_view b, std::string* out) { detail::FixedUnion(a, b, kEntryBytes, out); }

std::shared_ptr<rocksdb::MergeOperator> NewEntrySetMergeOperator() { return std::make_shared<EntrySetMergeOperator>(); }

}  // namespace leadflow::state
