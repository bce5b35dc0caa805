// Unit tests of one payer's step (core/exec/settle/payer_step.h): the 64-bit
// band split that batch settlement takes for ordinary amounts must give what
// the 128-bit split gives (explain asks for the band parts, which always
// takes the 128-bit path), on both sides of the 2^48 switch-over and with
// null, lower and negative limits.

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "sanad/core/exec/settle/payer_step.h"

namespace sanad {
namespace {

PayerPlan Bands(std::vector<int64_t> hundredths) {
  PayerPlan p;
  p.cover = CoverKind::kBands;
  p.band_hundredths = std::move(hundredths);
  p.band_limits.resize(p.band_hundredths.size() - 1);
  return p;
}

TEST(PayerStepTest, SixtyFourBitBandSplitEqualsTheWideSplitAroundTheSwitchOver) {
  std::mt19937_64 rng(20261202);
  const int64_t edge = int64_t{1} << 48;
  auto near = [&](int64_t center) {
    const int64_t spread = std::uniform_int_distribution<int>(0, 1)(rng) ? 1000 : edge / 4;
    return center + std::uniform_int_distribution<int64_t>(-spread, spread)(rng);
  };
  for (int i = 0; i < 200000; ++i) {
    const int bands = std::uniform_int_distribution<int>(1, 5)(rng);
    std::vector<int64_t> h;
    for (int k = 0; k < bands; ++k) h.push_back(std::uniform_int_distribution<int64_t>(0, 10000)(rng));
    const PayerPlan p = Bands(h);
    const int64_t centers[] = {0, edge, -edge, edge / 2};
    std::vector<OptInt> limits(static_cast<size_t>(bands - 1));
    for (OptInt& l : limits) l = OptInt{std::uniform_int_distribution<int>(0, 5)(rng) != 0, near(centers[rng() % 4])};
    PayerTotals totals;
    totals.eligible = near(centers[rng() % 4]);
    const int64_t amount = near(centers[rng() % 4]);
    const PayerValues v{{}, {}, {}, {}, limits};
    std::vector<int64_t> parts(static_cast<size_t>(bands));
    const PayerStep fast = PayerSettle::Step(p, totals, amount, INT64_MAX, v);
    const PayerStep wide = PayerSettle::Step(p, totals, amount, INT64_MAX, v, parts.data());
    ASSERT_EQ(fast.covered, wide.covered) << "case " << i << ": E " << static_cast<int64_t>(totals.eligible) << ", e " << amount;
    ASSERT_EQ(fast.pay, wide.pay) << "case " << i;
  }
}

TEST(PayerStepTest, ALineSpanningTwoBandsPaysEachBandsShare) {
  PayerPlan p = Bands({5000, 7000, 8500});
  const std::vector<OptInt> limits = {{true, 1000}, {true, 5000}};
  PayerTotals totals;
  totals.eligible = 800;  // the line's 600 lies 200 in band 1 (50%), 400 in band 2 (70%)
  const PayerStep s = PayerSettle::Step(p, totals, 600, 600, PayerValues{{}, {}, {}, {}, limits});
  EXPECT_EQ(s.covered, (200 * 5000 + 400 * 7000) / 10000);
}

}  // namespace
}  // namespace sanad
