// BigVector's buffer cache: a released large buffer serves the next request
// it fits, contents are still value-initialised, and the limit is honoured.
#include "sanad/core/big_vector.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace sanad {
namespace {

constexpr size_t kBig = (size_t{16} << 20) / sizeof(int64_t);  // 16 MiB of int64

class BigVectorCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = BigBufferCacheLimit();
    ReleaseBigBufferCache();
    SetBigBufferCacheLimit(size_t{1} << 30);
  }
  void TearDown() override {
    SetBigBufferCacheLimit(saved_);
    ReleaseBigBufferCache();
  }
  size_t saved_ = 0;
};

TEST_F(BigVectorCacheTest, ReleasedBufferIsReusedAndNewVectorsAreStillZeroed) {
  const BigBufferCacheStats before = GetBigBufferCacheStats();
  const int64_t* first = nullptr;
  {
    BigVector<int64_t> v(kBig, 0);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(i) + 1;
    first = v.data();
  }
  EXPECT_GE(GetBigBufferCacheStats().cached_bytes, kBig * sizeof(int64_t));
  BigVector<int64_t> w(kBig / 2);  // smaller request: the front of the cached range
  EXPECT_EQ(w.data(), first);
  for (size_t i = 0; i < w.size(); i += 4096) ASSERT_EQ(w[i], 0) << i;
  const BigBufferCacheStats after = GetBigBufferCacheStats();
  EXPECT_EQ(after.reused, before.reused + 1);
  EXPECT_EQ(after.mapped, before.mapped + 1);
  EXPECT_EQ(after.cached_bytes, kBig * sizeof(int64_t) / 2);  // the rest stays free
  w = BigVector<int64_t>();
  // The two halves merged again, so the full-size request fits.
  BigVector<int64_t> x(kBig);
  EXPECT_EQ(x.data(), first);
  EXPECT_EQ(GetBigBufferCacheStats().mapped, before.mapped + 1);
}

TEST_F(BigVectorCacheTest, OneFreedRangeServesSeveralSmallerRequestsAndMergesBack) {
  const int64_t* base = nullptr;
  { BigVector<int64_t> huge(8 * kBig); base = huge.data(); }  // 128 MiB free
  const BigBufferCacheStats before = GetBigBufferCacheStats();
  std::vector<BigVector<int64_t>> parts;
  for (int i = 0; i < 8; ++i) {
    parts.emplace_back(kBig, i);  // zeroed then filled: each a distinct 16 MiB of the range
    ASSERT_EQ(parts.back()[kBig - 1], i);
  }
  for (int i = 0; i < 8; ++i) {
    EXPECT_GE(parts[i].data(), base);
    EXPECT_LT(parts[i].data(), base + 8 * kBig);
    EXPECT_EQ(parts[i][0], i);  // no two parts overlap
  }
  EXPECT_EQ(GetBigBufferCacheStats().mapped, before.mapped);  // nothing fresh
  EXPECT_EQ(GetBigBufferCacheStats().cached_bytes, 0u);
  // Freed in an interleaved order, the parts merge into one range again.
  for (int i : {1, 3, 5, 7, 0, 2, 4, 6}) parts[static_cast<size_t>(i)] = BigVector<int64_t>();
  EXPECT_EQ(GetBigBufferCacheStats().cached_bytes, 8 * kBig * sizeof(int64_t));
  BigVector<int64_t> whole(8 * kBig);
  EXPECT_EQ(whole.data(), base);
  EXPECT_EQ(GetBigBufferCacheStats().mapped, before.mapped);
}

TEST_F(BigVectorCacheTest, LimitZeroKeepsNothingAndSmallBuffersBypassTheCache) {
  SetBigBufferCacheLimit(0);
  { BigVector<int64_t> v(kBig, 7); }
  EXPECT_EQ(GetBigBufferCacheStats().cached_bytes, 0u);
  SetBigBufferCacheLimit(size_t{1} << 30);
  const BigBufferCacheStats before = GetBigBufferCacheStats();
  { BigVector<int64_t> small(1000, 7); }
  const BigBufferCacheStats after = GetBigBufferCacheStats();
  EXPECT_EQ(after.cached_bytes, 0u);
  EXPECT_EQ(after.mapped, before.mapped);
}

TEST_F(BigVectorCacheTest, LoweringTheLimitTrimsTheCache) {
  {
    BigVector<int64_t> a(kBig), b(kBig), c(kBig);
  }
  EXPECT_GE(GetBigBufferCacheStats().cached_bytes, 3 * kBig * sizeof(int64_t));
  SetBigBufferCacheLimit(kBig * sizeof(int64_t));
  EXPECT_LE(GetBigBufferCacheStats().cached_bytes, kBig * sizeof(int64_t));
}

}  // namespace
}  // namespace sanad
