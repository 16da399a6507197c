#include "api/lsq_fields.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/testing/harness.h"

namespace leadflow::api {
namespace {
using nlohmann::json;
}  // namespace

TEST_CASE("ParseLsqDateTime reads UTC yyyy-MM-dd HH:mm:ss and drops a fraction") {
  struct Case {
    std::string text;
    std::optional<std::string> rfc3339;  // nullopt: rejected
  };
  const std::vector<Case> cases = {
      {"2024-05-01 10:15:00", "2024-05-01T10:15:00Z"},
      {"1970-01-01 00:00:00", "1970-01-01T00:00:00Z"},
      {"1969-12-31 23:59:59", "1969-12-31T23:59:59Z"},
      {"2024-02-29 12:00:00", "2024-02-29T12:00:00Z"},
      {"2000-02-29 00:00:00", "2000-02-29T00:00:00Z"},
      {"9999-12-31 23:59:59", "9999-12-31T23:59:59Z"},
      {"0001-01-01 00:00:00", "0001-01-01T00:00:00Z"},
      {"2026-08-08 07:38:00.000", "2026-08-08T07:38:00Z"},
      {"2026-08-08 07:38:00.999", "2026-08-08T07:38:00Z"},
      {"2026-08-08 07:38:00.5", "2026-08-08T07:38:00Z"},
      {"2026-08-08 07:38:00.1234567", "2026-08-08T07:38:00Z"},
      {"2026-08-08 07:38:00.12345678", std::nullopt},
      {"2026-08-08 07:38:00.", std::nullopt},
      {"2026-08-08 07:38:00.12a", std::nullopt},
      {"2023-02-29 00:00:00", std::nullopt},
      {"1900-02-29 00:00:00", std::nullopt},
      {"2024-04-31 00:00:00", std::nullopt},
      {"2024-00-10 00:00:00", std::nullopt},
      {"2024-01-00 00:00:00", std::nullopt},
      {"0000-01-01 00:00:00", std::nullopt},
      {"2024-01-01 24:00:00", std::nullopt},
      {"2024-01-01 23:60:00", std::nullopt},
      {"2024-01-01 23:59:60", std::nullopt},
      {"2024-01-01T00:00:00", std::nullopt},
      {"2024-01-01 00:00:00Z", std::nullopt},
      {"2024-01-01 00:00", std::nullopt},
      {"2024-01-01", std::nullopt},
      {" 2024-01-01 00:00:00", std::nullopt},
      {"2024-1-01 00:00:00", std::nullopt},
      {"+024-01-01 00:00:00", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const std::optional<int64_t> ms = ParseLsqDateTime(c.text);
    REQUIRE(ms.has_value() == c.rfc3339.has_value());
    if (ms) CHECK(*ms == testing::Ms(*c.rfc3339));
  }
}

TEST_CASE("FindKey matches names case-insensitively, prefers an exact match and treats null as absent") {
  const json obj = {{"PageSize", 5}, {"pagesize", 6}, {"PAGEINDEX", 2}, {"Sorting", nullptr}};
  REQUIRE(FindKey(obj, "PageSize") != nullptr);
  CHECK(*FindKey(obj, "PageSize") == 5);
  CHECK(*FindKey(obj, "pagesize") == 6);
  CHECK(*FindKey(obj, "PageIndex") == 2);
  CHECK(FindKey(obj, "Sorting") == nullptr);
  CHECK(FindKey(obj, "Paging") == nullptr);
  CHECK(FindKey(obj, "PageSiz") == nullptr);
  CHECK(FindKey(json::array({1}), "x") == nullptr);
  CHECK(FindKey(json("PageSize"), "PageSize") == nullptr);
}

TEST_CASE("a column name is one or more of A-Z, a-z, 0-9 and underscore") {
  for (const std::string ok : {"ProspectID", "mx_Custom_1", "_", "9", "ProspectActivityDate_Max"}) {
    CAPTURE(ok);
    CHECK(IsColumnName(ok));
  }
  for (const std::string bad : {"", "First Name", "a-b", "a.b", "a;b", "é", "a\"b", "a\nb", " a"}) {
    CAPTURE(bad);
    CHECK_FALSE(IsColumnName(bad));
  }
}

TEST_CASE("text helpers compare, lower and trim ASCII only") {
  CHECK(EqualsNoCase("NotContacted", "notcontacted"));
  CHECK_FALSE(EqualsNoCase("abc", "abd"));
  CHECK_FALSE(EqualsNoCase("abc", "ab"));
  CHECK_FALSE(EqualsNoCase("\xC3\x89", "\xC3\xA9"));  // É and é differ outside ASCII
  CHECK(LowerAscii("Not In \xC3\x89") == "not in \xC3\x89");
  CHECK(TrimSpaces(" \t a b \t") == "a b");
  CHECK(TrimSpaces("   ").empty());
}

TEST_CASE("Quoted echoes client input, JSON text for non-strings, cut at 64 bytes") {
  CHECK(QuotedValue(json("like2")) == "like2");
  CHECK(QuotedValue(json(21.5)) == "21.5");
  CHECK(QuotedValue(json::array({1, "a"})) == R"([1,"a"])");
  CHECK(Quoted(std::string(64, 'a')) == std::string(64, 'a'));
  CHECK(Quoted(std::string(65, 'a')) == std::string(64, 'a') + "...");
}

}  // namespace leadflow::api
