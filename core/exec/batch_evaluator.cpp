#include "core/exec/batch_evaluator.h"

#include <algorithm>
#include <map>
#include <thread>

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "core/check.h"
#include "core/exec/expr_evaluator.h"
#include "core/exec/group_index.h"
#include "core/exec/line_order.h"

namespace sanad {
namespace {

constexpr int kChunk = ExprEvaluator::kChunk;

int64_t ClampToInt64(__int128 v) {
  if (v > INT64_MAX) return INT64_MAX;
  if (v < INT64_MIN) return INT64_MIN;
  return static_cast<int64_t>(v);
}

// Per-row calendar buckets for `per month` / `per year`, from a day-range table.
class BucketTable {
 public:
  BucketTable(const int32_t* days, RowIndex n, Calendar cal) : cal_(cal) {
    if (n == 0) return;
    auto [lo, hi] = std::minmax_element(days, days + n);
    lo_ = *lo;
    const int64_t range = static_cast<int64_t>(*hi) - lo_ + 1;
    month_.resize(static_cast<size_t>(range));
    year_.resize(static_cast<size_t>(range));
    for (int64_t i = 0; i < range; ++i) {
      YearMonthDay p = DateParts(cal, static_cast<Days>(lo_ + i));
      year_[static_cast<size_t>(i)] = p.year;
      month_[static_cast<size_t>(i)] = p.year * 12 + (p.month - 1);
    }
  }
  int32_t Bucket(Period p, Days d) const {
    switch (p) {
      case Period::kDay: return d;
      case Period::kMonth: return month_[static_cast<size_t>(d - lo_)];
      case Period::kYear: return year_[static_cast<size_t>(d - lo_)];
      default: return 0;
    }
  }

 private:
  Calendar cal_;
  int64_t lo_ = 0;
  std::vector<int32_t> month_, year_;
};

struct RuleOutput {
  std::vector<Hit> hits;
  std::vector<int64_t> v;  // limit: v_i per hit (for excess)
  int64_t population = 0;
};

class Evaluator {
 public:
  Evaluator(const BoundPlan& bound, const ClaimBatch& batch)
      : bound_(bound), plan_(*bound.plan), batch_(batch), n_(batch.size()),
        days_(batch.column(kServiceDate).codes.data()), amount_(batch.column(kAmount).ints.data()),
        buckets_(days_, n_, plan_.calendar) {}

  Verdicts Run() {
    order_ = ComputeLineOrder(batch_);
    alive_.assign(n_, 1);
    // One grouping pass per distinct key tuple, shared by the rules using it.
    std::map<std::vector<int>, size_t> key_sets;
    for (const RulePlan& r : plan_.rules)
      if (r.check != CheckKind::kNone && !key_sets.count(r.keys)) key_sets.emplace(r.keys, key_sets.size());
    groups_.resize(key_sets.size());
    std::vector<const std::vector<int>*> key_list(key_sets.size());
    for (auto& [k, i] : key_sets) key_list[i] = &k;
    tbb::parallel_for(size_t{0}, key_list.size(), [&](size_t i) { groups_[i] = BuildGroupIndex(batch_, *key_list[i]); });
    rule_group_.assign(plan_.rules.size(), -1);
    for (size_t r = 0; r < plan_.rules.size(); ++r)
      if (plan_.rules[r].check != CheckKind::kNone) rule_group_[r] = static_cast<int>(key_sets[plan_.rules[r].keys]);

    std::map<int64_t, std::vector<int>> stages;
    for (size_t r = 0; r < plan_.rules.size(); ++r) stages[plan_.rules[r].stage].push_back(static_cast<int>(r));
    std::vector<RuleOutput> outputs(plan_.rules.size());
    for (auto& [stage, rules] : stages) {
      tbb::parallel_for(size_t{0}, rules.size(), [&](size_t i) { outputs[static_cast<size_t>(rules[i])] = EvalRule(rules[i]); });
      for (int r : rules)
        if (plan_.rules[static_cast<size_t>(r)].reject)
          for (const Hit& h : outputs[static_cast<size_t>(r)].hits) alive_[h.row] = 0;
    }
    return Assemble(outputs);
  }

