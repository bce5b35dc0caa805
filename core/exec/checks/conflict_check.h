#pragma once
/// conflict (LANGUAGE.md §4.3), `with EXPR` and `pairs P`: the one
/// implementation, called by the batch driver and the online engine for
/// each line in adjudication order.

#include "core/exec/window_log.h"

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

/// conflict pairs P: population lines are judged and logged.
struct ConflictPairsCheck {
  /// The latest earlier population line j with (code_j, code_i) in P and
  /// d_i - d_j < N: true and its row in *other, or false.
  template <typename PairSet>
  static bool Judge(const RulePlan& rule, const PairLog& log, Days d, int32_t code, const PairSet& pairs, RowIndex* other) {
    return log.LatestPair(d, rule.days, code, pairs, other);
  }
  static size_t Log(PairLog& log, Days d, int32_t code, RowIndex row) { return log.Insert(d, code, row); }
};

}  // namespace sanad
