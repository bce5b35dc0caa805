#include "core/exec/batch_evaluator.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "core/big_vector.h"
#include "core/check.h"
#include "core/exec/deduction.h"
#include "core/exec/expr_evaluator.h"
#include "core/exec/group_index.h"
#include "core/exec/line_order.h"

namespace sanad {
namespace {

constexpr int kChunk = ExprEvaluator::kChunk;

// Per-row calendar buckets for `per month` / `per year`, from a day-range table.
class BucketTable {
 public:
  BucketTable(const int32_t* days, RowIndex n, Calendar cal) {
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
  int64_t lo_ = 0;
  BigVector<int32_t> month_, year_;
};

struct RuleOutput {
  BigVector<Hit> hits;
  BigVector<int64_t> v;  // limit: v_i per hit (for excess)
  int64_t population = 0;
};

class Evaluator {
 public:
  Evaluator(const BoundPlan& bound, const ClaimBatch& batch)
      : bound_(bound), plan_(*bound.plan), batch_(batch), n_(batch.size()),
        days_(batch.column(kServiceDate).codes.data()), amount_(batch.column(kAmount).ints.data()),
        buckets_(days_, n_, plan_.calendar) {}

  Verdicts Run() {
    using Clock = std::chrono::steady_clock;
    auto secs = [](Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); };
    EvalProfile prof;
    auto t = Clock::now();
    order_ = ComputeLineOrder(batch_);
    rank_.resize(n_);
    days_s_.resize(n_);
    tbb::parallel_for(tbb::blocked_range<RowIndex>(0, n_, 1 << 16), [&](const tbb::blocked_range<RowIndex>& b) {
      for (RowIndex k = b.begin(); k < b.end(); ++k) {
        rank_[order_[k]] = k;
        days_s_[k] = days_[order_[k]];
      }
    });
    alive_.assign(n_, 1);
    alive_s_.assign(n_, 1);
    prof.order = secs(t);
    t = Clock::now();
    // One grouping pass per distinct key tuple, shared by the rules using it;
    // group ids are then laid out in line order for the scans.
    std::map<std::vector<int>, size_t> key_sets;
    for (const RulePlan& r : plan_.rules)
      if (r.check != CheckKind::kNone && !key_sets.count(r.keys)) key_sets.emplace(r.keys, key_sets.size());
    groups_.resize(key_sets.size());
    gid_s_.resize(key_sets.size());
    std::vector<const std::vector<int>*> key_list(key_sets.size());
    for (auto& [k, i] : key_sets) key_list[i] = &k;
    tbb::parallel_for(size_t{0}, key_list.size(), [&](size_t i) {
      groups_[i] = BuildGroupIndex(batch_, *key_list[i]);
      gid_s_[i] = Gather(groups_[i].gid);
      RenumberInLineOrder(gid_s_[i], groups_[i].groups);
      BigVector<int32_t>().swap(groups_[i].gid);  // only the line-order ids are used from here on
    });
    rule_group_.assign(plan_.rules.size(), -1);
    for (size_t r = 0; r < plan_.rules.size(); ++r)
      if (plan_.rules[r].check != CheckKind::kNone) rule_group_[r] = static_cast<int>(key_sets[plan_.rules[r].keys]);
    // Sorted copies of the int fields that `sum()` reads, and of service codes for pairs.
    for (const RulePlan& r : plan_.rules) {
      if (r.is_sum && !sorted_ints_.count(r.sum_field)) {
        sorted_ints_[r.sum_field] = Gather(batch_.column(r.sum_field).ints);
        if (batch_.column(r.sum_field).nullable) {
          BigVector<uint8_t> valid(n_);
          const Column& c = batch_.column(r.sum_field);
          for (RowIndex k = 0; k < n_; ++k) valid[k] = c.valid.Get(order_[k]);
          sorted_valid_[r.sum_field] = std::move(valid);
        }
      }
      if (r.check == CheckKind::kConflictPairs && codes_s_.empty()) codes_s_ = Gather(batch_.column(kServiceCode).codes);
    }
    prof.grouping = secs(t);
    prof.rule_seconds.assign(plan_.rules.size(), 0);