 private:
  // Population of rule r: alive, `when` true, keys and sum field present.
  std::vector<uint8_t> Population(int r) {
    const RulePlan& rule = plan_.rules[static_cast<size_t>(r)];
    const BoundProgram& when = bound_.rules[static_cast<size_t>(r)].when;
    const int32_t* gid = rule_group_[static_cast<size_t>(r)] >= 0 ? groups_[static_cast<size_t>(rule_group_[static_cast<size_t>(r)])].gid.data() : nullptr;
    const Column* sum = rule.is_sum ? &batch_.column(rule.sum_field) : nullptr;
    std::vector<uint8_t> pop(n_);
    tbb::enumerable_thread_specific<ExprEvaluator> evs([&] { return ExprEvaluator(bound_); });
    const RowIndex chunks = (n_ + kChunk - 1) / kChunk;
    tbb::parallel_for(RowIndex{0}, chunks, [&](RowIndex c) {
      const RowIndex begin = c * kChunk;
      const int n = static_cast<int>(std::min<RowIndex>(kChunk, n_ - begin));
      uint8_t* p = pop.data() + begin;
      const uint8_t* alive = alive_.data() + begin;
      if (!when.empty()) {
        ExprEvaluator& ev = evs.local();
        ev.Run(when, bound_.source, begin, nullptr, n);
        ev.Condition(n, p);
        for (int k = 0; k < n; ++k) p[k] &= alive[k];
      } else {
        for (int k = 0; k < n; ++k) p[k] = alive[k];
      }
      if (gid) for (int k = 0; k < n; ++k) p[k] &= static_cast<uint8_t>(gid[begin + static_cast<RowIndex>(k)] >= 0);
      if (sum && sum->nullable)
        for (int k = 0; k < n; ++k) p[k] &= static_cast<uint8_t>(sum->valid.Get(begin + static_cast<RowIndex>(k)));
    });
    return pop;
  }

  RuleOutput EvalRule(int r) {
    const RulePlan& rule = plan_.rules[static_cast<size_t>(r)];
    RuleOutput out;
    std::vector<uint8_t> pop = Population(r);
    for (RowIndex i = 0; i < n_; ++i) out.population += pop[i];
    switch (rule.check) {
      case CheckKind::kNone:
        for (RowIndex i = 0; i < n_; ++i)
          if (pop[i]) out.hits.push_back(Hit{i, r, EvidenceKind::kNone, 0, 0, 0, 0});
        break;
      case CheckKind::kLimit: ScanLimit(r, pop, out); break;
      case CheckKind::kRepeat: ScanRepeat(r, pop, out); break;
      case CheckKind::kConflictWith: ScanConflictWith(r, pop, out); break;
      case CheckKind::kConflictPairs: ScanConflictPairs(r, pop, out); break;
    }
    Deduct(r, out);
    return out;
  }

  const GroupIndex& Groups(int r) const { return groups_[static_cast<size_t>(rule_group_[static_cast<size_t>(r)])]; }

  // Calls fn(rows, n) for blocks of up to kChunk rows of the order with pop set.
  template <typename Fn>
  void ForPopulationBlocks(const std::vector<uint8_t>& pop, Fn fn) const {
    RowIndex block[kChunk];
    int n = 0;
    for (RowIndex r : order_) {
      if (!pop[r]) continue;
      block[n++] = r;
      if (n == kChunk) { fn(block, n); n = 0; }
    }
    if (n) fn(block, n);
  }

