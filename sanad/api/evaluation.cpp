#include "sanad/api/evaluation.h"

#include "sanad/compiler/reference_data.h"

namespace sanad {

Result<Evaluation> Evaluate(const Rules& rules, const LoadedClaims& claims, const EvalOptions& options) {
  if (!rules.ok()) return Status::Invalid("the rules did not compile:\n" + rules.RenderDiagnostics());
  SANAD_RETURN_IF_ERROR(CheckReferencesBound(*rules.plan()));
  if (!(claims.batch.schema() == rules.plan()->schema))
    return Status::Invalid("the claims were loaded with other fields than these rules declare (load them with this rule set's schema)");
  Evaluation e;
  e.bound = Bind(*rules.plan(), claims.batch);
  e.verdicts = EvaluateBatch(*e.bound, claims.batch, options);
  if (e.verdicts.stopped) return Status::Cancelled("interrupted while evaluating");
  e.counts = LoadCounts{claims.records_read, claims.records_loaded, static_cast<int64_t>(claims.errors.size())};
  return e;
}

}  // namespace sanad
