#pragma once
/// One payer's settlement of one line (SETTLEMENT.md §2, steps 1-7): the one
/// implementation, called by the batch driver (settlement.cpp), the online
/// engine and explain. Given the payer's running totals of the line's scope
/// group and bucket (what earlier lines took) and the line's own values of
/// the payer's expressions, it computes the base, the deductible taken, the
/// eligible amount, the coverage and what the payer pays; Accumulate then
/// adds the line to the totals. Exact: 128-bit intermediates, no floating
/// point.

#include <algorithm>
#include <cstdint>
#include <span>

#include "sanad/core/calendar.h"
#include "sanad/core/exec/plan.h"
#include "sanad/core/exec/window_log.h"

namespace sanad {

/// A nullable int value of an expression on the line.
struct OptInt {
  bool valid = false;
  int64_t v = 0;
};

/// A payer's running totals for one scope group, in the bucket starting on
/// `bucket` (the calendar period of `per PERIOD`, or all time).
struct PayerTotals {
  Days bucket = INT32_MIN;
  __int128 deducted = 0;  // sum of ded_j
  __int128 eligible = 0;  // sum of e_j (E)
  __int128 paid = 0;      // sum of pay_j
};

/// The line's values of the payer's expressions.
struct PayerValues {
  OptInt deductible, ratio, ceiling, line_ceiling;
  std::span<const OptInt> band_limits;  // kBands: one per band but the last
};

/// What the payer did on the line (explain shows every field).
struct PayerStep {
  int64_t base = 0, deductible = 0, eligible = 0, covered = 0, pay = 0;
};

struct PayerSettle {
  /// The bucket of a line dated d: its calendar period's first day, or one
  /// bucket for all time.
  static Days BucketOf(const PayerPlan& p, Calendar cal, Days d) {
    return p.period == Period::kNone ? INT32_MIN : BucketStart(cal, p.period, d);
  }

  /// Steps 2-7 for a line in the payer's population. `totals` are the
  /// scope's totals for the line's bucket (zero for a new bucket); without
  /// `per` they are always zero. `left` is what earlier payers left.
  /// `band_parts` (kBands, optional): receives each band's share of the
  /// line's eligible amount (explain shows the split).
  static PayerStep Step(const PayerPlan& p, const PayerTotals& totals, int64_t allowed, int64_t left, const PayerValues& v,
                        int64_t* band_parts = nullptr) {
    PayerStep s;
    s.base = p.on_remaining ? left : allowed;
    // 3. Deductible: what is left of D after earlier lines' deductibles.
    if (!p.deductible.empty()) {
      const __int128 d = v.deductible.valid ? std::max<int64_t>(v.deductible.v, 0) : 0;
      const __int128 rest = std::max<__int128>(d - totals.deducted, 0);
      s.deductible = static_cast<int64_t>(std::min<__int128>(s.base, rest));
    }
    // 4-5. Eligible and coverage.
    s.eligible = s.base - s.deductible;
    // Products of an amount and a percentage fit 64 bits for any amount
    // below 2^49 (5.6e14 minor units); larger ones take 128-bit arithmetic.
    const bool small = s.eligible < (int64_t{1} << 49);
    __int128 cov = 0;
    switch (p.cover) {
      case CoverKind::kFlat:
        cov = small ? s.eligible * p.band_hundredths[0] / 10000 : static_cast<__int128>(s.eligible) * p.band_hundredths[0] / 10000;
        break;
      case CoverKind::kExprPercent: {
        const int64_t r = v.ratio.valid ? std::clamp<int64_t>(v.ratio.v, 0, 100) : 0;
        cov = small ? s.eligible * r / 100 : static_cast<__int128>(s.eligible) * r / 100;
        break;
      }
      case CoverKind::kBands: {
        // The line occupies [E, E + e) of the running eligible total; band k
        // is [T_{k-1}, T_k) with T_0 = 0, a null or lower limit = T_{k-1},
        // the last band unbounded.
        if (band_parts == nullptr && totals.eligible > -kSmall && totals.eligible < kSmall && s.eligible > -kSmall &&
            s.eligible < kSmall) {
          cov = SmallBands(p, static_cast<int64_t>(totals.eligible), s.eligible, v.band_limits);
          break;
        }
        const __int128 lo = totals.eligible, hi = lo + s.eligible;
        __int128 prev = 0, sum = 0;
        for (size_t k = 0; k < p.band_hundredths.size(); ++k) {
          const bool last = k + 1 == p.band_hundredths.size();
          __int128 t = prev;
          if (!last && v.band_limits[k].valid) t = std::max<__int128>(v.band_limits[k].v, prev);
          const __int128 a = std::max(lo, prev), b = last ? hi : std::min(hi, t);
          if (b > a) sum += (b - a) * p.band_hundredths[k];
          if (band_parts) band_parts[k] = b > a ? static_cast<int64_t>(b - a) : 0;
          prev = t;
        }
        cov = sum <= INT64_MAX ? static_cast<int64_t>(sum) / 10000 : sum / 10000;
        break;
      }
    }
    // 6. Ceilings, then 7: never more than is left.
    if (!p.line_ceiling.empty() && v.line_ceiling.valid) cov = std::min<__int128>(cov, std::max<int64_t>(v.line_ceiling.v, 0));
    if (!p.ceiling.empty() && v.ceiling.valid) {
      const __int128 room = p.has_per ? std::max<__int128>(v.ceiling.v - totals.paid, 0) : std::max<int64_t>(v.ceiling.v, 0);
      cov = std::min(cov, room);
    }
    s.covered = static_cast<int64_t>(std::min<__int128>(cov, INT64_MAX));
    s.pay = static_cast<int64_t>(std::min<__int128>(cov, left));
    return s;
  }

  // kBands with |E|, |e| < 2^48 (every real year's running total): the
  // same split in 64 bits. The parts lie in [E, E + e), so the sum of part
  // x percentage is at most e x 10000 < 2^62.
  static constexpr int64_t kSmall = int64_t{1} << 48;
  static int64_t SmallBands(const PayerPlan& p, int64_t lo, int64_t e, std::span<const OptInt> limits) {
    const int64_t hi = lo + e;
    const size_t bands = p.band_hundredths.size();
    int64_t prev = 0, sum = 0;
    for (size_t k = 0; k < bands; ++k) {
      const bool last = k + 1 == bands;
      int64_t t = prev;
      if (!last && limits[k].valid) t = std::max(limits[k].v, prev);
      const int64_t a = std::max(lo, prev), b = last ? hi : std::min(hi, t);
      if (b > a) sum += (b - a) * p.band_hundredths[k];
      prev = t;
    }
    return sum / 10000;
  }

  static void Accumulate(PayerTotals& t, const PayerStep& s) {
    t.deducted += s.deductible;
    t.eligible += s.eligible;
    t.paid += s.pay;
  }
};

}  // namespace sanad
