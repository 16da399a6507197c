// MergeSorted: two sorted vectors merged into one, in ranges on several
// threads when a parallel runner is given (the applier's workers merging a
// catch-up batch's sorted runs of duplicate keys, ~100,000s each).
//
// The result equals std::merge(a, b, less) (stable: of equal elements, a's
// come first) however the ranges are run.
//
// Thread safety: a function of its arguments (parallel: a ParallelRunner,
// views/detail/worker_pool.h).
#ifndef LEADFLOW_VIEWS_DETAIL_MERGE_SORTED_H_
#define LEADFLOW_VIEWS_DETAIL_MERGE_SORTED_H_

#include <algorithm>
#include <cstddef>
#include <functional>
#include <vector>

#include "views/detail/worker_pool.h"

namespace leadflow::views::detail {

template <typename T, typename Less>
std::vector<T> MergeSorted(const std::vector<T>& a, const std::vector<T>& b, Less less,
                           const ParallelRunner* parallel = nullptr) {
  std::vector<T> out(a.size() + b.size());
  constexpr size_t kMinParallel = 65536;  // below this, one thread
  constexpr size_t kRanges = 8;
  if (parallel == nullptr || out.size() < kMinParallel || a.empty() || b.empty()) {
    std::merge(a.begin(), a.end(), b.begin(), b.end(), out.begin(), less);
    return out;
  }
  // Range r takes a's [ai[r], ai[r+1]) and the elements of b that sort
  // before a[ai[r+1]] and not before a[ai[r]] (b's equal ones after a's).
  size_t ai[kRanges + 1], bi[kRanges + 1];
  for (size_t r = 0; r <= kRanges; ++r) {
    ai[r] = a.size() * r / kRanges;
    bi[r] = r == 0               ? 0
            : r == kRanges       ? b.size()
                                 : static_cast<size_t>(std::lower_bound(b.begin(), b.end(), a[ai[r]], less) - b.begin());
  }
  (*parallel)(kRanges, [&](size_t r) {
    std::merge(a.begin() + static_cast<long>(ai[r]), a.begin() + static_cast<long>(ai[r + 1]),
               b.begin() + static_cast<long>(bi[r]), b.begin() + static_cast<long>(bi[r + 1]),
               out.begin() + static_cast<long>(ai[r] + bi[r]), less);
  });
  return out;
}

}  // namespace leadflow::views::detail

#endif  // LEADFLOW_VIEWS_DETAIL_MERGE_SORTED_H_
