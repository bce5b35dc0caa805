#pragma once
/// Batch evaluation of a bound rule set over a whole batch (LANGUAGE.md §4):
///  1. lines ordered by (service_date, seq, input position), once;
///  2. stage by stage (ascending); rules of one stage run in parallel;
///     populations are computed by vectorised kernels over chunks of lines;
///  3. stateful checks (limit/repeat/conflict): the lines of each `per` key
///     tuple are split into key partitions by dense group id; each partition
///     is a parallel task that feeds its lines, in line order, to the
///     look-back logs the online engine also uses (window_log.h), running
///     every rule of the stage with those keys back to back;
///  4. hits get their deductions; rejected lines leave later stages;
///  5. verdicts are assembled per line in input order.
/// Deterministic: the same result for any thread count.

#include <cstdint>
#include <functional>
#include <vector>

#include "sanad/core/stop.h"
#include "sanad/core/claim_batch.h"
#include "sanad/core/exec/bound_plan.h"
#include "sanad/core/exec/verdicts.h"

namespace sanad {

struct EvalOptions {
  int threads = 0;  // 0 = all cores
  /// Groups per key partition (rounded to a power of two of partitions, at
  /// most 1024): small enough that a partition's logs stay in cache. Results
  /// do not depend on it; tests set it small to exercise many partitions.
  int groups_per_partition = 4096;
  /// Set from another thread or a signal handler to stop early: the
  /// Verdicts are then empty with `stopped` true (core/stop.h).
  const StopFlag* stop = nullptr;
  /// A slice of the rule set, for distributed evaluation (python/sanad/dask.py
  /// runs each stage's rules of one key class on the lines that class
  /// needs): only the rules r with rules[r] != 0 run; the others have no
  /// population and no hits. Empty: every rule.
  std::vector<uint8_t> rules;
  /// Settle after the verdicts (when the plan has payers).
  bool settle = true;
};

Verdicts EvaluateBatch(const BoundPlan& bound, const ClaimBatch& batch, const EvalOptions& options = {});

/// Runs `fn` in a TBB arena of `threads` threads (0: all cores; never more
/// than the cores), so the caller's thread count bounds every parallel loop.
void RunWithThreads(int threads, const std::function<void()>& fn);

}  // namespace sanad
