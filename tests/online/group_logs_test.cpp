// Unit test of the online engine's per-group log store (online/group_logs.h):
// it behaves like a vector of logs under random growth and shrinking across
// segment boundaries — logs keep their entries and address as it grows, and
// a slot handed out again after shrinking holds an empty log.

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "sanad/core/exec/window_log.h"
#include "sanad/online/group_logs.h"

namespace sanad::online_internal {
namespace {

TEST(GroupLogsTest, BehavesLikeAVectorOfLogsAcrossSegmentsAndNeverMovesALog) {
  std::mt19937_64 rng(7);
  GroupLogs<LimitLog> logs;
  std::vector<LimitLog> model;
  constexpr size_t kSeg = GroupLogs<LimitLog>::kSegment;
  for (int op = 0; op < 400; ++op) {
    const int what = static_cast<int>(rng() % 6);
    if (what < 3) {  // grow, often across a segment
      const size_t n = model.size() + 1 + rng() % (what == 0 ? 3 * kSeg : 5);
      const LimitLog* kept = model.empty() ? nullptr : &logs[0];
      logs.resize(n);
      model.resize(n);
      if (kept) EXPECT_EQ(kept, &logs[0]) << "a log moved when the store grew";
    } else if (what == 3 && !model.empty()) {  // shrink (a dry run's new groups dropped, compaction)
      const size_t n = rng() % (model.size() + 1);
      logs.resize(n);
      model.resize(n);
    } else if (!model.empty()) {  // log a line in some group
      const size_t g = rng() % model.size();
      const Days d = static_cast<Days>(op);
      const int64_t v = static_cast<int64_t>(rng() % 100);
      logs[g].Insert(d, static_cast<RowIndex>(op), v);
      model[g].Insert(d, static_cast<RowIndex>(op), v);
    }
    ASSERT_EQ(logs.size(), model.size());
    size_t g = 0;
    for (const LimitLog& l : logs) {
      ASSERT_EQ(l.e.size(), model[g].e.size()) << "op " << op << " group " << g;
      for (size_t i = 0; i < l.e.size(); ++i) ASSERT_EQ(static_cast<int64_t>(l.e[i].cum), static_cast<int64_t>(model[g].e[i].cum));
      ++g;
    }
    ASSERT_EQ(g, model.size());
  }
}

}  // namespace
}  // namespace sanad::online_internal
