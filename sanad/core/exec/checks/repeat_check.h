#pragma once
/// repeat (LANGUAGE.md §4.2): the one implementation, called by the batch
/// driver and the online engine for each population line in adjudication
/// order: Judge, then Log.

#include "sanad/core/exec/window_log.h"

namespace sanad {

struct RepeatCheck {
  /// The latest earlier population line j of the group with d_i - d_j < N
  /// (the evidence), or null: the line hits iff there is one.
  static const EventEntry* Judge(const RulePlan& rule, const EventLog& log, Days d) { return log.Latest(d, rule.days); }
  /// Every population line is a j for later lines. Returns the log position.
  static size_t Log(EventLog& log, Days d, RowIndex row) { return log.Insert(d, 0, row); }
};

}  // namespace sanad