    std::map<int64_t, std::vector<int>> stages;
    for (size_t r = 0; r < plan_.rules.size(); ++r) stages[plan_.rules[r].stage].push_back(static_cast<int>(r));
    std::vector<RuleOutput> outputs(plan_.rules.size());
    for (auto& stage_rules : stages) {
      const std::vector<int>& rules = stage_rules.second;
      t = Clock::now();
      tbb::parallel_for(size_t{0}, rules.size(), [&](size_t i) {
        const auto rt = Clock::now();
        outputs[static_cast<size_t>(rules[i])] = EvalRule(rules[i]);
        prof.rule_seconds[static_cast<size_t>(rules[i])] = secs(rt);
      });
      for (int r : rules)
        if (plan_.rules[static_cast<size_t>(r)].reject)
          for (const Hit& h : outputs[static_cast<size_t>(r)].hits) {
            alive_[h.row] = 0;
            alive_s_[rank_[h.row]] = 0;
          }
      prof.stage_seconds.push_back(secs(t));
    }
    t = Clock::now();
    Verdicts v = Assemble(outputs);
    prof.assemble = secs(t);
    v.profile = std::move(prof);
    return v;
  }

 private:
  // values[order[k]] for every k: a column laid out in line order.
  template <typename T, typename A>
  BigVector<T> Gather(const std::vector<T, A>& values) const {
    BigVector<T> out(n_);
    tbb::parallel_for(tbb::blocked_range<RowIndex>(0, n_, 1 << 16), [&](const tbb::blocked_range<RowIndex>& b) {
      for (RowIndex k = b.begin(); k < b.end(); ++k) out[k] = values[order_[k]];
    });
    return out;
  }

  // Renumbers group ids by first appearance in line order, so groups that are
  // active at the same time (a claim's lines, a day's visits) have nearby ids
  // and per-group state is touched almost sequentially by the scans.
  static void RenumberInLineOrder(BigVector<int32_t>& gid_s, int32_t groups) {
    BigVector<int32_t> renamed(static_cast<size_t>(groups), -1);
    int32_t next = 0;
    for (int32_t& g : gid_s) {
      if (g < 0) continue;
      int32_t& r = renamed[static_cast<size_t>(g)];
      if (r < 0) r = next++;
      g = r;
    }
  }

  // Evaluates a condition for every line in input order (vectorised), AND-ed with `mask`.
  BigVector<uint8_t> ConditionInInputOrder(const BoundProgram& prog, const BigVector<uint8_t>& mask) {
    BigVector<uint8_t> out(n_);
    tbb::enumerable_thread_specific<ExprEvaluator> evs([&] { return ExprEvaluator(bound_); });
    const RowIndex chunks = (n_ + kChunk - 1) / kChunk;
    tbb::parallel_for(RowIndex{0}, chunks, [&](RowIndex c) {
      const RowIndex begin = c * kChunk;
      const int n = static_cast<int>(std::min<RowIndex>(kChunk, n_ - begin));
      ExprEvaluator& ev = evs.local();
      ev.Run(prog, bound_.source, begin, nullptr, n);
      ev.Condition(n, out.data() + begin);
      for (int k = 0; k < n; ++k) out[begin + static_cast<RowIndex>(k)] &= mask[begin + static_cast<RowIndex>(k)];
    });
    return out;
  }

  // Population of rule r in line order: visible, `when` true, keys and sum field present.
  BigVector<uint8_t> Population(int r) {
    const RulePlan& rule = plan_.rules[static_cast<size_t>(r)];
    const BoundProgram& when = bound_.rules[static_cast<size_t>(r)].when;
    const int32_t* gid = rule_group_[static_cast<size_t>(r)] >= 0 ? gid_s_[static_cast<size_t>(rule_group_[static_cast<size_t>(r)])].data() : nullptr;
    const uint8_t* sum_valid = nullptr;
    if (rule.is_sum) {
      auto it = sorted_valid_.find(rule.sum_field);
      if (it != sorted_valid_.end()) sum_valid = it->second.data();
    }
    BigVector<uint8_t> pop;
    if (!when.empty()) {
      BigVector<uint8_t> in_input = ConditionInInputOrder(when, alive_);
      pop = Gather(in_input);
    } else {
      pop = alive_s_;
    }
    uint8_t* p = pop.data();
    if (gid) for (RowIndex k = 0; k < n_; ++k) p[k] &= static_cast<uint8_t>(gid[k] >= 0);
    if (sum_valid) for (RowIndex k = 0; k < n_; ++k) p[k] &= sum_valid[k];
    return pop;
  }

