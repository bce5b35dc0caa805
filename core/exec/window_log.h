#pragma once
/// Per-group look-back logs and the judgements of LANGUAGE.md §4.1-4.3 over
/// them: the one implementation of the stateful checks, shared by the batch
/// evaluator (which feeds each key partition's lines in line order) and the
/// online engine (which feeds each new claim, sometimes late, and undoes).
///
/// A log holds one rule's group (equal `per` keys) of lines in adjudication
/// order (service_date, then line order / arrival). A new line always comes
/// after every line already logged, so "j before i" means "j's day <= i's
/// day": the judge looks at the prefix [0, UpperBound(day)) of the log and an
/// insert goes to that same position. Fed in date order that position is the
/// end, and every operation below is O(1) amortised (limits keep running
/// totals, not rescans); a late line costs a search from the end and, for
/// limits, an O(entries after) total update.
///
/// LookBackFrom(rule, d) is the oldest day whose lines can still count
/// individually for a line dated d or later; DropBefore(LookBackFrom) keeps a
/// log to what can still matter (the batch trims as it goes, the online
/// engine on Compact), folding limit entries into a running base.

#include <algorithm>
#include <cstdint>

#include <absl/container/inlined_vector.h>

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

/// The oldest day a line dated `d` (or later) looks back to: the start of its
/// calendar bucket or rolling window (§4.1), of its `within` window (§4.2,
/// §4.3); for a limit without period, `d` itself (earlier lines count only in
/// the running total).
inline Days LookBackFrom(const RulePlan& rule, Calendar cal, Days d) {
  if (rule.check == CheckKind::kLimit) {
    if (rule.period == Period::kNone) return d;
    if (rule.period != Period::kRolling) return BucketStart(cal, rule.period, d);
  }
  return static_cast<Days>(std::max<int64_t>(INT32_MIN, int64_t{d} - rule.days + 1));
}

/// Searches of a day-sorted log that start from its end: new lines are
/// usually dated at or after the last entry and windows reach back a few
/// entries, so galloping backwards touches O(log distance) recent entries
/// instead of a binary search over a provider's whole history.
template <typename Entries>
[[gnu::always_inline]] inline size_t TailLowerBound(const Entries& e, Days d) {  // first entry with day >= d
  if (e.empty() || e.front().day >= d) return 0;
  size_t hi = e.size(), step = 1;
  while (hi > 0 && e[hi - 1].day >= d) {
    const size_t lo = hi > step ? hi - step : 0;
    if (e[lo].day < d) {
      return static_cast<size_t>(std::lower_bound(e.begin() + static_cast<std::ptrdiff_t>(lo), e.begin() + static_cast<std::ptrdiff_t>(hi), d,
                                                  [](const auto& y, Days x) { return y.day < x; }) - e.begin());
    }
    hi = lo;
    step *= 2;
  }
  return hi;
}
template <typename Entries>
[[gnu::always_inline]] inline size_t TailUpperBound(const Entries& e, Days d) {  // first entry with day > d
  return d == INT32_MAX ? e.size() : TailLowerBound(e, d + 1);
}

/// limit count/sum: entries carry v and the running total up to themselves
/// (absolute, including entries already folded away: `base`).
struct LimitEntry {
  Days day;
  RowIndex row;
  int64_t v;
  __int128 cum;
};

struct LimitLog {
  // Most groups hold one live entry at a time (a claim's item, a day's
  // visit), so it lives inline: millions of groups cost no allocations.
  absl::InlinedVector<LimitEntry, 1> e;
  __int128 base = 0;  // total of the entries folded away

  size_t UpperBound(Days d) const { return TailUpperBound(e, d); }
  size_t LowerBound(Days d) const { return TailLowerBound(e, d); }
  __int128 CumBefore(size_t pos) const { return pos == 0 ? base : e[pos - 1].cum; }

  /// R_i for a new line of day d and value v (§4.1); from = LookBackFrom(rule, d).
  __int128 Total(const RulePlan& rule, Days d, Days from, int64_t v) const {
    const size_t pos = UpperBound(d);
    if (rule.period == Period::kNone) return CumBefore(pos) + v;
    return CumBefore(pos) - CumBefore(LowerBound(from)) + v;
  }
  /// Returns the insertion position (for RemoveAt on undo).
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
  /// Folds the entries with day < keep_from into `base`.
  void DropBefore(Days keep_from) {
    const size_t n = LowerBound(keep_from);
    if (n == 0) return;
    base = e[n - 1].cum;
    e.erase(e.begin(), e.begin() + static_cast<std::ptrdiff_t>(n));
  }
  /// Insert for a feed in date order without undo (the batch), after
  /// DropBefore(LookBackFrom) of a limit whose window is a calendar bucket or
  /// all time: every later line looks back to the same start (kept as
  /// `base`) or past every entry, so only the latest running total matters
  /// and the log keeps just the new line (with the running total), inline.
  void InsertKeepingLatestTotal(Days d, RowIndex row, int64_t v) {
    const LimitEntry latest{d, row, v, CumBefore(UpperBound(d)) + v};
    e.resize(1);
    e[0] = latest;
  }
};

/// repeat / conflict with / conflict pairs: lines with their day and service code.
struct EventEntry {
  Days day;
  int32_t code;
  RowIndex row;
};

struct EventLog {
  absl::InlinedVector<EventEntry, 2> e;

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
  void DropBefore(Days keep_from) {
    const size_t n = TailLowerBound(e, keep_from);
    if (n) e.erase(e.begin(), e.begin() + static_cast<std::ptrdiff_t>(n));
  }
};

}  // namespace sanad
