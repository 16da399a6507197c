#include "views/time.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace leadflow::views {
namespace {

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kMin = 60'000;

// An instant written as UTC; fails the test when it does not parse.
int64_t Utc(const std::string& text) {
  auto ms = ParseRfc3339Ms(text);
  REQUIRE_MESSAGE(ms.has_value(), text);
  return *ms;
}

}  // namespace

TEST_CASE("ParseRfc3339Ms reads every valid form to the millisecond") {
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"1970-01-01T00:00:00Z", 0},
      {"1970-01-01T00:00:00.001Z", 1},
      {"1969-12-31T23:59:59.999Z", -1},
      {"2024-05-01T10:00:00Z", 1714557600000},
      {"2024-05-01t10:00:00z", 1714557600000},
      {"2024-05-01 10:00:00Z", 1714557600000},
      {"2024-05-01T12:00:00+02:00", 1714557600000},
      {"2024-05-01T05:30:00-04:30", 1714557600000},
      {"2024-05-01T10:00:00-00:00", 1714557600000},
      {"2024-05-02T09:59:00+23:59", 1714557600000},
      {"2024-05-01T10:00:00.1Z", 1714557600100},
      {"2024-05-01T10:00:00.12Z", 1714557600120},
      {"2024-05-01T10:00:00.123Z", 1714557600123},
      {"2024-05-01T10:00:00.123999999Z", 1714557600123},
      {"2024-05-01T12:00:00.999+02:00", 1714557600999},
      {"2024-02-29T00:00:00Z", 1709164800000},
      {"2000-02-29T00:00:00Z", 951782400000},
      {"0001-01-01T00:00:00Z", -62135596800000},
      {"9999-12-31T23:59:59.999Z", 253402300799999},
      // A leap second is folded into the next second.
      {"2016-12-31T23:59:60Z", 1483228800000},
  };
  for (const auto& [text, ms] : cases) {
    CAPTURE(text);
    CHECK(ParseRfc3339Ms(text) == std::optional<int64_t>(ms));
  }
}

TEST_CASE("ParseRfc3339Ms rejects impossible dates, out-of-range times and a missing zone") {
  const std::vector<std::string> cases = {
      "",
      "2024-05-01",
      "2024-05-01T10:00:00",        // no zone
      "2024-05-01T10:00:00.123",    // no zone
      "2024-05-01T10:00Z",          // no seconds
      "2023-02-29T00:00:00Z",       // not a leap year
      "1900-02-29T00:00:00Z",       // century, not a leap year
      "2024-04-31T00:00:00Z",
      "2024-13-01T00:00:00Z",
      "2024-00-01T00:00:00Z",
      "2024-01-00T00:00:00Z",
      "2024-01-32T00:00:00Z",
      "0000-01-01T00:00:00Z",       // before year 1
      "2024-05-01T24:00:00Z",
      "2024-05-01T23:60:00Z",
      "2024-05-01T23:59:61Z",
      "2024-05-01T10:00:00+0200",   // offset without a colon
      "2024-05-01T10:00:00+02",
      "2024-05-01T10:00:00+24:00",
      "2024-05-01T10:00:00+02:60",
      "2024-05-01T10:00:00+02:00:00",
      "2024-05-01T10:00:00.Z",      // empty fraction
      "2024-05-01T10:00:00,5Z",
      "2024-05-01X10:00:00Z",
      "2024-5-01T10:00:00Z",
      "2024-05-01T1:00:00Z",
      " 2024-05-01T10:00:00Z",
      "2024-05-01T10:00:00Z ",
      "2024-05-01T10:00:00ZZ",
      "2024-05-01T10:00:00UTC",
      "yesterday at noon, roughly",
  };
  for (const auto& text : cases) {
    CAPTURE(text);
    CHECK_FALSE(ParseRfc3339Ms(text).has_value());
  }
}

