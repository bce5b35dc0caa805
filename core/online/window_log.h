#pragma once
/// Per-group history logs of the online engine and the look-back judgements
/// of LANGUAGE.md §4.1-4.3 over them.
///
/// A log holds one rule's group (equal `per` keys) of history lines in
/// adjudication order (service_date, then arrival). A new line always
/// arrives after every history line, so "j before i" means "j's day <= i's
/// day": the judge looks at the prefix [0, UpperBound(day)) of the log and a
/// commit inserts at that same position. When claims arrive in date order
/// that position is the end, and every operation below is O(1) amortised
/// (limits use running totals, not rescans); late claims cost a binary search
/// and, for limits, an O(entries after) total update.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/calendar.h"
#include "core/exec/plan.h"
#include "core/types.h"

namespace sanad {

/// First day of the calendar bucket (`per day|month|year`) holding `d`.
inline Days BucketStart(Calendar cal, Period p, Days d) {
  if (p == Period::kDay) return d;
  const YearMonthDay ymd = DateParts(cal, d);
  const int32_t month = p == Period::kMonth ? ymd.month : 1;
  return cal == Calendar::kJalali ? DaysFromJalali(ymd.year, month, 1) : DaysFromCivil(ymd.year, month, 1);
}

/// Searches of a day-sorted log that start from its end: new lines are
/// usually dated at or after the last entry and windows reach back a few
/// entries, so galloping backwards touches O(log distance) recent entries
/// instead of a binary search over a provider's whole history.
template <typename Entry>
size_t TailLowerBound(const std::vector<Entry>& e, Days d) {  // first entry with day >= d
  size_t hi = e.size(), step = 1;
  while (hi > 0 && e[hi - 1].day >= d) {
    const size_t lo = hi > step ? hi - step : 0;
    if (e[lo].day < d) {
      return static_cast<size_t>(std::lower_bound(e.begin() + static_cast<std::ptrdiff_t>(lo), e.begin() + static_cast<std::ptrdiff_t>(hi), d,
                                                  [](const Entry& y, Days x) { return y.day < x; }) - e.begin());
    }
    hi = lo;
    step *= 2;
  }
  return hi;
}
template <typename Entry>
size_t TailUpperBound(const std::vector<Entry>& e, Days d) {  // first entry with day > d
  return d == INT32_MAX ? e.size() : TailLowerBound(e, d + 1);
}

/// limit count/sum: entries carry v and the running total up to themselves
/// (absolute, including entries already compacted away: `base`).
struct LimitEntry {
  Days day;
  RowIndex row;
  int64_t v;
  __int128 cum;
};

struct LimitLog {
  std::vector<LimitEntry> e;
  __int128 base = 0;  // total of the entries dropped by compaction

  size_t UpperBound(Days d) const { return TailUpperBound(e, d); }
  size_t LowerBound(Days d) const { return TailLowerBound(e, d); }
  __int128 CumBefore(size_t pos) const { return pos == 0 ? base : e[pos - 1].cum; }

  /// R_i for a new line of day d and value v (§4.1).
  __int128 Total(const RulePlan& rule, Calendar cal, Days d, int64_t v) const {
    const size_t pos = UpperBound(d);
    if (rule.period == Period::kNone) return CumBefore(pos) + v;
    const Days start = rule.period == Period::kRolling ? static_cast<Days>(d - rule.days + 1) : BucketStart(cal, rule.period, d);
    return CumBefore(pos) - CumBefore(LowerBound(start)) + v;
  }
  /// Returns the insertion position (for Remove on undo).
  size_t Insert(Days d, RowIndex row, int64_t v) {
    const size_t pos = UpperBound(d);
    e.insert(e.begin() + static_cast<std::ptrdiff_t>(pos), LimitEntry{d, row, v, CumBefore(pos) + v});
    for (size_t k = pos + 1; k < e.size(); ++k) e[k].cum += v;
    return pos;
  }
  void RemoveAt(size_t pos) {
    const int64_t v = e[pos].v;
    e.erase(e.begin() + static_cast<std::ptrdiff_t>(pos));
    for (size_t k = pos; k < e.size(); ++k) e[k].cum -= v;
  }
  /// Drops entries with day < keep_from, folding them into `base`.
  void DropBefore(Days keep_from) {
    const size_t n = LowerBound(keep_from);
    if (n == 0) return;
    base = e[n - 1].cum;
    e.erase(e.begin(), e.begin() + static_cast<std::ptrdiff_t>(n));
  }
};

/// repeat / conflict with / conflict pairs: lines with their day and service code.
struct EventEntry {
  Days day;
  int32_t code;
  RowIndex row;
};

struct EventLog {
  std::vector<EventEntry> e;

  size_t UpperBound(Days d) const { return TailUpperBound(e, d); }
  /// The latest entry before a line of day d within `window` days (§4.2, §4.3 with).
  const EventEntry* Latest(Days d, int64_t window) const {
    const size_t pos = UpperBound(d);
    if (pos == 0 || static_cast<int64_t>(d) - e[pos - 1].day >= window) return nullptr;
    return &e[pos - 1];
  }
  /// The latest entry j within `window` days with (code_j, code) in the pair set (§4.3 pairs).
  template <typename PairSet>
  const EventEntry* LatestPair(Days d, int64_t window, int32_t code, const PairSet& pairs) const {
    if (!pairs.IsSecond(code)) return nullptr;
    for (size_t pos = UpperBound(d); pos > 0 && static_cast<int64_t>(d) - e[pos - 1].day < window; --pos)
      if (pairs.Contains(e[pos - 1].code, code)) return &e[pos - 1];
    return nullptr;
  }
  size_t Insert(Days d, int32_t code, RowIndex row) {
    const size_t pos = UpperBound(d);
    e.insert(e.begin() + static_cast<std::ptrdiff_t>(pos), EventEntry{d, code, row});
    return pos;
  }
  void RemoveAt(size_t pos) { e.erase(e.begin() + static_cast<std::ptrdiff_t>(pos)); }
  void DropBefore(Days keep_from) { e.erase(e.begin(), e.begin() + static_cast<std::ptrdiff_t>(TailLowerBound(e, keep_from))); }
};

}  // namespace sanad
