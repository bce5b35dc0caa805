#pragma once
/// conflict (LANGUAGE.md §4.3), `with EXPR` and `pairs P`: the one
/// implementation, called by the batch driver and the online engine for
/// each line in adjudication order.

#include "sanad/core/exec/bound_plan.h"
#include "sanad/core/exec/window_log.h"

namespace sanad {

/// conflict with EXPR: population lines are judged; every visible line of
/// the group for which EXPR is true (in the population or not) is logged as
/// a possible j.
struct ConflictWithCheck {
  /// The latest earlier line j with EXPR true and d_i - d_j < N, or null.
  static const EventEntry* Judge(const RulePlan& rule, const EventLog& log, Days d) { return log.Latest(d, rule.days); }
  static bool IsOtherLine(bool expr_true) { return expr_true; }
  static size_t Log(EventLog& log, Days d, RowIndex row) { return log.Insert(d, 0, row); }
};

/// conflict pairs P: population lines are judged and logged. With dated
/// pairs, a pair counts only if in force on the later line's date d_i; a
/// pair marked bypassable does not count when the rule's `unless` is true
/// on line i or on line j (§2.1); without `unless` both flags are false.
struct ConflictPairsCheck {
  /// Whether earlier line j (code_j, unless_j) makes line i hit.
  template <typename PairSet>
  struct Match {
    const PairSet& pairs;
    int32_t code_i;
    Days d_i;
    bool unless_i;
    bool operator()(int32_t code_j, bool unless_j) const {
      switch (pairs.At(code_j, code_i, d_i)) {
        case PairState::kAbsent: return false;
        case PairState::kInForce: return true;
        case PairState::kBypassable: return !(unless_i || unless_j);
      }
      return false;
    }
  };
  /// The latest earlier population line j with (code_j, code_i) in P,
  /// counting on d_i, and d_i - d_j < N: true and its row in *other, or false.
  template <typename PairSet>
  static bool Judge(const RulePlan& rule, const PairLog& log, Days d, int32_t code, const PairSet& pairs, bool unless_i,
                    RowIndex* other) {
    return log.LatestPair(d, rule.days, code, pairs, Match<PairSet>{pairs, code, d, unless_i}, other);
  }
  static size_t Log(PairLog& log, Days d, int32_t code, RowIndex row, bool unless) { return log.Insert(d, code, row, unless); }
};

}  // namespace sanad
