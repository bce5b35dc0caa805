#include "sanad/core/exec/settlement.h"

#include <algorithm>
#include <utility>

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include "sanad/core/exec/expr_evaluator.h"
#include "sanad/core/exec/settle/payer_step.h"

namespace sanad {
namespace {

constexpr int kChunk = ExprEvaluator::kChunk;
constexpr RowIndex kAhead = 16;  // lines ahead whose entries the scoped scan prefetches

// Fills [data, data + n) with `value` on every thread: the pages of a
// fresh buffer are faulted in (and zeroed by the kernel) in parallel.
template <typename T>
void ParallelFill(T* data, RowIndex n, T value) {
  tbb::parallel_for(tbb::blocked_range<RowIndex>(0, n, 1 << 16), [&](const tbb::blocked_range<RowIndex>& b) {
    std::fill(data + b.begin(), data + b.end(), value);
  });
}

// An int expression's value on every row: a constant, or evaluated in
// parallel chunks (absent clause: never valid, never read).
class IntColumn {
 public:
  IntColumn(const BoundPlan& bound, const BoundProgram& prog, RowIndex n) {
    if (prog.empty()) return;
    const ExprNode& root = prog.nodes[static_cast<size_t>(prog.root)];
    if (root.op == ExprOp::kConst) {
      constant_ = OptInt{!root.is_null, root.int_value};
      is_const_ = true;
      return;
    }
    values_.resize(n);  // every row written below
    tbb::enumerable_thread_specific<ExprEvaluator> evs([&] { return ExprEvaluator(bound); });
    tbb::parallel_for(RowIndex{0}, (n + kChunk - 1) / kChunk, [&](RowIndex c) {
      const RowIndex begin = c * kChunk;
      const int m = static_cast<int>(std::min<RowIndex>(kChunk, n - begin));
      ExprEvaluator& ev = evs.local();
      ev.Run(prog, bound.source, begin, nullptr, m);
      for (int k = 0; k < m; ++k) values_[begin + static_cast<RowIndex>(k)] = OptInt{ev.valid()[k] != 0, ev.values()[k]};
    });
  }
  OptInt At(RowIndex row) const { return is_const_ ? constant_ : values_.empty() ? OptInt{} : values_[row]; }
  bool SameOnEveryRow() const { return is_const_ || values_.empty(); }

 private:
  bool is_const_ = false;
  OptInt constant_;
  ColumnVector<OptInt> values_;
};

// One payer's inputs (its expressions' values per row) and outputs. `pay`
// and `deducted` are written on every row by the unscoped scan or from the
// scoped pass's line records, so they start unzeroed.
struct PayerColumns {
  PayerColumns(const BoundPlan& bound, const PayerPlan& p, const BoundPayer& bp, ColumnVector<uint8_t> when_rows, RowIndex n)
      : plan(&p), when(std::move(when_rows)), ded(bound, bp.deductible, n), ratio(bound, bp.ratio, n),
        ceiling(bound, bp.ceiling, n), line_ceiling(bound, bp.line_ceiling, n), pay(n) {
    for (const BoundProgram& l : bp.band_limits) limits.emplace_back(bound, l, n);
    if (!p.deductible.empty()) deducted.resize(n);  // else every ded_i is 0 (Settlement::Deducted)
    fixed = ded.SameOnEveryRow() && ratio.SameOnEveryRow() && ceiling.SameOnEveryRow() && line_ceiling.SameOnEveryRow();
    for (const IntColumn& l : limits) {
      fixed = fixed && l.SameOnEveryRow();
      fixed_limits.push_back(l.At(0));
    }
    fixed_values = PayerValues{ded.At(0), ratio.At(0), ceiling.At(0), line_ceiling.At(0), fixed_limits};
  }
  PayerColumns(PayerColumns&&) = default;  // fixed_values' span stays on fixed_limits' buffer
  PayerColumns(const PayerColumns&) = delete;

  // Steps 2-7 for `row`, whose scope totals are `totals` (then updated):
  // what the payer does with the line; the caller takes its pay from `left`.
  PayerStep Settle(RowIndex row, PayerTotals& totals, int64_t allowed, int64_t left, OptInt* band_values) const {
    if (fixed) {  // constant expressions (the usual payer): no per-row values to gather
      const PayerStep s = PayerSettle::Step(*plan, totals, allowed, left, fixed_values);
      PayerSettle::Accumulate(totals, s);
      return s;
    }
    PayerValues v{ded.At(row), ratio.At(row), ceiling.At(row), line_ceiling.At(row), {}};
    for (size_t k = 0; k < limits.size(); ++k) band_values[k] = limits[k].At(row);
    v.band_limits = {band_values, limits.size()};
    const PayerStep s = PayerSettle::Step(*plan, totals, allowed, left, v);
    PayerSettle::Accumulate(totals, s);
    return s;
  }