TEST_CASE("ParseDateMs is local midnight at the offset") {
  struct Case {
    std::string date;
    int64_t offset_ms;
    const char* utc;
  };
  const std::vector<Case> cases = {
      {"2014-01-01", -8 * kHour, "2014-01-01T08:00:00Z"},
      {"2014-06-01", -7 * kHour, "2014-06-01T07:00:00Z"},
      {"2024-06-01", 0, "2024-06-01T00:00:00Z"},
      {"2024-06-01", 5 * kHour + 30 * kMin, "2024-05-31T18:30:00Z"},
      {"2024-06-01", -(2 * kHour + 30 * kMin), "2024-06-01T02:30:00Z"},
      {"2024-01-01", 14 * kHour, "2023-12-31T10:00:00Z"},
      {"1970-01-01", 1 * kHour, "1969-12-31T23:00:00Z"},
      {"2024-02-29", 0, "2024-02-29T00:00:00Z"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.date);
    CAPTURE(c.offset_ms);
    CHECK(ParseDateMs(c.date, c.offset_ms) == std::optional<int64_t>(Utc(c.utc)));
  }
  for (const char* bad : {"", "2024-6-01", "2024-06-1", "20240601", "2023-02-29", "2024-06-31", "2024-06-01T00:00:00Z",
                          "2024-06-01 ", "2024/06/01", "0000-01-01"}) {
    const std::string bad_text = bad;
    CAPTURE(bad_text);
    CHECK_FALSE(ParseDateMs(bad, 0).has_value());
  }
}

TEST_CASE("FormatRfc3339Ms and FormatSpanLiteral write UTC, before 1970 too") {
  const std::vector<std::tuple<int64_t, const char*, const char*, const char*>> cases = {
      // ms, RFC 3339, span with millis, whole-second span
      {0, "1970-01-01T00:00:00.000Z", "1970-01-01 00:00:00.000", "1970-01-01 00:00:00"},
      {-1, "1969-12-31T23:59:59.999Z", "1969-12-31 23:59:59.999", "1969-12-31 23:59:59"},
      {-1000, "1969-12-31T23:59:59.000Z", "1969-12-31 23:59:59.000", "1969-12-31 23:59:59"},
      {-86'400'000, "1969-12-31T00:00:00.000Z", "1969-12-31 00:00:00.000", "1969-12-31 00:00:00"},
      {-86'400'001, "1969-12-30T23:59:59.999Z", "1969-12-30 23:59:59.999", "1969-12-30 23:59:59"},
      {1714557600123, "2024-05-01T10:00:00.123Z", "2024-05-01 10:00:00.123", "2024-05-01 10:00:00"},
      {1709164800000, "2024-02-29T00:00:00.000Z", "2024-02-29 00:00:00.000", "2024-02-29 00:00:00"},
      {-62135596800000, "0001-01-01T00:00:00.000Z", "0001-01-01 00:00:00.000", "0001-01-01 00:00:00"},
      {253402300799999, "9999-12-31T23:59:59.999Z", "9999-12-31 23:59:59.999", "9999-12-31 23:59:59"},
  };
  for (const auto& [ms, rfc, span_ms, span_s] : cases) {
    CAPTURE(ms);
    CHECK(FormatRfc3339Ms(ms) == rfc);
    CHECK(FormatSpanLiteral(ms, true) == span_ms);
    CHECK(FormatSpanLiteral(ms, false) == span_s);
  }
}

TEST_CASE("formatting then parsing an instant gives it back, for any year 1-9999") {
  std::mt19937_64 rng(20240501);
  std::uniform_int_distribution<int64_t> any(-62135596800000, 253402300799999);
  for (int i = 0; i < 20000; ++i) {
    const int64_t ms = any(rng);
    if (ParseRfc3339Ms(FormatRfc3339Ms(ms)) != std::optional<int64_t>(ms)) {
      FAIL(ms << " formats as " << FormatRfc3339Ms(ms) << " which does not parse back");
    }
  }
}

TEST_CASE("DaysFromCivil and CivilFromDays agree with known dates") {
  struct Case {
    int64_t y;
    unsigned m, d;
    int64_t days;
  };
  const std::vector<Case> cases = {
      {1970, 1, 1, 0},     {1969, 12, 31, -1},      {2000, 3, 1, 11017},    {2024, 2, 29, 19782},
      {1, 1, 1, -719162},  {1600, 2, 29, -135081},  {9999, 12, 31, 2932896}, {0, 3, 1, -719468},
      {0, 2, 29, -719469},  // year 0 is a leap year in the proleptic calendar
  };
  for (const auto& c : cases) {
    CAPTURE(c.y);
    CAPTURE(c.m);
    CAPTURE(c.d);
    CHECK(DaysFromCivil(c.y, c.m, c.d) == c.days);
    CivilDate back = CivilFromDays(c.days);
    CHECK(back.year == c.y);
    CHECK(back.month == c.m);
    CHECK(back.day == c.d);
  }
}

