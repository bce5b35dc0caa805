#pragma once
/// Evaluate: the one call from loaded claims to results (verdicts, hits and
/// the summary's counts), used by the CLI, the Python module, tests and
/// benchmarks, so no caller wires compile -> bind -> evaluate itself.
///
///   auto rules = sanad::Rules::FromFile("rules.sanad").value();
///   rules->BindReferenceFiles({{"mri", "mri.csv"}});
///   auto claims = sanad::ReadClaimsFile("claims.ndjson", rules->plan()->schema, {}).value();
///   sanad::Result<sanad::Evaluation> e = sanad::Evaluate(*rules, claims);
///   sanad::WriteVerdicts("verdicts.csv", *rules->plan(), claims.batch, e->verdicts);
///
/// Refused before any work: rules that did not compile, an `external`
/// object without data, claims loaded for another rule set's fields.
/// The result is the same for any thread count.

#include <memory>

#include "sanad/api/output.h"
#include "sanad/api/rules.h"
#include "sanad/api/summary.h"
#include "sanad/core/exec/batch_evaluator.h"
#include "sanad/core/exec/bound_plan.h"
#include "sanad/core/exec/settlement.h"
#include "sanad/core/ingest/load_options.h"

namespace sanad {

struct Evaluation {
  std::unique_ptr<BoundPlan> bound;  // the plan bound to the claims' dictionaries (explain uses it)
  Verdicts verdicts;
  LoadCounts counts;                 // records read / loaded / refused, for the summary
};

/// `claims` must outlive the result (the bound plan points into its batch).
Result<Evaluation> Evaluate(const Rules& rules, const LoadedClaims& claims, const EvalOptions& options = {});

/// Settlement alone, for distributed runs (python/sanad/dask.py): no rule
/// runs; each line's deduction is given (`deduction[row]`, input order, from
/// the merged verdicts), and only `slice`'s payers settle.
Result<Settlement> SettleSlice(const Rules& rules, const LoadedClaims& claims, const BigVector<int64_t>& deduction,
                               const PayerSlice& slice, const EvalOptions& options = {});

}  // namespace sanad
