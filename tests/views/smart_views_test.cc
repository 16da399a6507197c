#include "views/smart_views.h"

#include <doctest/doctest.h>

#include <regex>
#include <string>
#include <vector>

#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "views/query_eval.h"
#include "views/query_parser.h"

namespace leadflow::views {
namespace {

using testing::Created;
using testing::StatusUpserted;

// "name@created" of each view, and "+" when more follow.
std::string ListText(const state::Reader& reader, const std::string& org, uint64_t skip, uint64_t limit) {
  std::vector<SmartView> list;
  bool has_more = false;
  Status s = ListSmartViews(reader, org, skip, limit, &list, &has_more);
  if (!s.ok()) return s.ToString();
  std::string out;
  for (const auto& v : list) out += (out.empty() ? "" : " ") + v.name + "@" + std::to_string(v.date_created);
  return out + (has_more ? " +" : "");
}

SmartView MustCreate(state::Store* store, const std::string& org, const std::string& name, const std::string& query,
                     int64_t now_ms) {
  SmartView v;
  REQUIRE_OK(CreateSmartView(store, org, name, query, now_ms, &v));
  return v;
}

}  // namespace

TEST_CASE("a created smart view reads back with a fresh save_ id, its name, query, org and dates") {
  testing::TestDb db;
  SmartView a = MustCreate(db.store(), "org1", "Hot leads", "lead_status:\"Hot\"", 1000);
  SmartView b = MustCreate(db.store(), "org1", "Hot leads", "lead_status:\"Hot\"", 1000);
  CHECK(std::regex_match(a.id, std::regex("save_[0-9a-f]{32}")));
  CHECK(a.id != b.id);
  CHECK(a.name == "Hot leads");
  CHECK(a.query == "lead_status:\"Hot\"");
  CHECK(a.type == "lead");
  CHECK(a.organization_id == "org1");
  CHECK(a.date_created == 1000);
  CHECK(a.date_updated == 1000);

  SmartView read;
  REQUIRE_OK(GetSmartView(*db.store(), "org1", a.id, &read));
  CHECK(read == a);
}

TEST_CASE("a view with a query that does not parse, or a bad name, is refused and not stored") {
  testing::TestDb db;
  SmartView v;
  Status s = CreateSmartView(db.store(), "org1", "Broken", "lead_status:", 1, &v);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().rfind("query: position ", 0) == 0);

  s = CreateSmartView(db.store(), "org1", "", "", 1, &v);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().rfind("name: ", 0) == 0);
  s = CreateSmartView(db.store(), "org1", std::string(kMaxSmartViewNameBytes + 1, 'n'), "", 1, &v);
  CHECK(s.message().rfind("name: ", 0) == 0);
  s = CreateSmartView(db.store(), "org1", "bad text", "\"Note\":\"\xFF\"", 1, &v);
  CHECK(s.IsInvalidArgument());

  CHECK(ListText(*db.store(), "org1", 0, 100) == "");
  CHECK(CreateSmartView(db.store(), "org1", std::string(kMaxSmartViewNameBytes, 'n'), "", 1, &v).ok());
}

TEST_CASE("views are listed in creation order, then id, and paged with has_more") {
  testing::TestDb db;
  std::vector<SmartView> made;
  for (const auto& [name, at] :
       std::vector<std::pair<std::string, int64_t>>{{"c", 30}, {"a", 10}, {"e", 50}, {"d", 40}}) {
    made.push_back(MustCreate(db.store(), "org1", name, "", at));
  }
  // Two views created in the same millisecond: the smaller id first.
  SmartView x = MustCreate(db.store(), "org1", "x", "", 20);
  SmartView y = MustCreate(db.store(), "org1", "y", "", 20);
  const std::string same_ms = x.id < y.id ? "x@20 y@20" : "y@20 x@20";

  struct Case {
    uint64_t skip, limit;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {0, 100, "a@10 " + same_ms + " c@30 d@40 e@50"},
      {0, 2, "a@10 " + same_ms.substr(0, 4) + " +"},
      {2, 2, same_ms.substr(5) + " c@30 +"},
      {4, 2, "d@40 e@50"},
      {5, 1, "e@50"},
      {6, 10, ""},
      {100, 10, ""},
      {0, 0, " +"},
      {6, 0, ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.skip);
    CAPTURE(c.limit);
    CHECK(ListText(*db.store(), "org1", c.skip, c.limit) == c.expected);
  }
}

TEST_CASE("another org's views are neither listed nor found") {
  testing::TestDb db;
  SmartView mine = MustCreate(db.store(), "org1", "mine", "", 1);
  MustCreate(db.store(), "org2", "theirs", "", 2);
  CHECK(ListText(*db.store(), "org1", 0, 10) == "mine@1");
  CHECK(ListText(*db.store(), "org2", 0, 10) == "theirs@2");
  SmartView v;
  CHECK(GetSmartView(*db.store(), "org2", mine.id, &v).IsNotFound());
  CHECK(ReplaceSmartView(db.store(), "org2", mine.id, std::string("x"), std::nullopt, 3, &v).IsNotFound());
  CHECK(DeleteSmartView(db.store(), "org2", mine.id).IsNotFound());
  CHECK(GetSmartView(*db.store(), "org1", mine.id, &v).ok());
}

