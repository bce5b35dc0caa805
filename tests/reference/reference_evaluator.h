#pragma once
/// A deliberately naive evaluator written from LANGUAGE.md alone: it walks
/// the syntax tree for every line, scans all earlier lines for every stateful
/// check (O(n^2) per group), and gets Jalali dates from ICU. It shares no
/// evaluation code with core/ and is the judge of the fast engine in tests.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sanad/rules_dsl/ast.h"

namespace sanad::reference {

/// A field value: int (also dates as days since 1970-01-01, bools as 0/1) or string.
struct Value {
  bool is_string = false;
  int64_t i = 0;
  std::string s;
  bool operator==(const Value& o) const { return is_string == o.is_string && i == o.i && s == o.s; }
};
using Opt = std::optional<Value>;

struct Line {
  std::map<std::string, Opt> fields;  // every standard and declared field (nullopt = null)
};

struct RefHit {
  int rule = 0;
  int64_t deduction = 0;
  int evidence = 0;  // 0 none, 1 limit, 2 other line
  __int128 total = 0;
  int64_t cap = 0;
  size_t other = 0;
  bool operator==(const RefHit&) const = default;
};

struct RefResult {
  std::vector<int> status;  // 0 accepted, 1 warned, 2 rejected
  std::vector<int64_t> deduction;
  std::vector<int> primary;  // -1 none
  std::vector<std::vector<RefHit>> hits;  // per line, by rule declaration order
  std::vector<int64_t> population, hit_count;
  std::vector<__int128> rule_deduction;
  // Settlement (SETTLEMENT.md §2), when the program declares payers.
  std::vector<int64_t> allowed, patient;             // per line
  std::vector<std::vector<int64_t>> pay, deductible;  // [payer][line]
  std::vector<std::vector<bool>> covered;             // [payer][line]: in the payer's population
};

/// `external` reference rows by object name (cells as text, as in CSV).
using ExternalData = std::map<std::string, std::vector<std::vector<std::string>>>;

RefResult Evaluate(const dsl::Program& program, const std::vector<Line>& lines, const ExternalData& externals);

}  // namespace sanad::reference
