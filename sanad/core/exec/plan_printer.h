#pragma once
/// Readable text of a Plan (`sanad explain-plan`, Python's explain_plan) in
/// an analyst's words: the reference data and its sizes (or "not loaded"),
/// each stage's rules with what they apply to, when they hit and what they
/// deduct (expressions after constant folding), the payers in payment
/// order, and the grouping passes rules with equal keys share.

#include <string>

#include "sanad/core/exec/plan.h"

namespace sanad {

std::string ExplainPlan(const Plan& plan);
std::string ExprToString(const Plan& plan, const ExprProgram& prog);

}  // namespace sanad
