#include "sanad/core/exec/settlement.h"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include "sanad/core/exec/expr_evaluator.h"
#include "sanad/core/exec/settle/payer_step.h"

namespace sanad {
namespace {

constexpr int kChunk = ExprEvaluator::kChunk;

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
    values_.resize(n);
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
  BigVector<OptInt> values_;
};

class Settler {
 public:
  Settler(const BoundPlan& bound, const ClaimBatch& batch, const BigVector<int64_t>& deduction, const BigVector<RowIndex>& rank,
          int groups_per_partition, const PartitionsFor& partitions)
      : bound_(bound), plan_(*bound.plan), batch_(batch), n_(batch.size()), rank_(rank), gpp_(groups_per_partition),
        partitions_(partitions) {
    out_.allowed.resize(n_);
    const int64_t* amount = batch.column(kAmount).ints.data();
    for (RowIndex r = 0; r < n_; ++r) out_.allowed[r] = amount[r] - deduction[r];
    out_.patient = out_.allowed;  // `left`, until the last payer
  }

  Settlement Run() {
    for (size_t p = 0; p < plan_.payers.size(); ++p) SettlePayer(p);
    return std::move(out_);
  }

 private:
  // One payer over every line: pay, deductible and population per row; `left` (out_.patient) reduced by the pay.
  void SettlePayer(size_t p) {
    const PayerPlan& payer = plan_.payers[p];
    const BoundPayer& bp = bound_.payers[p];
    const BigVector<uint8_t> when = Condition(bp.when);
    const IntColumn ded(bound_, bp.deductible, n_), ratio(bound_, bp.ratio, n_), ceiling(bound_, bp.ceiling, n_),
        line_ceiling(bound_, bp.line_ceiling, n_);
    std::vector<IntColumn> limits;
    for (const BoundProgram& l : bp.band_limits) limits.emplace_back(bound_, l, n_);
    BigVector<int64_t> pay(n_), deducted(n_);
    BigVector<uint8_t> covered(n_);
    const int64_t* allowed = out_.allowed.data();
    int64_t* left = out_.patient.data();
    auto settle = [&](RowIndex row, PayerTotals& totals, OptInt* band_values) {
      PayerValues v{ded.At(row), ratio.At(row), ceiling.At(row), line_ceiling.At(row), {}};
      for (size_t k = 0; k < limits.size(); ++k) band_values[k] = limits[k].At(row);
      v.band_limits = {band_values, limits.size()};
      const PayerStep s = PayerSettle::Step(payer, totals, allowed[row], left[row], v);
      PayerSettle::Accumulate(totals, s);
      covered[row] = 1;
      pay[row] = s.pay;
      deducted[row] = s.deductible;
    };
    if (!payer.has_per) {
      // No scope: every line on its own (no running totals).
      tbb::parallel_for(tbb::blocked_range<RowIndex>(0, n_, 1 << 14), [&](const tbb::blocked_range<RowIndex>& b) {
        std::vector<OptInt> band_values(limits.size());
        for (RowIndex row = b.begin(); row < b.end(); ++row) {
          if (!when[row]) continue;
          PayerTotals none;
          settle(row, none, band_values.data());
        }
      });
    } else {
      const KeyPartitions* shared = partitions_ ? partitions_(payer.keys) : nullptr;
      KeyPartitions own;
      if (shared == nullptr) own = BuildKeyPartitions(batch_, payer.keys, rank_, gpp_);
      const KeyPartitions& kp = shared ? *shared : own;  // lines whose keys are all present, in line order
      const Calendar cal = plan_.calendar;
      tbb::parallel_for(0, kp.parts, [&](int part) {
        std::vector<PayerTotals> totals(static_cast<size_t>(kp.groups[static_cast<size_t>(part)]));
        std::vector<OptInt> band_values(limits.size());
        // A partition's lines come in date order: the bucket of the last day seen is reused.
        Days last_day = INT32_MIN, last_bucket = INT32_MIN;
        for (RowIndex k = kp.begin[static_cast<size_t>(part)]; k < kp.begin[static_cast<size_t>(part) + 1]; ++k) {
          const RowIndex row = kp.row[k];
          if (!when[row]) continue;
          PayerTotals& t = totals[static_cast<size_t>(kp.group[k])];
          if (kp.day[k] != last_day || last_day == INT32_MIN) {
            last_day = kp.day[k];
            last_bucket = PayerSettle::BucketOf(payer, cal, last_day);
          }
          const Days bucket = last_bucket;
          if (t.bucket != bucket) t = PayerTotals{bucket};
          settle(row, t, band_values.data());
        }
      });
    }
    tbb::parallel_for(tbb::blocked_range<RowIndex>(0, n_, 1 << 16), [&](const tbb::blocked_range<RowIndex>& b) {
      for (RowIndex r = b.begin(); r < b.end(); ++r) left[r] -= pay[r];
    });
    out_.pay.push_back(std::move(pay));
    out_.deductible.push_back(std::move(deducted));
    out_.covered.push_back(std::move(covered));
  }

  // 1 where the payer's `when` holds (absent: every line), in parallel chunks.
  BigVector<uint8_t> Condition(const BoundProgram& prog) const {
    BigVector<uint8_t> out(n_, 1);
    if (prog.empty()) return out;
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
  Settlement out_;
};

}  // namespace

Settlement SettleBatch(const BoundPlan& bound, const ClaimBatch& batch, const BigVector<int64_t>& deduction,
                       const BigVector<RowIndex>& rank, int groups_per_partition, const PartitionsFor& partitions) {
  if (bound.plan->payers.empty()) return {};
  return Settler(bound, batch, deduction, rank, groups_per_partition, partitions).Run();
}

}  // namespace sanad
