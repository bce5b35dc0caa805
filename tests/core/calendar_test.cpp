#include "sanad/core/calendar.h"

#include <gtest/gtest.h>
#include <unicode/ucal.h>

namespace sanad {
namespace {

TEST(GregorianTest, RoundTripsEveryDayFrom1900To2200) {
  for (Days d = DaysFromCivil(1900, 1, 1); d <= DaysFromCivil(2200, 12, 31); ++d) {
    YearMonthDay ymd = CivilFromDays(d);
    ASSERT_EQ(DaysFromCivil(ymd.year, ymd.month, ymd.day), d);
  }
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
}

TEST(IsoDateTest, ValidatesDayOfMonth) {
  Days d;
  EXPECT_TRUE(ParseIsoDate("2024-02-29", &d));
  EXPECT_FALSE(ParseIsoDate("2023-02-29", &d));
  EXPECT_FALSE(ParseIsoDate("2023-02-30", &d));
  EXPECT_FALSE(ParseIsoDate("2023-13-01", &d));
  EXPECT_FALSE(ParseIsoDate("2023-1-01", &d));
  EXPECT_FALSE(ParseIsoDate("2023-01-01T", &d));
  EXPECT_FALSE(ParseIsoDate("0000-01-01", &d));
  EXPECT_TRUE(ParseIsoDate("1900-02-28", &d));
  EXPECT_FALSE(ParseIsoDate("1900-02-29", &d));
  ASSERT_TRUE(ParseIsoDate("2025-03-20", &d));
  char buf[10];
  FormatIsoDate(d, buf);
  EXPECT_EQ(std::string(buf, 10), "2025-03-20");
}

TEST(JalaliTest, SpecExampleLeapDay) {
  Days d;
  ASSERT_TRUE(ParseIsoDate("2025-03-20", &d));
  YearMonthDay j = JalaliFromDays(d);
  EXPECT_EQ(j.year, 1403);
  EXPECT_EQ(j.month, 12);
  EXPECT_EQ(j.day, 30);
  YearMonthDay n = JalaliFromDays(d + 1);
  EXPECT_EQ(n.year, 1404);
  EXPECT_EQ(n.month, 1);
  EXPECT_EQ(n.day, 1);
}

// The contract: agree with ICU's Persian calendar on every day 1925..2125.
TEST(JalaliTest, AgreesWithIcuPersianCalendarFrom1925To2125) {
  UErrorCode status = U_ZERO_ERROR;
  const UChar utc[] = {'U', 'T', 'C', 0};
  UCalendar* cal = ucal_open(utc, -1, "en@calendar=persian", UCAL_TRADITIONAL, &status);
  ASSERT_TRUE(U_SUCCESS(status)) << u_errorName(status);
  int checked = 0;
  for (Days d = DaysFromCivil(1925, 1, 1); d <= DaysFromCivil(2125, 12, 31); ++d) {
    ucal_setMillis(cal, (static_cast<double>(d) * 86400.0 + 43200.0) * 1000.0, &status);
    const int y = ucal_get(cal, UCAL_EXTENDED_YEAR, &status);
    const int m = ucal_get(cal, UCAL_MONTH, &status) + 1;
    const int day = ucal_get(cal, UCAL_DATE, &status);
    ASSERT_TRUE(U_SUCCESS(status));
    YearMonthDay j = JalaliFromDays(d);
    ASSERT_EQ(j.year, y) << "day " << d;
    ASSERT_EQ(j.month, m) << "day " << d;
    ASSERT_EQ(j.day, day) << "day " << d;
    ASSERT_EQ(DaysFromJalali(j.year, j.month, j.day), d);
    ++checked;
  }
  ucal_close(cal);
  EXPECT_GT(checked, 73000);
}

}  // namespace
}  // namespace sanad
