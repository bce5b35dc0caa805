#pragma once
/// BoundPlan: a Plan resolved against one batch's dictionaries.
///  - every subexpression that reads exactly one string field (e.g.
///    `service_code in gp_visits`, `fund == "rural"`, `tariff[service_code]`)
///    is evaluated once per dictionary code and becomes a gather from a
///    per-code table (kCodeTable);
///  - sets and table keys become hash lookups; `conflict pairs` tables become
///    a hash set of (code, code) of the batch's service_code dictionary.
/// Immutable after Bind(); safe to share across threads. The batch must
/// outlive it.

#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <span>
#include <vector>

#include "core/claim_batch.h"
#include "core/exec/plan.h"
#include "core/exec/row_source.h"

namespace sanad {

/// An expression program ready to run: nodes plus the live evaluation order.
struct BoundProgram {
  std::vector<ExprNode> nodes;
  std::vector<int32_t> order;  // children before parents, only nodes reachable from root
  int32_t root = -1;
  bool empty() const { return root < 0; }
};

/// Per-code values of a tabulated subexpression; index code + 1 (0 = null field).
struct CodeTable {
  int field = -1;
  std::vector<int64_t> values;
  std::vector<uint8_t> valid;
  BoundProgram sub;  // the subexpression, to tabulate codes added later (online)
};

struct BoundSet {
  ValueType type = ValueType::kString;
  StringDictionary strings;
  std::unordered_set<int64_t> ints;
};

struct BoundTable {
  ValueType key_type = ValueType::kString, value_type = ValueType::kInt;
  StringDictionary key_strings;                  // key -> entry index (string keys)
  std::unordered_map<int64_t, int32_t> key_ints; // key -> entry index (other keys)
  std::vector<int64_t> value_ints;
  std::vector<std::string> value_strings;
};

/// Open-addressing set of (first, second) service-code pairs.
class CodePairSet {
 public:
  void Build(const std::vector<uint64_t>& pairs);
  bool Contains(int32_t first, int32_t second) const {
    if (mask_ == 0) return false;
    const uint64_t key = Key(first, second);
    for (uint64_t i = Mix(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == kEmpty) return false;
      if (slots_[i] == key) return true;
    }
  }
  /// Whether `code` is the second element of any pair (a fast reject).
  bool IsSecond(int32_t code) const {
    return code >= 0 && static_cast<size_t>(code) < second_.size() && second_[static_cast<size_t>(code)];
  }
  /// The first codes a of the pairs (a, code), each once, in no particular
  /// order. Thread-safe; the index behind it is built on the first call.
  std::span<const int32_t> FirstsOf(int32_t code) const;
  size_t size() const { return count_; }
  static uint64_t Key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t Mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
  }
  std::vector<uint64_t> slots_;
  std::vector<uint8_t> second_;
  struct FirstsIndex {
    std::once_flag once;
    std::vector<uint32_t> begin;  // by second code: where its first codes start
    std::vector<int32_t> firsts;
  };
  std::unique_ptr<FirstsIndex> firsts_ = std::make_unique<FirstsIndex>();
  uint64_t mask_ = 0;
  size_t count_ = 0;
};

struct BoundRule {
  BoundProgram when, cap, conflict, deduct_expr;
};

struct BoundPlan {
  const Plan* plan = nullptr;
  RowSource source;
  std::vector<BoundSet> sets;
  std::vector<BoundTable> tables;
  std::vector<CodePairSet> pairs;
  std::vector<CodeTable> code_tables;
  std::vector<BoundRule> rules;
};

/// Binds `plan` to `batch` (whose schema must equal the plan's).
std::unique_ptr<BoundPlan> Bind(const Plan& plan, const ClaimBatch& batch);

/// After `batch` (the one `bound` was bound to) grew its dictionaries,
/// tabulates the new codes so kCodeTable lookups cover them. Used by the
/// online engine, whose history store gains strings as claims arrive.
void ExtendCodeTables(BoundPlan& bound, const ClaimBatch& batch);

}  // namespace sanad
