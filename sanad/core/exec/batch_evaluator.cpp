#include "sanad/core/exec/batch_evaluator.h"

#include "sanad/core/exec/checks/conflict_check.h"
#include "sanad/core/exec/checks/limit_check.h"
#include "sanad/core/exec/checks/population.h"
#include "sanad/core/exec/checks/repeat_check.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "sanad/core/big_vector.h"
#include "sanad/core/check.h"
#include "sanad/core/exec/deduction.h"
#include "sanad/core/exec/expr_evaluator.h"
#include "sanad/core/exec/key_partitions.h"
#include "sanad/core/exec/line_order.h"
#include "sanad/core/exec/settlement.h"
#include "sanad/core/exec/window_log.h"

namespace sanad {
namespace {

constexpr int kChunk = ExprEvaluator::kChunk;

// LookBackFrom for every day of the batch and calendar periods (month,
// year), so the scans need no calendar arithmetic per line.
class LookBackTable {
 public:
  LookBackTable(const int32_t* days, RowIndex n, Calendar cal) : cal_(cal) {
    if (n == 0) return;
    auto [lo, hi] = std::minmax_element(days, days + n);
    lo_ = *lo;
    const int64_t range = static_cast<int64_t>(*hi) - lo_ + 1;
    month_.resize(static_cast<size_t>(range));
    year_.resize(static_cast<size_t>(range));
    for (int64_t i = 0; i < range; ++i) {
      month_[static_cast<size_t>(i)] = BucketStart(cal, Period::kMonth, static_cast<Days>(lo_ + i));
      year_[static_cast<size_t>(i)] = BucketStart(cal, Period::kYear, static_cast<Days>(lo_ + i));
    }
  }
  /// LookBackFrom(rule, cal, d) for a day d of the batch.
  Days From(const RulePlan& rule, Days d) const {
    if (rule.check == CheckKind::kLimit && rule.period == Period::kMonth) return month_[static_cast<size_t>(d - lo_)];
    if (rule.check == CheckKind::kLimit && rule.period == Period::kYear) return year_[static_cast<size_t>(d - lo_)];
    return LookBackFrom(rule, cal_, d);
  }

 private:
  Calendar cal_;
  int64_t lo_ = 0;
  BigVector<Days> month_, year_;
};

struct RuleOutput {
  BigVector<Hit> hits;
  BigVector<int64_t> v;  // limit: v_i per hit (for excess)
  int64_t population = 0;
};

// The hits one key partition contributes to one rule.
struct PartOutput {
  std::vector<Hit> hits;
  std::vector<int64_t> v;
  int64_t population = 0;
};

// A key tuple's partitions and the columns its rules read, in their order.
struct KeySetData {
  KeyPartitions kp;                         // with service_code and sum() fields carried
  std::map<int, BigVector<uint8_t>> valid;  // validity of the nullable sum() fields
};

// A stateful rule's per-line inputs, in its key partitions' order. The
// populations of a stage's rules with the same keys are bits of shared byte
// planes, so one gather into partition order serves up to eight of them.
struct StatefulInput {
  const uint8_t* plane = nullptr;  // bit `bit`: visible and `when` true
  int bit = 0;
  const uint8_t* j_plane = nullptr;  // conflict with: bit `j_bit`, the j side; conflict pairs: `unless`
  int j_bit = 0;
  const uint8_t* sum_valid = nullptr;  // sum field present (null: always)
  const int64_t* vals = nullptr;       // sum field
  const RulePlan* rule = nullptr;
  /// population.h's definition on line i of the partitions: key partitions
  /// hold only lines whose keys are all present, and the plane bit is
  /// `when` on a visible line.
  bool InPopulation(RowIndex i) const {
    return Population::Classify(*rule, /*visible=*/true, ((plane[i] >> bit) & 1) != 0, /*first_null_key=*/-1,
                                sum_valid == nullptr || sum_valid[i] != 0) == Membership::kIn;
  }
  bool IsOtherLine(RowIndex i) const { return (j_plane[i] >> j_bit) & 1; }
};

// Per-thread scratch of the partition scans.
struct ScanScratch {
  explicit ScanScratch(const BoundPlan& bound) : ev(bound) {}
  std::vector<LimitLog> limits;
  std::vector<EventLog> events;
  std::vector<PairLog> pair_logs;
  ExprEvaluator ev;
};

class Evaluator {
 public:
  Evaluator(const BoundPlan& bound, const ClaimBatch& batch, const EvalOptions& options)
      : bound_(bound), plan_(*bound.plan), batch_(batch), n_(batch.size()), options_(options),
        days_(batch.column(kServiceDate).codes.data()), amount_(batch.column(kAmount).ints.data()),
        look_back_(days_, n_, plan_.calendar) {}

