#pragma once
/// Batch evaluation of a bound rule set over a whole batch (LANGUAGE.md §4):
///  1. lines ordered by (service_date, seq, input position), once;
///  2. stage by stage (ascending); rules of one stage run in parallel;
///     populations are computed by vectorised kernels over chunks of lines;
///  3. stateful checks (limit/repeat/conflict) scan the population in order
///     with per-group state indexed by dense group id;
///  4. hits get their deductions; rejected lines leave later stages;
///  5. verdicts are assembled per line in input order.
/// Deterministic: the same result for any thread count.

#include "core/claim_batch.h"
#include "core/exec/bound_plan.h"
#include "core/exec/verdicts.h"

namespace sanad {

struct EvalOptions {
  int threads = 0;  // 0 = all cores
};

Verdicts EvaluateBatch(const BoundPlan& bound, const ClaimBatch& batch, const EvalOptions& options = {});

}  // namespace sanad
