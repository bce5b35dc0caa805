#pragma once
/// Readable text of a Plan (`sanad explain-plan`): stages in order, the
/// grouping passes shared by rules with equal keys, and each rule's lowered
/// expressions after constant folding.

#include <string>

#include "sanad/core/exec/plan.h"

namespace sanad {

std::string ExplainPlan(const Plan& plan);
std::string ExprToString(const Plan& plan, const ExprProgram& prog);

}  // namespace sanad
