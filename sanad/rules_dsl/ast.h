#pragma once
/// Syntax tree of a .sanad file (LANGUAGE.md §2-4). Every node carries its
/// source span. Names are unresolved here; the compiler resolves and types them.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sanad/rules_dsl/source.h"

namespace sanad::dsl {

enum class TypeName : uint8_t { kInt, kString, kBool, kDate };
const char* TypeNameText(TypeName t);

struct Literal {
  enum Kind : uint8_t { kInt, kString, kDate, kBool } kind = kInt;
  int64_t value = 0;  // int, bool (0/1), date (yyyymmdd)
  std::string text;   // string
  std::string spelling;  // an int written with '_' digit groups, as written ("-1_000"); only fmt reads it
  Span span;
  bool operator==(const Literal& o) const { return kind == o.kind && value == o.value && text == o.text; }
};

struct Ident {
  std::string name;
  Span span;
};

enum class ExprKind : uint8_t {
  kLiteral,   // lit
  kName,      // a field name (resolved later)
  kUnary,     // op: kNeg or kNot, args[0]
  kBinary,    // op, args[0], args[1]
  kIn,        // args[0] in set_name | inline_set; negated for `not in`
  kIsNull,    // args[0] is [not] null; negated for `is not null`
  kIndex,     // name[args[0]]
  kCall,      // name(args...)
};

enum class Op : uint8_t { kNone, kOr, kAnd, kNot, kEq, kNe, kLt, kLe, kGt, kGe, kAdd, kSub, kMul, kDiv, kMod, kNeg };
const char* OpText(Op op);

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  Op op = Op::kNone;
  bool negated = false;
  Span span;
  Literal lit;                       // kLiteral
  Ident name;                        // kName, kIndex (table), kCall (function), kIn (set name, if not inline)
  bool inline_set = false;           // kIn
  std::vector<Literal> set_members;  // kIn with inline set
  Span set_span;                     // kIn: the set operand
  std::vector<std::unique_ptr<Expr>> args;
  /// Levels of the tree below and including this node. The parser bounds it
  /// (ParseOptions::max_tree_depth), so every recursive pass over a checked
  /// expression has bounded depth.
  uint32_t height = 1;
};
using ExprPtr = std::unique_ptr<Expr>;

enum class CalendarKind : uint8_t { kGregorian, kJalali };

struct FieldDecl {
  Ident name;
  TypeName type;
  Span type_span;
  Span span;
};

struct SetDecl {
  Ident name;
  bool dated = false;  // LANGUAGE.md §2.1: every entry has a validity period (external only)
  Span dated_span;
  bool external = false;
  std::vector<Literal> members;
  Span span;
};

struct TableDecl {
  Ident name;
  TypeName key_type, value_type;
  Span key_type_span, value_type_span;
  bool dated = false;
  Span dated_span;
  bool external = false;
  std::vector<std::pair<Literal, Literal>> entries;
  Span span;
};

struct PairsDecl {
  Ident name;
  bool dated = false;
  Span dated_span;
  bool external = false;
  std::vector<std::pair<Literal, Literal>> pairs;
  Span span;
};

enum class CheckKind : uint8_t { kNone, kLimit, kRepeat, kConflictWith, kConflictPairs };
enum class PeriodKind : uint8_t { kNone, kDay, kMonth, kYear, kRolling };

struct Check {
  CheckKind kind = CheckKind::kNone;
  Span span;
  // limit
  bool is_sum = false;
  Ident sum_field;
  PeriodKind period = PeriodKind::kNone;
  int64_t period_days = 0;  // rolling N days
  Span period_span;
  ExprPtr cap;
  // all stateful checks
  std::vector<Ident> keys;
  // repeat / conflict: window in days (`same day` = 1)
  int64_t window_days = 0;
  bool same_day = false;
  Span window_span;
  ExprPtr conflict_expr;  // conflict with
  Ident pairs_name;       // conflict pairs
  ExprPtr unless;         // `unless EXPR` (conflict pairs; parsed after any check to report misuse)
  Span unless_span;       // the keyword
};

enum class ActionKind : uint8_t { kReject, kWarn };
enum class DeductKind : uint8_t { kNone, kPercent, kExcess, kExpr };

struct Action {
  ActionKind kind = ActionKind::kReject;
  Span span;
  DeductKind deduct = DeductKind::kNone;
  int64_t percent_hundredths = 0;  // 12.5% -> 1250
  std::string percent_text;        // as written, e.g. "12.5"
  Span deduct_span;
  ExprPtr amount;
};

struct RuleDecl {
  Ident name;
  std::optional<std::string> title;
  Span title_span;
  std::optional<std::string> code;  // `code "CODE"`: the deduction reason code (default: the rule's name)
  Span code_span;
  bool has_stage = false;
  int64_t stage = 1;
  Span stage_span;
  ExprPtr when;
  Check check;
  Action action;
  Span span;
};

/// A settlement payer (SETTLEMENT.md §1). Clause words (covers, deductible,
/// ceiling, percent, up, to, line, on, payable, remaining) are keywords only
/// inside a payer declaration; elsewhere they are ordinary names.
enum class CoverKind : uint8_t { kFlat, kExprPercent, kBands };

struct Band {
  int64_t percent_hundredths = 0;  // 12.5% -> 1250
  std::string percent_text;        // as written
  Span percent_span;
  ExprPtr limit;                   // `up to EXPR`; null for the last band
};

struct PayerDecl {
  Ident name;
  std::optional<std::string> title;
  Span title_span;
  ExprPtr when;
  bool has_on = false, on_remaining = false;
  Span on_span;
  bool has_per = false;
  std::vector<Ident> keys;
  Span per_span;
  PeriodKind period = PeriodKind::kNone;  // day, month or year
  Span period_span;
  ExprPtr deductible;
  Span deductible_span;  // the word
  bool has_covers = false;
  CoverKind cover = CoverKind::kFlat;
  Span cover_span;  // the word
  std::vector<Band> bands;  // kFlat: one band without limit; kBands: the limited ones, then the last
  ExprPtr ratio;            // kExprPercent
  ExprPtr ceiling;
  Span ceiling_span;
  ExprPtr line_ceiling;
  Span line_ceiling_span;
  Span span;
};

/// One top-level item, in file order (the formatter keeps the order).
struct Decl {
  enum Kind : uint8_t { kRuleset, kCalendar, kField, kSet, kTable, kPairs, kRule, kPayer } kind;
  size_t index;  // into the matching vector of Program (0 for ruleset/calendar)
  Span span;
};

struct Program {
  std::optional<std::string> ruleset_name;
  Span ruleset_span;
  CalendarKind calendar = CalendarKind::kGregorian;
  bool has_calendar = false;
  Span calendar_span;
  std::vector<FieldDecl> fields;
  std::vector<SetDecl> sets;
  std::vector<TableDecl> tables;
  std::vector<PairsDecl> pairs;
  std::vector<RuleDecl> rules;
  std::vector<PayerDecl> payers;  // declaration order is payment order
  std::vector<Decl> order;
};

}  // namespace sanad::dsl