  const PayerPlan* plan;
  ColumnVector<uint8_t> when;  // 1 where the payer's `when` holds; then the population
  IntColumn ded, ratio, ceiling, line_ceiling;
  std::vector<IntColumn> limits;
  bool fixed = false;               // every expression has one value on every row:
  std::vector<OptInt> fixed_limits;  // the band limits' values,
  PayerValues fixed_values;          // and all of them
  ColumnVector<int64_t> pay, deducted;  // deducted: empty without a deductible
};

// The scoped scan visits rows at random, so all it reads and writes of a
// row lies together in one record of the pass: left, flags (bit j: payer
// j's `when` holds; bit 32 + j: payer j settled the line), allowed (unless
// no payer paid before the pass: then it is the left a line starts with),
// then each payer's pay and, with a deductible, its ded. One or two cache misses a
// line instead of two a payer plus two. Sequential passes fill the records
// and split them into the settlement's columns. The records are held in
// chunks of 2^17 lines (4 MB or more), which the buffer cache serves from what
// the evaluation freed: a fresh 300 MB mapping would cost a cold process
// more page faults than the scan saves.
class LineRecords {
 public:
  static constexpr size_t kMaxPayers = 32;  // flag bits
  static constexpr size_t kLeft = 0, kFlags = 1;

  LineRecords(std::vector<PayerColumns>& cols, const int64_t* allowed, const int64_t* left, bool left_is_allowed, RowIndex n)
      : cols_(cols), n_(n), allowed_at_(left_is_allowed ? 0 : 2) {
    size_t at = left_is_allowed ? 2 : 3;
    for (const PayerColumns& c : cols) {
      pay_at_.push_back(at++);
      ded_at_.push_back(c.deducted.empty() ? 0 : at++);
    }
    stride_ = at;  // not padded to whole cache lines: memory a cold process must fault in costs more
    chunks_.resize((n + kChunkRows - 1) / kChunkRows);
    tbb::parallel_for(size_t{0}, chunks_.size(), [&](size_t c) {
      const RowIndex begin = static_cast<RowIndex>(c * kChunkRows), end = std::min<RowIndex>(n, begin + kChunkRows);
      chunks_[c].resize(static_cast<size_t>(end - begin) * stride_);
      for (RowIndex r = begin; r < end; ++r) {
        int64_t* x = Of(r);
        std::fill(x, x + stride_, 0);
        x[kLeft] = left[r];
        if (allowed_at_) x[allowed_at_] = allowed[r];
        uint64_t flags = 0;
        for (size_t j = 0; j < cols.size(); ++j) flags |= uint64_t{cols[j].when[r] != 0} << j;
        x[kFlags] = static_cast<int64_t>(flags);
      }
    });
  }

  const int64_t* Of(RowIndex row) const {
    return chunks_[row >> kChunkShift].data() + static_cast<size_t>(row & (kChunkRows - 1)) * stride_;
  }
  int64_t* Of(RowIndex row) { return const_cast<int64_t*>(std::as_const(*this).Of(row)); }
  // Starts the loads of `row`'s record (its first and last cache line).
  void Prefetch(RowIndex row) const {
    const int64_t* x = Of(row);
    __builtin_prefetch(x, 1);
    __builtin_prefetch(x + stride_ - 1, 1);
  }
  // The line's allowed amount, read before its first payer changes its left.
  int64_t Allowed(const int64_t* x) const { return x[allowed_at_ ? allowed_at_ : kLeft]; }
  // Payer j settled the line `x` with `s`.
  void Record(int64_t* x, size_t j, const PayerStep& s) const {
    x[kFlags] |= static_cast<int64_t>(uint64_t{1} << (32 + j));
    x[pay_at_[j]] = s.pay;
    if (ded_at_[j]) x[ded_at_[j]] = s.deductible;
  }

  // Each payer's pay, ded and population, and every line's left.
  void Split(int64_t* left) {
    tbb::parallel_for(tbb::blocked_range<RowIndex>(0, n_, 1 << 14), [&](const tbb::blocked_range<RowIndex>& b) {
      for (RowIndex r = b.begin(); r < b.end(); ++r) {
        const int64_t* x = Of(r);
        left[r] = x[kLeft];
        const uint64_t flags = static_cast<uint64_t>(x[kFlags]);
        for (size_t j = 0; j < cols_.size(); ++j) {
          PayerColumns& c = cols_[j];
          c.pay[r] = x[pay_at_[j]];
          if (ded_at_[j]) c.deducted[r] = x[ded_at_[j]];
          c.when[r] = (flags >> (32 + j)) & 1;
        }
      }
    });
  }