TEST_CASE("replace changes what it names and date_updated, keeps the rest, and refuses a bad query") {
  testing::TestDb db;
  SmartView v = MustCreate(db.store(), "org1", "Old", "lead_status:\"A\"", 100);
  SmartView out;
  REQUIRE_OK(ReplaceSmartView(db.store(), "org1", v.id, std::string("New"), std::nullopt, 200, &out));
  CHECK(out.name == "New");
  CHECK(out.query == "lead_status:\"A\"");
  CHECK(out.date_created == 100);
  CHECK(out.date_updated == 200);
  REQUIRE_OK(ReplaceSmartView(db.store(), "org1", v.id, std::nullopt, std::string("lead_status:\"B\""), 300, &out));
  CHECK(out.name == "New");
  CHECK(out.query == "lead_status:\"B\"");

  Status s = ReplaceSmartView(db.store(), "org1", v.id, std::nullopt, std::string("(lead_status:\"C\""), 400, &out);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("position") != std::string::npos);
  CHECK(ReplaceSmartView(db.store(), "org1", v.id, std::string(""), std::nullopt, 400, &out).IsInvalidArgument());
  SmartView read;
  REQUIRE_OK(GetSmartView(*db.store(), "org1", v.id, &read));
  CHECK(read.name == "New");
  CHECK(read.query == "lead_status:\"B\"");
  CHECK(read.date_updated == 300);

  CHECK(ReplaceSmartView(db.store(), "org1", "save_unknown", std::string("x"), std::nullopt, 1, &out).IsNotFound());
  CHECK(GetSmartView(*db.store(), "org1", "save_unknown", &read).IsNotFound());
}

TEST_CASE("a deleted view is gone, and deleting it again is NotFound") {
  testing::TestDb db;
  SmartView v = MustCreate(db.store(), "org1", "Doomed", "", 1);
  SmartView keep = MustCreate(db.store(), "org1", "Kept", "", 2);
  REQUIRE_OK(DeleteSmartView(db.store(), "org1", v.id));
  SmartView read;
  CHECK(GetSmartView(*db.store(), "org1", v.id, &read).IsNotFound());
  CHECK(DeleteSmartView(db.store(), "org1", v.id).IsNotFound());
  CHECK(ListText(*db.store(), "org1", 0, 10) == "Kept@2");
}

TEST_CASE("views survive closing and reopening the store") {
  testing::TempDir dir;
  std::string id;
  {
    std::unique_ptr<state::Store> store;
    REQUIRE_OK(state::Store::Open(dir.path(), state::Store::Options(), &store));
    id = MustCreate(store.get(), "org1", "Durable", "lead_status:\"A\"", 7).id;
  }
  std::unique_ptr<state::Store> store;
  REQUIRE_OK(state::Store::Open(dir.path(), state::Store::Options(), &store));
  SmartView read;
  REQUIRE_OK(GetSmartView(*store, "org1", id, &read));
  CHECK(read.name == "Durable");
}

TEST_CASE("the resolver gives a view's parsed query from its snapshot, and in:\"...\" selects the view's leads") {
  testing::TestDb db;
  REQUIRE(db.Ingest({StatusUpserted("sa", "Potential", 1, "2024-01-01T00:00:00Z"),
                     StatusUpserted("sb", "Qualified", 2, "2024-01-01T00:00:00Z"),
                     Created("l1", "sa", "2024-01-02T00:00:00Z"), Created("l2", "sb", "2024-01-03T00:00:00Z"),
                     Created("l3", "sb", "2024-01-04T00:00:00Z")}) == 0);
  SmartView v = MustCreate(db.store(), "org1", "Qualified", "lead_status:\"qualified\"", 1);
  auto snapshot = db.store()->NewSnapshot();
  SmartView later = MustCreate(db.store(), "org1", "Later", "", 2);

  ViewResolver resolve = SmartViewResolver(*snapshot, "org1");
  Query q;
  REQUIRE_OK(resolve(v.id, &q));
  Query expected;
  REQUIRE_OK(ParseQuery(v.query, &expected));
  CHECK(q == expected);
  CHECK(resolve(later.id, &q).IsNotFound());  // created after the snapshot
  CHECK(resolve("save_nope", &q).IsNotFound());
  CHECK(SmartViewResolver(*snapshot, "org2")(v.id, &q).IsNotFound());

  Query in_view;
  REQUIRE_OK(ParseQuery("in:\"" + v.id + "\"", &in_view));
  Roaring leads;
  REQUIRE_OK(EvaluateQuery(*snapshot, "org1", in_view, resolve, &leads));
  CHECK(leads.cardinality() == 2);

  Query unknown;
  REQUIRE_OK(ParseQuery("in:\"save_nope\"", &unknown));
  Status s = EvaluateQuery(*snapshot, "org1", unknown, resolve, &leads);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("save_nope") != std::string::npos);
}

}  // namespace leadflow::views
