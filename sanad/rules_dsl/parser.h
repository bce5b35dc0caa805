#pragma once
/// Parser: tokens to a Program. Hand-written recursive descent with
/// precedence climbing for expressions (LANGUAGE.md §3). Syntax errors
/// (E02xx) are reported with their span; the parser then skips to the next
/// top-level declaration, so one mistake gives one error, and every
/// declaration of the file is checked. Bounded against hostile input: nesting
/// depth, sizes and counts are limited with clear errors, never a stack overflow.

#include <vector>

#include "sanad/rules_dsl/ast.h"
#include "sanad/rules_dsl/diagnostic.h"
#include "sanad/rules_dsl/lexer.h"

namespace sanad::dsl {

struct ParseOptions {
  LexLimits lex;
  int max_depth = 100;                 // expression nesting: parentheses, not, unary minus, calls
  /// Levels of one expression's tree, counting each operator of a chain of
  /// '+', '-', '*', '/', '%' or comparisons (left-nested). Chains of 'and'
  /// and 'or' are built balanced, so a 20,000-term 'or' is 16 levels.
  uint32_t max_tree_depth = 1000;
  size_t max_source_bytes = 256u << 20;
  size_t max_rules = 1000000;
  size_t max_members = 20000000;       // members of one inline set/table/pairs
};

struct ParseResult {
  Program program;
  std::vector<Comment> comments;
};

ParseResult Parse(const SourceFile& source, DiagnosticBag& diags, const ParseOptions& options = {});

}  // namespace sanad::dsl
