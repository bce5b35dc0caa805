#pragma once
/// Verdicts: the result of evaluating a rule set over a batch (DATA.md §4):
/// per line status, deduction and primary rule; every hit with its
/// deduction and evidence; per-rule statistics. Lines are in input order.

#include <cstdint>
#include <vector>

#include "sanad/core/big_vector.h"
#include "sanad/core/types.h"

namespace sanad {

enum class LineStatus : uint8_t { kAccepted = 0, kWarned = 1, kRejected = 2 };

enum class EvidenceKind : uint8_t { kNone, kLimit, kOtherLine };

/// One (line, rule) hit.
struct Hit {
  RowIndex row = 0;
  int32_t rule = 0;           // index in declaration order
  EvidenceKind evidence = EvidenceKind::kNone;
  int64_t deduction = 0;
  __int128 total = 0;         // limit: R_i, the running total
  int64_t cap = 0;            // limit: L_i
  RowIndex other = 0;         // repeat/conflict: the other line
};

struct RuleStats {
  int64_t population = 0;
  int64_t hits = 0;
  __int128 deduction = 0;  // sum of the hits' deductions
};

/// Where evaluation time went (seconds), for --timings and benchmarks.
struct EvalProfile {
  double order = 0, grouping = 0, assemble = 0, settle = 0;
  std::vector<double> stage_seconds;  // per stage, ascending
  std::vector<double> rule_seconds;   // per rule (CPU time of its task)
};

/// Who pays each line's payable amount (SETTLEMENT.md §2), when the rule
/// set declares payers; lines in input order.
struct Settlement {
  // ColumnVectors: settlement fills them in parallel (first touch on every
  // thread), not with one thread's zeroing resize.
  std::vector<ColumnVector<int64_t>> pay;         // per payer, per row: pay_i
  std::vector<ColumnVector<int64_t>> deductible;  // per payer, per row: ded_i; empty for a payer without `deductible`
  std::vector<ColumnVector<uint8_t>> covered;     // per payer, per row: in the payer's population
  ColumnVector<int64_t> allowed;                  // per row: amount - deduction
  ColumnVector<int64_t> patient;                  // per row: what no payer paid
  bool empty() const { return pay.empty(); }
  /// ded_i of payer p on row r (0 for a payer without a deductible, whose
  /// column is not kept: 8 bytes a line less of fresh memory to fault in).
  int64_t Deducted(size_t p, RowIndex r) const { return deductible[p].empty() ? 0 : deductible[p][r]; }
};

struct Verdicts {
  BigVector<LineStatus> status;
  BigVector<int64_t> deduction;
  BigVector<int32_t> primary_rule;  // -1: no hit
  BigVector<uint32_t> hit_begin;    // hits of row r: hits[hit_begin[r] .. hit_begin[r+1])
  BigVector<Hit> hits;              // by row, then rule declaration order
  std::vector<RuleStats> rules;
  Settlement settlement;  // empty without payers
  EvalProfile profile;
  bool stopped = false;   // EvalOptions::stop was set: everything above is empty
};

}  // namespace sanad