  Verdicts Run() {
    EvalProfile prof;
    auto t = Clock::now();
    rank_ = LineRanks(ComputeLineOrder(batch_));
    alive_.assign(n_, 1);
    prof.order = Since(t);
    t = Clock::now();
    // One grouping pass per distinct key tuple, shared by the rules using it,
    // then its lines split into key partitions.
    std::map<std::vector<int>, size_t> key_sets;
    for (size_t r = 0; r < plan_.rules.size(); ++r) {
      const RulePlan& rule = plan_.rules[r];
      if (Runs(r) && rule.check != CheckKind::kNone && !key_sets.count(rule.keys)) key_sets.emplace(rule.keys, key_sets.size());
    }
    parts_.resize(key_sets.size());
    std::vector<const std::vector<int>*> key_list(key_sets.size());
    for (auto& [k, i] : key_sets) key_list[i] = &k;
    rule_keys_.assign(plan_.rules.size(), -1);
    for (size_t r = 0; r < plan_.rules.size(); ++r)
      if (Runs(r) && plan_.rules[r].check != CheckKind::kNone) rule_keys_[r] = static_cast<int>(key_sets[plan_.rules[r].keys]);
    // Columns the scans read travel with the partitioning.
    std::vector<CarriedColumns> carry(key_sets.size());
    for (size_t r = 0; r < plan_.rules.size(); ++r) {
      const RulePlan& rule = plan_.rules[r];
      if (!Runs(r) || rule.check == CheckKind::kNone) continue;
      CarriedColumns& c = carry[static_cast<size_t>(rule_keys_[r])];
      if (rule.is_sum && std::find(c.int_fields.begin(), c.int_fields.end(), rule.sum_field) == c.int_fields.end())
        c.int_fields.push_back(rule.sum_field);
      if (rule.check == CheckKind::kConflictPairs) c.service_code = true;
    }
    tbb::parallel_for(size_t{0}, key_list.size(), [&](size_t i) {
      if (Stopped()) return;
      KeySetData& ks = parts_[i];
      ks.kp = BuildKeyPartitions(batch_, *key_list[i], rank_, options_.groups_per_partition, carry[i]);
      for (int f : carry[i].int_fields) {
        const Column& c = batch_.column(f);
        if (!c.nullable) continue;
        BigVector<uint8_t> valid(ks.kp.size());
        for (RowIndex j = 0; j < ks.kp.size(); ++j) valid[j] = c.valid.Get(ks.kp.row[j]);
        ks.valid[f] = std::move(valid);
      }
    });
    prof.grouping = Since(t);
    if (Stopped()) return StoppedVerdicts();
    prof.rule_seconds.assign(plan_.rules.size(), 0);

    std::map<int64_t, std::vector<int>> stages;
    for (size_t r = 0; r < plan_.rules.size(); ++r)
      if (Runs(r)) stages[plan_.rules[r].stage].push_back(static_cast<int>(r));
    std::vector<RuleOutput> outputs(plan_.rules.size());
    for (auto& stage_rules : stages) {
      t = Clock::now();
      RunStage(stage_rules.second, outputs, prof);
      if (Stopped()) return StoppedVerdicts();  // a stage's outputs may be partial: use none of them
      for (int r : stage_rules.second)
        if (plan_.rules[static_cast<size_t>(r)].reject)
          for (const Hit& h : outputs[static_cast<size_t>(r)].hits) alive_[h.row] = 0;
      prof.stage_seconds.push_back(Since(t));
    }
    t = Clock::now();
    Verdicts v = Assemble(outputs);
    prof.assemble = Since(t);
    if (Stopped()) return StoppedVerdicts();
    t = Clock::now();
    // Settlement (SETTLEMENT.md §2), sharing the rules' key partitions where
    // the keys match. What it does not read is released first: its buffers
    // then come from the cache, not from fresh pages (a cold process).
    if (options_.settle && !plan_.payers.empty()) {
      std::vector<RuleOutput>().swap(outputs);
      BigVector<uint8_t>().swap(alive_);
      for (auto& [keys, i] : key_sets) {
        bool used = false;
        for (const PayerPlan& p : plan_.payers) used = used || (p.has_per && p.keys == keys);
        if (!used) parts_[i] = KeySetData{};
      }
    }
    if (options_.settle)
      v.settlement = SettleBatch(bound_, batch_, v.deduction, rank_, options_.groups_per_partition,
                                 [&](const std::vector<int>& keys) -> const KeyPartitions* {
                                   auto it = key_sets.find(keys);
                                   return it == key_sets.end() ? nullptr : &parts_[it->second].kp;
                                 });
    prof.settle = Since(t);
    if (Stopped()) return StoppedVerdicts();
    v.profile = std::move(prof);
    return v;
  }