TEST_CASE("consecutive day numbers are consecutive calendar days over a wide range") {
  // From 2000 BC to 3000 AD, every day: the round trip holds and each next day
  // is the following day of the month, or the first of the next month.
  const int64_t first = DaysFromCivil(-2000, 1, 1);
  const int64_t last = DaysFromCivil(3000, 12, 31);
  CivilDate prev = CivilFromDays(first - 1);
  for (int64_t z = first; z <= last; ++z) {
    const CivilDate c = CivilFromDays(z);
    const bool same_month = c.year == prev.year && c.month == prev.month && c.day == prev.day + 1;
    const bool next_month = c.day == 1 && ((c.year == prev.year && c.month == prev.month + 1) ||
                                           (c.year == prev.year + 1 && c.month == 1 && prev.month == 12));
    if (!(same_month || next_month) || DaysFromCivil(c.year, c.month, c.day) != z) {
      CAPTURE(z);
      FAIL("day " << z << " is " << c.year << "-" << c.month << "-" << c.day << " after " << prev.year << "-"
                  << prev.month << "-" << prev.day);
    }
    if (next_month) {
      // The previous day was the last of its month: 28-31, February 29 only in leap years.
      const bool leap = (prev.year % 4 == 0 && prev.year % 100 != 0) || prev.year % 400 == 0;
      const unsigned kLast[] = {31, leap ? 29u : 28u, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
      if (prev.day != kLast[prev.month - 1]) {
        FAIL("month " << prev.year << "-" << prev.month << " ends on day " << prev.day);
      }
    }
    prev = c;
  }
}

TEST_CASE("month and year units name the calendar month and year of a day") {
  const int64_t may17 = DaysFromCivil(2024, 5, 17);
  CHECK(MonthOfDay(may17) == 2024 * 12 + 4);
  CHECK(YearOfDay(may17) == 2024);
  CHECK(FirstDayOfMonth(MonthOfDay(may17)) == DaysFromCivil(2024, 5, 1));
  CHECK(FirstDayOfMonth(2024 * 12 + 12) == DaysFromCivil(2025, 1, 1));
  CHECK(FirstDayOfYear(2024) == DaysFromCivil(2024, 1, 1));
  CHECK(MonthOfDay(-1) == 1969 * 12 + 11);
  CHECK(YearOfDay(-1) == 1969);
  CHECK(MonthOfDay(0) == 1970 * 12);
  // Negative unit numbers (years before 0) floor, not truncate.
  CHECK(FirstDayOfMonth(-1) == DaysFromCivil(-1, 12, 1));
  CHECK(MonthOfDay(DaysFromCivil(-1, 12, 31)) == -1);
  CHECK(YearOfDay(DaysFromCivil(-1, 12, 31)) == -1);

  for (int64_t z = DaysFromCivil(1899, 1, 1); z < DaysFromCivil(2101, 1, 1); ++z) {
    const int64_t m = MonthOfDay(z);
    const int64_t y = YearOfDay(z);
    if (!(FirstDayOfMonth(m) <= z && z < FirstDayOfMonth(m + 1) && FirstDayOfYear(y) <= z &&
          z < FirstDayOfYear(y + 1) && CivilFromDays(FirstDayOfMonth(m)).day == 1u && m / 12 == y)) {
      FAIL("day " << z << " month unit " << m << " year " << y);
    }
  }
}

TEST_CASE("DayOf and FloorDiv round toward negative infinity") {
  CHECK(FloorDiv(7, 2) == 3);
  CHECK(FloorDiv(-7, 2) == -4);
  CHECK(FloorDiv(-8, 2) == -4);
  CHECK(FloorDiv(7, -2) == -4);
  CHECK(DayOf(0) == 0);
  CHECK(DayOf(kMsPerDay - 1) == 0);
  CHECK(DayOf(-1) == -1);
  CHECK(DayOf(-kMsPerDay) == -1);
  CHECK(DayOf(-kMsPerDay - 1) == -2);
  CHECK(DayStartMs(DayOf(Utc("2024-05-01T23:59:59.999Z"))) == Utc("2024-05-01T00:00:00Z"));
}

}  // namespace leadflow::views
