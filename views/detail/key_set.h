// KeySet: the set of store keys one lead's facts hold (a few dozen), built by
// appending and sorted once (Finish). Cheaper than a std::set of strings: one
// allocation per key instead of a tree node plus the key, and one sort
// instead of a tree insert per key. Diffs of two sets are a merge walk.
//
// Thread safety: a plain value.
#ifndef LEADFLOW_VIEWS_DETAIL_KEY_SET_H_
#define LEADFLOW_VIEWS_DETAIL_KEY_SET_H_

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace leadflow::views::detail {

class KeySet {
 public:
  void insert(std::string key) {
    keys_.push_back(std::move(key));
    sorted_ = false;
  }
  // Sorts and drops repeats; lookups and iteration are in key order after it.
  void Finish() {
    std::sort(keys_.begin(), keys_.end());
    keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
    sorted_ = true;
  }
  size_t count(std::string_view key) const {
    if (!sorted_) return std::find(keys_.begin(), keys_.end(), key) != keys_.end() ? 1 : 0;
    return std::binary_search(keys_.begin(), keys_.end(), key, std::less<>()) ? 1 : 0;
  }
  size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }
  std::vector<std::string>::const_iterator begin() const { return keys_.begin(); }
  std::vector<std::string>::const_iterator end() const { return keys_.end(); }

 private:
  std::vector<std::string> keys_;
  bool sorted_ = true;
};

// Calls fn(key) for every key of a that b lacks, in key order. Both must be
// finished.
template <typename Fn>
void ForEachMissing(const KeySet& a, const KeySet& b, Fn&& fn) {
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
