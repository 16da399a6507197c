// KeySet: the set of store keys one lead's facts hold (a few dozen), built by
// appending into one buffer and sorted once (Finish). Cheaper than a
// std::set of strings or a vector of them: the keys share one allocation
// (most are longer than a string's inline buffer: a vector of strings paid
// one allocation per key), are built in place by the keys::Append* forms, and
// are sorted as (offset, size) pairs. Diffs of two sets are a merge walk
// (ForEachMissing). KeyList: keys with a flag each, in the order appended
// (a lead's diff: the keys it adds and removes).
//
// Thread safety: plain values. Keys are read as string_views into the
// buffer: valid until the set is changed or destroyed.
#ifndef LEADFLOW_VIEWS_DETAIL_KEY_SET_H_
#define LEADFLOW_VIEWS_DETAIL_KEY_SET_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leadflow::views::detail {

class KeySet {
  struct Span {
    uint32_t at, size;
  };

 public:
  // Appends a key that build(std::string* out) appends to out.
  template <typename Build>
  void Add(Build&& build) {
    const size_t at = bytes_.size();
    build(&bytes_);
    spans_.push_back({static_cast<uint32_t>(at), static_cast<uint32_t>(bytes_.size() - at)});
  }
  void insert(std::string_view key) {
    Add([key](std::string* out) { out->append(key); });
  }
  // Sorts and drops repeats; lookups and iteration are in key order after it.
  void Finish() {
    std::sort(spans_.begin(), spans_.end(), [this](Span a, Span b) { return View(a) < View(b); });
    spans_.erase(std::unique(spans_.begin(), spans_.end(), [this](Span a, Span b) { return View(a) == View(b); }),
                 spans_.end());
  }
  // After Finish.
  size_t count(std::string_view key) const {
    auto it = std::lower_bound(spans_.begin(), spans_.end(), key, [this](Span s, std::string_view k) { return View(s) < k; });
    return it != spans_.end() && View(*it) == key ? 1 : 0;
  }
  size_t size() const { return spans_.size(); }
  bool empty() const { return spans_.empty(); }

  class const_iterator {
   public:
    std::string_view operator*() const { return std::string_view(base_ + at_->at, at_->size); }
    const_iterator& operator++() {
      ++at_;
      return *this;
    }
    bool operator==(const const_iterator& o) const { return at_ == o.at_; }
    bool operator!=(const const_iterator& o) const { return at_ != o.at_; }

   private:
    friend class KeySet;
    const_iterator(const char* base, const Span* at) : base_(base), at_(at) {}
    const char* base_;
    const Span* at_;
  };
  const_iterator begin() const { return const_iterator(bytes_.data(), spans_.data()); }
  const_iterator end() const { return const_iterator(bytes_.data(), spans_.data() + spans_.size()); }

 private:
  std::string_view View(Span s) const { return std::string_view(bytes_.data() + s.at, s.size); }
  std::string bytes_;
  std::vector<Span> spans_;
};

// Keys with a flag each, in the order appended.
class KeyList {
 public:
  void push_back(std::string_view key, bool flag = false) {
    entries_.push_back({static_cast<uint32_t>(bytes_.size()), static_cast<uint32_t>(key.size()), flag});
    bytes_.append(key);
  }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::string_view key(size_t i) const { return std::string_view(bytes_.data() + entries_[i].at, entries_[i].size); }
  bool flag(size_t i) const { return entries_[i].flag; }
  // Calls fn(key, flag) for every entry in order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (size_t i = 0; i < entries_.size(); ++i) fn(key(i), entries_[i].flag);
  }
  friend bool operator==(const KeyList& a, const KeyList& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a.key(i) != b.key(i) || a.flag(i) != b.flag(i)) return false;
    }
    return true;
  }

 private:
  struct Entry {
    uint32_t at, size;
    bool flag;
  };
  std::string bytes_;
  std::vector<Entry> entries_;
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
