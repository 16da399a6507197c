#include "views/query_eval.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "views/query_parser.h"

namespace leadflow::testing {
namespace {

std::string Lead(const std::string& id, const std::string& owner, nlohmann::json fields, const std::string& at) {
  static int n = 0;
  nlohmann::json j = {{"event_id", "qe" + std::to_string(n++)}, {"type", "lead.created"}, {"org_id", "org1"},
                      {"occurred_at", at}, {"lead_id", id}, {"status_id", "sa"}, {"owner_id", owner},
                      {"fields", fields}};
  return j.dump();
}

std::string Select(TestDb& db, const std::string& text) {
  views::Query q;
  Status s = views::ParseQuery(text, &q);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  auto snap = db.store()->NewSnapshot();
  Roaring leads;
  REQUIRE_OK(views::EvaluateQuery(*snap, "org1", q, nullptr, &leads));
  std::string out;
  for (uint32_t num : leads) out += std::to_string(num) + " ";
  return out;
}

}  // namespace

TEST_CASE("field terms match the key exactly, the text value in any case, numbers as numbers") {
  TestDb db;
  db.Ingest({StatusUpserted("sa", "Potential", 1, "2023-01-01T00:00:00Z"),
             Lead("l0", "u1", {{"Source", "web"}, {"Score", 12}, {"Hot", true}}, "2024-01-01T00:00:00Z"),
             Lead("l1", "U2", {{"source", "WEB"}, {"Score", "12"}}, "2024-01-02T00:00:00Z"),
             Lead("l2", "u1", {{"Source", "referral"}, {"Score", 3.5}}, "2024-01-03T00:00:00Z")});
  CHECK(Select(db, "\"Source\":\"WEB\"") == "0 ");
  CHECK(Select(db, "source:web") == "1 ");
  CHECK(Select(db, "\"Score\" >= 10") == "0 ");          // "12" is text, not a number
  CHECK(Select(db, "\"Score\":\"12\"") == "0 1 ");        // a number read as a number; text as text
  CHECK(Select(db, "Score < 4") == "2 ");
  CHECK(Select(db, "Hot:TRUE") == "0 ");
  CHECK(Select(db, "OWNER_ID:\"u2\"") == "1 ");           // owner_id in any case; text in any case
  CHECK(Select(db, "lead_id:\"l2\"") == "2 ");
  CHECK(Select(db, "not \"Source\":web") == "1 2 ");
  CHECK(Select(db, "Missing:\"x\"") == "");
}

}  // namespace leadflow::testing
