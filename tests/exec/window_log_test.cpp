// Unit tests of the look-back logs (core/exec/window_log.h) and the family
// checks over them (core/exec/checks/): totals, windows, late inserts, undo,
// trimming, and the per-code index of conflict pairs.

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "sanad/core/exec/checks/conflict_check.h"
#include "sanad/core/exec/checks/limit_check.h"
#include "sanad/core/exec/checks/population.h"
#include "sanad/core/exec/checks/repeat_check.h"
#include "sanad/core/exec/window_log.h"

namespace sanad {
namespace {

RulePlan Limit(Period p, int64_t days = 0) {
  RulePlan r;
  r.check = CheckKind::kLimit;
  r.period = p;
  r.days = days;
  return r;
}

TEST(LimitLogTest, RollingWindowCountsLinesOfTheLastNDaysIncludingTies) {
  const RulePlan rule = Limit(Period::kRolling, 3);
  LimitLog log;
  for (Days d : {10, 11, 11, 13}) log.Insert(d, 0, 1);
  // A line on day 13: window [11, 13] holds 11, 11, 13, plus itself.
  EXPECT_EQ(static_cast<int64_t>(log.Total(rule, 13, LookBackFrom(rule, Calendar::kGregorian, 13), 1)), 4);
  // Day 14: [12, 14] holds 13 only.
  EXPECT_EQ(static_cast<int64_t>(log.Total(rule, 14, LookBackFrom(rule, Calendar::kGregorian, 14), 1)), 2);
}

TEST(LimitLogTest, LateInsertUpdatesLaterTotalsAndRemoveUndoesIt) {
  const RulePlan rule = Limit(Period::kNone);
  LimitLog log;
  log.Insert(10, 0, 5);
  log.Insert(20, 1, 7);
  const size_t pos = log.Insert(15, 2, 100);  // late: between the two
  EXPECT_EQ(pos, 1u);
  EXPECT_EQ(static_cast<int64_t>(log.Total(rule, 30, 30, 1)), 5 + 100 + 7 + 1);
  EXPECT_EQ(static_cast<int64_t>(log.Total(rule, 12, 12, 1)), 5 + 1);  // a line on day 12 sees only day 10
  log.RemoveAt(pos);
  EXPECT_EQ(static_cast<int64_t>(log.Total(rule, 30, 30, 1)), 5 + 7 + 1);
}

TEST(LimitLogTest, AllTimeTotalSurvivesDropBefore) {
  const RulePlan rule = Limit(Period::kNone);
  LimitLog log;
  for (int k = 0; k < 5; ++k) log.Insert(10 + k, static_cast<RowIndex>(k), 2);
  log.DropBefore(13);  // folds days 10-12 into the base
  EXPECT_EQ(log.e.size(), 2u);
  EXPECT_EQ(static_cast<int64_t>(log.Total(rule, 20, 20, 0)), 10);
}

TEST(LimitCheckTest, NullCapNeverHitsAndTotalsAreExactBeyond64Bits) {
  const RulePlan rule = Limit(Period::kNone);
  LimitLog log;
  LimitCheck::Log(log, 1, 0, INT64_MAX);
  LimitCheck::Log(log, 2, 1, INT64_MAX);
  const LimitCheck::Judgement j = LimitCheck::Judge(rule, log, 3, 3, INT64_MAX, /*cap_valid=*/true, INT64_MAX);
  EXPECT_TRUE(j.hit);
  EXPECT_EQ(j.total, static_cast<__int128>(INT64_MAX) * 3);
  EXPECT_FALSE(LimitCheck::Judge(rule, log, 3, 3, 1, /*cap_valid=*/false, 0).hit);
}

TEST(RepeatCheckTest, WithinOneDayMeansTheSameDayAndEvidenceIsTheLatest) {
  RulePlan rule;
  rule.check = CheckKind::kRepeat;
  rule.days = 1;
  EventLog log;
  RepeatCheck::Log(log, 5, 0);
  RepeatCheck::Log(log, 6, 1);
  RepeatCheck::Log(log, 6, 2);
  EXPECT_EQ(RepeatCheck::Judge(rule, log, 7), nullptr);
  const EventEntry* j = RepeatCheck::Judge(rule, log, 6);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->row, 2u);
}

// A tiny pair set with the interface PairLog needs.
struct Pairs {
  std::set<std::pair<int32_t, int32_t>> p;
  std::set<std::pair<int32_t, int32_t>> bypassable;  // a subset of p
  bool Contains(int32_t a, int32_t b) const { return p.count({a, b}) > 0; }
  PairState At(int32_t a, int32_t b, Days) const {
    if (!Contains(a, b)) return PairState::kAbsent;
    return bypassable.count({a, b}) ? PairState::kBypassable : PairState::kInForce;
  }
  bool IsSecond(int32_t b) const {
    for (const auto& [x, y] : p)
      if (y == b) return true;
    return false;
  }
  std::vector<int32_t> FirstsOf(int32_t b) const {
    std::vector<int32_t> out;
    for (const auto& [x, y] : p)
      if (y == b) out.push_back(x);
    return out;
  }
};

// The latest j by (day, arrival) with (code_j, code_i) in P, by brute force;
// a bypassable pair counts only when `unless` holds on neither line.
bool Brute(const std::vector<EventEntry>& lines, const std::vector<bool>& unless, Days d, int64_t window, int32_t code,
           bool unless_i, const Pairs& pairs, RowIndex* row) {
  const EventEntry* best = nullptr;
  for (const EventEntry& e : lines) {
    const bool counts = pairs.Contains(e.code, code) &&
                        (!pairs.bypassable.count({e.code, code}) || !(unless_i || unless[e.row]));
    if (e.day <= d && d - e.day < window && counts && (best == nullptr || e.day >= best->day)) best = &e;
  }
  if (best) *row = best->row;
  return best != nullptr;
}

TEST(ConflictPairsCheckTest, PerCodeIndexAgreesWithABruteForceSearch) {
  std::mt19937_64 rng(5);
  int indexed = 0;
  for (int round = 0; round < 40; ++round) {
    Pairs pairs;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 12); ++k) {
      const std::pair<int32_t, int32_t> ab{static_cast<int32_t>(rng() % 8), static_cast<int32_t>(rng() % 8)};
      pairs.p.insert(ab);
      if (round % 2 == 1 && rng() % 2 == 0) pairs.bypassable.insert(ab);  // odd rounds: bypassable pairs and `unless`
    }
    RulePlan rule;
    rule.check = CheckKind::kConflictPairs;
    rule.days = 10 + static_cast<int64_t>(rng() % 60);
    PairLog log;
    std::vector<EventEntry> lines;  // in arrival order; days ascending with ties
    std::vector<bool> unless;       // by line: the rule's `unless` on it
    Days day = 0;
    for (RowIndex i = 0; i < 700; ++i) {
      day += static_cast<Days>(rng() % 8 == 0);  // many lines a day: windows hold hundreds
      const int32_t code = static_cast<int32_t>(rng() % 8);
      RowIndex got = 0, want = 0;
      const bool u = round % 2 == 1 && rng() % 3 == 0;
      const bool g = ConflictPairsCheck::Judge(rule, log, day, code, pairs, u, &got);
      const bool w = Brute(lines, unless, day, rule.days, code, u, pairs, &want);
      ASSERT_EQ(g, w) << "round " << round << " line " << i;
      if (w) ASSERT_EQ(got, want) << "round " << round << " line " << i;
      ConflictPairsCheck::Log(log, day, code, i, u);
      unless.push_back(u);
      lines.push_back({day, code, i});
      if (rng() % 50 == 0) log.DropBefore(static_cast<Days>(day - rule.days));
    }
    indexed += log.indexed();
  }
  EXPECT_GT(indexed, 20);  // the per-code index was exercised
}

TEST(PopulationTest, EachReasonInOrder) {
  RulePlan rule = Limit(Period::kMonth);
  rule.is_sum = true;
  EXPECT_EQ(Population::Classify(rule, false, true, -1, true), Membership::kHidden);
  EXPECT_EQ(Population::Classify(rule, true, false, -1, true), Membership::kWhenFalse);
  EXPECT_EQ(Population::Classify(rule, true, true, 0, true), Membership::kNullKey);
  EXPECT_EQ(Population::Classify(rule, true, true, -1, false), Membership::kNullSumField);
  EXPECT_EQ(Population::Classify(rule, true, true, -1, true), Membership::kIn);
  RulePlan plain;  // no check: keys and sums do not apply
  EXPECT_EQ(Population::Classify(plain, true, true, 0, false), Membership::kIn);
}

}  // namespace
}  // namespace sanad