 private:
  std::vector<PayerColumns>& cols_;
  const RowIndex n_;
  const size_t allowed_at_;              // 0: allowed is the left a line starts with
  std::vector<size_t> pay_at_, ded_at_;  // ded_at_ 0: no deductible
  size_t stride_ = 0;  // words a record
  static constexpr int kChunkShift = 17;
  static constexpr RowIndex kChunkRows = RowIndex{1} << kChunkShift;
  std::vector<ColumnVector<int64_t>> chunks_;
};

// Consecutive payers that need the same visiting order are settled in one
// pass over the lines: those with the same `per` keys (one key-partition
// order) and, apart, those without `per` (any order). A line's `left` then
// stays in a register from one payer to the next, and its row-ordered
// columns are read once per pass, not once per payer.
class Settler {
 public:
  Settler(const BoundPlan& bound, const ClaimBatch& batch, const BigVector<int64_t>& deduction, const BigVector<RowIndex>& rank,
          int groups_per_partition, const PartitionsFor& partitions, const PayerSlice& slice)
      : bound_(bound), plan_(*bound.plan), batch_(batch), n_(batch.size()), rank_(rank), gpp_(groups_per_partition),
        partitions_(partitions), first_(slice.first), last_(std::min(slice.last, plan_.payers.size())), slice_left_(slice.left) {
    out_.allowed.resize(n_);
    out_.patient.resize(n_);  // `left`, until the last payer
    const int64_t* amount = batch.column(kAmount).ints.data();
    tbb::parallel_for(tbb::blocked_range<RowIndex>(0, n_, 1 << 16), [&](const tbb::blocked_range<RowIndex>& b) {
      for (RowIndex r = b.begin(); r < b.end(); ++r) out_.allowed[r] = out_.patient[r] = amount[r] - deduction[r];
      if (slice.left) std::copy(slice.left + b.begin(), slice.left + b.end(), out_.patient.data() + b.begin());
    });
  }

  Settlement Run() {
    const std::vector<PayerPlan>& payers = plan_.payers;
    for (size_t p = first_; p < last_;) {
      size_t q = p + 1;
      while (q < last_ && q - p < LineRecords::kMaxPayers && payers[q].has_per == payers[p].has_per &&
             (!payers[p].has_per || payers[q].keys == payers[p].keys))
        ++q;
      std::vector<PayerColumns> cols;
      cols.reserve(q - p);
      for (size_t j = p; j < q; ++j) cols.emplace_back(bound_, payers[j], bound_.payers[j], Condition(bound_.payers[j].when), n_);
      if (payers[p].has_per)
        SettleScoped(cols, p == first_ && slice_left_ == nullptr);
      else
        SettleUnscoped(cols);
      for (PayerColumns& c : cols) {
        out_.pay.push_back(std::move(c.pay));
        out_.deductible.push_back(std::move(c.deducted));
        out_.covered.push_back(std::move(c.when));
      }
      p = q;
    }
    return std::move(out_);
  }

 private:
  size_t MaxBands(const std::vector<PayerColumns>& cols) const {
    size_t m = 0;
    for (const PayerColumns& c : cols) m = std::max(m, c.limits.size());
    return m;
  }

  // No scope: every line on its own (no running totals), in row order.
  void SettleUnscoped(std::vector<PayerColumns>& cols) {
    const int64_t* allowed = out_.allowed.data();
    int64_t* left = out_.patient.data();
    tbb::parallel_for(tbb::blocked_range<RowIndex>(0, n_, 1 << 14), [&](const tbb::blocked_range<RowIndex>& b) {
      std::vector<OptInt> band_values(MaxBands(cols));
      for (RowIndex row = b.begin(); row < b.end(); ++row) {
        int64_t l = left[row];
        for (PayerColumns& c : cols) {
          PayerStep s;
          if (c.when[row]) {
            PayerTotals none;
            s = c.Settle(row, none, allowed[row], l, band_values.data());
            l -= s.pay;
          }
          c.pay[row] = s.pay;  // 0 outside the population
          if (!c.deducted.empty()) c.deducted[row] = s.deductible;
        }
        left[row] = l;
      }
    });
  }

