// Unit tests of a payer's online log (core/exec/settle/settle_log.h): the
// totals a line sees equal a plain sum over the logged entries of its bucket,
// under random inserts (late ones too), removals and compactions, with the
// bucket asked for changing now and then (the log keeps the sums before the
// last bucket asked for, and every change dated before it must move them).

#include <gtest/gtest.h>

#include <climits>
#include <random>
#include <vector>

#include "sanad/core/exec/settle/settle_log.h"

namespace sanad {
namespace {

struct Logged {
  Days day;
  RowIndex row;
  int64_t deducted, eligible, paid;
};

// What a line dated d sees in the bucket starting on `bucket`, summed naively.
PayerTotals Naive(const std::vector<Logged>& live, const SettleSums& folded, Days bucket, Days d) {
  PayerTotals t;
  t.bucket = bucket;
  if (bucket == INT32_MIN) {
    t.deducted = folded.deducted;
    t.eligible = folded.eligible;
    t.paid = folded.paid;
  }
  for (const Logged& l : live)
    if (l.day <= d && (bucket == INT32_MIN || l.day >= bucket)) {
      t.deducted += l.deducted;
      t.eligible += l.eligible;
      t.paid += l.paid;
    }
  return t;
}

TEST(SettleLogTest, TotalsEqualANaiveSumUnderRandomInsertsRemovalsAndCompactions) {
  std::mt19937_64 rng(20261202);
  for (int trial = 0; trial < 300; ++trial) {
    SettleLog log;
    std::vector<Logged> live;  // the entries not folded away
    SettleSums folded;
    RowIndex next_row = 0;
    Days horizon = INT32_MIN;
    const Days buckets[] = {INT32_MIN, 0, 40, 80};
    for (int op = 0; op < 200; ++op) {
      const int what = static_cast<int>(rng() % 10);
      const Days d = std::max<Days>(horizon, static_cast<Days>(rng() % 120));
      if (what < 5) {  // settle a line (a late one when d is before the latest)
        const Logged l{d, next_row++, static_cast<int64_t>(rng() % 1000), static_cast<int64_t>(rng() % 5000),
                       static_cast<int64_t>(rng() % 3000)};
        log.Insert(l.day, l.row, l.deducted, l.eligible, l.paid);
        live.push_back(l);
      } else if (what < 7 && !live.empty()) {  // retract one
        const size_t i = rng() % live.size();
        log.Remove(live[i].day, live[i].row);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
      } else if (what == 7 && rng() % 4 == 0) {  // compact
        horizon = std::max<Days>(horizon, static_cast<Days>(rng() % 100));
        log.DropBefore(horizon);
        std::vector<Logged> kept;
        for (const Logged& l : live) {
          if (l.day < horizon) folded += SettleSums{l.deducted, l.eligible, l.paid};
          else kept.push_back(l);
        }
        live = kept;
      }
      // Ask for the totals of a line, mostly in the bucket asked for last.
      const Days bucket = buckets[rng() % 8 < 6 ? op % 2 + 1 : rng() % 4];
      const Days at = std::max(bucket, static_cast<Days>(rng() % 120));
      const PayerTotals got = log.Totals(bucket, at), want = Naive(live, folded, bucket, at);
      ASSERT_TRUE(got.deducted == want.deducted && got.eligible == want.eligible && got.paid == want.paid)
          << "trial " << trial << " op " << op << " bucket " << bucket << " day " << at;
    }
  }
}

}  // namespace
}  // namespace sanad