  void ScanLimit(int r, const std::vector<uint8_t>& pop, RuleOutput& out) {
    const RulePlan& rule = plan_.rules[static_cast<size_t>(r)];
    const GroupIndex& g = Groups(r);
    const int32_t* gid = g.gid.data();
    const int64_t* sum_vals = rule.is_sum ? batch_.column(rule.sum_field).ints.data() : nullptr;
    const BoundProgram& cap = bound_.rules[static_cast<size_t>(r)].cap;
    ExprEvaluator ev(bound_);
    std::vector<__int128> total(static_cast<size_t>(g.groups), 0);
    if (rule.period == Period::kRolling) {
      std::vector<int32_t> head(static_cast<size_t>(g.groups), -1), tail(static_cast<size_t>(g.groups), -1);
      std::vector<int32_t> next(n_, -1);
      const int64_t window = rule.days;
      ForPopulationBlocks(pop, [&](const RowIndex* rows, int n) {
        ev.Run(cap, bound_.source, 0, rows, n);
        for (int k = 0; k < n; ++k) {
          const RowIndex row = rows[k];
          const size_t grp = static_cast<size_t>(gid[row]);
          const int64_t v = sum_vals ? sum_vals[row] : 1;
          if (tail[grp] >= 0) next[static_cast<size_t>(tail[grp])] = static_cast<int32_t>(row);
          else head[grp] = static_cast<int32_t>(row);
          tail[grp] = static_cast<int32_t>(row);
          total[grp] += v;
          while (static_cast<int64_t>(days_[row]) - days_[head[grp]] >= window) {
            total[grp] -= sum_vals ? sum_vals[head[grp]] : 1;
            head[grp] = next[static_cast<size_t>(head[grp])];
          }
          if (ev.valid()[k] && total[grp] > ev.values()[k]) AddLimitHit(out, row, r, total[grp], ev.values()[k], v);
        }
      });
      return;
    }
    std::vector<int32_t> bucket(static_cast<size_t>(g.groups), INT32_MIN);
    ForPopulationBlocks(pop, [&](const RowIndex* rows, int n) {
      ev.Run(cap, bound_.source, 0, rows, n);
      for (int k = 0; k < n; ++k) {
        const RowIndex row = rows[k];
        const size_t grp = static_cast<size_t>(gid[row]);
        const int32_t b = buckets_.Bucket(rule.period, days_[row]);
        if (bucket[grp] != b) { bucket[grp] = b; total[grp] = 0; }
        const int64_t v = sum_vals ? sum_vals[row] : 1;
        total[grp] += v;
        if (ev.valid()[k] && total[grp] > ev.values()[k]) AddLimitHit(out, row, r, total[grp], ev.values()[k], v);
      }
    });
  }

  static void AddLimitHit(RuleOutput& out, RowIndex row, int r, __int128 total, int64_t cap, int64_t v) {
    Hit h;
    h.row = row;
    h.rule = r;
    h.evidence = EvidenceKind::kLimit;
    h.total = total;
    h.cap = cap;
    out.hits.push_back(h);
    out.v.push_back(v);
  }
  static void AddOtherHit(RuleOutput& out, RowIndex row, int r, RowIndex other) {
    Hit h;
    h.row = row;
    h.rule = r;
    h.evidence = EvidenceKind::kOtherLine;
    h.other = other;
    out.hits.push_back(h);
  }

  void ScanRepeat(int r, const std::vector<uint8_t>& pop, RuleOutput& out) {
    const GroupIndex& g = Groups(r);
    const int64_t window = plan_.rules[static_cast<size_t>(r)].days;
    std::vector<int32_t> last(static_cast<size_t>(g.groups), -1);
    for (RowIndex row : order_) {
      if (!pop[row]) continue;
      const size_t grp = static_cast<size_t>(g.gid[row]);
      const int32_t j = last[grp];
      if (j >= 0 && static_cast<int64_t>(days_[row]) - days_[j] < window) AddOtherHit(out, row, r, static_cast<RowIndex>(j));
      last[grp] = static_cast<int32_t>(row);
    }
  }

