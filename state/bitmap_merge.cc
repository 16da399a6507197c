#include "state/bitmap_merge.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <exception>
#include <vector>

#include <rocksdb/merge_operator.h>
#include <rocksdb/slice.h>

namespace leadflow::state {
namespace {

// Delta layout: 'D', the adds' portable size (4 bytes, little-endian), the
// adds, the removes (both portable CRoaring serializations).
constexpr char kDeltaTag = 'D';
constexpr size_t kDeltaHeader = 5;

// a then b: a lead touched by both takes b's operation.
void Combine(Roaring* adds, Roaring* removes, const Roaring& next_adds, const Roaring& next_removes) {
  *adds -= next_removes;
  *adds |= next_adds;
  *removes -= next_adds;
  *removes |= next_removes;
}

class BitmapMergeOperator : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    Roaring chunk;
    if (in.existing_value != nullptr && !in.existing_value->empty() &&
        !DecodeBitmapChunk(in.existing_value->ToStringView(), &chunk).ok()) {
      return false;  // RocksDB reports Corruption
    }
    Roaring adds, removes;
    for (const rocksdb::Slice& operand : in.operand_list) {
      if (!DecodeBitmapDelta(operand.ToStringView(), &adds, &removes).ok()) return false;
      chunk -= removes;
      chunk |= adds;
    }
    out->new_value = EncodeBitmapChunk(&chunk);
    return true;
  }

  bool PartialMergeMulti(const rocksdb::Slice& /*key*/, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* /*logger*/) const override {
    Roaring adds, removes, next_adds, next_removes;
    for (const rocksdb::Slice& operand : operands) {
      if (!DecodeBitmapDelta(operand.ToStringView(), &next_adds, &next_removes).ok()) return false;
      Combine(&adds, &removes, next_adds, next_removes);
    }
    *new_value = EncodeBitmapDelta(adds, removes);
    return true;
  }

  const char* Name() const override { return "leadflow.BitmapDelta"; }
};

// A delta's header ('D' and room for the adds' size), to append the adds to.
std::string NewDelta() {
  std::string out(kDeltaHeader, '\0');
  out[0] = kDeltaTag;
  return out;
}

// Writes the size of the adds, appended to out's header just now, into it.
void SetAddsSize(std::string* out) {
  const uint32_t adds_size = static_cast<uint32_t>(out->size() - kDeltaHeader);
  for (int i = 0; i < 4; ++i) (*out)[1 + i] = static_cast<char>((adds_size >> (8 * i)) & 0xFF);
}

// Appends bitmap's run-optimized portable serialization.
void AppendPortable(std::string* out, Roaring* bitmap) {
  bitmap->runOptimize();
  const size_t at = out->size();
  out->resize(at + bitmap->getSizeInBytes(true));
  bitmap->write(out->data() + at, true);
}

// CRoaring's portable serialization of sorted, strictly increasing
// numbers appended to *out, when it is an array container or none: all in
// one container (the same high 16 bits), at most 4,096 of them, and no two
// consecutive (then runOptimize keeps the array: a run per number is
// larger). False, with *out unchanged, otherwise.
bool AppendSmallPortable(std::string* out, std::span<const uint32_t> sorted) {
  constexpr uint32_t kNoRunCookie = 12346;  // SERIAL_COOKIE_NO_RUNCONTAINER
  constexpr size_t kMaxArray = 4096;        // DEFAULT_MAX_SIZE
  auto put16 = [out](uint32_t v) {
    out->push_back(static_cast<char>(v & 0xFF));
    out->push_back(static_cast<char>((v >> 8) & 0xFF));
  };
  auto put32 = [&](uint32_t v) {
    put16(v & 0xFFFF);
    put16(v >> 16);
  };
  if (sorted.size() > kMaxArray) return false;
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i] <= sorted[i - 1] + 1 || (sorted[i] >> 16) != (sorted[0] >> 16)) return false;
  }
  put32(kNoRunCookie);
  put32(sorted.empty() ? 0 : 1);  // containers
  if (sorted.empty()) return true;
  put16(sorted[0] >> 16);                                // the container's key
  put16(static_cast<uint32_t>(sorted.size() - 1));       // its cardinality - 1
  put32(16);                                             // its offset: after this header
  for (uint32_t v : sorted) put16(v & 0xFFFF);
  return true;
}

// The distinct numbers of a sorted list (duplicates dropped) in *scratch,
// or the list itself when it has none.
std::span<const uint32_t> Distinct(std::span<const uint32_t> sorted, std::vector<uint32_t>* scratch) {
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i] == sorted[i - 1]) {
      scratch->assign(sorted.begin(), sorted.end());
      scratch->erase(std::unique(scratch->begin(), scratch->end()), scratch->end());
      return *scratch;
    }
  }
  return sorted;
}

// The delta of two bitmaps of its own (run-optimized in place).
std::string EncodeDeltaOf(Roaring* adds, Roaring* removes) {
  std::string out = NewDelta();
  AppendPortable(&out, adds);
  SetAddsSize(&out);
  AppendPortable(&out, removes);
  return out;
}

}  // namespace

std::string EncodeBitmapDelta(std::span<const uint32_t> adds, std::span<const uint32_t> removes) {
  std::vector<uint32_t> add_scratch, remove_scratch;
  adds = Distinct(adds, &add_scratch);
  removes = Distinct(removes, &remove_scratch);
  std::string out = NewDelta();
  if (AppendSmallPortable(&out, adds)) {
    SetAddsSize(&out);
    if (AppendSmallPortable(&out, removes)) return out;
  }
  Roaring a, r;
  a.addMany(adds.size(), adds.data());
  r.addMany(removes.size(), removes.data());
  return EncodeDeltaOf(&a, &r);
}

std::string EncodeBitmapDelta(const Roaring& adds, const Roaring& removes) {
  Roaring a = adds, r = removes;
  return EncodeDeltaOf(&a, &r);
}

Status DecodeBitmapDelta(std::string_view bytes, Roaring* adds, Roaring* removes) {
  if (bytes.size() < kDeltaHeader || bytes[0] != kDeltaTag) return Status::Corruption("bad bitmap delta");
  uint32_t adds_size = 0;
  for (int i = 0; i < 4; ++i) adds_size |= uint32_t{static_cast<unsigned char>(bytes[1 + i])} << (8 * i);
  if (adds_size > bytes.size() - kDeltaHeader) return Status::Corruption("bad bitmap delta");
  if (!DecodeBitmapChunk(bytes.substr(kDeltaHeader, adds_size), adds).ok() ||
      !DecodeBitmapChunk(bytes.substr(kDeltaHeader + adds_size), removes).ok()) {
    return Status::Corruption("bad bitmap delta");
  }
  return Status::Ok();
}

std::string EncodeBitmapChunk(Roaring* bitmap) {
  std::string out;
  if (!bitmap->isEmpty()) AppendPortable(&out, bitmap);
  return out;
}

Status DecodeBitmapChunk(std::string_view bytes, Roaring* out) {
  try {
    *out = Roaring::readSafe(bytes.data(), bytes.size());
    return Status::Ok();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("bad bitmap: ") + e.what());
  }
}

std::shared_ptr<rocksdb::MergeOperator> NewBitmapMergeOperator() { return std::make_shared<BitmapMergeOperator>(); }

}  // namespace leadflow::state
