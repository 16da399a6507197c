// Time: instants as milliseconds since the Unix epoch (UTC), and the calendar
// arithmetic the views need (UTC days, months and years as unit numbers).
//
// Thread safety: pure functions, callable from any thread.
#ifndef LEADFLOW_VIEWS_TIME_H_
#define LEADFLOW_VIEWS_TIME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace leadflow::views {

constexpr int64_t kMsPerDay = 86'400'000;

// Parses an RFC 3339 timestamp ("2024-05-01T10:00:00.123456+02:00"; 'T' or
// 't' or ' ' as separator; 'Z', 'z' or a +-HH:MM offset required). Fractions
// finer than a millisecond are truncated. nullopt when malformed or out of
// range (years 0001-9999).
std::optional<int64_t> ParseRfc3339Ms(std::string_view text);

// Parses "YYYY-MM-DD" as local midnight at offset_ms east of UTC.
std::optional<int64_t> ParseDateMs(std::string_view text, int64_t offset_ms);

// "2024-05-01T10:00:00.123Z".
std::string FormatRfc3339Ms(int64_t ms);
// "2024-05-01 10:00:00", or with ".123" when with_millis.
std::string FormatSpanLiteral(int64_t ms, bool with_millis);

// Days since 1970-01-01 of a proleptic Gregorian civil date.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
struct CivilDate {
  int64_t year;
  unsigned month;  // 1-12
  unsigned day;    // 1-31
};
CivilDate CivilFromDays(int64_t days);

inline int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
inline int64_t DayOf(int64_t ms) { return FloorDiv(ms, kMsPerDay); }
inline int64_t DayStartMs(int64_t day) { return day * kMsPerDay; }
// Month unit number: year * 12 + (month - 1).
inline int64_t MonthOfDay(int64_t day) {
  CivilDate c = CivilFromDays(day);
  return c.year * 12 + (c.month - 1);
}
inline int64_t YearOfDay(int64_t day) { return CivilFromDays(day).year; }
// First day of a month unit / of a year.
inline int64_t FirstDayOfMonth(int64_t month) {
  return DaysFromCivil(FloorDiv(month, 12), static_cast<unsigned>(month - FloorDiv(month, 12) * 12) + 1, 1);
}
inline int64_t FirstDayOfYear(int64_t year) { return DaysFromCivil(year, 1, 1); }

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_TIME_H_
