// libFuzzer target: arbitrary bytes as a rules file through the lexer,
// parser, compiler and formatter. Must never crash, hang or leak; when the
// text parses, fmt must be idempotent on it.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "sanad/compiler/compiler.h"
#include "sanad/rules_dsl/formatter.h"
#include "sanad/rules_dsl/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1 << 16)) return 0;
  sanad::dsl::SourceFile src("fuzz.sanad", std::string(reinterpret_cast<const char*>(data), size));
  sanad::dsl::DiagnosticBag diags;
  sanad::dsl::ParseResult parsed = sanad::dsl::Parse(src, diags);
  (void)sanad::dsl::RenderAll(diags, src);
  if (diags.HasErrors()) return 0;
  auto plan = sanad::compiler::Compile(parsed.program, diags, &src);
  (void)plan;
  const std::string once = sanad::dsl::Format(parsed.program, parsed.comments, src);
  sanad::dsl::SourceFile src2("fuzz2.sanad", once);
  sanad::dsl::DiagnosticBag diags2;
  sanad::dsl::ParseResult again = sanad::dsl::Parse(src2, diags2);
  if (diags2.HasErrors()) std::abort();  // formatted text must parse
  const std::string twice = sanad::dsl::Format(again.program, again.comments, src2);
  if (once != twice) std::abort();  // fmt must be idempotent
  return 0;
}