  RuleOutput EvalRule(int r) {
    const RulePlan& rule = plan_.rules[static_cast<size_t>(r)];
    RuleOutput out;
    if (rule.check == CheckKind::kNone) {
      // No stateful check: the population is the hit list, in input order; no line order needed.
      const BoundProgram& when = bound_.rules[static_cast<size_t>(r)].when;
      BigVector<uint8_t> pop = when.empty() ? alive_ : ConditionInInputOrder(when, alive_);
      for (RowIndex row = 0; row < n_; ++row)
        if (pop[row]) out.hits.push_back(Hit{row, r, EvidenceKind::kNone, 0, 0, 0, 0});
      out.population = static_cast<int64_t>(out.hits.size());
      Deduct(r, out);
      return out;
    }
    BigVector<uint8_t> pop = Population(r);
    for (RowIndex k = 0; k < n_; ++k) out.population += pop[k];
    switch (rule.check) {
      case CheckKind::kNone:
        for (RowIndex k = 0; k < n_; ++k)
          if (pop[k]) out.hits.push_back(Hit{order_[k], r, EvidenceKind::kNone, 0, 0, 0, 0});
        break;
      case CheckKind::kLimit: ScanLimit(r, pop, out); break;
      case CheckKind::kRepeat: ScanRepeat(r, pop, out); break;
      case CheckKind::kConflictWith: ScanConflictWith(r, pop, out); break;
      case CheckKind::kConflictPairs: ScanConflictPairs(r, pop, out); break;
    }
    Deduct(r, out);
    return out;
  }

  const int32_t* SortedGroups(int r) const { return gid_s_[static_cast<size_t>(rule_group_[static_cast<size_t>(r)])].data(); }
  int32_t GroupCount(int r) const { return groups_[static_cast<size_t>(rule_group_[static_cast<size_t>(r)])].groups; }

  // The cap of a limit: a constant, or evaluated per block of population lines.
  class CapSource {
   public:
    CapSource(const BoundPlan& bound, const BoundProgram& cap) : cap_(cap), ev_(bound) {
      const ExprNode& root = cap.nodes[static_cast<size_t>(cap.root)];
      constant_ = root.op == ExprOp::kConst;
      const_valid_ = !root.is_null;
      const_value_ = root.i;
    }
    void Load(const RowSource& src, const RowIndex* rows, int n) {
      if (!constant_) ev_.Run(cap_, src, 0, rows, n);
    }
    bool Valid(int k) const { return constant_ ? const_valid_ : ev_.valid()[k] != 0; }
    int64_t Value(int k) const { return constant_ ? const_value_ : ev_.values()[k]; }

   private:
    const BoundProgram& cap_;
    ExprEvaluator ev_;
    bool constant_ = false, const_valid_ = false;
    int64_t const_value_ = 0;
  };

  // Calls fn(ks, rows, n) for blocks of up to kChunk population lines in line order.
  template <typename Fn>
  void ForPopulationBlocks(const BigVector<uint8_t>& pop, Fn fn) const {
    // Branch-free compaction: populations are often near half the lines,
    // where a branch per line mispredicts constantly.
    RowIndex ks[kChunk], rows[kChunk];  // a block spans at most kChunk lines
    const uint8_t* p = pop.data();
    RowIndex k = 0;
    while (k < n_) {
      int n = 0;
      const RowIndex stop = std::min<RowIndex>(n_, k + kChunk);  // at most kChunk lines per block
      for (; k < stop; ++k) {
        ks[n] = k;
        n += p[k] != 0;
      }
      if (n == 0) continue;
      for (int i = 0; i < n; ++i) rows[i] = order_[ks[i]];
      fn(ks, rows, n);
    }
  }

