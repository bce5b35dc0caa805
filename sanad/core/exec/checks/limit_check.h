#pragma once
/// limit (LANGUAGE.md §4.1): the one implementation of its judgement, called
/// line by line in adjudication order by the batch driver
/// (core/exec/batch_evaluator.cpp) and the online engine
/// (online/online_engine.cpp). First Judge, then Log, for every line of the
/// rule's population (population.h), hits included: "the first L pass, the
/// rest are flagged".

#include "sanad/core/exec/window_log.h"

namespace sanad {

struct LimitCheck {
  struct Judgement {
    bool hit = false;
    __int128 total = 0;  // R_i, exact
  };

  /// v_i: 1 for `count`, the line's FIELD for `sum(FIELD)`.
  static int64_t Value(const RulePlan& rule, int64_t field_value) { return rule.is_sum ? field_value : 1; }

  /// R_i = v_i + the values of the earlier lines of the group in the line's
  /// bucket or window (`from` = LookBackFrom(rule, d)); the line hits iff a
  /// cap applies (L_i not null) and R_i > L_i.
  static Judgement Judge(const RulePlan& rule, const LimitLog& log, Days d, Days from, int64_t v, bool cap_valid,
                         int64_t cap) {
    const __int128 total = log.Total(rule, d, from, v);
    return {cap_valid && total > cap, total};
  }

  /// Every population line counts toward later totals. Returns the log
  /// position (for undo online).
  static size_t Log(LimitLog& log, Days d, RowIndex row, int64_t v) { return log.Insert(d, row, v); }

  /// The batch's Log: fed in date order without undo, a calendar-bucket or
  /// all-time limit needs only its latest running total (LimitLog).
  static void LogInDateOrder(const RulePlan& rule, LimitLog& log, Days d, RowIndex row, int64_t v) {
    if (rule.period != Period::kRolling) log.InsertKeepingLatestTotal(d, row, v);
    else log.Insert(d, row, v);
  }
};

}  // namespace sanad