 private:
  bool Stopped() const { return StopRequested(options_.stop); }
  bool Runs(size_t rule) const { return options_.rules.empty() || options_.rules[rule] != 0; }
  static Verdicts StoppedVerdicts() {
    Verdicts v;
    v.stopped = true;
    return v;
  }

  using Clock = std::chrono::steady_clock;
  static double Since(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }

  // values[row] for the lines of a key partitioning, in its order.
  template <typename T, typename A>
  static BigVector<T> PartGather(const KeyPartitions& kp, const std::vector<T, A>& values) {
    BigVector<T> out(kp.size());
    tbb::parallel_for(tbb::blocked_range<RowIndex>(0, kp.size(), 1 << 16), [&](const tbb::blocked_range<RowIndex>& b) {
      for (RowIndex i = b.begin(); i < b.end(); ++i) out[i] = values[kp.row[i]];
    });
    return out;
  }

  // Evaluates a condition for every line in input order (vectorised): 1 where visible and true.
  BigVector<uint8_t> ConditionInInputOrder(const BoundProgram& prog) {
    BigVector<uint8_t> out(n_);
    ConditionBits(&prog, out, 0, false);
    return out;
  }
  // Sets bit `bit` of out[row] (or writes 0/1 when !accumulate) to: visible
  // at this stage and `prog` true (prog null: visible).
  void ConditionBits(const BoundProgram* prog, BigVector<uint8_t>& out, int bit, bool accumulate) {
    tbb::enumerable_thread_specific<ExprEvaluator> evs([&] { return ExprEvaluator(bound_); });
    const RowIndex chunks = (n_ + kChunk - 1) / kChunk;
    tbb::parallel_for(RowIndex{0}, chunks, [&](RowIndex c) {
      const RowIndex begin = c * kChunk;
      const int n = static_cast<int>(std::min<RowIndex>(kChunk, n_ - begin));
      uint8_t cond[kChunk];
      const uint8_t* alive = alive_.data() + begin;
      if (prog) {
        ExprEvaluator& ev = evs.local();
        ev.Run(*prog, bound_.source, begin, nullptr, n);
        ev.Condition(n, cond);
        for (int k = 0; k < n; ++k) cond[k] &= alive[k];
      } else {
        std::copy(alive, alive + n, cond);
      }
      uint8_t* o = out.data() + begin;
      if (accumulate)
        for (int k = 0; k < n; ++k) o[k] |= static_cast<uint8_t>(cond[k] << bit);
      else
        std::copy(cond, cond + n, o);
    });
  }

