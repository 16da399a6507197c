// Calendar unit ranges over which per-unit bitmaps are combined.
//
// Thread safety: pure functions.
#ifndef LEADFLOW_VIEWS_DETAIL_UNITS_H_
#define LEADFLOW_VIEWS_DETAIL_UNITS_H_

#include <cstdint>
#include <vector>

#include "views/keys.h"

namespace leadflow::views::detail {

// Units [begin, end) of one level.
struct UnitRange {
  keys::Level level;
  int64_t begin;
  int64_t end;
};

// Aligned years, months and days that exactly cover the days [day_begin, day_end).
std::vector<UnitRange> CoverDays(int64_t day_begin, int64_t day_end);

// Aligned units that cover every day before `day` (from the beginning of time).
std::vector<UnitRange> CoverBefore(int64_t day);

// Aligned units that cover every day from `day` on (to the end of time).
std::vector<UnitRange> CoverFrom(int64_t day);

}  // namespace leadflow::views::detail

#endif  // LEADFLOW_VIEWS_DETAIL_UNITS_H_
