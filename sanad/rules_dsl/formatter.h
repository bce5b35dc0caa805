#pragma once
/// Formatter: prints a Program in the canonical layout (`sanad fmt`).
/// Idempotent (formatting formatted text changes nothing), keeps every
/// comment (a comment on the line of a token stays at the end of that
/// token's output line; others stand before the next output line), and
/// parse(Format(x)) equals parse(x) structurally.

#include <string>
#include <vector>

#include "sanad/rules_dsl/ast.h"
#include "sanad/rules_dsl/lexer.h"

namespace sanad::dsl {

std::string Format(const Program& program, const std::vector<Comment>& comments, const SourceFile& source);

/// Expression in canonical form with minimal parentheses (used by explain-plan too).
std::string FormatExpr(const Expr& e);
std::string FormatLiteral(const Literal& l);
std::string QuoteString(const std::string& s);
/// A literal as quoted in messages: "970000", 42, 2024-03-20, true.
inline std::string FormatLiteralForMessage(const Literal& l) { return FormatLiteral(l); }

}  // namespace sanad::dsl
