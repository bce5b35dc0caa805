#pragma once
/// Plan: what the compiler hands to core. A rule set lowered to typed
/// expression programs over claim-line fields, reference data, and one
/// RulePlan per rule (population, stateful check, action). A Plan knows no
/// batch; Bind() (bound_plan.h) resolves it against one batch's dictionaries.

#include <cstdint>
#include <climits>
#include <string>
#include <utility>
#include <vector>

#include "sanad/core/calendar.h"
#include "sanad/core/schema.h"
#include "sanad/core/types.h"

namespace sanad {

enum class ExprOp : uint8_t {
  kConst,        // i (int, date, bool) or s (string); valid unless is_null
  kField,        // field
  kNeg, kAdd, kSub, kMul, kDiv, kMod,  // int; overflow and division by zero give null
  kEq, kNe, kLt, kLe, kGt, kGe,        // operands of arg_type; null operand -> false
  kAnd, kOr, kNot,                     // two-valued over conditions (null -> false)
  kIsNull, kIsNotNull,
  kInSet, kNotInSet,  // ref = set; null operand -> false; a dated set: right = the line's service_date
  kLookup,            // ref = table; a missing key or null key -> null; a dated table: right = service_date
  kStartsWith,        // null operand -> false
  kYear, kMonth,      // in the plan's calendar
  kDaysBetween,       // b - a
  // Produced by Bind(): a subtree over one string field, tabulated per dictionary code.
  kCodeTable,         // field, ref = index into BoundPlan code tables
  kDatedCodeTable,    // the same over one string field and dated lookups: per (code, period of the line's date)
};

struct ExprNode {
  ExprOp op = ExprOp::kConst;
  ValueType type = ValueType::kInt;      // result type
  ValueType arg_type = ValueType::kInt;  // operand type of comparisons
  int32_t left = -1, right = -1;         // operands: indices of child nodes in the program (-1: none)
  int32_t field = -1;                    // kField, kCodeTable: the field read
  int32_t ref = -1;                      // kInSet/kNotInSet: set; kLookup: table; kCodeTable: code table
  bool is_null = false;                  // kConst
  int64_t int_value = 0;                 // kConst: int, date (days) or bool (0/1)
  std::string str_value;                 // kConst: string
};

/// A tree of nodes stored children-first; `root` is the result.
struct ExprProgram {
  std::vector<ExprNode> nodes;
  int32_t root = -1;
  bool empty() const { return root < 0; }
  int32_t Add(ExprNode n) {
    nodes.push_back(std::move(n));
    return static_cast<int32_t>(nodes.size() - 1);
  }
};

/// The period an entry of `dated` reference data is in force (LANGUAGE.md
/// §2.1): [from, to], both inclusive; an open end is kOpenEnd.
struct Validity {
  static constexpr Days kOpenEnd = INT32_MAX;
  Days from = INT32_MIN, to = kOpenEnd;
  bool Contains(Days d) const { return from <= d && d <= to; }
  bool operator==(const Validity&) const = default;
};

/// A set of literals: strings or int64 values (ints, dates as days, bools as 0/1).
/// A dated set holds one member per entry, with `validity` parallel to the
/// members; a member may appear in several entries with disjoint periods.
struct PlanSet {
  std::string name;
  bool external = false;  // supplied by the caller when the rule set is loaded
  bool bound = true;      // false until external data arrives
  bool dated = false;     // every entry has a validity period (external only)
  ValueType type = ValueType::kString;
  std::vector<std::string> strings;
  std::vector<int64_t> ints;
  std::vector<Validity> validity;  // dated: one per member entry
};

/// key -> value; entries are unique by key (undated) or by key and period
/// (dated: `validity` parallel to the entries, periods of a key disjoint).
struct PlanTable {
  std::string name;
  bool external = false;
  bool bound = true;
  bool dated = false;
  ValueType key_type = ValueType::kString, value_type = ValueType::kInt;
  std::vector<std::string> key_strings, value_strings;
  std::vector<int64_t> key_ints, value_ints;
  std::vector<Validity> validity;  // dated: one per entry
  size_t size() const { return key_type == ValueType::kString ? key_strings.size() : key_ints.size(); }
};

/// (first_code, second_code) pairs of service codes. Dated pairs carry a
/// period per entry and the national tables' bypass flag (a modifier may
/// override the edit: `unless` on the rule).
struct PlanPairs {
  std::string name;
  bool external = false;
  bool bound = true;
  bool dated = false;
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<Validity> validity;  // dated: one per entry
  std::vector<uint8_t> bypass;     // dated: one per entry, 0 or 1
};

enum class CheckKind : uint8_t { kNone, kLimit, kRepeat, kConflictWith, kConflictPairs };
enum class Period : uint8_t { kNone, kDay, kMonth, kYear, kRolling };
enum class DeductKind : uint8_t { kNone, kPercent, kExcess, kExpr };

struct RulePlan {
  std::string name;
  std::string title;
  std::string code;  // deduction reason code: `code "..."`, else the rule's name
  int64_t stage = 1;
  ExprProgram when;  // empty: every line
  CheckKind check = CheckKind::kNone;
  std::vector<int> keys;  // field indices
  bool is_sum = false;
  int sum_field = -1;
  Period period = Period::kNone;
  int64_t days = 0;       // rolling N / within N (same day = 1)
  ExprProgram cap;        // limit
  ExprProgram conflict;   // conflict with
  int pairs = -1;         // conflict pairs
  ExprProgram unless;     // conflict pairs: bypassable pairs do not count when true on line i or j
  bool reject = true;
  DeductKind deduct = DeductKind::kNone;
  int64_t percent_hundredths = 0;
  ExprProgram deduct_expr;
};

/// A settlement payer (SETTLEMENT.md §1-2), in payment order.
enum class CoverKind : uint8_t { kFlat, kExprPercent, kBands };

struct PayerPlan {
  std::string name;
  std::string title;
  ExprProgram when;           // empty: every line
  bool on_remaining = false;  // base: what earlier payers left, else the payable amount
  std::vector<int> keys;      // `per KEYS`: the scope of the running totals (empty: none)
  bool has_per = false;
  Period period = Period::kNone;  // kNone (all time), kDay, kMonth, kYear
  ExprProgram deductible;         // empty: none
  CoverKind cover = CoverKind::kFlat;
  std::vector<int64_t> band_hundredths;  // kFlat: one; kBands: one per band, the last without limit
  std::vector<ExprProgram> band_limits;  // kBands: one per band but the last
  ExprProgram ratio;                     // kExprPercent: whole percent, null -> 0, clamped to [0, 100]
  ExprProgram ceiling;                   // with `per`: per scope and bucket; without: per line
  ExprProgram line_ceiling;
};

struct Plan {
  std::string ruleset_name;
  Calendar calendar = Calendar::kGregorian;
  Schema schema = Schema::Standard();
  std::vector<PlanSet> sets;
  std::vector<PlanTable> tables;
  std::vector<PlanPairs> pairs;
  std::vector<RulePlan> rules;  // declaration order
  std::vector<PayerPlan> payers;  // declaration order = payment order; empty: no settlement
};

}  // namespace sanad