  void ScanLimit(int r, const BigVector<uint8_t>& pop, RuleOutput& out) {
    const RulePlan& rule = plan_.rules[static_cast<size_t>(r)];
    const int32_t* gid = SortedGroups(r);
    const size_t groups = static_cast<size_t>(GroupCount(r));
    const int64_t* vals = rule.is_sum ? sorted_ints_.at(rule.sum_field).data() : nullptr;
    CapSource cap(bound_, bound_.rules[static_cast<size_t>(r)].cap);
    BigVector<__int128> total(groups, 0);
    const int32_t* day = days_s_.data();
    if (rule.period == Period::kRolling) {
      BigVector<int32_t> head(groups, -1), tail(groups, -1);
      BigVector<int32_t> next(n_, -1);
      const int64_t window = rule.days;
      ForPopulationBlocks(pop, [&](const RowIndex* ks, const RowIndex* rows, int n) {
        cap.Load(bound_.source, rows, n);
        for (int i = 0; i < n; ++i) {
          const RowIndex k = ks[i];
          const size_t grp = static_cast<size_t>(gid[k]);
          const int64_t v = vals ? vals[k] : 1;
          if (tail[grp] >= 0) next[static_cast<size_t>(tail[grp])] = static_cast<int32_t>(k);
          else head[grp] = static_cast<int32_t>(k);
          tail[grp] = static_cast<int32_t>(k);
          total[grp] += v;
          while (static_cast<int64_t>(day[k]) - day[head[grp]] >= window) {
            total[grp] -= vals ? vals[head[grp]] : 1;
            head[grp] = next[static_cast<size_t>(head[grp])];
          }
          if (cap.Valid(i) && total[grp] > cap.Value(i)) AddLimitHit(out, rows[i], r, total[grp], cap.Value(i), v);
        }
      });
      return;
    }
    BigVector<int32_t> bucket(groups, INT32_MIN);
    ForPopulationBlocks(pop, [&](const RowIndex* ks, const RowIndex* rows, int n) {
      cap.Load(bound_.source, rows, n);
      for (int i = 0; i < n; ++i) {
        const RowIndex k = ks[i];
        const size_t grp = static_cast<size_t>(gid[k]);
        const int32_t b = buckets_.Bucket(rule.period, day[k]);
        if (bucket[grp] != b) { bucket[grp] = b; total[grp] = 0; }
        const int64_t v = vals ? vals[k] : 1;
        total[grp] += v;
        if (cap.Valid(i) && total[grp] > cap.Value(i)) AddLimitHit(out, rows[i], r, total[grp], cap.Value(i), v);
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

  void ScanRepeat(int r, const BigVector<uint8_t>& pop, RuleOutput& out) {
    const int32_t* gid = SortedGroups(r);
    const int64_t window = plan_.rules[static_cast<size_t>(r)].days;
    BigVector<int32_t> last(static_cast<size_t>(GroupCount(r)), -1);
    const int32_t* day = days_s_.data();
    for (RowIndex k = 0; k < n_; ++k) {
      if (!pop[k]) continue;
      const size_t grp = static_cast<size_t>(gid[k]);
      const int32_t j = last[grp];
      if (j >= 0 && static_cast<int64_t>(day[k]) - day[j] < window) AddOtherHit(out, order_[k], r, order_[static_cast<size_t>(j)]);
      last[grp] = static_cast<int32_t>(k);
    }
  }

  void ScanConflictWith(int r, const BigVector<uint8_t>& pop, RuleOutput& out) {
    const int32_t* gid = SortedGroups(r);
    const int64_t window = plan_.rules[static_cast<size_t>(r)].days;
    // The j side: any line still visible at this stage with the same keys and the condition true.
    BigVector<uint8_t> is_j = Gather(ConditionInInputOrder(bound_.rules[static_cast<size_t>(r)].conflict, alive_));
    BigVector<int32_t> last(static_cast<size_t>(GroupCount(r)), -1);
    const int32_t* day = days_s_.data();
    for (RowIndex k = 0; k < n_; ++k) {
      const int32_t g = gid[k];
      if (g < 0) continue;
      if (pop[k]) {
        const int32_t j = last[static_cast<size_t>(g)];
        if (j >= 0 && static_cast<int64_t>(day[k]) - day[j] < window) AddOtherHit(out, order_[k], r, order_[static_cast<size_t>(j)]);
      }
      if (is_j[k]) last[static_cast<size_t>(g)] = static_cast<int32_t>(k);
    }
  }

  void ScanConflictPairs(int r, const BigVector<uint8_t>& pop, RuleOutput& out) {
    const RulePlan& rule = plan_.rules[static_cast<size_t>(r)];
    const int32_t* gid = SortedGroups(r);
    const int64_t window = rule.days;
    const CodePairSet& pairs = bound_.pairs[static_cast<size_t>(rule.pairs)];
    const int32_t* code = codes_s_.data();
    const int32_t* day = days_s_.data();
    BigVector<int32_t> head(static_cast<size_t>(GroupCount(r)), -1);
    BigVector<int32_t> prev(n_, -1);
    for (RowIndex k = 0; k < n_; ++k) {
      if (!pop[k]) continue;
      const size_t grp = static_cast<size_t>(gid[k]);
      if (pairs.IsSecond(code[k])) {
        for (int32_t j = head[grp]; j >= 0 && static_cast<int64_t>(day[k]) - day[j] < window; j = prev[static_cast<size_t>(j)]) {
          if (pairs.Contains(code[j], code[k])) {
            AddOtherHit(out, order_[k], r, order_[static_cast<size_t>(j)]);
            break;
          }
        }
      }
      prev[k] = head[grp];
      head[grp] = static_cast<int32_t>(k);
    }
  }

  void Deduct(int r, RuleOutput& out) {
    const RulePlan& rule = plan_.rules[static_cast<size_t>(r)];
    if (rule.deduct != DeductKind::kExpr) {
      for (size_t i = 0; i < out.hits.size(); ++i) {
        Hit& h = out.hits[i];
        const int64_t v = out.v.empty() ? 0 : out.v[i];
        h.deduction = HitDeduction(rule, amount_[h.row], h.total, h.cap, v, false, 0);
      }
      return;
    }
    ExprEvaluator ev(bound_);
    const BoundProgram& prog = bound_.rules[static_cast<size_t>(r)].deduct_expr;
    RowIndex rows[kChunk];
    for (size_t b = 0; b < out.hits.size(); b += kChunk) {
      const int n = static_cast<int>(std::min<size_t>(kChunk, out.hits.size() - b));
      for (int k = 0; k < n; ++k) rows[k] = out.hits[b + static_cast<size_t>(k)].row;
      ev.Run(prog, bound_.source, 0, rows, n);
      for (int k = 0; k < n; ++k) {
        Hit& h = out.hits[b + static_cast<size_t>(k)];
        h.deduction = HitDeduction(rule, amount_[h.row], 0, 0, 0, ev.valid()[k] != 0, ev.values()[k]);
      }
    }
  }

  // Sorts a rule's hits by row (stateful scans emit them in line order):
  // LSD radix sort of (row, index) pairs, then one gather of the hits.
  static void SortHitsByRow(RuleOutput& o) {
    const size_t m = o.hits.size();
    bool sorted = true;
    for (size_t i = 1; i < m && sorted; ++i) sorted = o.hits[i - 1].row < o.hits[i].row;
    if (sorted) return;
    BigVector<uint64_t> keys(m), tmp(m);
    for (size_t i = 0; i < m; ++i) keys[i] = (static_cast<uint64_t>(o.hits[i].row) << 32) | i;
    for (int shift = 32; shift < 64; shift += 16) {
      std::vector<size_t> count(65537, 0);
      for (uint64_t k : keys) ++count[((k >> shift) & 0xFFFF) + 1];
      for (size_t i = 1; i < count.size(); ++i) count[i] += count[i - 1];
      for (uint64_t k : keys) tmp[count[(k >> shift) & 0xFFFF]++] = k;
      keys.swap(tmp);
    }
    BigVector<Hit> hits(m);
    BigVector<int64_t> v(o.v.empty() ? 0 : m);
    for (size_t i = 0; i < m; ++i) {
      const size_t src = static_cast<uint32_t>(keys[i]);
      hits[i] = o.hits[src];
      if (!v.empty()) v[i] = o.v[src];
    }
    o.hits.swap(hits);
    o.v.swap(v);
  }

  // Merges the rules' row-sorted hit lists into (row, rule) order and
  // computes every line's verdict. Row blocks are merged in parallel: a
  // block's first hit of each rule is found by binary search, and its first
  // output slot is the sum of those positions (every hit of an earlier row
  // comes first), so blocks need no coordination and the bytes do not
  // depend on the thread count.
  Verdicts Assemble(std::vector<RuleOutput>& outputs) {
    Verdicts v;
    const size_t nr = outputs.size();
    v.rules.resize(nr);
    tbb::parallel_for(size_t{0}, nr, [&](size_t r) {
      SortHitsByRow(outputs[r]);
      RuleStats& s = v.rules[r];
      s.population = outputs[r].population;
      s.hits = static_cast<int64_t>(outputs[r].hits.size());
      for (const Hit& h : outputs[r].hits) s.deduction += h.deduction;
    });
    size_t total = 0;
    for (const RuleOutput& o : outputs) total += o.hits.size();
    v.hits.resize(total);
    v.hit_begin.resize(static_cast<size_t>(n_) + 1);
    v.status.resize(n_);
    v.deduction.resize(n_);
    v.primary_rule.resize(n_);
    std::vector<uint8_t> reject(nr);
    for (size_t r = 0; r < nr; ++r) reject[r] = plan_.rules[r].reject;
    constexpr RowIndex kBlock = 1 << 16;
    const RowIndex blocks = (n_ + kBlock - 1) / kBlock;
    tbb::parallel_for(RowIndex{0}, blocks, [&](RowIndex b) {
      const RowIndex lo = b * kBlock, hi = std::min<RowIndex>(n_, lo + kBlock);
      std::vector<size_t> pos(nr), end(nr);
      size_t out = 0;
      for (size_t r = 0; r < nr; ++r) {
        const BigVector<Hit>& h = outputs[r].hits;
        auto by_row = [](const Hit& x, RowIndex row) { return x.row < row; };
        pos[r] = static_cast<size_t>(std::lower_bound(h.begin(), h.end(), lo, by_row) - h.begin());
        end[r] = static_cast<size_t>(std::lower_bound(h.begin() + static_cast<ptrdiff_t>(pos[r]), h.end(), hi, by_row) - h.begin());
        out += pos[r];
      }
      RowIndex row = lo;
      while (row < hi) {
        RowIndex next_hit = hi;  // next row with a hit in any rule
        for (size_t r = 0; r < nr; ++r)
          if (pos[r] < end[r]) next_hit = std::min(next_hit, outputs[r].hits[pos[r]].row);
        for (; row < next_hit; ++row) {  // lines without hits
          v.hit_begin[row] = static_cast<uint32_t>(out);
          v.status[row] = LineStatus::kAccepted;
          v.deduction[row] = 0;
          v.primary_rule[row] = -1;
        }
        if (row >= hi) break;
        v.hit_begin[row] = static_cast<uint32_t>(out);
        VerdictAccumulator acc;
        for (size_t r = 0; r < nr; ++r) {  // declaration order
          if (pos[r] >= end[r] || outputs[r].hits[pos[r]].row != row) continue;
          const Hit& h = outputs[r].hits[pos[r]++];
          v.hits[out++] = h;
          acc.Add(h.rule, reject[r] != 0, h.deduction);
        }
        v.status[row] = acc.status;
        v.deduction[row] = acc.Deduction(amount_[row]);
        v.primary_rule[row] = acc.primary;
        ++row;
      }
    });
    v.hit_begin[n_] = static_cast<uint32_t>(total);
    for (RuleOutput& o : outputs) o = RuleOutput();
    return v;
  }

  const BoundPlan& bound_;
  const Plan& plan_;
  const ClaimBatch& batch_;
  const RowIndex n_;
  const int32_t* days_;
  const int64_t* amount_;
  BucketTable buckets_;
  BigVector<RowIndex> order_;  // line order k -> row
  BigVector<RowIndex> rank_;   // row -> k
  BigVector<int32_t> days_s_;  // service_date in line order
  BigVector<uint8_t> alive_, alive_s_;  // visible at the current stage (input order, line order)
  std::vector<GroupIndex> groups_;
  std::vector<BigVector<int32_t>> gid_s_;  // group ids in line order, per key set
  std::vector<int> rule_group_;
  std::map<int, BigVector<int64_t>> sorted_ints_;
  std::map<int, BigVector<uint8_t>> sorted_valid_;
  BigVector<int32_t> codes_s_;
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
