#include "sanad/api/evaluation.h"

#include <string>

#include "sanad/compiler/reference_data.h"
#include "sanad/core/exec/key_partitions.h"
#include "sanad/core/exec/line_order.h"

namespace sanad {

namespace {

Status CheckEvaluable(const Rules& rules, const LoadedClaims& claims) {
  if (!rules.ok()) return Status::Invalid("the rules did not compile:\n" + rules.RenderDiagnostics());
  SANAD_RETURN_IF_ERROR(CheckReferencesBound(*rules.plan()));
  if (!(claims.batch.schema() == rules.plan()->schema))
    return Status::Invalid("the claims were loaded with other fields than these rules declare (load them with this rule set's schema)");
  return Status::Ok();
}

}  // namespace

Result<Evaluation> Evaluate(const Rules& rules, const LoadedClaims& claims, const EvalOptions& options) {
  SANAD_RETURN_IF_ERROR(CheckEvaluable(rules, claims));
  if (!options.rules.empty() && options.rules.size() != rules.plan()->rules.size())
    return Status::Invalid("the rule slice names " + std::to_string(options.rules.size()) + " rules; the rule set has " +
                           std::to_string(rules.plan()->rules.size()));
  Evaluation e;
  e.bound = Bind(*rules.plan(), claims.batch);
  e.verdicts = EvaluateBatch(*e.bound, claims.batch, options);
  if (e.verdicts.stopped) return Status::Cancelled("interrupted while evaluating");
  e.counts = LoadCounts{claims.records_read, claims.records_loaded, static_cast<int64_t>(claims.errors.size())};
  return e;
}


Result<Settlement> SettleSlice(const Rules& rules, const LoadedClaims& claims, const BigVector<int64_t>& deduction,
                               const PayerSlice& slice, const EvalOptions& options) {
  SANAD_RETURN_IF_ERROR(CheckEvaluable(rules, claims));
  if (deduction.size() != claims.batch.size())
    return Status::Invalid("the settlement slice has " + std::to_string(deduction.size()) + " deductions for " +
                           std::to_string(claims.batch.size()) + " lines");
  const std::unique_ptr<BoundPlan> bound = Bind(*rules.plan(), claims.batch);
  Settlement out;
  RunWithThreads(options.threads, [&] {
    const BigVector<RowIndex> rank = LineRanks(ComputeLineOrder(claims.batch));
    out = SettleBatch(*bound, claims.batch, deduction, rank, options.groups_per_partition,
                      [](const std::vector<int>&) -> const KeyPartitions* { return nullptr; }, slice);
  });
  return out;
}

}  // namespace sanad
