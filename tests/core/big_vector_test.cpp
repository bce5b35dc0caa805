// BigVector's buffer cache: a released large buffer serves the next request
// it fits, contents are still value-initialised, and the limit is honoured.
#include "sanad/core/big_vector.h"

#include <gtest/gtest.h>

#include <cstdint>

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
  BigVector<int64_t> w(kBig / 2);  // smaller request: the cached buffer is lent whole
  EXPECT_EQ(w.data(), first);
  for (size_t i = 0; i < w.size(); i += 4096) ASSERT_EQ(w[i], 0) << i;
  const BigBufferCacheStats after = GetBigBufferCacheStats();
  EXPECT_EQ(after.reused, before.reused + 1);
  EXPECT_EQ(after.mapped, before.mapped + 1);
  w = BigVector<int64_t>();
  // The whole lent mapping came back, so the full-size request fits again.
  BigVector<int64_t> x(kBig);
  EXPECT_EQ(x.data(), first);
}

TEST_F(BigVectorCacheTest, AFarLargerCachedBufferIsTrimmedBeforeItIsLent) {
  { BigVector<int64_t> huge(8 * kBig); }  // 128 MiB cached
  BigVector<int64_t> small(kBig);         // 16 MiB: the 112 MiB tail goes back to the OS
  EXPECT_EQ(GetBigBufferCacheStats().cached_bytes, 0u);
  small = BigVector<int64_t>();
  EXPECT_EQ(GetBigBufferCacheStats().cached_bytes, kBig * sizeof(int64_t));
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
