// Reader::GetBitmap and the store's bitmap cache (state/bitmap_cache.h): a
// cached bitmap is served to exactly the readers that would read the same
// bitmap from the chunks, through writes, stages, checkpoints, range
// deletions and snapshots old and new; the cache stays within its bytes.
#include <doctest/doctest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include <roaring/roaring.hh>

#include "state/bitmap_cache.h"
#include "state/bitmap_merge.h"
#include "state/store.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::state {
namespace {

std::unique_ptr<Store> OpenStore(const std::string& dir, int checkpoint_interval_ms, size_t cache_bytes) {
  Store::Options o;
  o.block_cache_bytes = 8u << 20;
  o.checkpoint_interval_ms = checkpoint_interval_ms;
  o.bitmap_cache_bytes = cache_bytes;
  std::unique_ptr<Store> s;
  REQUIRE_OK(Store::Open(dir, o, &s));
  return s;
}

// Logical keys, prefix-free, one of them all 0xFF bytes (no key follows
// its chunks' prefix).
const std::vector<std::string> kGroups = {"a", "b\x01", "b\x02", "c", std::string("\xFF\xFF", 2)};

std::string ChunkKey(const std::string& group, uint32_t chunk) {
  std::string k = group;
  k.push_back(static_cast<char>(chunk >> 8));
  k.push_back(static_cast<char>(chunk & 0xFF));
  return k;
}

// A random op on a chunk of a group: numbers of chunk c are c * 65536 + small.
void RandomOp(std::mt19937_64& rng, WriteBatch* b) {
  const std::string& group = kGroups[rng() % kGroups.size()];
  const uint32_t chunk = static_cast<uint32_t>(rng() % 3);
  const std::string key = ChunkKey(group, chunk);
  const int kind = static_cast<int>(rng() % 10);
  if (kind == 0) {
    b->Delete(Cf::kBitmaps, key);
    return;
  }
  Roaring adds, removes;
  for (int i = 0; i < 3; ++i) adds.add(chunk * 65536 + static_cast<uint32_t>(rng() % 20));
  for (int i = 0; i < 3; ++i) removes.add(chunk * 65536 + static_cast<uint32_t>(rng() % 20));
  if (kind <= 2) {
    b->Put(Cf::kBitmaps, key, EncodeBitmapChunk(&adds));
  } else {
    b->Merge(Cf::kBitmaps, key, EncodeBitmapDelta(adds, removes));
  }
}

// A random write of 1-4 ops (now and then a range deletion: a shard
// dropped, every group may change), staged or written; a staged store
// checkpoints now and then.
void RandomWrite(std::mt19937_64& rng, Store* store, bool staged) {
  WriteBatch b;
  const int n = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < n; ++i) RandomOp(rng, &b);
  if (rng() % 40 == 0) b.DeleteRange(Cf::kBitmaps, kGroups[rng() % 3], "c");
  WriteBatch* batches[] = {&b};
  REQUIRE_OK(staged ? store->Stage(batches) : store->Write(batches));
  if (staged && rng() % 5 == 0) REQUIRE_OK(store->Checkpoint());
}

// A snapshot and what it read when it was taken.
struct Pinned {
  std::unique_ptr<Reader> reader;
  std::string want;
};

// Every group's bitmap as a reader reads it through GetBitmap.
std::string Bitmaps(const Reader& r) {
  std::string out;
  for (const std::string& g : kGroups) {
    std::shared_ptr<const Roaring> b;
    REQUIRE_OK(r.GetBitmap(g, &b));
    REQUIRE(b != nullptr);
    out += b->toString() + ";";
  }
  return out;
}

// The same from the chunks, without any cache.
std::string Folded(const Reader& r) {
  std::string out;
  for (const std::string& g : kGroups) {
    Roaring b;
    REQUIRE_OK(FoldBitmapChunks(r, g, &b));
    out += b.toString() + ";";
  }
  return out;
}

