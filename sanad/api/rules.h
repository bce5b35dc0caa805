#pragma once
/// Rules: a compiled rule set ready to evaluate — the source, every
/// diagnostic, and the Plan with its external reference data bound.
/// The public entry point for the CLI, the Python module and embedders.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sanad/core/exec/plan.h"
#include "sanad/core/status.h"
#include "sanad/rules_dsl/diagnostic.h"
#include "sanad/rules_dsl/source.h"

namespace sanad {

class Rules {
 public:
  /// The one call for embedders: reads and compiles `path`, binds every
  /// external object from NAME -> CSV path and checks all are bound. Any
  /// failure is a Status whose message says what and where (for rules that
  /// did not compile: every diagnostic, rendered with carets).
  static Result<std::unique_ptr<Rules>> Load(const std::string& path,
                                             const std::map<std::string, std::string>& refs = {});

  /// Compiles `text`; on errors ok() is false, plan() is null and
  /// diagnostics() says why (tools that show warnings and errors use these).
  static std::unique_ptr<Rules> FromText(std::string name, std::string text);
  /// Reads and compiles a file (I/O errors become a Status).
  static Result<std::unique_ptr<Rules>> FromFile(const std::string& path);

  bool ok() const { return plan_ != nullptr; }
  /// The compiled plan; null when the rules did not compile.
  const Plan* plan() const { return plan_.get(); }
  /// The claim fields these rules read (what ReadClaimsFile loads); the
  /// standard fields alone when the rules did not compile.
  const Schema& schema() const;
  /// Rule names in declaration order (a verdict's rule ids index this);
  /// empty when the rules did not compile.
  std::vector<std::string> RuleNames() const;
  Plan* mutable_plan() { return plan_.get(); }
  const dsl::SourceFile& source() const { return *source_; }
  const dsl::DiagnosticBag& diagnostics() const { return diags_; }
  /// Rendered diagnostics with carets, and a count line.
  std::string RenderDiagnostics() const;

  /// Binds external objects from NAME -> CSV path; then checks every one is bound.
  Status BindReferenceFiles(const std::map<std::string, std::string>& refs);
  /// Binds one external object from rows of text cells, as a CSV file's
  /// rows would hold them (a dated object's rows end in valid_from,
  /// valid_to and, for pairs, an optional bypass). Does not check the others.
  Status BindReferenceRows(const std::string& name, const std::vector<std::vector<std::string>>& rows);

 private:
  std::unique_ptr<dsl::SourceFile> source_;
  dsl::DiagnosticBag diags_;
  std::unique_ptr<Plan> plan_;
};

}  // namespace sanad
