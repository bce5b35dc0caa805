#include "sanad/core/exec/settlement.h"

#include <algorithm>

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

template <typename T>
ColumnVector<T> Zeroed(RowIndex n) {
  ColumnVector<T> v(n);
  ParallelFill(v.data(), n, T{0});
  return v;
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

 private:
  bool is_const_ = false;
  OptInt constant_;
  ColumnVector<OptInt> values_;
};

// One payer's inputs (its expressions' values per row) and outputs.
struct PayerColumns {
  PayerColumns(const BoundPlan& bound, const PayerPlan& p, const BoundPayer& bp, ColumnVector<uint8_t> when_rows, RowIndex n)
      : plan(&p), when(std::move(when_rows)), ded(bound, bp.deductible, n), ratio(bound, bp.ratio, n),
        ceiling(bound, bp.ceiling, n), line_ceiling(bound, bp.line_ceiling, n), pay(Zeroed<int64_t>(n)) {
    for (const BoundProgram& l : bp.band_limits) limits.emplace_back(bound, l, n);
    if (!p.deductible.empty()) deducted = Zeroed<int64_t>(n);  // else every ded_i is 0 (Settlement::Deducted)
  }

  // Steps 2-7 for `row`, whose scope totals are `totals`; records the line
  // and returns the pay (taken from `left` by the caller).
  int64_t Settle(RowIndex row, PayerTotals& totals, int64_t allowed, int64_t left, OptInt* band_values) {
    PayerValues v{ded.At(row), ratio.At(row), ceiling.At(row), line_ceiling.At(row), {}};
    for (size_t k = 0; k < limits.size(); ++k) band_values[k] = limits[k].At(row);
    v.band_limits = {band_values, limits.size()};
    const PayerStep s = PayerSettle::Step(*plan, totals, allowed, left, v);
    PayerSettle::Accumulate(totals, s);
    when[row] = kSettled;
    pay[row] = s.pay;
    if (!deducted.empty()) deducted[row] = s.deductible;
    return s.pay;
  }

  // `when` becomes the population: the lines settled (a scoped payer does
  // not settle a line with a null key). One sequential pass.
  ColumnVector<uint8_t> TakeCovered() {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, when.size(), 1 << 18), [&](const tbb::blocked_range<size_t>& b) {
      for (size_t r = b.begin(); r < b.end(); ++r) when[r] = when[r] == kSettled;
    });
    return std::move(when);
  }

  // Starts the loads of `row`'s entries (the scoped scan visits rows at random).
  void Prefetch(RowIndex row) const {
    __builtin_prefetch(when.data() + row, 1);
    __builtin_prefetch(pay.data() + row, 1);
    if (!deducted.empty()) __builtin_prefetch(deducted.data() + row, 1);
  }

  static constexpr uint8_t kSettled = 2;  // in `when`: the line was settled

  const PayerPlan* plan;
  ColumnVector<uint8_t> when;  // 1 where the payer's `when` holds, kSettled once settled
  IntColumn ded, ratio, ceiling, line_ceiling;
  std::vector<IntColumn> limits;
  ColumnVector<int64_t> pay, deducted;  // deducted: empty without a deductible
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
        partitions_(partitions), first_(slice.first), last_(std::min(slice.last, plan_.payers.size())) {
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
      while (q < last_ && payers[q].has_per == payers[p].has_per && (!payers[p].has_per || payers[q].keys == payers[p].keys))
        ++q;
      std::vector<PayerColumns> cols;
      cols.reserve(q - p);
      for (size_t j = p; j < q; ++j) cols.emplace_back(bound_, payers[j], bound_.payers[j], Condition(bound_.payers[j].when), n_);
      if (payers[p].has_per)
        SettleScoped(cols);
      else
        SettleUnscoped(cols);
      for (PayerColumns& c : cols) {
        out_.pay.push_back(std::move(c.pay));
        out_.deductible.push_back(std::move(c.deducted));
        out_.covered.push_back(c.TakeCovered());
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
          if (!c.when[row]) continue;
          PayerTotals none;
          l -= c.Settle(row, none, allowed[row], l, band_values.data());
        }
        left[row] = l;
      }
    });
  }

  // Payers with the same `per` keys: the lines whose keys are all present,
  // in line order per key partition, the partitions in parallel.
  void SettleScoped(std::vector<PayerColumns>& cols) {
    const std::vector<int>& keys = cols[0].plan->keys;
    const KeyPartitions* shared = partitions_ ? partitions_(keys) : nullptr;
    KeyPartitions own;
    if (shared == nullptr) own = BuildKeyPartitions(batch_, keys, rank_, gpp_);
    const KeyPartitions& kp = shared ? *shared : own;
    const Calendar cal = plan_.calendar;
    const int64_t* allowed = out_.allowed.data();
    int64_t* left = out_.patient.data();
    const size_t m = cols.size();
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
        // Rows come at random: the loads of the line kAhead on start now, so the misses overlap.
        if (k + kAhead < end) {
          const RowIndex ahead = kp.row[k + kAhead];
          __builtin_prefetch(allowed + ahead);
          __builtin_prefetch(left + ahead, 1);
          for (const PayerColumns& c : cols) c.Prefetch(ahead);
        }
        const RowIndex row = kp.row[k];
        if (!have_day || kp.day[k] != last_day) {
          have_day = true;
          last_day = kp.day[k];
          for (size_t j = 0; j < m; ++j) bucket[j] = PayerSettle::BucketOf(*cols[j].plan, cal, last_day);
        }
        PayerTotals* t = &totals[static_cast<size_t>(kp.group[k]) * m];
        int64_t l = left[row];
        for (size_t j = 0; j < m; ++j) {
          PayerColumns& c = cols[j];
          if (!c.when[row]) continue;
          if (t[j].bucket != bucket[j]) t[j] = PayerTotals{bucket[j]};
          l -= c.Settle(row, t[j], allowed[row], l, band_values.data());
        }
        left[row] = l;
      }
    });
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