TEST_CASE("a cached bitmap is served only to readers that would read the same from its chunks") {
  for (uint64_t seed : {1u, 2u, 3u}) {
    for (int staged_store : {0, 1}) {
      CAPTURE(seed);
      CAPTURE(staged_store);
      std::mt19937_64 rng(seed);
      testing::TempDir dir;
      // Staged: checkpoints only when asked.
      std::unique_ptr<Store> store = OpenStore(dir.path(), staged_store ? 3'600'000 : 0, 64u << 20);
      std::vector<Pinned> snapshots;
      for (int step = 0; step < 300; ++step) {
        CAPTURE(step);
        RandomWrite(rng, store.get(), staged_store);
        const std::string want = Folded(*store);
        // Twice: the second from the cache.
        REQUIRE(Bitmaps(*store) == want);
        REQUIRE(Bitmaps(*store) == want);
        if (rng() % 10 == 0) {
          snapshots.push_back({store->NewSnapshot(), want});
          REQUIRE(Bitmaps(*snapshots.back().reader) == want);
        }
        // Old snapshots, read between newer readers' reads of the same
        // groups: never a newer bitmap, never one from before a change.
        for (const Pinned& p : snapshots) REQUIRE(Bitmaps(*p.reader) == p.want);
      }
      const BitmapCache::Stats st = store->bitmap_cache_stats();
      CHECK(st.hits > 0);
      CHECK(st.misses > 0);
    }
  }
}

// Derived bitmaps of a reader: the union of the first three groups, the
// XOR of the last three, and the union of one group alone, through
// GetDerivedBitmap (twice: the second from the cache when kept).
std::string Derived(const Reader& r) {
  std::string out;
  const std::vector<std::vector<std::string>> sources = {
      {kGroups[0], kGroups[1], kGroups[2]}, {kGroups[2], kGroups[3], kGroups[4]}, {kGroups[3]}};
  for (size_t i = 0; i < sources.size(); ++i) {
    const bool xor_op = i == 1;
    for (int rep = 0; rep < 2; ++rep) {
      std::shared_ptr<const Roaring> b;
      REQUIRE_OK(r.GetDerivedBitmap(xor_op ? "xor" : "or", sources[i], [&](Roaring* folded) {
        for (const std::string& g : sources[i]) {
          std::shared_ptr<const Roaring> part;
          Status s = r.GetBitmap(g, &part);
          if (!s.ok()) return s;
          if (xor_op) {
            *folded ^= *part;
          } else {
            *folded |= *part;
          }
        }
        return Status::Ok();
      }, &b));
      REQUIRE(b != nullptr);
      if (rep == 1) out += b->toString() + ";";
    }
  }
  return out;
}

// The same from the chunks, without any cache.
std::string DerivedFolded(const Reader& r) {
  Roaring groups[5];
  for (size_t i = 0; i < kGroups.size(); ++i) REQUIRE_OK(FoldBitmapChunks(r, kGroups[i], &groups[i]));
  return (groups[0] | groups[1] | groups[2]).toString() + ";" + (groups[2] ^ groups[3] ^ groups[4]).toString() + ";" +
         groups[3].toString() + ";";
}

TEST_CASE("a derived bitmap is served only to readers that would compute the same from its sources' chunks") {
  for (uint64_t seed : {4u, 5u}) {
    for (int staged_store : {0, 1}) {
      CAPTURE(seed);
      CAPTURE(staged_store);
      std::mt19937_64 rng(seed);
      testing::TempDir dir;
      std::unique_ptr<Store> store = OpenStore(dir.path(), staged_store ? 3'600'000 : 0, 64u << 20);
      std::vector<Pinned> snapshots;
      for (int step = 0; step < 300; ++step) {
        CAPTURE(step);
        // Some steps change nothing the derived bitmaps read, so that
        // their kept copies answer later readers too.
        if (rng() % 3 != 0) RandomWrite(rng, store.get(), staged_store);
        std::unique_ptr<Reader> now = store->NewSnapshot();
        const std::string want = DerivedFolded(*now);
        REQUIRE(Derived(*now) == want);
        REQUIRE(Derived(*store) == want);  // the store computes, keeps nothing
        if (rng() % 10 == 0) snapshots.push_back({std::move(now), want});
        // Old snapshots between newer readers: never a newer derived
        // bitmap, never one from before a change of a source.
        for (const Pinned& p : snapshots) REQUIRE(Derived(*p.reader) == p.want);
      }
      const BitmapCache::Stats st = store->bitmap_cache_stats();
      CHECK(st.hits > 0);
      CHECK(st.misses > 0);
    }
  }
}

