// KeySet: the set of store keys one lead's facts hold (a few dozen), built by
// appending and sorted once (Finish). Cheaper than a std::set of strings: one
// allocation per key instead of a tree node plus the key, and one sort
// instead of a tree insert per key. Diffs of two sets are a merge walk
// (ForEachMissing).
//
// Thread safety: a plain value.
#ifndef LEADFLOW_VIEWS_DETAIL_KEY_SET_H_
#define LEADFLOW_VIEWS_DETAIL_KEY_SET_H_

#include <algorithm>
#include <string>
#include <vector>

namespace leadflow::views::detail {

class KeySet {
 public:
  void insert(std::string key) { keys_.push_back(std::move(key)); }
  // Sorts and drops repeats; lookups and iteration are in key order after it.
  void Finish() {
    std::sort(keys_.begin(), keys_.end());
    keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
  }
  // After Finish.
  size_t count(const std::string& key) const { return std::binary_search(keys_.begin(), keys_.end(), key) ? 1 : 0; }
  size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }
  std::vector<std::string>::const_iterator begin() const { return keys_.begin(); }
  std::vector<std::string>::const_iterator end() const { return keys_.end(); }

 private:
  std::vector<std::string> keys_;
};

// Calls fn(x) for every element of a that b lacks, in order. Both are sorted
// without repeats (a finished KeySet, a sorted unique vector).
template <typename Set, typename Fn>
void ForEachMissing(const Set& a, const Set& b, Fn&& fn) {
  auto i = a.begin(), j = b.begin();
  while (i != a.end()) {
    if (j == b.end() || *i < *j) {
      fn(*i);
      ++i;
    } else if (*j < *i) {
      ++j;
    } else {
      ++i;
      ++j;
    }
  }
}

}  // namespace leadflow::views::detail

#endif  // LEADFLOW_VIEWS_DETAIL_KEY_SET_H_
