#pragma once
/// Deductions and line verdicts (LANGUAGE.md §4.4), shared by the batch
/// evaluator and the online engine so the two cannot drift apart:
///  - HitDeduction: the deduction d of one hit;
///  - VerdictAccumulator: a line's status, deduction and primary rule from
///    its hits, fed in rule declaration order.

#include <algorithm>
#include <cstdint>

#include "sanad/core/exec/plan.h"
#include "sanad/core/exec/verdicts.h"

namespace sanad {

inline int64_t ClampToInt64(__int128 v) {
  if (v > INT64_MAX) return INT64_MAX;
  if (v < INT64_MIN) return INT64_MIN;
  return static_cast<int64_t>(v);
}

/// The deduction of a hit of `rule` on a line of `amount`.
///  total, cap, v: R_i, L_i and v_i (limit rules, for `excess`);
///  expr_valid, expr_value: the `deduct EXPR` value on the line (kExpr).
inline int64_t HitDeduction(const RulePlan& rule, int64_t amount, __int128 total, int64_t cap, int64_t v,
                            bool expr_valid, int64_t expr_value) {
  switch (rule.deduct) {
    case DeductKind::kNone:
      return rule.reject ? amount : 0;
    case DeductKind::kPercent:
      return ClampToInt64(static_cast<__int128>(amount) * rule.percent_hundredths / 10000);
    case DeductKind::kExcess: {
      if (v <= 0) return 0;
      __int128 over = total - std::max<__int128>(cap, total - v);
      over = std::clamp<__int128>(over, 0, v);
      return ClampToInt64(static_cast<__int128>(amount) * over / v);
    }
    case DeductKind::kExpr:
      return expr_valid ? std::clamp<int64_t>(expr_value, 0, amount) : 0;
  }
  return 0;
}

/// Folds a line's hits, in rule declaration order, into its verdict.
struct VerdictAccumulator {
  LineStatus status = LineStatus::kAccepted;
  int64_t best = -1;
  int32_t primary = -1;

  void Add(int32_t rule, bool reject, int64_t deduction) {
    if (reject) status = LineStatus::kRejected;
    else if (status == LineStatus::kAccepted) status = LineStatus::kWarned;
    if (deduction > best) {  // ties keep the rule declared first
      best = deduction;
      primary = rule;
    }
  }
  /// Line deduction: max over hits, at most the amount; 0 without hits.
  int64_t Deduction(int64_t amount) const { return primary < 0 ? 0 : std::min(best, amount); }
};

}  // namespace sanad