  // One stage: rules without a stateful check in parallel with the inputs of
  // the stateful ones; then every key partition of every key tuple used in
  // the stage is a task that runs, back to back while the partition's lines
  // are in cache, all the stage's rules with those keys.
  void RunStage(const std::vector<int>& rules, std::vector<RuleOutput>& outputs, EvalProfile& prof) {
    std::vector<int> stateless;
    std::map<int, std::vector<int>> by_keys;  // key tuple -> the stage's stateful rules
    for (int r : rules) {
      if (plan_.rules[static_cast<size_t>(r)].check == CheckKind::kNone) stateless.push_back(r);
      else by_keys[rule_keys_[static_cast<size_t>(r)]].push_back(r);
    }
    std::vector<int> key_list;
    for (const auto& kr : by_keys) key_list.push_back(kr.first);
    std::vector<StatefulInput> inputs(plan_.rules.size());
    std::vector<std::vector<BigVector<uint8_t>>> planes(parts_.size());
    tbb::parallel_for(size_t{0}, stateless.size() + key_list.size(), [&](size_t i) {
      if (Stopped()) return;
      const auto rt = Clock::now();
      if (i < stateless.size()) {
        const int r = stateless[i];
        outputs[static_cast<size_t>(r)] = EvalStateless(r);
        prof.rule_seconds[static_cast<size_t>(r)] += Since(rt);
        return;
      }
      const int ks = key_list[i - stateless.size()];
      PrepareStateful(ks, by_keys.at(ks), planes[static_cast<size_t>(ks)], inputs);
      const double secs = Since(rt) / static_cast<double>(by_keys.at(ks).size());
      for (int r : by_keys.at(ks)) prof.rule_seconds[static_cast<size_t>(r)] += secs;
    });
    if (by_keys.empty() || Stopped()) return;  // stopped: the inputs may be partial, scan none
    // Tasks: (key tuple, partition); each writes its own slots.
    std::vector<std::pair<int, int>> tasks;
    for (int ks : key_list)
      for (int p = 0; p < parts_[static_cast<size_t>(ks)].kp.parts; ++p) tasks.emplace_back(ks, p);
    std::vector<std::vector<PartOutput>> part_out(plan_.rules.size());
    std::vector<std::vector<double>> part_secs(plan_.rules.size());
    std::vector<int> stateful;
    for (int ks : key_list)
      for (int r : by_keys.at(ks)) {
        const size_t parts = static_cast<size_t>(parts_[static_cast<size_t>(ks)].kp.parts);
        part_out[static_cast<size_t>(r)].resize(parts);
        part_secs[static_cast<size_t>(r)].assign(parts, 0);
        stateful.push_back(r);
      }
    tbb::enumerable_thread_specific<ScanScratch> scratch([&] { return ScanScratch(bound_); });
    tbb::parallel_for(size_t{0}, tasks.size(), [&](size_t t) {
      if (Stopped()) return;
      const auto [ks, p] = tasks[t];
      ScanScratch& s = scratch.local();
      for (int r : by_keys.at(ks)) {
        const auto rt = Clock::now();
        ScanPartition(r, parts_[static_cast<size_t>(ks)], p, inputs[static_cast<size_t>(r)], s,
                      part_out[static_cast<size_t>(r)][static_cast<size_t>(p)]);
        part_secs[static_cast<size_t>(r)][static_cast<size_t>(p)] = Since(rt);
      }
    });
    // Each rule's hits, partitions in order (then sorted by row in Assemble).
    tbb::parallel_for(size_t{0}, stateful.size(), [&](size_t i) {
      const int r = stateful[i];
      const auto rt = Clock::now();
      RuleOutput& out = outputs[static_cast<size_t>(r)];
      size_t total = 0;
      for (const PartOutput& po : part_out[static_cast<size_t>(r)]) {
        total += po.hits.size();
        out.population += po.population;
      }
      out.hits.resize(total);
      if (plan_.rules[static_cast<size_t>(r)].check == CheckKind::kLimit) out.v.resize(total);
      size_t at = 0;
      for (PartOutput& po : part_out[static_cast<size_t>(r)]) {
        std::copy(po.hits.begin(), po.hits.end(), out.hits.begin() + static_cast<std::ptrdiff_t>(at));
        if (!out.v.empty()) std::copy(po.v.begin(), po.v.end(), out.v.begin() + static_cast<std::ptrdiff_t>(at));
        at += po.hits.size();
        po = PartOutput();
      }
      Deduct(r, out);
      double secs = Since(rt);
      for (double s : part_secs[static_cast<size_t>(r)]) secs += s;
      prof.rule_seconds[static_cast<size_t>(r)] += secs;
    });
  }

