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
#include <vector>

#include <absl/container/inlined_vector.h>

#include "sanad/core/calendar.h"
#include "sanad/core/exec/plan.h"
#include "sanad/core/types.h"

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

/// repeat / conflict with: lines with their day (and service code).
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

/// conflict pairs (§4.3). The group's lines in adjudication order (`all`,
/// like repeat), searched backwards from the newest: pairs in a national
/// edit table are dense among the codes one insured gets, so the latest
/// pair is usually among the last few lines. A large group (more than
/// kIndexFrom lines) also keeps one run per service code; when the newest
/// kScan lines hold no pair, the search asks each candidate code's run for
/// its latest line instead of walking the whole window — the codes present
/// in the group, or the codes paired with the line's own, whichever are
/// fewer. So a hot key over a long window whose codes rarely pair costs a
/// search per candidate code, not a scan of the window (it was quadratic).
/// Lines of one day in different runs are ordered by `stamp`, the log's
/// insertion counter: a new line comes after every logged line of its day.
/// Each line also carries whether the rule's `unless` was true on it
/// (LANGUAGE.md §2.1: a bypassable pair does not count when it was); in
/// `all` that flag is the code's complement (service codes are >= 0).
struct PairEntry {
  Days day;
  uint32_t stamp;
  RowIndex row;
  bool unless;
};

struct PairLog {
  static constexpr size_t kScan = 32;
  static constexpr size_t kIndexFrom = 256;
  struct CodeRun {
    int32_t code = 0;
    absl::InlinedVector<PairEntry, 1> e;
  };
  EventLog all;  // code: the line's service code, or its complement when `unless` was true on it
  std::vector<CodeRun> runs;  // by code, ascending; empty until all.e.size() > kIndexFrom
  uint32_t next_stamp = 0;

  static int32_t CodeOf(int32_t stored) { return stored < 0 ? ~stored : stored; }
  static bool UnlessOf(int32_t stored) { return stored < 0; }

  bool indexed() const { return !runs.empty(); }
  size_t entries() const { return all.e.size(); }

  /// The latest line j before a line of day d, within `window` days, that
  /// `match(code_j, unless_j)` accepts as making the line (of service code
  /// `code`) hit; false if none. `pairs` prunes: only codes a with (a, code)
  /// a pair can match. Returns the row of j via *row.
  template <typename PairSet, typename Match>
  bool LatestPair(Days d, int64_t window, int32_t code, const PairSet& pairs, const Match& match, RowIndex* row) const {
    if (all.e.empty() || !pairs.IsSecond(code)) return false;
    const size_t end = all.UpperBound(d);
    size_t pos = end;
    for (size_t n = 0; pos > 0 && static_cast<int64_t>(d) - all.e[pos - 1].day < window; --pos, ++n) {
      if (indexed() && n == kScan) break;
      const int32_t stored = all.e[pos - 1].code;
      if (match(CodeOf(stored), UnlessOf(stored))) {
        *row = all.e[pos - 1].row;
        return true;
      }
    }
    if (!indexed() || pos == 0 || static_cast<int64_t>(d) - all.e[pos - 1].day >= window) return false;
    // The newest kScan lines hold no pair: ask each candidate code's run.
    const PairEntry* best = nullptr;
    auto consider = [&](const CodeRun& run) {
      const bool always = match(run.code, true);  // counts whatever `unless` was on j
      if (!always && !match(run.code, false)) return;
      for (size_t at = TailUpperBound(run.e, d); at > 0; --at) {
        const PairEntry& x = run.e[at - 1];
        if (static_cast<int64_t>(d) - x.day >= window) return;
        if (!always && x.unless) continue;
        if (best == nullptr || x.day > best->day || (x.day == best->day && x.stamp > best->stamp)) best = &x;
        return;
      }
    };
    const auto firsts = pairs.FirstsOf(code);
    if (firsts.size() < runs.size()) {
      for (int32_t a : firsts)
        if (const CodeRun* run = Find(a)) consider(*run);
    } else {
      for (const CodeRun& run : runs)
        if (pairs.Contains(run.code, code)) consider(run);
    }
    if (best == nullptr) return false;
    *row = best->row;
    return true;
  }

