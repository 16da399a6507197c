#include "views/detail/units.h"

#include <limits>

#include "views/time.h"

namespace leadflow::views::detail {

std::vector<UnitRange> CoverDays(int64_t day_begin, int64_t day_end) {
  std::vector<UnitRange> out;
  auto emit = [&out](keys::Level level, int64_t unit) {
    if (!out.empty() && out.back().level == level && out.back().end == unit) {
      ++out.back().end;
    } else {
      out.push_back({level, unit, unit + 1});
    }
  };
  int64_t d = day_begin;
  while (d < day_end) {
    const int64_t y = YearOfDay(d);
    if (d == FirstDayOfYear(y) && FirstDayOfYear(y + 1) <= day_end) {
      emit(keys::Level::kYear, y);
      d = FirstDayOfYear(y + 1);
      continue;
    }
    const int64_t m = MonthOfDay(d);
    if (d == FirstDayOfMonth(m) && FirstDayOfMonth(m + 1) <= day_end) {
      emit(keys::Level::kMonth, m);
      d = FirstDayOfMonth(m + 1);
      continue;
    }
    emit(keys::Level::kDay, d);
    ++d;
  }
  return out;
}

std::vector<UnitRange> CoverBefore(int64_t day) {
  const int64_t year = YearOfDay(day);
  const int64_t month = MonthOfDay(day);
  return {
      {keys::Level::kYear, std::numeric_limits<int32_t>::min(), year},
      {keys::Level::kMonth, year * 12, month},
      {keys::Level::kDay, FirstDayOfMonth(month), day},
  };
}

std::vector<UnitRange> CoverFrom(int64_t day) {
  const int64_t year = YearOfDay(day);
  const int64_t month = MonthOfDay(day);
  return {
      {keys::Level::kDay, day, FirstDayOfMonth(month + 1)},
      {keys::Level::kMonth, month + 1, (year + 1) * 12},
      {keys::Level::kYear, year + 1, std::numeric_limits<int32_t>::max()},
  };
}

}  // namespace leadflow::views::detail