  void ScanConflictWith(int r, const std::vector<uint8_t>& pop, RuleOutput& out) {
    const GroupIndex& g = Groups(r);
    const int64_t window = plan_.rules[static_cast<size_t>(r)].days;
    const BoundProgram& cond = bound_.rules[static_cast<size_t>(r)].conflict;
    std::vector<int32_t> last(static_cast<size_t>(g.groups), -1);
    ExprEvaluator ev(bound_);
    uint8_t is_j[kChunk];
    RowIndex block[kChunk];
    int n = 0;
    auto flush = [&] {
      ev.Run(cond, bound_.source, 0, block, n);
      ev.Condition(n, is_j);
      for (int k = 0; k < n; ++k) {
        const RowIndex row = block[k];
        const size_t grp = static_cast<size_t>(g.gid[row]);
        if (pop[row]) {
          const int32_t j = last[grp];
          if (j >= 0 && static_cast<int64_t>(days_[row]) - days_[j] < window) AddOtherHit(out, row, r, static_cast<RowIndex>(j));
        }
        if (is_j[k]) last[grp] = static_cast<int32_t>(row);
      }
      n = 0;
    };
    // The j side: any line still visible at this stage with the same keys.
    for (RowIndex row : order_) {
      if (!alive_[row] || g.gid[row] < 0) continue;
      block[n++] = row;
      if (n == kChunk) flush();
    }
    if (n) flush();
  }

  void ScanConflictPairs(int r, const std::vector<uint8_t>& pop, RuleOutput& out) {
    const GroupIndex& g = Groups(r);
    const RulePlan& rule = plan_.rules[static_cast<size_t>(r)];
    const int64_t window = rule.days;
    const CodePairSet& pairs = bound_.pairs[static_cast<size_t>(rule.pairs)];
    const int32_t* code = batch_.column(kServiceCode).codes.data();
    std::vector<int32_t> head(static_cast<size_t>(g.groups), -1);
    std::vector<int32_t> prev(n_, -1);
    for (RowIndex row : order_) {
      if (!pop[row]) continue;
      const size_t grp = static_cast<size_t>(g.gid[row]);
      if (pairs.IsSecond(code[row])) {
        for (int32_t j = head[grp]; j >= 0 && static_cast<int64_t>(days_[row]) - days_[j] < window;
             j = prev[static_cast<size_t>(j)]) {
          if (pairs.Contains(code[j], code[row])) {
            AddOtherHit(out, row, r, static_cast<RowIndex>(j));
            break;
          }
        }
      }
      prev[row] = head[grp];
      head[grp] = static_cast<int32_t>(row);
    }
  }

  void Deduct(int r, RuleOutput& out) {
    const RulePlan& rule = plan_.rules[static_cast<size_t>(r)];
    switch (rule.deduct) {
      case DeductKind::kNone:
        for (Hit& h : out.hits) h.deduction = rule.reject ? amount_[h.row] : 0;
        break;
      case DeductKind::kPercent:
        for (Hit& h : out.hits)
          h.deduction = ClampToInt64(static_cast<__int128>(amount_[h.row]) * rule.percent_hundredths / 10000);
        break;
      case DeductKind::kExcess:
        for (size_t i = 0; i < out.hits.size(); ++i) {
          Hit& h = out.hits[i];
          const int64_t v = out.v[i];
          if (v <= 0) { h.deduction = 0; continue; }
          __int128 over = h.total - std::max<__int128>(h.cap, h.total - v);
          over = std::clamp<__int128>(over, 0, v);
          h.deduction = ClampToInt64(static_cast<__int128>(amount_[h.row]) * over / v);
        }
        break;
      case DeductKind::kExpr: {
        ExprEvaluator ev(bound_);
        const BoundProgram& prog = bound_.rules[static_cast<size_t>(r)].deduct_expr;
        RowIndex rows[kChunk];
        for (size_t b = 0; b < out.hits.size(); b += kChunk) {
          const int n = static_cast<int>(std::min<size_t>(kChunk, out.hits.size() - b));
          for (int k = 0; k < n; ++k) rows[k] = out.hits[b + static_cast<size_t>(k)].row;
          ev.Run(prog, bound_.source, 0, rows, n);
          for (int k = 0; k < n; ++k) {
            Hit& h = out.hits[b + static_cast<size_t>(k)];
            h.deduction = ev.valid()[k] ? std::clamp<int64_t>(ev.values()[k], 0, amount_[h.row]) : 0;
          }
        }
        break;
      }
    }
  }

