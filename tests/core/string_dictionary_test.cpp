#include "sanad/core/string_dictionary.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

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

// Batches of random sizes with repeats inside a batch, across batches and
// across table growth: the same codes as one Intern call per string.
TEST(StringDictionaryTest, InternBatchGivesTheCodesOfInternInOrder) {
  std::mt19937_64 rng(7);
  StringDictionary batched, serial;
  for (int round = 0; round < 2000; ++round) {
    const size_t n = rng() % 64;
    std::vector<std::string> bytes(n);
    for (auto& b : bytes) b = "v" + std::to_string(rng() % (round < 1000 ? 50 : 100000));
    std::vector<std::string_view> views(bytes.begin(), bytes.end());
    std::vector<uint64_t> hashes;
    for (auto v : views) hashes.push_back(StringDictionary::Hash(v));
    std::vector<int32_t> got(n);
    batched.InternBatch(views.data(), hashes.data(), n, got.data());
    for (size_t j = 0; j < n; ++j) ASSERT_EQ(got[j], serial.Intern(views[j])) << "round " << round << " item " << j;
  }
  ASSERT_EQ(batched.size(), serial.size());
  for (int32_t c = 0; c < serial.size(); ++c) ASSERT_EQ(batched.View(c), serial.View(c));
}

// MergeInOrder builds what interning every part's strings in order builds:
// the same codes, the same strings per code, the same lookups; on parts
// that share many strings, few, or none, and on empty parts.
TEST(StringDictionaryTest, MergeInOrderEqualsInterningThePartsInOrder) {
  std::mt19937_64 rng(21);
  for (int round = 0; round < 30; ++round) {
    const size_t n = 1 + rng() % 5;
    const uint64_t space = round % 3 == 0 ? 50 : round % 3 == 1 ? 5000 : 1000000;
    std::vector<StringDictionary> parts(n);
    for (auto& p : parts) {
      const size_t count = rng() % 4 == 0 ? 0 : rng() % 20000;
      for (size_t i = 0; i < count; ++i) p.Intern("s" + std::to_string(rng() % space));
    }
    StringDictionary serial;
    std::vector<std::vector<int32_t>> want(n);
    for (size_t c = 0; c < n; ++c)
      for (int32_t k = 0; k < parts[c].size(); ++k) want[c].push_back(serial.Intern(parts[c].View(k)));
    std::vector<StringDictionary*> ptrs;
    for (auto& p : parts) ptrs.push_back(&p);
    std::vector<std::vector<int32_t>> got;
    StringDictionary merged = StringDictionary::MergeInOrder(ptrs, &got);
    ASSERT_EQ(merged.size(), serial.size()) << "round " << round;
    for (int32_t c = 0; c < serial.size(); ++c) {
      ASSERT_EQ(merged.View(c), serial.View(c)) << "round " << round << " code " << c;
      ASSERT_EQ(merged.Find(serial.View(c)), c);
    }
    ASSERT_EQ(got, want) << "round " << round;
    EXPECT_EQ(merged.Find("absent"), StringDictionary::kAbsent);
    EXPECT_EQ(merged.Intern("brand new"), serial.size());  // still a working dictionary
  }
}

}  // namespace
}  // namespace sanad
