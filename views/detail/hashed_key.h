// HashedKeySet: a set of strings whose hash the caller computes once
// (HashKey) and passes along, so that the part a key belongs to, its lookups
// and its insert never hash it again. Lookups take a HashedKeyView (no copy).
//
// Thread safety: a plain container; the usual rules.
#ifndef LEADFLOW_VIEWS_DETAIL_HASHED_KEY_H_
#define LEADFLOW_VIEWS_DETAIL_HASHED_KEY_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace leadflow::views::detail {

inline size_t HashKey(std::string_view key) { return std::hash<std::string_view>{}(key); }

struct HashedKey {
  size_t hash;
  std::string key;
};
struct HashedKeyView {
  size_t hash;
  std::string_view key;
};

struct HashedKeyHash {
  using is_transparent = void;
  size_t operator()(const HashedKey& k) const { return k.hash; }
  size_t operator()(const HashedKeyView& k) const { return k.hash; }
};
struct HashedKeyEq {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return a.hash == b.hash && std::string_view(a.key) == std::string_view(b.key);
  }
};

using HashedKeySet = std::unordered_set<HashedKey, HashedKeyHash, HashedKeyEq>;

}  // namespace leadflow::views::detail

#endif  // LEADFLOW_VIEWS_DETAIL_HASHED_KEY_H_
