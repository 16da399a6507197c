// Sorted runs of fixed-width entries (a concatenation of distinct entries
// of `width` bytes each, in the order of their bytes): the set union the
// entry sets (state/entry_set_merge.h) and the record sets' ids
// (state/record_set_merge.h) both fold with.
//
// Thread safety: pure functions.
#ifndef LEADFLOW_STATE_DETAIL_FIXED_RUNS_H_
#define LEADFLOW_STATE_DETAIL_FIXED_RUNS_H_

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace leadflow::state::detail {

// out = a ∪ b (entries in both once).
inline void FixedUnion(std::string_view a, std::string_view b, size_t width, std::string* out) {
  out->clear();
  out->reserve(a.size() + b.size());
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const int c = std::memcmp(a.data() + i, b.data() + j, width);
    if (c <= 0) {
      out->append(a.data() + i, width);
      i += width;
      if (c == 0) j += width;
    } else {
      out->append(b.data() + j, width);
      j += width;
    }
  }
  out->append(a.substr(i));
  out->append(b.substr(j));
}

}  // namespace leadflow::state::detail

#endif  // LEADFLOW_STATE_DETAIL_FIXED_RUNS_H_
