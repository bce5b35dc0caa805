#pragma once
/// ExprEvaluator: runs a BoundProgram over up to kChunk rows at a time,
/// column at a time. Every node writes a value array and a validity array
/// (1 = not null) for the chunk; loops are branch-free where possible so the
/// compiler vectorises them. No per-row allocation or virtual call.
/// One evaluator per thread (it owns scratch buffers).

#include <cstdint>
#include <string_view>
#include <vector>

#include "sanad/core/exec/bound_plan.h"

namespace sanad {

class ExprEvaluator {
 public:
  static constexpr int kChunk = 1024;

  explicit ExprEvaluator(const BoundPlan& bound) : bound_(bound) {}

  /// Evaluates `prog` for `n` <= kChunk rows: rows[k] when `rows` is given,
  /// else begin + k. Results stay valid until the next call.
  void Run(const BoundProgram& prog, const RowSource& src, RowIndex begin, const RowIndex* rows, int n);

  const int64_t* values() const { return root_vals_; }
  const uint8_t* valid() const { return root_valid_; }
  /// The root's string views, if the program's result is a string (else null).
  const std::string_view* strings() const { return root_strs_; }
  /// Condition view of a bool result: valid && value, as 0/1 bytes in `out`.
  void Condition(int n, uint8_t* out) const {
    for (int k = 0; k < n; ++k) out[k] = root_valid_[k] & static_cast<uint8_t>(root_vals_[k] != 0);
  }

 private:
  void Prepare(const BoundProgram& prog);
  const BoundPlan& bound_;
  const BoundProgram* prepared_ = nullptr;
  std::vector<int64_t> vals_;
  std::vector<uint8_t> valid_;
  std::vector<std::string_view> strs_;
  std::vector<int32_t> str_slot_;  // node -> slot in strs_ (-1 if not a string node)
  const int64_t* root_vals_ = nullptr;
  const uint8_t* root_valid_ = nullptr;
  const std::string_view* root_strs_ = nullptr;
};

}  // namespace sanad
