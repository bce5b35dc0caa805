#pragma once
/// Lexer: UTF-8 source text to tokens. Lexical mistakes become diagnostics
/// (E01xx) and an error token; lexing always continues to the end. Comments
/// are kept aside (for the formatter).

#include <vector>

#include "sanad/rules_dsl/diagnostic.h"
#include "sanad/rules_dsl/token.h"

namespace sanad::dsl {

struct Comment {
  Span span;  // from '#' to the end of the line
};

struct LexLimits {
  size_t max_identifier_bytes = 256;
  size_t max_string_bytes = 1 << 20;
};

struct LexResult {
  std::vector<Token> tokens;  // ends with kEof
  std::vector<Comment> comments;
};

LexResult Lex(const SourceFile& source, DiagnosticBag& diags, const LexLimits& limits = {});

}  // namespace sanad::dsl
