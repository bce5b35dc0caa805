#pragma once
/// BoundPlan: a Plan resolved against one batch's dictionaries.
///  - every subexpression that reads exactly one string field (e.g.
///    `service_code in gp_visits`, `fund == "rural"`, `tariff[service_code]`)
///    is evaluated once per dictionary code and becomes a gather from a
///    per-code table (kCodeTable);
///  - sets and table keys become hash lookups; `conflict pairs` tables become
///    a hash set of (code, code) of the batch's service_code dictionary;
///  - dated objects (LANGUAGE.md §2.1) keep each key's periods; a subexpression
///    over one string field and dated lookups keyed by it is tabulated per
///    (code, period) and resolves the line's date with a short scan
///    (kDatedCodeTable).
/// Immutable after Bind(); safe to share across threads. The batch must
/// outlive it.

#include <algorithm>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <span>
#include <vector>

#include "sanad/core/claim_batch.h"
#include "sanad/core/exec/plan.h"
#include "sanad/core/exec/row_source.h"
#include "sanad/core/status.h"

namespace sanad {

/// An expression program ready to run: nodes plus the live evaluation order.
struct BoundProgram {
  std::vector<ExprNode> nodes;
  std::vector<int32_t> order;  // children before parents, only nodes reachable from root
  int32_t root = -1;
  bool empty() const { return root < 0; }
};

/// Per-code values of a tabulated subexpression; index code + 1 (0 = null field).
/// A dated one (kDatedCodeTable) holds, per code, one value per period in
/// which every dated lookup of the subexpression is constant: code c's
/// periods are slots [epoch_begin[c + 1], epoch_begin[c + 2]), each starting
/// on epoch_start[slot] and lasting until the next one starts.
struct CodeTable {
  int field = -1;
  std::vector<int64_t> values;
  std::vector<uint8_t> valid;
  BoundProgram sub;  // the subexpression, to tabulate codes added later (online)
  bool dated = false;
  std::vector<uint32_t> epoch_begin;  // dated: code + 1 -> first slot; one more entry than codes + 1
  std::vector<Days> epoch_start;      // dated: by slot
  size_t codes() const { return dated ? (epoch_begin.empty() ? 0 : epoch_begin.size() - 1) : values.size(); }
  /// The slot of code c (>= -1) on day d (dated): the last of the code's
  /// periods starting on or before d (the first starts at INT32_MIN). A
  /// branch-free count: a code has few periods, and lines of one code take
  /// the same trip count whatever their dates.
  uint32_t Slot(int32_t c, Days d) const {
    const uint32_t s = epoch_begin[static_cast<size_t>(c) + 1];
    const uint32_t e = epoch_begin[static_cast<size_t>(c) + 2];
    if (e - s > 16)  // many periods (a tariff changed often): binary search
      return static_cast<uint32_t>(std::upper_bound(epoch_start.begin() + s + 1, epoch_start.begin() + e, d) - epoch_start.begin()) - 1;
    uint32_t later = 0;
    for (uint32_t k = s + 1; k < e; ++k) later += static_cast<uint32_t>(epoch_start[k] <= d);
    return s + later;
  }
};

/// Dated reference entries grouped by key (LANGUAGE.md §2.1): key id -> the
/// periods of its entries, sorted by valid_from and disjoint (the loader
/// refuses overlaps), so the entry in force on a day is a short forward scan.
struct DatedIndex {
  std::vector<uint32_t> begin;   // key id -> first position; keys + 1 entries
  std::vector<Validity> period;  // by position
  std::vector<int32_t> entry;    // by position: the entry's index in the Plan object
  /// key_of_entry[e] is entry e's key id (< keys).
  void Build(const std::vector<int32_t>& key_of_entry, int32_t keys, const std::vector<Validity>& periods);
  /// The entry of `key` in force on d, or -1 (also for key -1).
  int32_t Find(int32_t key, Days d) const {
    if (key < 0 || static_cast<size_t>(key) + 1 >= begin.size()) return -1;
    uint32_t p = begin[static_cast<size_t>(key)];
    const uint32_t e = begin[static_cast<size_t>(key) + 1];
    if (e - p > 16) {  // many periods: the last starting on or before d
      p = static_cast<uint32_t>(std::upper_bound(period.begin() + p, period.begin() + e, d,
                                                 [](Days x, const Validity& v) { return x < v.from; }) - period.begin());
      if (p == begin[static_cast<size_t>(key)]) return -1;
      return d <= period[p - 1].to ? entry[p - 1] : -1;
    }
    for (; p < e; ++p) {
      if (d < period[p].from) return -1;
      if (d <= period[p].to) return entry[p];
    }
    return -1;
  }
  /// The periods of `key` (for the breakpoints of a dated code table).
  std::span<const Validity> PeriodsOf(int32_t key) const {
    if (key < 0 || static_cast<size_t>(key) + 1 >= begin.size()) return {};
    return {period.data() + begin[static_cast<size_t>(key)], begin[static_cast<size_t>(key) + 1] - begin[static_cast<size_t>(key)]};
  }
};

/// A set's members by id; a dated set's ids carry their periods.
struct BoundSet {
  ValueType type = ValueType::kString;
  bool dated = false;
  StringDictionary strings;                       // member -> id (string members)
  std::unordered_map<int64_t, int32_t> ints;      // member -> id (other members)
  DatedIndex periods;                             // dated: id -> periods
  int32_t IdOf(std::string_view s) const { return strings.Find(s); }
  int32_t IdOf(int64_t v) const {
    auto it = ints.find(v);
    return it == ints.end() ? -1 : it->second;
  }
  /// Whether member id `id` (-1: not a member) is in the set on day d.
  bool Holds(int32_t id, Days d) const { return id >= 0 && (!dated || periods.Find(id, d) >= 0); }
};

/// A table's keys by id; undated, a key's id is its entry; dated, the entry
/// in force on the line's day is looked up in `periods`.
struct BoundTable {
  ValueType key_type = ValueType::kString, value_type = ValueType::kInt;
  bool dated = false;
  StringDictionary key_strings;                  // key -> key id (string keys)
  std::unordered_map<int64_t, int32_t> key_ints; // key -> key id (other keys)
  std::vector<int64_t> value_ints;               // by entry
  std::vector<std::string> value_strings;
  DatedIndex periods;                            // dated: key id -> entries
  int32_t IdOf(std::string_view s) const { return key_strings.Find(s); }
  int32_t IdOf(int64_t v) const {
    auto it = key_ints.find(v);
    return it == key_ints.end() ? -1 : it->second;
  }
  /// The entry of key id `id` on day d, or -1.
  int32_t EntryOf(int32_t id, Days d) const { return dated ? periods.Find(id, d) : id; }
  const DatedIndex* Periods() const { return dated ? &periods : nullptr; }
};

/// Whether a pair (a, b) holds on a day: absent (or not in force), in force,
/// or in force but marked bypassable (LANGUAGE.md §2.1).
enum class PairState : uint8_t { kAbsent, kInForce, kBypassable };

/// Open-addressing set of (first, second) service-code pairs; dated pairs
/// also map each pair to its periods and bypass flags.
class CodePairSet {
 public:
  void Build(const std::vector<uint64_t>& pairs);
  /// Dated: keys[e], periods[e], bypass[e] per entry (a pair may have several disjoint periods).
  void BuildDated(const std::vector<uint64_t>& keys, const std::vector<Validity>& periods, const std::vector<uint8_t>& bypass);
  bool Contains(int32_t first, int32_t second) const { return SlotOf(first, second) >= 0; }
  /// The state of (first, second) on the later line's day d.
  PairState At(int32_t first, int32_t second, Days d) const {
    const int64_t slot = SlotOf(first, second);
    if (slot < 0) return PairState::kAbsent;
    if (!dated_) return PairState::kInForce;
    const int32_t e = periods_.Find(ids_[static_cast<size_t>(slot)], d);
    if (e < 0) return PairState::kAbsent;
    return bypass_[static_cast<size_t>(e)] ? PairState::kBypassable : PairState::kInForce;
  }
  bool dated() const { return dated_; }
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
  int64_t SlotOf(int32_t first, int32_t second) const {
    if (mask_ == 0) return -1;
    const uint64_t key = Key(first, second);
    for (uint64_t i = Mix(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == kEmpty) return -1;
      if (slots_[i] == key) return static_cast<int64_t>(i);
    }
  }
  // Inserts key if new; returns its slot and whether it was new.
  std::pair<uint64_t, bool> Insert(uint64_t key);
  void Reset(size_t expected);
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
  bool dated_ = false;
  std::vector<int32_t> ids_;     // dated: by slot, the pair's id in periods_
  DatedIndex periods_;           // dated: pair id -> entries
  std::vector<uint8_t> bypass_;  // dated: by entry
};

struct BoundRule {
  BoundProgram when, cap, conflict, deduct_expr, unless;
};

/// A payer's expressions (SETTLEMENT.md §1), bound like a rule's.
struct BoundPayer {
  BoundProgram when, deductible, ratio, ceiling, line_ceiling;
  std::vector<BoundProgram> band_limits;
};

struct BoundPlan {
  const Plan* plan = nullptr;
  RowSource source;
  std::vector<BoundSet> sets;
  std::vector<BoundTable> tables;
  std::vector<CodePairSet> pairs;
  std::vector<CodeTable> code_tables;
  std::vector<BoundRule> rules;
  std::vector<BoundPayer> payers;
};

/// Every `external` set, table and pairs of `plan` has its data; else
/// NotFound naming the first one without. Evaluate, the online engine and
/// the Python module refuse to start on such a plan (an unbound object
/// would otherwise read as empty).
Status CheckReferencesBound(const Plan& plan);

/// Binds `plan` to `batch` (whose schema must equal the plan's).
std::unique_ptr<BoundPlan> Bind(const Plan& plan, const ClaimBatch& batch);

/// After `batch` (the one `bound` was bound to) grew its dictionaries,
/// tabulates the new codes so kCodeTable lookups cover them. Used by the
/// online engine, whose history store gains strings as claims arrive.
void ExtendCodeTables(BoundPlan& bound, const ClaimBatch& batch);

}  // namespace sanad
