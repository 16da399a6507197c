// KeySet: the keys met so far in each object of one JSON document, so that a
// decoder can refuse a duplicate key with one hash lookup per key, in time
// linear in the keys whatever the input's shape (simdjson does not look for
// duplicates).
//
// An open-addressing table of (object number, key) pairs. Each slot carries
// the generation of the document that filled it, so Clear() empties the table
// in O(1) and the table is reused across documents without being freed;
// after a document that needed more than kKeptSlots it is freed, so one huge
// message does not pin its table for the thread's lifetime.
//
// Thread safety: none. Intentionally not copyable (a per-thread scratch).
#ifndef LEADFLOW_INGEST_DETAIL_KEY_SET_H_
#define LEADFLOW_INGEST_DETAIL_KEY_SET_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace leadflow::ingest::detail {

class KeySet {
 public:
  // Slots kept between documents: room for 2048 keys, far more than an
  // event has.
  static constexpr size_t kKeptSlots = 4096;

  KeySet() = default;
  KeySet(const KeySet&) = delete;
  KeySet& operator=(const KeySet&) = delete;

  // Forgets every key, for the next document.
  void Clear();

  // Adds key to the object numbered object; false when that object already
  // has it. REQUIRES: key's bytes stay valid until Clear().
  bool Insert(uint32_t object, std::string_view key);

 private:
  struct Slot {
    uint64_t generation = 0;  // 0: never used
    uint32_t object = 0;
    std::string_view key;
  };

  static size_t Hash(uint32_t object, std::string_view key);
  // The slot of (object, key): its own when present, else the free one where
  // it belongs. REQUIRES: a free slot exists.
  Slot& Find(uint32_t object, std::string_view key);
  void Grow();

  std::vector<Slot> slots_;  // size 0 or a power of two
  size_t used_ = 0;
  uint64_t generation_ = 1;
};

}  // namespace leadflow::ingest::detail

#endif  // LEADFLOW_INGEST_DETAIL_KEY_SET_H_
