#pragma once
/// Compiler: a parsed Program to a checked core Plan.
///  - names: fields (standard and declared), sets, tables, pairs, rules,
///    resolved after the whole file is read; duplicates and unknown names
///    are errors with a did-you-mean note;
///  - types: every expression is typed (LANGUAGE.md §3); mistakes are
///    E04xx errors at the offending operand;
///  - rule structure: keys, periods, windows, `excess` only with `limit` (E05xx);
///  - warnings: unused set/table/pairs, a rule that can never fire,
///    duplicate set members, percentages above 100%;
///  - lowering: expressions to core ExprPrograms with constant folding.
/// The result has no batch in it; `external` objects are bound afterwards
/// (reference_data.h).

#include <memory>

#include "sanad/core/exec/plan.h"
#include "sanad/rules_dsl/ast.h"
#include "sanad/rules_dsl/diagnostic.h"

namespace sanad::compiler {

struct CompileResult {
  std::unique_ptr<Plan> plan;  // null when there are errors
  dsl::DiagnosticBag diagnostics;
};

/// Diagnostics are appended to `diags` (which may already hold parse errors).
std::unique_ptr<Plan> Compile(const dsl::Program& program, dsl::DiagnosticBag& diags,
                              const dsl::SourceFile* source = nullptr);

/// Parse + compile a whole source file.
CompileResult CompileSource(const dsl::SourceFile& source);

}  // namespace sanad::compiler