  /// Returns the position in `all` (for RemoveAt on undo).
  size_t Insert(Days d, int32_t code, RowIndex row, bool unless = false) {
    const size_t pos = all.Insert(d, unless ? ~code : code, row);
    if (indexed()) {
      IndexInsert(d, code, row, unless);
    } else if (all.e.size() > kIndexFrom) {
      for (const EventEntry& x : all.e) IndexInsert(x.day, CodeOf(x.code), x.row, UnlessOf(x.code));
    }
    return pos;
  }
  void RemoveAt(size_t pos) {
    const EventEntry x = all.e[pos];
    all.RemoveAt(pos);
    if (indexed()) IndexRemove(CodeOf(x.code), x.day, x.row);
  }
  /// Removes the entry of `row` (dated d, with `code`), if logged.
  void Remove(int32_t code, Days d, RowIndex row) {
    for (size_t p = all.UpperBound(d - 1); p < all.e.size() && all.e[p].day == d; ++p)
      if (all.e[p].row == row) {
        RemoveAt(p);
        return;
      }
  }
  void DropBefore(Days keep_from) {
    all.DropBefore(keep_from);
    // The runs may hold lines older than the window (the search checks the
    // window), so they are trimmed only once they hold twice what `all`
    // does: amortised O(1) per line, not a pass over the codes per line.
    if (!indexed() || indexed_entries_ <= 2 * all.e.size() + kIndexFrom) return;
    indexed_entries_ = 0;
    size_t out = 0;
    for (size_t k = 0; k < runs.size(); ++k) {
      CodeRun& r = runs[k];
      const size_t n = TailLowerBound(r.e, keep_from);
      if (n) r.e.erase(r.e.begin(), r.e.begin() + static_cast<std::ptrdiff_t>(n));
      if (r.e.empty()) continue;
      indexed_entries_ += r.e.size();
      if (out != k) runs[out] = std::move(r);
      ++out;
    }
    runs.resize(out);
  }

 private:
  size_t indexed_entries_ = 0;  // entries in runs (stale ones included)
  const CodeRun* Find(int32_t code) const {
    auto it = std::lower_bound(runs.begin(), runs.end(), code, [](const CodeRun& r, int32_t c) { return r.code < c; });
    return it != runs.end() && it->code == code ? &*it : nullptr;
  }
  void IndexInsert(Days d, int32_t code, RowIndex row, bool unless) {
    if (next_stamp == UINT32_MAX) Renumber();
    auto it = std::lower_bound(runs.begin(), runs.end(), code, [](const CodeRun& r, int32_t c) { return r.code < c; });
    if (it == runs.end() || it->code != code) {
      it = runs.emplace(it);
      it->code = code;
    }
    const size_t at = TailUpperBound(it->e, d);
    it->e.insert(it->e.begin() + static_cast<std::ptrdiff_t>(at), PairEntry{d, next_stamp++, row, unless});
    ++indexed_entries_;
  }
  void IndexRemove(int32_t code, Days d, RowIndex row) {
    auto it = std::lower_bound(runs.begin(), runs.end(), code, [](const CodeRun& r, int32_t c) { return r.code < c; });
    if (it == runs.end() || it->code != code) return;
    for (size_t p = TailLowerBound(it->e, d); p < it->e.size() && it->e[p].day == d; ++p)
      if (it->e[p].row == row) {
        it->e.erase(it->e.begin() + static_cast<std::ptrdiff_t>(p));
        --indexed_entries_;
        break;
      }
    if (it->e.empty()) runs.erase(it);
  }
  // Stamps 0..n-1 again in (day, stamp) order, when the counter is used up.
  void Renumber() {
    std::vector<PairEntry*> order;
    for (CodeRun& r : runs)
      for (PairEntry& x : r.e) order.push_back(&x);
    std::sort(order.begin(), order.end(), [](const PairEntry* a, const PairEntry* b) {
      return a->day != b->day ? a->day < b->day : a->stamp < b->stamp;
    });
    for (size_t k = 0; k < order.size(); ++k) order[k]->stamp = static_cast<uint32_t>(k);
    next_stamp = static_cast<uint32_t>(order.size());
  }
};

}  // namespace sanad
