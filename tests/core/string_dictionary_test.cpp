#include "sanad/core/string_dictionary.h"

#include <gtest/gtest.h>

#include <string>

namespace sanad {
namespace {

TEST(StringDictionaryTest, AssignsDenseCodesInFirstInsertionOrder) {
  StringDictionary d;
  EXPECT_EQ(d.Intern("b"), 0);
  EXPECT_EQ(d.Intern("a"), 1);
  EXPECT_EQ(d.Intern("b"), 0);
  EXPECT_EQ(d.Find("a"), 1);
  EXPECT_EQ(d.Find("zz"), StringDictionary::kAbsent);
  EXPECT_EQ(d.View(1), "a");
  EXPECT_EQ(d.size(), 2);
}

TEST(StringDictionaryTest, KeepsUtf8BytesAndSurvivesGrowth) {
  StringDictionary d;
  d.Reserve(10, 100);
  const std::string fa = "\xD8\xAA\xD9\x87\xD8\xB1\xD8\xA7\xD9\x86";  // Tehran in Persian
  const std::string zh = "\xE5\x8C\x97\xE4\xBA\xAC";                  // Beijing
  EXPECT_EQ(d.Intern(fa), 0);
  EXPECT_EQ(d.Intern(zh), 1);
  EXPECT_EQ(d.Intern(""), 2);
  for (int i = 0; i < 100000; ++i) d.Intern("code" + std::to_string(i));
  EXPECT_EQ(d.View(0), fa);
  EXPECT_EQ(d.View(1), zh);
  EXPECT_EQ(d.Find(""), 2);
  EXPECT_EQ(d.Find("code99999"), 100002);
  EXPECT_EQ(d.size(), 100003);
}

}  // namespace
}  // namespace sanad
