#include "state/record_set_merge.h"

#include <cstdint>
#include <cstring>
#include <deque>

#include <rocksdb/merge_operator.h>
#include <rocksdb/slice.h>

#include "state/detail/fixed_runs.h"

namespace leadflow::state {

namespace {

// Record layout: the id, the payload's size (2 bytes, little-endian), the
// payload. Delta layout: 'R', the puts' size in bytes (4 bytes,
// little-endian), the puts, the removed ids.
constexpr size_t kRecordHeader = kRecordIdBytes + 2;
constexpr char kDeltaTag = 'R';
constexpr size_t kDeltaHeader = 5;

int CompareIds(const char* a, const char* b) { return std::memcmp(a, b, kRecordIdBytes); }

// The record at *pos of bytes (its id and its whole bytes); advances *pos.
// False when bytes end inside a record.
bool NextRecord(std::string_view bytes, size_t* pos, std::string_view* whole) {
  if (bytes.size() - *pos < kRecordHeader) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + *pos + kRecordIdBytes);
  const size_t size = kRecordHeader + (size_t{p[0]} | size_t{p[1]} << 8);
  if (bytes.size() - *pos < size) return false;
  *whole = bytes.substr(*pos, size);
  *pos += size;
  return true;
}

bool ValidIds(std::string_view ids) { return ids.size() % kRecordIdBytes == 0; }

// The records of set whose id is not among the sorted ids; false when set
// is not a concatenation of records.
bool RemoveIds(std::string_view set, std::string_view ids, std::string* out) {
  out->clear();
  size_t pos = 0, j = 0;
  std::string_view rec;
  while (pos < set.size()) {
    if (!NextRecord(set, &pos, &rec)) return false;
    while (j < ids.size() && CompareIds(ids.data() + j, rec.data()) < 0) j += kRecordIdBytes;
    if (j < ids.size() && CompareIds(ids.data() + j, rec.data()) == 0) continue;
    out->append(rec);
  }
  return true;
}

// The records of a and b by id, b's where both have one; false when either
// is not a concatenation of records.
bool Upsert(std::string_view a, std::string_view b, std::string* out) {
  out->clear();
  out->reserve(a.size() + b.size());
  size_t i = 0, j = 0;
  std::string_view ra, rb;
  bool have_a = i < a.size(), have_b = j < b.size();
  if (have_a && !NextRecord(a, &i, &ra)) return false;
  if (have_b && !NextRecord(b, &j, &rb)) return false;
  while (have_a || have_b) {
    const int c = !have_a ? 1 : !have_b ? -1 : CompareIds(ra.data(), rb.data());
    if (c < 0) {
      out->append(ra);
    } else {
      out->append(rb);
      have_b = j < b.size();
      if (have_b && !NextRecord(b, &j, &rb)) return false;
    }
    if (c <= 0) {
      have_a = i < a.size();
      if (have_a && !NextRecord(a, &i, &ra)) return false;
    }
  }
  return true;
}

class RecordSetMergeOperator : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    std::string set, scratch;
    if (in.existing_value != nullptr) set.assign(in.existing_value->data(), in.existing_value->size());
    for (const rocksdb::Slice& operand : in.operand_list) {
      std::string_view puts, removes;
      if (!DecodeRecordDelta(operand.ToStringView(), &puts, &removes).ok()) return false;  // RocksDB reports Corruption
      if (!RemoveIds(set, removes, &scratch) || !Upsert(scratch, puts, &set)) return false;
    }
    out->new_value = std::move(set);
    return true;
  }

  bool PartialMergeMulti(const rocksdb::Slice& /*key*/, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* /*logger*/) const override {
    // Applying "remove R, then put P" for the deltas in turn equals one
    // delta with R = the union of the removes and P = the puts of each
    // delta not removed by a later one, a later put winning over an earlier.
    std::string puts, removes, scratch;
    for (const rocksdb::Slice& operand : operands) {
      std::string_view next_puts, next_removes;
      if (!DecodeRecordDelta(operand.ToStringView(), &next_puts, &next_removes).ok()) return false;
      if (!RemoveIds(puts, next_removes, &scratch) || !Upsert(scratch, next_puts, &puts)) return false;
      detail::FixedUnion(removes, next_removes, kRecordIdBytes, &scratch);
      removes.swap(scratch);
    }
    *new_value = EncodeRecordDelta(puts, removes);
    return true;
  }

  const char* Name() const override { return "leadflow.RecordSetDelta"; }
};

}  // namespace

void AppendRecord(std::string* out, std::string_view id, std::string_view payload) {
  out->append(id.data(), kRecordIdBytes);
  out->push_back(static_cast<char>(payload.size() & 0xFF));
  out->push_back(static_cast<char>((payload.size() >> 8) & 0xFF));
  out->append(payload);
}

Status ForEachRecord(std::string_view bytes, const std::function<bool(std::string_view, std::string_view)>& fn) {
  size_t pos = 0;
  std::string_view rec;
  while (pos < bytes.size()) {
    if (!NextRecord(bytes, &pos, &rec)) return Status::Corruption("bad record set");
    if (!fn(rec.substr(0, kRecordIdBytes), rec.substr(kRecordHeader))) break;
  }
  return Status::Ok();
}

std::string EncodeRecordDelta(std::string_view puts, std::string_view removes) {
  std::string out(kDeltaHeader, '\0');
  out[0] = kDeltaTag;
  const uint32_t puts_size = static_cast<uint32_t>(puts.size());
  for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<char>((puts_size >> (8 * i)) & 0xFF);
  out.append(puts);
  out.append(removes);
  return out;
}

Status DecodeRecordDelta(std::string_view bytes, std::string_view* puts, std::string_view* removes) {
  if (bytes.size() < kDeltaHeader || bytes[0] != kDeltaTag) return Status::Corruption("bad record delta");
  uint32_t puts_size = 0;
  for (int i = 0; i < 4; ++i) puts_size |= uint32_t{static_cast<unsigned char>(bytes[1 + i])} << (8 * i);
  if (puts_size > bytes.size() - kDeltaHeader) return Status::Corruption("bad record delta");
  *puts = bytes.substr(kDeltaHeader, puts_size);
  *removes = bytes.substr(kDeltaHeader + puts_size);
  if (!ValidIds(*removes)) return Status::Corruption("bad record delta");
  return Status::Ok();
}

std::shared_ptr<rocksdb::MergeOperator> NewRecordSetMergeOperator() {
  return std::make_shared<RecordSetMergeOperator>();
}

}  // namespace leadflow::state
