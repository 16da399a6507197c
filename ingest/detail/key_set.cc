#include "ingest/detail/key_set.h"

#include <functional>
#include <utility>

namespace leadflow::ingest::detail {

void KeySet::Clear() {
  if (slots_.size() > kKeptSlots) std::vector<Slot>().swap(slots_);
  used_ = 0;
  ++generation_;
}

bool KeySet::Insert(uint32_t object, std::string_view key) {
  // Kept at most half full, so probes stay short.
  if (2 * (used_ + 1) > slots_.size()) Grow();
  Slot& slot = Find(object, key);
  if (slot.generation == generation_) return false;
  slot = Slot{generation_, object, key};
  ++used_;
  return true;
}

size_t KeySet::Hash(uint32_t object, std::string_view key) {
  // Mixing the object number in keeps the same key of sibling objects (an
  // array of records) out of one probe chain.
  return std::hash<std::string_view>()(key) ^ (size_t{object} * 0x9E3779B97F4A7C15ull);
}

KeySet::Slot& KeySet::Find(uint32_t object, std::string_view key) {
  const size_t mask = slots_.size() - 1;
  for (size_t i = Hash(object, key) & mask;; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (slot.generation != generation_) return slot;
    if (slot.object == object && slot.key == key) return slot;
  }
}

void KeySet::Grow() {
  std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(slots_.empty() ? 64 : 2 * slots_.size()));
  for (const Slot& slot : old) {
    if (slot.generation == generation_) Find(slot.object, slot.key) = slot;
  }
}

}  // namespace leadflow::ingest::detail
