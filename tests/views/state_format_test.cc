// views::CheckStateFormat stamps a new state with the layout version and
// refuses a state of another layout instead of misreading it.
#include <doctest/doctest.h>

#include <string>

#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "views/write/applier.h"
#include "views/keys.h"

namespace leadflow {
namespace {

using testing::TestDb;

void PutMeta(state::Store* store, const std::string& key, const std::string& value) {
  state::WriteBatch batch;
  batch.Put(state::Cf::kMeta, key, value);
  REQUIRE_OK(store->Write(&batch));
}

TEST_CASE("a new state is stamped with the layout and accepted again") {
  TestDb db;
  REQUIRE_OK(views::CheckStateFormat(db.store()));
  std::string value;
  REQUIRE_OK(db.store()->Get(state::Cf::kMeta, views::keys::MetaFormat(), &value));
  CHECK(value == std::to_string(views::kStateFormat));
  db.Ingest({testing::Created("l1", "s1", "2024-01-01T00:00:00Z")});
  CHECK(views::CheckStateFormat(db.store()).ok());
}

TEST_CASE("a state of an older layout is refused with a message to rebuild it") {
  TestDb unstamped;  // layout 1: no stamp, a global arrival counter
  PutMeta(unstamped.store(), views::keys::MetaSequence(), std::string(8, '\0'));
  Status s = views::CheckStateFormat(unstamped.store());
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message().find("rebuild") != std::string::npos);

  TestDb other;
  PutMeta(other.store(), views::keys::MetaFormat(), "1");
  s = views::CheckStateFormat(other.store());
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message().find("layout 1") != std::string::npos);
}

}  // namespace
}  // namespace leadflow
