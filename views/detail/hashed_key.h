// HashedKeySet: a set of strings whose hash the caller computes once
// (HashKey) and passes along, so that the part a key belongs to, its lookups
// and its insert never hash it again. Lookups take a HashedKeyView (no copy).
//
// Thread safety: a plain container; the usual rules.
#ifndef LEADFLOW_VIEWS_DETAIL_HASHED_KEY_H_
#define LEADFLOW_VIEWS_DETAIL_HASHED_KEY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace leadflow::views::detail {

// A 64-bit hash of key's bytes (MurmurHash64A, written out here so that it
// never changes with the standard library: the duplicate set stores it,
// views/write/dedup_set.h). Reads 8-byte words little-endian.
inline uint64_t HashKey(std::string_view key) {
  constexpr uint64_t m = 0xc6a4a7935bd1e995ull;
  constexpr int r = 47;
  const size_t len = key.size();
  uint64_t h = 0x5bd1e9955bd1e995ull ^ (len * m);
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const unsigned char* end = data + (len & ~size_t{7});
  for (; data != end; data += 8) {
    uint64_t k = 0;
    for (int i = 7; i >= 0; --i) k = (k << 8) | data[i];
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  const size_t tail = len & 7;
  if (tail) {
    for (size_t i = tail; i-- > 0;) h ^= static_cast<uint64_t>(data[i]) << (8 * i);
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

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
