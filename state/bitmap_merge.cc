#include "state/bitmap_merge.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <exception>
#include <iterator>
#include <string_view>
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

// The numbers of a portable serialization without run containers whose
// containers are all arrays (what CRoaring writes for a few numbers per
// chunk, as a live batch's delta holds), appended to *out in order; false
// for any other form (runs, bitsets, malformed), which CRoaring then reads.
bool ReadArrayPortable(std::string_view b, std::vector<uint32_t>* out) {
  constexpr uint32_t kNoRunCookie = 12346;  // SERIAL_COOKIE_NO_RUNCONTAINER
  constexpr uint32_t kMaxArray = 4096;      // DEFAULT_MAX_SIZE
  auto u16 = [&](size_t at) {
    return static_cast<uint32_t>(static_cast<unsigned char>(b[at])) |
           static_cast<uint32_t>(static_cast<unsigned char>(b[at + 1])) << 8;
  };
  auto u32 = [&](size_t at) { return u16(at) | u16(at + 2) << 16; };
  if (b.size() < 8 || u32(0) != kNoRunCookie) return false;
  const uint32_t n = u32(4);
  if (n > 65536 || b.size() < 8 + size_t{8} * n) return false;
  size_t data = 8 + size_t{8} * n;  // after the keys, cardinalities and offsets
  for (uint32_t c = 0; c < n; ++c) {
    const uint32_t key = u16(8 + 4 * c), card = u16(8 + 4 * c + 2) + 1;
    if (card > kMaxArray || u32(8 + 4 * size_t{n} + 4 * c) != data || b.size() < data + 2 * size_t{card}) return false;
    for (uint32_t i = 0; i < card; ++i) {
      const uint32_t v = key << 16 | u16(data + 2 * i);
      if (!out->empty() && v <= out->back()) return false;  // not strictly increasing: let CRoaring judge
      out->push_back(v);
    }
    data += 2 * size_t{card};
  }
  return data == b.size();
}

// A delta's two serializations, the adds' and the removes'; false when bytes
// are not a delta.
bool SplitDelta(std::string_view bytes, std::string_view* adds, std::string_view* removes) {
  if (bytes.size() < kDeltaHeader || bytes[0] != kDeltaTag) return false;
  uint32_t adds_size = 0;
  for (int i = 0; i < 4; ++i) adds_size |= uint32_t{static_cast<unsigned char>(bytes[1 + i])} << (8 * i);
  if (adds_size > bytes.size() - kDeltaHeader) return false;
  *adds = bytes.substr(kDeltaHeader, adds_size);
  *removes = bytes.substr(kDeltaHeader + adds_size);
  return true;
}

// A delta's adds and removes as sorted lists, when both are arrays
// (ReadArrayPortable); false otherwise.
bool ReadSmallDelta(std::string_view bytes, std::vector<uint32_t>* adds, std::vector<uint32_t>* removes) {
  adds->clear();
  removes->clear();
  std::string_view a, r;
  return SplitDelta(bytes, &a, &r) && ReadArrayPortable(a, adds) && ReadArrayPortable(r, removes);
}

// Combine over sorted lists: *adds and *removes become the delta of them
// then next (scratch: any vector, for the work).
void CombineSorted(std::vector<uint32_t>* adds, std::vector<uint32_t>* removes, const std::vector<uint32_t>& next_adds,
                   const std::vector<uint32_t>& next_removes, std::vector<uint32_t>* scratch) {
  auto minus_then_plus = [scratch](std::vector<uint32_t>* set, const std::vector<uint32_t>& minus,
                                   const std::vector<uint32_t>& plus) {
    if (minus.size() + plus.size() <= 8) {
      // A live batch's operand (a lead or a few): each number found by
      // binary search and inserted or erased in place, a memmove of the
      // tail, not a copy of the whole set per operand.
      for (uint32_t x : minus) {
        auto it = std::lower_bound(set->begin(), set->end(), x);
        if (it != set->end() && *it == x) set->erase(it);
      }
      for (uint32_t x : plus) {
        auto it = std::lower_bound(set->begin(), set->end(), x);
        if (it == set->end() || *it != x) set->insert(it, x);
      }
      return;
    }
    if (minus.empty()) {
      // Without copying the set: nothing to add, a set no earlier operand
      // had, or numbers past the set's (new leads).
      if (plus.empty()) return;
      if (set->empty() || plus.front() > set->back()) {
        set->insert(set->end(), plus.begin(), plus.end());
        return;
      }
      scratch->swap(*set);
    } else {
      scratch->clear();
      std::set_difference(set->begin(), set->end(), minus.begin(), minus.end(), std::back_inserter(*scratch));
    }
    set->clear();
    std::set_union(scratch->begin(), scratch->end(), plus.begin(), plus.end(), std::back_inserter(*set));
  };
  minus_then_plus(adds, next_removes, next_adds);
  minus_then_plus(removes, next_adds, next_removes);
}