  // Payers with the same `per` keys: the lines whose keys are all present,
  // in line order per key partition, the partitions in parallel.
  // `left_is_allowed`: no payer has paid yet (every line's left is its allowed amount).
  void SettleScoped(std::vector<PayerColumns>& cols, bool left_is_allowed) {
    const std::vector<int>& keys = cols[0].plan->keys;
    const KeyPartitions* shared = partitions_ ? partitions_(keys) : nullptr;
    KeyPartitions own;
    if (shared == nullptr) own = BuildKeyPartitions(batch_, keys, rank_, gpp_);
    const KeyPartitions& kp = shared ? *shared : own;
    const Calendar cal = plan_.calendar;
    const int64_t* allowed = out_.allowed.data();
    int64_t* left = out_.patient.data();
    const size_t m = cols.size();
    LineRecords rec(cols, allowed, left, left_is_allowed, n_);
    tbb::parallel_for(0, kp.parts, [&](int part) {
      const size_t groups = static_cast<size_t>(kp.groups[static_cast<size_t>(part)]);
      std::vector<PayerTotals> totals(groups * m);  // group-major: a line's payers' totals together
      std::vector<OptInt> band_values(MaxBands(cols));
      std::vector<Days> bucket(m);
      // A partition's lines come in date order: the buckets of the last day seen are reused.
      Days last_day = INT32_MIN;
      bool have_day = false;
      const RowIndex end = kp.begin[static_cast<size_t>(part) + 1];
      for (RowIndex k = kp.begin[static_cast<size_t>(part)]; k < end; ++k) {
        // Rows come at random: the record of the line kAhead on is loaded now, so the misses overlap.
        if (k + kAhead < end) rec.Prefetch(kp.row[k + kAhead]);
        const RowIndex row = kp.row[k];
        if (!have_day || kp.day[k] != last_day) {
          have_day = true;
          last_day = kp.day[k];
          for (size_t j = 0; j < m; ++j) bucket[j] = PayerSettle::BucketOf(*cols[j].plan, cal, last_day);
        }
        PayerTotals* t = &totals[static_cast<size_t>(kp.group[k]) * m];
        int64_t* x = rec.Of(row);
        const uint64_t when = static_cast<uint64_t>(x[LineRecords::kFlags]);
        const int64_t a = rec.Allowed(x);
        int64_t l = x[LineRecords::kLeft];
        for (size_t j = 0; j < m; ++j) {
          if (!((when >> j) & 1)) continue;
          if (t[j].bucket != bucket[j]) t[j] = PayerTotals{bucket[j]};
          const PayerStep s = cols[j].Settle(row, t[j], a, l, band_values.data());
          rec.Record(x, j, s);
          l -= s.pay;
        }
        x[LineRecords::kLeft] = l;
      }
    });
    rec.Split(left);
  }

  // 1 where the payer's `when` holds (absent: every line), in parallel chunks.
  ColumnVector<uint8_t> Condition(const BoundProgram& prog) const {
    ColumnVector<uint8_t> out(n_);
    if (prog.empty()) {
      ParallelFill(out.data(), n_, uint8_t{1});
      return out;
    }
    tbb::enumerable_thread_specific<ExprEvaluator> evs([&] { return ExprEvaluator(bound_); });
    tbb::parallel_for(RowIndex{0}, (n_ + kChunk - 1) / kChunk, [&](RowIndex c) {
      const RowIndex begin = c * kChunk;
      const int m = static_cast<int>(std::min<RowIndex>(kChunk, n_ - begin));
      ExprEvaluator& ev = evs.local();
      ev.Run(prog, bound_.source, begin, nullptr, m);
      ev.Condition(m, out.data() + begin);
    });
    return out;
  }

  const BoundPlan& bound_;
  const Plan& plan_;
  const ClaimBatch& batch_;
  const RowIndex n_;
  const BigVector<RowIndex>& rank_;
  const int gpp_;
  const PartitionsFor& partitions_;
  const size_t first_, last_;  // the payers settled
  const int64_t* const slice_left_;  // PayerSlice::left
  Settlement out_;
};

}  // namespace

Settlement SettleBatch(const BoundPlan& bound, const ClaimBatch& batch, const BigVector<int64_t>& deduction,
                       const BigVector<RowIndex>& rank, int groups_per_partition, const PartitionsFor& partitions,
                       const PayerSlice& slice) {
  if (slice.first >= std::min(slice.last, bound.plan->payers.size())) return {};
  return Settler(bound, batch, deduction, rank, groups_per_partition, partitions, slice).Run();
}

}  // namespace sanad