  Verdicts Assemble(std::vector<RuleOutput>& outputs) {
    Verdicts v;
    v.rules.resize(plan_.rules.size());
    v.hit_begin.assign(static_cast<size_t>(n_) + 1, 0);
    size_t total = 0;
    for (size_t r = 0; r < outputs.size(); ++r) {
      RuleStats& s = v.rules[r];
      s.population = outputs[r].population;
      s.hits = static_cast<int64_t>(outputs[r].hits.size());
      for (const Hit& h : outputs[r].hits) {
        s.deduction += h.deduction;
        ++v.hit_begin[h.row + 1];
      }
      total += outputs[r].hits.size();
    }
    for (RowIndex i = 0; i < n_; ++i) v.hit_begin[i + 1] += v.hit_begin[i];
    v.hits.resize(total);
    std::vector<uint32_t> fill(v.hit_begin.begin(), v.hit_begin.end() - 1);
    for (RuleOutput& o : outputs) {  // declaration order: hits of a row stay sorted by rule
      for (const Hit& h : o.hits) v.hits[fill[h.row]++] = h;
      o = RuleOutput();
    }
    v.status.resize(n_);
    v.deduction.resize(n_);
    v.primary_rule.resize(n_);
    tbb::parallel_for(tbb::blocked_range<RowIndex>(0, n_, 4096), [&](const tbb::blocked_range<RowIndex>& range) {
      for (RowIndex row = range.begin(); row < range.end(); ++row) {
        LineStatus st = LineStatus::kAccepted;
        int64_t best = -1;
        int32_t primary = -1;
        for (uint32_t k = v.hit_begin[row]; k < v.hit_begin[row + 1]; ++k) {
          const Hit& h = v.hits[k];
          const bool reject = plan_.rules[static_cast<size_t>(h.rule)].reject;
          if (reject) st = LineStatus::kRejected;
          else if (st == LineStatus::kAccepted) st = LineStatus::kWarned;
          if (h.deduction > best) { best = h.deduction; primary = h.rule; }  // ties keep the earlier rule
        }
        v.status[row] = st;
        v.deduction[row] = primary < 0 ? 0 : std::min(best, amount_[row]);
        v.primary_rule[row] = primary;
      }
    });
    return v;
  }

  const BoundPlan& bound_;
  const Plan& plan_;
  const ClaimBatch& batch_;
  const RowIndex n_;
  const int32_t* days_;
  const int64_t* amount_;
  BucketTable buckets_;
  std::vector<RowIndex> order_;
  std::vector<uint8_t> alive_;
  std::vector<GroupIndex> groups_;
  std::vector<int> rule_group_;
};

}  // namespace

Verdicts EvaluateBatch(const BoundPlan& bound, const ClaimBatch& batch, const EvalOptions& options) {
  int threads = options.threads;
  const unsigned hw = std::thread::hardware_concurrency();
  if (threads <= 0) threads = hw ? static_cast<int>(hw) : 1;
  tbb::task_arena arena(std::min(threads, hw ? static_cast<int>(hw) : threads));
  Verdicts out;
  arena.execute([&] { out = Evaluator(bound, batch).Run(); });
  return out;
}

}  // namespace sanad
