#pragma once
/// SettleLog: one payer's settled lines of one scope group, for the online
/// engine (the batch streams each group in line order and needs only the
/// running totals). Entries are kept in adjudication order by day with
/// running sums of the deductible taken, the eligible amount and the pay,
/// so the totals a new line sees — the lines of its bucket dated on or
/// before it (SETTLEMENT.md §2, §5: a late claim sees the history dated on or
/// before it) — are two lookups. Compaction folds old entries into `base`
/// (an all-time scope keeps their sums). Like LimitLog (window_log.h).

#include <cstdint>

#include <absl/container/inlined_vector.h>

#include "sanad/core/exec/settle/payer_step.h"
#include "sanad/core/exec/window_log.h"

namespace sanad {

struct SettleSums {
  __int128 deducted = 0, eligible = 0, paid = 0;
  SettleSums& operator+=(const SettleSums& o) {
    deducted += o.deducted;
    eligible += o.eligible;
    paid += o.paid;
    return *this;
  }
  SettleSums operator-(const SettleSums& o) const { return {deducted - o.deducted, eligible - o.eligible, paid - o.paid}; }
};

// The line's own deductible, eligible amount and pay are cum minus the entry
// before it's (RemoveAt), not stored: 64 bytes an entry, not 80.
struct SettleEntry {
  Days day;
  RowIndex row;
  SettleSums cum;  // running sums up to and including this entry (absolute: `base` included)
};

struct SettleLog {
  absl::InlinedVector<SettleEntry, 1> e;  // change only through the members below (they keep the cache)
  SettleSums base;  // sums of the entries folded away

  size_t UpperBound(Days d) const { return TailUpperBound(e, d); }
  size_t LowerBound(Days d) const { return TailLowerBound(e, d); }
  SettleSums CumBefore(size_t pos) const { return pos == 0 ? base : e[pos - 1].cum; }

  /// The totals a line dated d sees in the bucket starting on `bucket`
  /// (INT32_MIN: all time): every entry dated in [bucket, d].
  PayerTotals Totals(Days bucket, Days d) const {
    const SettleSums upto = CumBefore(UpperBound(d));
    const SettleSums s = bucket == INT32_MIN ? upto : upto - SumsBefore(bucket);
    PayerTotals t;
    t.bucket = bucket;
    t.deducted = s.deducted;
    t.eligible = s.eligible;
    t.paid = s.paid;
    return t;
  }
  /// Adds a settled line after every entry of its day; returns its position (for RemoveAt on undo).
  size_t Insert(Days d, RowIndex row, int64_t deducted, int64_t eligible, int64_t paid) {
    const size_t pos = UpperBound(d);
    const SettleSums v{deducted, eligible, paid};
    SettleSums cum = CumBefore(pos);
    cum += v;
    e.insert(e.begin() + static_cast<std::ptrdiff_t>(pos), SettleEntry{d, row, cum});
    for (size_t k = pos + 1; k < e.size(); ++k) e[k].cum += v;
    if (d < cached_bucket_) before_bucket_ += v;
    return pos;
  }
  void RemoveAt(size_t pos) {
    const SettleSums v = e[pos].cum - CumBefore(pos);
    if (e[pos].day < cached_bucket_) before_bucket_ = before_bucket_ - v;
    e.erase(e.begin() + static_cast<std::ptrdiff_t>(pos));
    for (size_t k = pos; k < e.size(); ++k) e[k].cum = e[k].cum - v;
  }
  /// Removes the entry of `row` dated d, if logged.
  void Remove(Days d, RowIndex row) {
    for (size_t p = LowerBound(d); p < e.size() && e[p].day == d; ++p)
      if (e[p].row == row) {
        RemoveAt(p);
        return;
      }
  }
  /// Folds the entries dated before keep_from into `base`.
  void DropBefore(Days keep_from) {
    const size_t n = LowerBound(keep_from);
    if (n == 0) return;
    cached_bucket_ = INT32_MIN;  // a bucket older than keep_from now starts at `base`
    base = e[n - 1].cum;
    e.erase(e.begin(), e.begin() + static_cast<std::ptrdiff_t>(n));
  }
  bool idle() const { return e.empty() && base.deducted == 0 && base.eligible == 0 && base.paid == 0; }

 private:
  // The sums of the entries before `bucket` (its first day). The search for
  // where a bucket starts walks back into the cold middle of the log (last
  // year's entries stay until compacted), and most lines fall in the bucket
  // of the line before them, so the sums before the last bucket asked for
  // are kept, moved by every insert and removal dated before it.
  SettleSums SumsBefore(Days bucket) const {
    if (bucket != cached_bucket_) {
      before_bucket_ = CumBefore(LowerBound(bucket));
      cached_bucket_ = bucket;
    }
    return before_bucket_;
  }
  mutable SettleSums before_bucket_;
  mutable Days cached_bucket_ = INT32_MIN;  // INT32_MIN: none (no entry is dated before it)
};

}  // namespace sanad