// Every operand combined into one delta's sorted lists, when every operand
// is small (ReadSmallDelta); false otherwise (CRoaring combines them then).
template <typename Operands>
bool CombineSmallDeltas(const Operands& operands, std::vector<uint32_t>* adds, std::vector<uint32_t>* removes) {
  thread_local std::vector<uint32_t> next_adds, next_removes, scratch;
  adds->clear();
  removes->clear();
  for (const rocksdb::Slice& operand : operands) {
    if (!ReadSmallDelta(operand.ToStringView(), &next_adds, &next_removes)) {
      // Another form (runs: consecutive new leads; or bitsets): through
      // CRoaring, then as lists when they are small.
      Roaring a, r;
      constexpr uint64_t kMaxListed = 65536;
      if (!DecodeBitmapDelta(operand.ToStringView(), &a, &r).ok() || a.cardinality() > kMaxListed ||
          r.cardinality() > kMaxListed) {
        return false;
      }
      next_adds.resize(a.cardinality());
      a.toUint32Array(next_adds.data());
      next_removes.resize(r.cardinality());
      r.toUint32Array(next_removes.data());
    }
    CombineSorted(adds, removes, next_adds, next_removes, &scratch);
  }
  return true;
}

// Every operand combined into one delta through CRoaring (any form);
// false when an operand is not a delta.
template <typename Operands>
bool CombineDeltas(const Operands& operands, Roaring* adds, Roaring* removes) {
  Roaring next_adds, next_removes;
  for (const rocksdb::Slice& operand : operands) {
    if (!DecodeBitmapDelta(operand.ToStringView(), &next_adds, &next_removes).ok()) return false;
    Combine(adds, removes, next_adds, next_removes);
  }
  return true;
}

Roaring OfSorted(const std::vector<uint32_t>& v) {
  Roaring r;
  r.addMany(v.size(), v.data());
  return r;
}

class BitmapMergeOperator : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    Roaring chunk;
    if (in.existing_value != nullptr && !in.existing_value->empty() &&
        !DecodeBitmapChunk(in.existing_value->ToStringView(), &chunk).ok()) {
      return false;  // RocksDB reports Corruption
    }
    // The operands combined first (small: a live batch's delta holds a lead
    // or a few per chunk; as sorted lists, no bitmap built per operand),
    // then applied to the chunk once: applying each to the chunk rewrote its
    // containers once per operand (an array container of thousands of
    // numbers merged for one), ~8% of the live path's instructions in the
    // store's folds (session 26).
    Roaring adds, removes;
    thread_local std::vector<uint32_t> small_adds, small_removes;
    if (CombineSmallDeltas(in.operand_list, &small_adds, &small_removes)) {
      adds = OfSorted(small_adds);
      removes = OfSorted(small_removes);
    } else if (!CombineDeltas(in.operand_list, &adds, &removes)) {
      return false;
    }
    chunk -= removes;
    chunk |= adds;
    out->new_value = EncodeBitmapChunk(&chunk);
    return true;
  }

  bool PartialMergeMulti(const rocksdb::Slice& /*key*/, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* /*logger*/) const override {
    thread_local std::vector<uint32_t> small_adds, small_removes;
    if (CombineSmallDeltas(operands, &small_adds, &small_removes)) {
      *new_value = EncodeBitmapDelta(small_adds, small_removes);  // the same bytes as from bitmaps
      return true;
    }
    Roaring adds, removes;
    if (!CombineDeltas(operands, &adds, &removes)) return false;
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
  std::string_view a, r;
  if (!SplitDelta(bytes, &a, &r) || !DecodeBitmapChunk(a, adds).ok() || !DecodeBitmapChunk(r, removes).ok()) {
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
