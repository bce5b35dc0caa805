#include "sanad/rules_dsl/diagnostic.h"

#include <algorithm>

namespace sanad::dsl {

void DiagnosticBag::Error(std::string code, Span span, std::string message) {
  Add({Severity::kError, std::move(code), span, std::move(message), {}});
}

void DiagnosticBag::Warning(std::string code, Span span, std::string message) {
  Add({Severity::kWarning, std::move(code), span, std::move(message), {}});
}

void DiagnosticBag::Add(Diagnostic d) {
  if (d.severity == Severity::kError) {
    if (++error_count_ > kMaxErrors) return;
  } else {
    if (++warning_count_ > kMaxErrors) return;
  }
  diags_.push_back(std::move(d));
}

void DiagnosticBag::SortByPosition() {
  std::stable_sort(diags_.begin(), diags_.end(),
                   [](const Diagnostic& a, const Diagnostic& b) { return a.span.begin < b.span.begin; });
}

std::string Render(const Diagnostic& d, const SourceFile& src) {
  const int line = src.Line(d.span.begin);
  const int col = src.Column(d.span.begin);
  std::string out = (d.severity == Severity::kError ? "error[" : "warning[") + d.code + "]: " + src.name() + ":" +
                    std::to_string(line) + ":" + std::to_string(col) + ": " + d.message + "\n";
  const std::string num = std::to_string(line);
  const std::string pad(num.size(), ' ');
  std::string_view text = src.LineText(line);
  out += pad + " |\n" + num + " | " + std::string(text) + "\n" + pad + " | ";
  // Caret under the span's part on this line (at least one character).
  const int end_line = src.Line(d.span.end > d.span.begin ? d.span.end - 1 : d.span.begin);
  int end_col = end_line == line ? src.Column(d.span.end) : static_cast<int>(src.Column(d.span.begin)) +
                                                                static_cast<int>(text.size());
  int width = std::max(1, end_col - col);
  // Tabs in the prefix keep their width.
  int c = 1;
  for (size_t i = 0; i < text.size() && c < col; ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    out += text[i] == '\t' ? '\t' : ' ';
    ++c;
  }
  while (c < col) { out += ' '; ++c; }
  out += '^';
  for (int i = 1; i < width && i < 200; ++i) out += '~';
  out += '\n';
  for (const std::string& n : d.notes) out += pad + " = note: " + n + "\n";
  return out;
}

std::string RenderAll(const DiagnosticBag& bag, const SourceFile& src) {
  std::string out;
  for (const Diagnostic& d : bag.diagnostics()) out += Render(d, src);
  auto plural = [](int n, const char* w) { return std::to_string(n) + " " + w + (n == 1 ? "" : "s"); };
  // Past the limit the front end stops looking, so the true count is
  // unknown: say "more than", never a number that is only a lower bound.
  const bool stopped = bag.error_count() > DiagnosticBag::kMaxErrors;
  if (stopped)
    out += "note: stopped after " + std::to_string(DiagnosticBag::kMaxErrors) + " errors; the file may hold more\n";
  const std::string errors = stopped ? "more than " + std::to_string(DiagnosticBag::kMaxErrors) + " errors"
                                     : plural(bag.error_count(), "error");
  if (bag.error_count() + bag.warning_count() > 0)
    out += src.name() + ": " + errors + ", " + plural(bag.warning_count(), "warning") + "\n";
  return out;
}

}  // namespace sanad::dsl
