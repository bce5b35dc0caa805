#pragma once
/// Calendar arithmetic on day numbers (days since 1970-01-01): Gregorian
/// civil dates and the Jalali (Solar Hijri) calendar exactly as ICU's
/// Persian calendar computes it (33-year leap rule; e.g. 2025-03-20 is
/// 1403-12-30). Pure functions, thread-safe, no allocation.

#include <cstdint>
#include <string_view>

#include "sanad/core/types.h"

namespace sanad {

enum class Calendar : uint8_t { kGregorian, kJalali };

struct YearMonthDay {
  int32_t year;
  int32_t month;  // 1..12
  int32_t day;    // 1..31
};

/// Days since 1970-01-01 of a Gregorian date (proleptic). No validation.
Days DaysFromCivil(int32_t y, int32_t m, int32_t d);
YearMonthDay CivilFromDays(Days days);

/// Jalali date of a day number, and back (ICU PersianCalendar arithmetic).
YearMonthDay JalaliFromDays(Days days);
Days DaysFromJalali(int32_t y, int32_t m, int32_t d);
bool IsJalaliLeapYear(int32_t y);

/// Date in the given calendar.
inline YearMonthDay DateParts(Calendar cal, Days d) {
  return cal == Calendar::kJalali ? JalaliFromDays(d) : CivilFromDays(d);
}

/// Parses exactly `YYYY-MM-DD` (Gregorian, years 0001-9999) and validates the
/// day of month. Returns false on anything else.
bool ParseIsoDate(std::string_view text, Days* out);

/// Writes `YYYY-MM-DD` (10 chars) for years 0..9999.
void FormatIsoDate(Days d, char out[10]);

}  // namespace sanad
