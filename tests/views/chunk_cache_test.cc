// ChunkCache: changes land in the store only through WriteDirty + a write;
// dropped changes are forgotten (the store's chunk is read again); clean
// chunks are evicted beyond the budget, dirty ones never.
#include "views/chunk_cache.h"

#include <doctest/doctest.h>

#include <initializer_list>

#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::views {
namespace {

using testing::TestDb;

Roaring Of(std::initializer_list<uint32_t> values) {
  Roaring r;
  for (uint32_t v : values) r.add(v);
  return r;
}

Roaring Stored(state::Store* store, const std::string& key) {
  std::string bytes;
  Status s = store->Get(state::Cf::kBitmaps, key, &bytes);
  if (s.IsNotFound()) return Roaring();
  REQUIRE_OK(s);
  return Roaring::readSafe(bytes.data(), bytes.size());
}

void Commit(state::Store* store, ChunkCache* cache) {
  state::WriteBatch batch;
  cache->WriteDirty(&batch);
  REQUIRE_OK(store->Write(&batch));
  cache->Committed();
}

TEST_CASE("changes reach the store with the batch, in order, and a chunk emptied is deleted") {
  TestDb db;
  ChunkCache cache;
  REQUIRE_OK(cache.Apply(*db.store(), "k1", {{5, true}, {7, true}, {5, false}, {9, true}}));
  CHECK(cache.dirty() == 1);
  CHECK(Stored(db.store(), "k1").cardinality() == 0);  // nothing written yet
  Commit(db.store(), &cache);
  CHECK(cache.dirty() == 0);
  CHECK(Stored(db.store(), "k1") == Of({7, 9}));

  REQUIRE_OK(cache.Apply(*db.store(), "k1", {{7, false}, {9, false}}));
  Commit(db.store(), &cache);
  std::string ignored;
  CHECK(db.store()->Get(state::Cf::kBitmaps, "k1", &ignored).IsNotFound());
  CHECK(cache.size() == 0);
}

TEST_CASE("dropped changes are forgotten and the stored chunk is read again") {
  TestDb db;
  ChunkCache cache;
  REQUIRE_OK(cache.Apply(*db.store(), "k", {{1, true}}));
  Commit(db.store(), &cache);
  REQUIRE_OK(cache.Apply(*db.store(), "k", {{2, true}, {1, false}}));
  cache.DropDirty();
  CHECK(cache.size() == 0);
  REQUIRE_OK(cache.Apply(*db.store(), "k", {{3, true}}));
  Commit(db.store(), &cache);
  CHECK(Stored(db.store(), "k") == Of({1, 3}));
}

TEST_CASE("clean chunks are evicted beyond the budget, least recently used first; dirty ones stay") {
  TestDb db;
  ChunkCache cache(250);  // room for two small chunks (about 110 bytes each)
  for (const char* key : {"a", "b", "c", "d"}) REQUIRE_OK(cache.Apply(*db.store(), key, {{1, true}}));
  CHECK(cache.size() == 4);  // all dirty: kept whatever the budget
  Commit(db.store(), &cache);
  CHECK(cache.bytes() <= 250);
  CHECK(cache.size() < 4);
  // Evicted or not, every chunk reads back right and takes more changes.
  for (const char* key : {"a", "b", "c", "d"}) REQUIRE_OK(cache.Apply(*db.store(), key, {{2, true}}));
  Commit(db.store(), &cache);
  for (const char* key : {"a", "b", "c", "d"}) CHECK(Stored(db.store(), key) == Of({1, 2}));
}

TEST_CASE("a stored chunk that is not a bitmap is Corruption and leaves the cache unchanged") {
  TestDb db;
  state::WriteBatch batch;
  batch.Put(state::Cf::kBitmaps, "bad", "not a roaring bitmap");
  REQUIRE_OK(db.store()->Write(&batch));
  ChunkCache cache;
  Status s = cache.Apply(*db.store(), "bad", {{1, true}});
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(cache.size() == 0);
  CHECK(cache.dirty() == 0);
}

}  // namespace
}  // namespace leadflow::views
