#pragma once
/// Rules: a compiled rule set ready to evaluate — the source, every
/// diagnostic, and the Plan with its external reference data bound.
/// The public entry point for the CLI, the Python module and embedders.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/exec/plan.h"
#include "core/status.h"
#include "rules_dsl/diagnostic.h"
#include "rules_dsl/source.h"

namespace sanad {

class Rules {
 public:
  /// Compiles `text`; on errors plan() is null and diagnostics() says why.
  static std::unique_ptr<Rules> FromText(std::string name, std::string text);
  /// Reads and compiles a file (I/O errors become a Status).
  static Result<std::unique_ptr<Rules>> FromFile(const std::string& path);

  bool ok() const { return plan_ != nullptr; }
  const Plan* plan() const { return plan_.get(); }
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
