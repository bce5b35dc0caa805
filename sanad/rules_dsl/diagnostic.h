#pragma once
/// Diagnostics: a mistake in a rules file is a result, not an exception.
/// Each has a stable code (E0xxx errors, W0xxx warnings; listed in
/// docs/DIAGNOSTICS.md), a byte span and a message. Render() prints
///   error[E0301]: rules.sanad:3:14: unknown field 'amout'
///     |
///   3 | when amout > 100
///     |      ^~~~~

#include <string>
#include <vector>

#include "sanad/rules_dsl/source.h"

namespace sanad::dsl {

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string code;  // e.g. "E0301"
  Span span;
  std::string message;
  std::vector<std::string> notes;
};

/// Collects diagnostics up to a limit of errors; later errors are counted but not kept.
class DiagnosticBag {
 public:
  static constexpr int kMaxErrors = 100;

  void Error(std::string code, Span span, std::string message);
  void Warning(std::string code, Span span, std::string message);
  void Add(Diagnostic d);

  bool HasErrors() const { return error_count_ > 0; }
  int error_count() const { return error_count_; }
  int warning_count() const { return warning_count_; }
  const std::vector<Diagnostic>& diagnostics() const { return diags_; }
  /// Sorts by position (stable), so output follows the file.
  void SortByPosition();

 private:
  std::vector<Diagnostic> diags_;
  int error_count_ = 0;
  int warning_count_ = 0;
};

/// One diagnostic with its source line and a caret under the span.
std::string Render(const Diagnostic& d, const SourceFile& source);
/// Every diagnostic, then a summary line ("2 errors, 1 warning") when any.
std::string RenderAll(const DiagnosticBag& bag, const SourceFile& source);

}  // namespace sanad::dsl