  RuleOutput EvalStateless(int r) {
    // No stateful check: the population is the hit list, in input order; no line order needed.
    RuleOutput out;
    const BoundProgram& when = bound_.rules[static_cast<size_t>(r)].when;
    BigVector<uint8_t> pop = when.empty() ? alive_ : ConditionInInputOrder(when);
    const RulePlan& rule = plan_.rules[static_cast<size_t>(r)];
    for (RowIndex row = 0; row < n_; ++row)  // pop: `when` on a visible line (population.h)
      if (Population::Classify(rule, /*visible=*/true, pop[row] != 0, -1, true) == Membership::kIn)
        out.hits.push_back(Hit{row, r, EvidenceKind::kNone, 0, 0, 0, 0});
    out.population = static_cast<int64_t>(out.hits.size());
    Deduct(r, out);
    return out;
  }

  // The inputs of a stage's stateful rules with key tuple ks: their
  // populations (and `conflict with` j sides) as bits of byte planes built
  // in input order, then gathered once per plane into partition order.
  // Rules without `when` share one bit.
  void PrepareStateful(int ks, const std::vector<int>& rules, std::vector<BigVector<uint8_t>>& planes,
                       std::vector<StatefulInput>& inputs) {
    KeySetData& data = parts_[static_cast<size_t>(ks)];
    std::vector<const BoundProgram*> slots;  // bit index -> condition (null: visible)
    auto slot_of = [&](const BoundProgram* prog) {
      if (!prog)
        for (size_t i = 0; i < slots.size(); ++i)
          if (!slots[i]) return static_cast<int>(i);
      slots.push_back(prog);
      return static_cast<int>(slots.size() - 1);
    };
    std::vector<std::pair<int, int>> slot_of_rule(rules.size(), {-1, -1});
    for (size_t i = 0; i < rules.size(); ++i) {
      const BoundRule& br = bound_.rules[static_cast<size_t>(rules[i])];
      slot_of_rule[i].first = slot_of(br.when.empty() ? nullptr : &br.when);
      const RulePlan& rule = plan_.rules[static_cast<size_t>(rules[i])];
      if (rule.check == CheckKind::kConflictWith) slot_of_rule[i].second = slot_of(&br.conflict);
      if (rule.check == CheckKind::kConflictPairs && !br.unless.empty()) slot_of_rule[i].second = slot_of(&br.unless);
    }
    planes.resize((slots.size() + 7) / 8);
    {
      BigVector<uint8_t> in_input(n_);
      for (size_t w = 0; w < planes.size(); ++w) {
        for (size_t b = 0; b < 8 && w * 8 + b < slots.size(); ++b)
          ConditionBits(slots[w * 8 + b], in_input, static_cast<int>(b), b > 0);
        planes[w] = PartGather(data.kp, in_input);
      }
    }
    for (size_t i = 0; i < rules.size(); ++i) {
      const RulePlan& rule = plan_.rules[static_cast<size_t>(rules[i])];
      StatefulInput& in = inputs[static_cast<size_t>(rules[i])];
      in.rule = &rule;
      in.plane = planes[static_cast<size_t>(slot_of_rule[i].first / 8)].data();
      in.bit = slot_of_rule[i].first % 8;
      if (slot_of_rule[i].second >= 0) {
        in.j_plane = planes[static_cast<size_t>(slot_of_rule[i].second / 8)].data();
        in.j_bit = slot_of_rule[i].second % 8;
      }
      if (rule.is_sum) {
        in.vals = data.kp.Ints(rule.sum_field)->data();
        auto it = data.valid.find(rule.sum_field);
        if (it != data.valid.end()) in.sum_valid = it->second.data();
      }
    }
  }

