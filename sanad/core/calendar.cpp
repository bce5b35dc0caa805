#include "sanad/core/calendar.h"

namespace sanad {
namespace {

constexpr int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// ICU: PERSIAN_EPOCH is Julian day 1948320; Julian day 2440588 is 1970-01-01.
constexpr int64_t kPersianEpochJd = 1948320;
constexpr int64_t kUnixEpochJd = 2440588;
constexpr int32_t kPersianNumDays[12] = {0, 31, 62, 93, 124, 155, 186, 216, 246, 276, 306, 336};

bool IsGregorianLeap(int32_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

// Howard Hinnant's days_from_civil / civil_from_days.
Days DaysFromCivil(int32_t y, int32_t m, int32_t d) {
  y -= m <= 2;
  const int32_t era = (y >= 0 ? y : y - 399) / 400;
  const uint32_t yoe = static_cast<uint32_t>(y - era * 400);
  const uint32_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const uint32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int32_t>(doe) - 719468;
}

YearMonthDay CivilFromDays(Days days) {
  int32_t z = days + 719468;
  const int32_t era = (z >= 0 ? z : z - 146096) / 146097;
  const uint32_t doe = static_cast<uint32_t>(z - era * 146097);
  const uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int32_t y = static_cast<int32_t>(yoe) + era * 400;
  const uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const uint32_t mp = (5 * doy + 2) / 153;
  const int32_t d = static_cast<int32_t>(doy - (153 * mp + 2) / 5 + 1);
  const int32_t m = static_cast<int32_t>(mp < 10 ? mp + 3 : mp - 9);
  return {y + (m <= 2), m, d};
}

bool IsJalaliLeapYear(int32_t y) {
  int64_t r = (25 * static_cast<int64_t>(y) + 11) % 33;
  if (r < 0) r += 33;
  return r < 8;
}

YearMonthDay JalaliFromDays(Days days) {
  const int64_t since_epoch = static_cast<int64_t>(days) + kUnixEpochJd - kPersianEpochJd;
  const int64_t year = 1 + FloorDiv(33 * since_epoch + 3, 12053);
  const int64_t farvardin1 = 365 * (year - 1) + FloorDiv(8 * year + 21, 33);
  const int32_t doy = static_cast<int32_t>(since_epoch - farvardin1);  // 0-based
  const int32_t month = doy < 216 ? doy / 31 : (doy - 6) / 30;
  return {static_cast<int32_t>(year), month + 1, doy - kPersianNumDays[month] + 1};
}

Days DaysFromJalali(int32_t y, int32_t m, int32_t d) {
  const int64_t jd = kPersianEpochJd - 1 + 365 * (static_cast<int64_t>(y) - 1) + FloorDiv(8 * static_cast<int64_t>(y) + 21, 33) +
                     kPersianNumDays[m - 1] + d;
  return static_cast<Days>(jd - kUnixEpochJd);
}

bool ParseIsoDate(std::string_view t, Days* out) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return false;
  int v[8];
  static constexpr int kPos[8] = {0, 1, 2, 3, 5, 6, 8, 9};
  for (int i = 0; i < 8; ++i) {
    char c = t[kPos[i]];
    if (c < '0' || c > '9') return false;
    v[i] = c - '0';
  }
  const int32_t y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
  const int32_t m = v[4] * 10 + v[5];
  const int32_t d = v[6] * 10 + v[7];
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  static constexpr int8_t kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const int32_t dim = (m == 2 && IsGregorianLeap(y)) ? 29 : kDays[m - 1];
  if (d > dim) return false;
  *out = DaysFromCivil(y, m, d);
  return true;
}

void FormatIsoDate(Days days, char out[10]) {
  YearMonthDay ymd = CivilFromDays(days);
  int y = ymd.year;
  out[0] = static_cast<char>('0' + (y / 1000) % 10);
  out[1] = static_cast<char>('0' + (y / 100) % 10);
  out[2] = static_cast<char>('0' + (y / 10) % 10);
  out[3] = static_cast<char>('0' + y % 10);
  out[4] = '-';
  out[5] = static_cast<char>('0' + ymd.month / 10);
  out[6] = static_cast<char>('0' + ymd.month % 10);
  out[7] = '-';
  out[8] = static_cast<char>('0' + ymd.day / 10);
  out[9] = static_cast<char>('0' + ymd.day % 10);
}

}  // namespace sanad
