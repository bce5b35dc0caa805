#pragma once
/// Tokens of the .sanad language (LANGUAGE.md §1, keywords §7).

#include <cstdint>
#include <string>
#include <string_view>

#include "sanad/rules_dsl/source.h"

namespace sanad::dsl {

#define SANAD_KEYWORDS(X)                                                                              \
  X(Ruleset, "ruleset") X(Calendar, "calendar") X(Gregorian, "gregorian") X(Jalali, "jalali")          \
  X(Field, "field") X(Set, "set") X(Table, "table") X(Pairs, "pairs") X(External, "external") X(Dated, "dated")          \
  X(Rule, "rule") X(Code, "code") X(Stage, "stage") X(When, "when") X(Limit, "limit") X(Count, "count") X(Sum, "sum")  \
  X(Per, "per") X(Day, "day") X(Month, "month") X(Year, "year") X(Rolling, "rolling") X(Days, "days")  \
  X(Repeat, "repeat") X(Within, "within") X(Conflict, "conflict") X(With, "with") X(Same, "same") X(Unless, "unless")      \
  X(Reject, "reject") X(Warn, "warn") X(Deduct, "deduct") X(Excess, "excess") X(And, "and")            \
  X(Or, "or") X(Not, "not") X(In, "in") X(Is, "is") X(Null, "null") X(True, "true") X(False, "false")  \
  X(Int, "int") X(String, "string") X(Bool, "bool") X(Date, "date") X(Payer, "payer")

enum class Tok : uint8_t {
  kEof,
  kError,
  kIdent,
  kIntLit,      // value in u64 (may be 2^63 for a negated minimum)
  kDecimalLit,  // 12.5 (only valid before '%')
  kStringLit,   // text holds the unescaped UTF-8
  kDateLit,     // i64 holds yyyymmdd (validated)
  kLParen, kRParen, kLBrace, kRBrace, kLBracket, kRBracket,
  kComma, kColon, kAssign, kArrow,
  kEq, kNe, kLt, kLe, kGt, kGe,
  kPlus, kMinus, kStar, kSlash, kPercent,
#define SANAD_KW_ENUM(name, text) kKw##name,
  SANAD_KEYWORDS(SANAD_KW_ENUM)
#undef SANAD_KW_ENUM
  kNumTokens
};

struct Token {
  Tok kind = Tok::kEof;
  Span span;
  std::string text;  // identifier name, unescaped string, decimal digits
  uint64_t u64 = 0;  // integer literal magnitude
  int64_t i64 = 0;   // date literal as yyyymmdd
};

/// How a token kind reads in messages ("'when'", "identifier", "end of file").
std::string_view TokName(Tok t);
/// The keyword for an identifier-like word, or kIdent.
Tok KeywordFor(std::string_view word);
inline bool IsKeyword(Tok t) { return t >= Tok::kKwRuleset && t < Tok::kNumTokens; }

}  // namespace sanad::dsl