  // The cap of a limit: a constant, or evaluated per block of population lines.
  class CapSource {
   public:
    CapSource(const BoundProgram& cap, ExprEvaluator& ev) : cap_(cap), ev_(ev) {
      const ExprNode& root = cap.nodes[static_cast<size_t>(cap.root)];
      constant_ = root.op == ExprOp::kConst;
      const_valid_ = !root.is_null;
      const_value_ = root.int_value;
    }
    void Load(const RowSource& src, const RowIndex* rows, int n) {
      if (!constant_) ev_.Run(cap_, src, 0, rows, n);
    }
    bool Valid(int k) const { return constant_ ? const_valid_ : ev_.valid()[k] != 0; }
    int64_t Value(int k) const { return constant_ ? const_value_ : ev_.values()[k]; }

   private:
    const BoundProgram& cap_;
    ExprEvaluator& ev_;
    bool constant_ = false, const_valid_ = false;
    int64_t const_value_ = 0;
  };

  // Feeds partition p's population lines, in line order, to the rule's
  // look-back logs (window_log.h, the online engine's own), one per group of
  // the partition; each line is judged, then logged.
  // (82 lines: one loop per family, each a call into core/exec/checks/, kept
  // side by side so the family loops read alike.)
  void ScanPartition(int r, const KeySetData& data, int p, const StatefulInput& in, ScanScratch& s, PartOutput& out) {
    const RulePlan& rule = plan_.rules[static_cast<size_t>(r)];
    const KeyPartitions& kp = data.kp;
    const RowIndex b = kp.begin[static_cast<size_t>(p)], e = kp.begin[static_cast<size_t>(p) + 1];
    const size_t groups = static_cast<size_t>(kp.groups[static_cast<size_t>(p)]);
    const int32_t* day = kp.day.data();
    const int32_t* grp = kp.group.data();
    const RowIndex* row = kp.row.data();
    if (rule.check == CheckKind::kLimit) {
      s.limits.clear();
      s.limits.resize(groups);
      CapSource cap(bound_.rules[static_cast<size_t>(r)].cap, s.ev);
      RowIndex is[kChunk], rows[kChunk];
      for (RowIndex i = b; i < e;) {
        int n = 0;  // a block of up to kChunk population lines, compacted branch-free
        for (const RowIndex stop = std::min<RowIndex>(e, i + kChunk); i < stop; ++i) {
          is[n] = i;
          n += in.InPopulation(i);
        }
        out.population += n;
        if (n == 0) continue;
        for (int j = 0; j < n; ++j) rows[j] = row[is[j]];
        cap.Load(bound_.source, rows, n);
        for (int j = 0; j < n; ++j) {
          const RowIndex k = is[j];
          const Days d = day[k];
          const int64_t v = LimitCheck::Value(rule, in.vals ? in.vals[k] : 1);
          LimitLog& log = s.limits[static_cast<size_t>(grp[k])];
          const Days from = look_back_.From(rule, d);
          log.DropBefore(from);
          const LimitCheck::Judgement judged = LimitCheck::Judge(rule, log, d, from, v, cap.Valid(j), cap.Valid(j) ? cap.Value(j) : 0);
          if (judged.hit) AddLimitHit(out, rows[j], r, judged.total, cap.Value(j), v);
          LimitCheck::LogInDateOrder(rule, log, d, rows[j], v);
        }
      }
      return;
    }
    if (rule.check == CheckKind::kConflictPairs) {
      s.pair_logs.clear();
      s.pair_logs.resize(groups);
      const CodePairSet& pairs = bound_.pairs[static_cast<size_t>(rule.pairs)];
      const int32_t* code = data.kp.code.data();
      for (RowIndex k = b; k < e; ++k) {
        if (!in.InPopulation(k)) continue;
        ++out.population;
        PairLog& log = s.pair_logs[static_cast<size_t>(grp[k])];
        log.DropBefore(look_back_.From(rule, day[k]));
        RowIndex j;
        const bool unless = in.j_plane != nullptr && in.IsOtherLine(k);  // `unless` true on this line
        if (ConflictPairsCheck::Judge(rule, log, day[k], code[k], pairs, unless, &j)) AddOtherHit(out, row[k], r, j);
        ConflictPairsCheck::Log(log, day[k], code[k], row[k], unless);
      }
      return;
    }
    s.events.clear();
    s.events.resize(groups);
    switch (rule.check) {
      case CheckKind::kRepeat:
        for (RowIndex k = b; k < e; ++k) {
          if (!in.InPopulation(k)) continue;
          ++out.population;
          EventLog& log = s.events[static_cast<size_t>(grp[k])];
          log.DropBefore(look_back_.From(rule, day[k]));
          if (const EventEntry* j = RepeatCheck::Judge(rule, log, day[k])) AddOtherHit(out, row[k], r, j->row);
          RepeatCheck::Log(log, day[k], row[k]);
        }
        break;
      case CheckKind::kConflictWith:
        for (RowIndex k = b; k < e; ++k) {
          EventLog& log = s.events[static_cast<size_t>(grp[k])];
          if (in.InPopulation(k)) {
            ++out.population;
            if (const EventEntry* j = ConflictWithCheck::Judge(rule, log, day[k])) AddOtherHit(out, row[k], r, j->row);
          }
          if (ConflictWithCheck::IsOtherLine(in.IsOtherLine(k))) {
            log.DropBefore(look_back_.From(rule, day[k]));
            ConflictWithCheck::Log(log, day[k], row[k]);
          }
        }
        break;
      default: break;
    }
  }