TEST_CASE("a derived bitmap is kept until one of its sources changes, apart from the groups' bitmaps") {
  BitmapCache cache(1u << 20);
  auto b = std::make_shared<Roaring>(Roaring::bitmapOf(2, 1, 5));
  const std::vector<std::string> sources = {"g", "h"};
  cache.NoteChanged("h", 3);
  cache.OfferDerived("or", sources, 5, b);
  CHECK(cache.FindDerived("or", sources, 5) == b);
  CHECK(cache.FindDerived("or", sources, 9) == b);
  CHECK(cache.FindDerived("or", sources, 2) == nullptr);  // before h changed at 3
  CHECK(cache.FindDerived("xor", sources, 5) == nullptr);  // another function
  CHECK(cache.FindDerived("or", {"g"}, 5) == nullptr);     // other sources
  CHECK(cache.FindDerived("or", {"gh"}, 5) == nullptr);    // their bytes run together: still other sources
  CHECK(cache.Find("or", 5) == nullptr);                   // not a group's bitmap
  cache.NoteChanged("x", 6);
  CHECK(cache.FindDerived("or", sources, 7) == b);  // another group changed
  cache.NoteChanged("g", 8);
  CHECK(cache.FindDerived("or", sources, 9) == nullptr);  // a source changed after it was computed
  CHECK(cache.stats().entries == 0);
  cache.OfferDerived("or", sources, 7, b);  // computed before the change: not kept
  CHECK(cache.FindDerived("or", sources, 9) == nullptr);
  BitmapCache none(0);
  none.OfferDerived("or", sources, 1, b);
  CHECK(none.FindDerived("or", sources, 1) == nullptr);
}

TEST_CASE("the bitmap cache keeps a bitmap read at one epoch for readers of any epoch until the group changes") {
  BitmapCache cache(1u << 20);
  auto b = std::make_shared<Roaring>(Roaring::bitmapOf(2, 1, 5));
  cache.NoteChanged("g", 3);
  cache.Offer("g", 5, b);
  CHECK(cache.Find("g", 5) == b);
  CHECK(cache.Find("g", 9) == b);  // unchanged since 3: a later reader reads the same
  CHECK(cache.Find("g", 4) == b);  // and an earlier one after the change
  CHECK(cache.Find("g", 2) == nullptr);  // before the change at 3
  CHECK(cache.Find("h", 5) == nullptr);
  cache.NoteChanged("g", 6);
  CHECK(cache.Find("g", 7) == nullptr);  // changed after it was read
  CHECK(cache.Find("g", 5) == nullptr);  // and dropped: of no use to anyone
  cache.Offer("g", 5, b);  // read before the change: not kept
  CHECK(cache.Find("g", 5) == nullptr);
  cache.Offer("g", 7, b);
  CHECK(cache.Find("g", 8) == b);
  cache.NoteAllChanged(8);
  CHECK(cache.Find("g", 9) == nullptr);
  CHECK(cache.stats().entries == 0);
}

TEST_CASE("the bitmap cache holds at most its bytes, dropping the least recently used") {
  BitmapCache cache(64u << 10);
  std::vector<std::shared_ptr<const Roaring>> kept;
  for (uint32_t i = 0; i < 200; ++i) {
    auto b = std::make_shared<Roaring>();
    for (uint32_t n = 0; n < 1000; ++n) b->add(n * 7 + i);
    cache.Offer("g" + std::to_string(i), 1, b);
    CHECK(cache.stats().bytes <= cache.capacity());
    CHECK(cache.Find("g" + std::to_string(i), 1) != nullptr);
    CHECK(cache.Find("g0", 1) != nullptr);  // used at every step: never the least recent
  }
  CHECK(cache.Find("g1", 1) == nullptr);  // long evicted
  CHECK(cache.stats().entries < 200);
  BitmapCache none(0);
  none.Offer("g", 1, std::make_shared<Roaring>());
  CHECK(none.Find("g", 1) == nullptr);
}

}  // namespace
}  // namespace leadflow::state
