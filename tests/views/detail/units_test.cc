#include "views/detail/units.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "views/time.h"

namespace leadflow::views::detail {
namespace {

int64_t Day(int64_t y, unsigned m, unsigned d) { return DaysFromCivil(y, m, d); }

std::string DayText(int64_t day) {
  CivilDate c = CivilFromDays(day);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02u", static_cast<long long>(c.year), c.month, c.day);
  return buf;
}

std::string MonthText(int64_t month) { return DayText(FirstDayOfMonth(month)).substr(0, 7); }

// "D 2023-12-30..2023-12-31, Y 2024..2024, M 2025-01..2025-02": each range
// with its first and last unit (inclusive).
std::string Text(const std::vector<UnitRange>& ranges) {
  std::string out;
  for (const auto& r : ranges) {
    if (!out.empty()) out += ", ";
    switch (r.level) {
      case keys::Level::kYear:
        out += "Y " + std::to_string(r.begin) + ".." + std::to_string(r.end - 1);
        break;
      case keys::Level::kMonth:
        out += "M " + MonthText(r.begin) + ".." + MonthText(r.end - 1);
        break;
      case keys::Level::kDay:
        out += "D " + DayText(r.begin) + ".." + DayText(r.end - 1);
        break;
      case keys::Level::kAll:
        out += "A";
        break;
    }
  }
  return out;
}

// The days [begin, end) of unit u of a level.
std::pair<int64_t, int64_t> DaysOfUnit(keys::Level level, int64_t u) {
  switch (level) {
    case keys::Level::kYear: return {FirstDayOfYear(u), FirstDayOfYear(u + 1)};
    case keys::Level::kMonth: return {FirstDayOfMonth(u), FirstDayOfMonth(u + 1)};
    default: return {u, u + 1};
  }
}

// A property check that counts as no assertion unless it fails; a failure
// stops the test case with its captured context.
void Expect(bool ok, const char* what) {
  if (!ok) FAIL(what);
}

}  // namespace

TEST_CASE("CoverDays covers a range with the coarsest aligned units") {
  struct Case {
    std::string name;
    int64_t begin, end;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"the example across two year ends", Day(2023, 12, 30), Day(2025, 3, 3),
       "D 2023-12-30..2023-12-31, Y 2024..2024, M 2025-01..2025-02, D 2025-03-01..2025-03-02"},
      {"an empty range", Day(2024, 5, 1), Day(2024, 5, 1), ""},
      {"a reversed range", Day(2024, 5, 2), Day(2024, 5, 1), ""},
      {"one day", Day(2024, 5, 1), Day(2024, 5, 2), "D 2024-05-01..2024-05-01"},
      {"one whole leap February", Day(2024, 2, 1), Day(2024, 3, 1), "M 2024-02..2024-02"},
      {"February minus its last day", Day(2024, 2, 1), Day(2024, 2, 29), "D 2024-02-01..2024-02-28"},
      {"one whole year", Day(2024, 1, 1), Day(2025, 1, 1), "Y 2024..2024"},
      {"two whole years", Day(2023, 1, 1), Day(2025, 1, 1), "Y 2023..2024"},
      {"a year minus its last day", Day(2024, 1, 1), Day(2024, 12, 31),
       "M 2024-01..2024-11, D 2024-12-01..2024-12-30"},
      {"months across a year end", Day(2023, 12, 1), Day(2024, 3, 1), "M 2023-12..2024-02"},
      {"days, months, days", Day(2024, 1, 15), Day(2024, 3, 10),
       "D 2024-01-15..2024-01-31, M 2024-02..2024-02, D 2024-03-01..2024-03-09"},
      {"before the epoch", Day(1969, 12, 15), Day(1970, 2, 1), "D 1969-12-15..1969-12-31, M 1970-01..1970-01"},
      {"a decade", Day(2010, 6, 30), Day(2020, 2, 2),
       "D 2010-06-30..2010-06-30, M 2010-07..2010-12, Y 2011..2019, M 2020-01..2020-01, D 2020-02-01..2020-02-01"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(Text(CoverDays(c.begin, c.end)) == c.expected);
  }
}

TEST_CASE("CoverDays covers every day of a random range exactly once, in order, with the coarsest units") {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> start(Day(1960, 1, 1), Day(2040, 1, 1));
  std::uniform_int_distribution<int> len_kind(0, 3);
  for (int i = 0; i < 3000; ++i) {
    const int64_t begin = start(rng);
    const int kind = len_kind(rng);
    const int64_t max_len = kind == 0 ? 3 : kind == 1 ? 70 : kind == 2 ? 800 : 6000;
    const int64_t end = begin + std::uniform_int_distribution<int64_t>(0, max_len)(rng);
    CAPTURE(DayText(begin));
    CAPTURE(DayText(end));
    const auto ranges = CoverDays(begin, end);
    CAPTURE(Text(ranges));
    int64_t next = begin;  // the first day not covered yet
    for (const auto& r : ranges) {
      Expect(r.begin < r.end, "a range is not empty");
      for (int64_t u = r.begin; u < r.end; ++u) {
        const auto [first, past] = DaysOfUnit(r.level, u);
        Expect(first == next, "no gap, no overlap");
        next = past;
      }
      const auto [range_first, range_past] =
          std::pair{DaysOfUnit(r.level, r.begin).first, DaysOfUnit(r.level, r.end - 1).second};
      if (r.level == keys::Level::kDay) {
        // No whole month inside a run of days.
        const int64_t m = MonthOfDay(range_first);
        const int64_t m_first = FirstDayOfMonth(m) == range_first ? m : m + 1;
        Expect(FirstDayOfMonth(m_first + 1) > range_past, "no whole month in a run of days");
      }
      if (r.level == keys::Level::kMonth) {
        const int64_t y = YearOfDay(range_first);
        const int64_t y_first = FirstDayOfYear(y) == range_first ? y : y + 1;
        Expect(FirstDayOfYear(y_first + 1) > range_past, "no whole year in a run of months");
      }
    }
    Expect(next == std::max(begin, end), "the days end where the range ends");
    for (size_t k = 1; k < ranges.size(); ++k) {
      // Adjacent ranges of one level would have been one range.
      Expect(!(ranges[k].level == ranges[k - 1].level && ranges[k].begin == ranges[k - 1].end),
             "adjacent ranges of one level are merged");
    }
  }
}

TEST_CASE("CoverBefore covers all days before a day: years, then its year's months, then its month's days") {
  const int64_t mar15 = Day(2024, 3, 15);
  auto r = CoverBefore(mar15);
  REQUIRE(r.size() == 3);
  CHECK(r[0].level == keys::Level::kYear);
  CHECK(r[0].begin <= 1);
  CHECK(r[0].end == 2024);
  CHECK(r[1].level == keys::Level::kMonth);
  CHECK(MonthText(r[1].begin) == "2024-01");
  CHECK(MonthText(r[1].end) == "2024-03");
  CHECK(r[2].level == keys::Level::kDay);
  CHECK(DayText(r[2].begin) == "2024-03-01");
  CHECK(r[2].end == mar15);

  // On January 1 only whole years precede.
  r = CoverBefore(Day(2024, 1, 1));
  REQUIRE(r.size() == 3);
  CHECK(r[0].end == 2024);
  CHECK(r[1].begin == r[1].end);
  CHECK(r[2].begin == r[2].end);

  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int64_t> any(Day(1, 1, 1), Day(9999, 12, 31));
  for (int i = 0; i < 5000; ++i) {
    const int64_t day = any(rng);
    CAPTURE(DayText(day));
    r = CoverBefore(day);
    Expect(r.size() == 3, "r.size() == 3");
    Expect(r[0].level == keys::Level::kYear, "r[0].level == keys::Level::kYear");
    Expect(r[1].level == keys::Level::kMonth, "r[1].level == keys::Level::kMonth");
    Expect(r[2].level == keys::Level::kDay, "r[2].level == keys::Level::kDay");
    Expect(r[0].begin <= 1, "r[0].begin <= 1");
    // The three ranges are contiguous and end at day.
    Expect(r[1].begin <= r[1].end, "r[1].begin <= r[1].end");
    Expect(r[2].begin <= r[2].end, "r[2].begin <= r[2].end");
    Expect(FirstDayOfYear(r[0].end) == FirstDayOfMonth(r[1].begin), "the months start where the years end");
    Expect(FirstDayOfMonth(r[1].end) == r[2].begin, "the days start where the months end");
    Expect(r[2].end == day, "r[2].end == day");
    // And aligned: the months are within day's year, the days within its month.
    Expect(r[1].end - r[1].begin < 12, "r[1].end - r[1].begin < 12");
    Expect(r[2].end - r[2].begin < 31, "r[2].end - r[2].begin < 31");
  }
}

}  // namespace leadflow::views::detail