  static void AddLimitHit(PartOutput& out, RowIndex row, int r, __int128 total, int64_t cap, int64_t v) {
    Hit h;
    h.row = row;
    h.rule = r;
    h.evidence = EvidenceKind::kLimit;
    h.total = total;
    h.cap = cap;
    out.hits.push_back(h);
    out.v.push_back(v);
  }
  static void AddOtherHit(PartOutput& out, RowIndex row, int r, RowIndex other) {
    Hit h;
    h.row = row;
    h.rule = r;
    h.evidence = EvidenceKind::kOtherLine;
    h.other = other;
    out.hits.push_back(h);
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
  const EvalOptions& options_;
  const int32_t* days_;
  const int64_t* amount_;
  LookBackTable look_back_;
  BigVector<RowIndex> rank_;   // row -> position in line order
  BigVector<uint8_t> alive_;   // visible at the current stage (input order)
  std::vector<KeySetData> parts_;  // per key tuple
  std::vector<int> rule_keys_;        // rule -> index in parts_ (-1: no keys)
};

}  // namespace

Verdicts EvaluateBatch(const BoundPlan& bound, const ClaimBatch& batch, const EvalOptions& options) {
  Verdicts out;
  RunWithThreads(options.threads, [&] { out = Evaluator(bound, batch, options).Run(); });
  return out;
}

void RunWithThreads(int threads, const std::function<void()>& fn) {
  const unsigned hw = std::thread::hardware_concurrency();
  if (threads <= 0) threads = hw ? static_cast<int>(hw) : 1;
  tbb::task_arena arena(std::min(threads, hw ? static_cast<int>(hw) : threads));
  arena.execute(fn);
}

}  // namespace sanad
