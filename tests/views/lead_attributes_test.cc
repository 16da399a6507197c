#include "views/lead_attributes.h"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "views/keys.h"

namespace leadflow::views {
namespace {

using nlohmann::json;

constexpr std::string_view kOrg = "org1";

LeadAttributes Attributes(json fields) {
  LeadAttributes a;
  a.lead_id = "l1";
  a.status_id = "s1";
  a.owner_id = "u1";
  a.created_ms = 1714557600000;  // 2024-05-01T10:00:00Z
  a.modified_ms = a.created_ms;
  a.fields = std::move(fields);
  return a;
}

bool HasKey(const AttributeFacts& f, const std::string& key) { return f.bitmap_keys.count(key) == 1; }

// Fields "Key<i>" = "upper <i>" and "key<i>" = "lower <i>" for i < n / 2:
// n keys, n / 2 columns, each named by two keys that differ in case.
json CaseTwins(size_t n) {
  json fields = json::object();
  for (size_t i = 0; i < n / 2; ++i) {
    fields["Key" + std::to_string(i)] = "upper " + std::to_string(i);
    fields["key" + std::to_string(i)] = "lower " + std::to_string(i);
  }
  return fields;
}

// Derives the facts of CaseTwins(n), checks them, and returns the seconds
// DeriveAttributeFacts took.
double TimeFactsOfCaseTwins(size_t n) {
  const std::optional<LeadAttributes> a = Attributes(CaseTwins(n));
  const size_t base = DeriveAttributeFacts(kOrg, 7, Attributes(json::object())).bitmap_keys.size();
  const auto start = std::chrono::steady_clock::now();
  const AttributeFacts f = DeriveAttributeFacts(kOrg, 7, a);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Per key its exact-key bitmap; per column its has-bitmap and one value.
  CHECK(f.bitmap_keys.size() == base + n + n);
  for (size_t i = 0; i < n / 2; i += n / 10) {
    const std::string column = "key" + std::to_string(i);
    CHECK(HasKey(f, keys::HasBitmap(kOrg, column)));
    CHECK(HasKey(f, keys::ValueBitmap(kOrg, column, keys::TypedString("upper " + std::to_string(i)))));
    CHECK_FALSE(HasKey(f, keys::ValueBitmap(kOrg, column, keys::TypedString("lower " + std::to_string(i)))));
  }
  return seconds;
}

}  // namespace

// The row's bytes are the msgpack of the map nlohmann would build from the
// attributes (the form rows had when it did build it): written directly now.
TEST_CASE("a lead row encodes as nlohmann's msgpack of its map, and decodes back") {
  std::mt19937_64 rng(11);
  auto str = [&](size_t max) { return std::string(rng() % (max + 1), static_cast<char>('a' + rng() % 26)); };
  for (int i = 0; i < 400; ++i) {
    LeadAttributes a;
    a.lead_id = str(40);
    a.status_id = str(12);
    if (rng() % 2) a.owner_id = str(10);
    a.created_ms = static_cast<int64_t>(rng() % 4000000000000ull) - 1000000000000ll;
    a.modified_ms = static_cast<int64_t>(rng() % 4000000000000ull);
    if (rng() % 2) a.activity_max_ms = static_cast<int64_t>(rng() % 4000000000000ull) - 2000000000000ll;
    if (rng() % 2) a.activity_max_name = str(300);
    for (int k = rng() % 20; k > 0; --k) {
      switch (rng() % 4) {
        case 0: a.fields[str(8)] = str(40); break;
        case 1: a.fields[str(8)] = static_cast<int64_t>(rng()); break;
        case 2: a.fields[str(8)] = 0.25 * static_cast<double>(rng() % 100); break;
        default: a.fields[str(8)] = json::array({1, "x", nullptr});
      }
    }
    const json j = {{"i", a.lead_id},       {"s", a.status_id}, {"o", a.owner_id ? json(*a.owner_id) : json()},
                    {"c", a.created_ms},    {"m", a.modified_ms},
                    {"a", a.activity_max_ms ? json(*a.activity_max_ms) : json()},
                    {"n", a.activity_max_name ? json(*a.activity_max_name) : json()}, {"f", a.fields}};
    const std::vector<std::uint8_t> v = json::to_msgpack(j);
    const std::string bytes = a.Encode();
    REQUIRE(bytes == std::string(v.begin(), v.end()));
    LeadAttributes back;
    REQUIRE(LeadAttributes::Decode(bytes, &back).ok());
    CHECK(back.Encode() == bytes);
  }
}

TEST_CASE("a column is the bytewise-first field key of its name, in the indexes as in the output") {
  SUBCASE("the first key holds a value") {
    const LeadAttributes a = Attributes({{"city", "Rome"}, {"City", "Paris"}});
    CHECK(ColumnValue(a, "city", "") == "Paris");  // "City" < "city"
    const AttributeFacts f = DeriveAttributeFacts(kOrg, 7, a);
    CHECK(HasKey(f, keys::HasBitmap(kOrg, "city")));
    CHECK(HasKey(f, keys::ValueBitmap(kOrg, "city", keys::TypedString("Paris"))));
    CHECK_FALSE(HasKey(f, keys::ValueBitmap(kOrg, "city", keys::TypedString("Rome"))));
    CHECK(HasKey(f, keys::ExactKeyBitmap(kOrg, "City")));
    CHECK(HasKey(f, keys::ExactKeyBitmap(kOrg, "city")));
  }
  SUBCASE("the first key is null: the column has no value") {
    const LeadAttributes a = Attributes({{"city", "Rome"}, {"City", "Paris"}, {"CITY", nullptr}});
    CHECK(ColumnValue(a, "city", "").is_null());
    const AttributeFacts f = DeriveAttributeFacts(kOrg, 7, a);
    CHECK_FALSE(HasKey(f, keys::HasBitmap(kOrg, "city")));
    CHECK_FALSE(HasKey(f, keys::ValueBitmap(kOrg, "city", keys::TypedString("Paris"))));
    CHECK_FALSE(HasKey(f, keys::ExactKeyBitmap(kOrg, "CITY")));
    CHECK(HasKey(f, keys::ExactKeyBitmap(kOrg, "City")));
  }
  SUBCASE("a fixed column wins over a field of its name") {
    const LeadAttributes a = Attributes({{"OwnerId", "u9"}});
    CHECK(ColumnValue(a, "ownerid", "") == "u1");
    const AttributeFacts f = DeriveAttributeFacts(kOrg, 7, a);
    CHECK(HasKey(f, keys::ValueBitmap(kOrg, "ownerid", keys::TypedString("u1"))));
    CHECK_FALSE(HasKey(f, keys::ValueBitmap(kOrg, "ownerid", keys::TypedString("u9"))));
    CHECK(HasKey(f, keys::ExactKeyBitmap(kOrg, "OwnerId")));
  }
}

TEST_CASE("attribute facts of a lead are derived in time linear in its fields") {
  // 1000 is the most one event may carry (ingest::kMaxFields); a lead
  // collects more over many updates. Deriving 50,000 used to take about a
  // minute (a scan of all fields per field); linear, it takes milliseconds.
  const double at_max = TimeFactsOfCaseTwins(1000);
  const double many = TimeFactsOfCaseTwins(50000);
  MESSAGE("DeriveAttributeFacts: 1,000 fields " << at_max << " s, 50,000 fields " << many << " s");
  CHECK(at_max < 0.1);
  CHECK(many < 2.0);
}

// The facts of a change, from the parts it changed only, are the full
// facts' difference: no key belongs to two parts, and a part whose columns
// compare equal has equal facts (numbers by value: 1 and 1.0, 0 and -0).
TEST_CASE("facts of the changed parts give the same difference as all the facts") {
  std::vector<std::optional<LeadAttributes>> variants = {std::nullopt};
  const json field_sets[] = {
      json::object(),
      {{"city", "Oslo"}, {"Score", 1}},
      {{"city", "Oslo"}, {"Score", 1.0}},
      {{"city", "Bergen"}, {"score", -0.0}, {"Score", 0}},
      {{"City", "Oslo"}, {"city", nullptr}, {"renewal", "2024-06-01"}},
      {{"OwnerId", "someone"}, {"ModifiedOn", "2024-01-01"}, {"prospectactivityname_max", "x"}},
      {{"renewal", "2024-06-02 10:00:00"}, {"flag", true}},
  };
  for (const json& fields : field_sets) {
    for (int owner = 0; owner < 3; ++owner) {
      for (int activity = 0; activity < 3; ++activity) {
        LeadAttributes a = Attributes(fields);
        if (owner == 0) a.owner_id.reset();
        if (owner == 2) a.owner_id = "2024-05-03";  // an owner that reads as a date
        a.modified_ms = a.created_ms + activity * 86'400'000LL;
        if (activity > 0) {
          a.activity_max_ms = a.modified_ms;
          a.activity_max_name = activity == 1 ? "Call" : "2024-05-01";
        }
        variants.push_back(a);
      }
    }
  }
  auto diff = [](const AttributeFacts& was, const AttributeFacts& now) {
    std::set<std::string> out;
    for (const auto& k : was.bitmap_keys) {
      if (!now.bitmap_keys.count(k)) out.insert("-b" + std::string(k));
    }
    for (const auto& k : now.bitmap_keys) {
      if (!was.bitmap_keys.count(k)) out.insert("+b" + std::string(k));
    }
    for (const auto& k : was.index_keys) {
      if (!now.index_keys.count(k)) out.insert("-i" + std::string(k));
    }
    for (const auto& k : now.index_keys) {
      if (!was.index_keys.count(k)) out.insert("+i" + std::string(k));
    }
    return out;
  };
  size_t pairs = 0, partial = 0;
  for (const auto& before : variants) {
    for (const auto& after : variants) {
      const auto full = diff(DeriveAttributeFacts(kOrg, 7, before), DeriveAttributeFacts(kOrg, 7, after));
      const unsigned parts = ChangedAttributeParts(before, after);
      const auto part = diff(DeriveAttributeFacts(kOrg, 7, before, parts), DeriveAttributeFacts(kOrg, 7, after, parts));
      REQUIRE(part == full);
      ++pairs;
      if (parts != 0 && parts != kAttrAll) ++partial;
    }
  }
  CHECK(pairs > 1000);
  CHECK(partial > 500);  // most pairs take the partial path
}

}  // namespace leadflow::views
