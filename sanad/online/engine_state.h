#pragma once
/// EngineState (internal to online/): what the online engine holds — the
/// columnar history (every line, retracted ones too, in arrival order), the
/// per-line records (adjudication position, visibility, verdict), key ids
/// per `per` list and the look-back logs per rule and key
/// (core/exec/window_log.h), judged through the family checks of
/// core/exec/checks/. Undo records let a dry run or a refused claim leave no
/// trace. Included by online_engine.cpp, reconcile.cpp and snapshot.cpp.

#include "sanad/online/online_engine.h"


#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <type_traits>

#include <absl/container/flat_hash_map.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "sanad/core/exec/batch_evaluator.h"
#include "sanad/core/exec/checks/conflict_check.h"
#include "sanad/core/exec/checks/population.h"
#include "sanad/core/exec/checks/limit_check.h"
#include "sanad/core/exec/checks/repeat_check.h"
#include "sanad/core/exec/bound_plan.h"
#include "sanad/core/exec/deduction.h"
#include "sanad/core/exec/expr_evaluator.h"
#include "sanad/core/exec/line_order.h"
#include "sanad/core/exec/plan_fingerprint.h"
#include "sanad/core/output_file.h"
#include "sanad/core/exec/window_log.h"
#include "sanad/core/exec/settle/payer_step.h"
#include "sanad/core/exec/settle/settle_log.h"
#include "sanad/core/ingest/claims_reader.h"

#include "sanad/online/group_logs.h"
#include "sanad/online/spin_mutex.h"

namespace sanad {
namespace online_internal {
constexpr int64_t kNeverRejected = std::numeric_limits<int64_t>::max();
constexpr int kChunk = ExprEvaluator::kChunk;

// Dense group ids for the key tuples of one `per` list, shared by the rules using it.
struct KeySet {
  std::vector<int> fields;
  bool packed = false;  // one field, or two fields of at most 32 bits
  absl::flat_hash_map<uint64_t, int32_t> packed_ids;
  absl::flat_hash_map<std::vector<int64_t>, int32_t> tuple_ids;
  int32_t groups = 0;
};

struct RuleState {
  int key_set = -1;
  GroupLogs<LimitLog> limits;  // by group id (limit rules)
  GroupLogs<EventLog> events;  // by group id (repeat, conflict with)
  GroupLogs<PairLog> pair_logs;  // by group id (conflict pairs)
};

// Per-line values of a rule's expressions, for one chunk of rows.
struct RuleValues {
  std::vector<uint8_t> when, cap_valid, conflict, ded_valid;
  std::vector<int64_t> cap, ded;
  void Resize(int n) {
    for (auto* v : {&when, &cap_valid, &conflict, &ded_valid}) v->resize(static_cast<size_t>(n));
    cap.resize(static_cast<size_t>(n));
    ded.resize(static_cast<size_t>(n));
  }
};

struct Undo {
  int32_t rule, group;
  size_t pos;
};

// A payer's online state (SETTLEMENT.md §5): its scope groups' settled
// lines, and per history row what it did on the row (kept so logs can be
// rebuilt after a retract or restore without settling anew).
struct PayerState {
  int key_set = -1;               // -1: no `per` (no running totals)
  GroupLogs<SettleLog> logs;     // by group id
  std::vector<int64_t> pay, deducted, eligible;  // per history row
  std::vector<uint8_t> in;        // per history row: in the payer's population
  bool has_last_day = false;      // the bucket of the last day settled (a cache)
  Days last_day = 0, last_bucket = 0;
};

// Per-line values of a payer's expressions, for one chunk of rows.
struct PayerValues_ {
  std::vector<uint8_t> when;
  std::vector<OptInt> ded, ratio, ceiling, line_ceiling;
  std::vector<std::vector<OptInt>> limits;  // per band limit
};

inline void TruncateRows(ClaimBatch& b, RowIndex n) {
  for (int f = 0; f < b.schema().size(); ++f) {
    Column& c = b.column(f);
    if (c.type == ValueType::kString || c.type == ValueType::kDate) c.codes.resize(n);
    if (c.type == ValueType::kInt) c.ints.resize(n);
    if (c.type == ValueType::kBool) c.bits.Resize(n);
    if (c.nullable) c.valid.Resize(n);
  }
  b.SetSize(n);
}

/// The engine's state: the columnar history, per-line records, key ids and
/// the look-back logs of every rule. Not thread-safe: OnlineEngine holds its
/// lock around every use.
struct EngineState {
  const Plan& plan;
  ClaimBatch store;  // every history line (retracted ones too), arrival order
  std::unique_ptr<BoundPlan> bound;
  RowSource src;
  ExprEvaluator* ev = nullptr;
  std::unique_ptr<ExprEvaluator> ev_owner;

  // Per history row.
  std::vector<int64_t> ord;        // adjudication position: batch line order, then arrival
  std::vector<uint8_t> retracted;
  std::vector<int64_t> rej_stage;  // first stage with a reject hit (visibility)
  std::vector<uint8_t> status;
  std::vector<int64_t> deduction;
  std::vector<int32_t> primary;
  absl::flat_hash_map<int32_t, std::vector<RowIndex>> claims;  // claim_id code -> live rows

  std::vector<KeySet> key_sets;
  std::vector<RuleState> rules;
  std::vector<PayerState> payers;  // declaration order
  std::vector<PayerValues_> payer_vals;
  std::vector<int64_t> patient;    // per history row: what no payer paid (with payers)
  std::vector<OptInt> limit_scratch;  // one line's band limits (SettleLine)
  std::vector<std::pair<int64_t, std::vector<int>>> stages;  // ascending
  bool multi_stage_visibility = false;  // a reject rule precedes a later stage

  int64_t next_seq = 1, next_ord = 0;
  bool has_horizon = false;
  Days horizon = 0;
  std::vector<RuleValues> vals;
  static constexpr int32_t kUnknownGroup = -2;
  struct NewGroup {
    int ks;
    uint64_t key;
    std::vector<int64_t> tuple;
  };
  std::vector<NewGroup>* new_groups = nullptr;  // set while judging a claim
  int64_t key_budget = 0;                       // max groups over all key sets; 0 = no limit
  // The current line's group per key set (kUnknownGroup: not looked up yet),
  // so the rules and payers sharing a `per` list look it up once: points at
  // group_cache, or at the line's row of claim_groups while a claim is judged.
  int32_t* line_groups = nullptr;
  std::vector<int32_t> group_cache;
  std::vector<int32_t> claim_groups;  // [k * key_sets.size() + ks]; valid while claim_groups_ready
  bool claim_groups_ready = false;

  explicit EngineState(const Plan& p) : plan(p), store(p.schema) {
    std::map<std::vector<int>, int> ks;
    auto key_set_of = [&](const std::vector<int>& keys) {
      auto [it, fresh] = ks.emplace(keys, static_cast<int>(key_sets.size()));
      if (fresh) {
        KeySet k;
        k.fields = keys;
        auto fits32 = [&](int f) { return plan.schema.field(f).type != ValueType::kInt; };
        k.packed = keys.size() == 1 || (keys.size() == 2 && fits32(keys[0]) && fits32(keys[1]));
        key_sets.push_back(std::move(k));
      }
      return it->second;
    };
    rules.resize(plan.rules.size());
    for (size_t r = 0; r < plan.rules.size(); ++r) {
      const RulePlan& rule = plan.rules[r];
      if (rule.check == CheckKind::kNone) continue;
      rules[r].key_set = key_set_of(rule.keys);
    }
    payers.resize(plan.payers.size());
    payer_vals.resize(plan.payers.size());
    for (size_t p = 0; p < plan.payers.size(); ++p) {
      if (plan.payers[p].has_per) payers[p].key_set = key_set_of(plan.payers[p].keys);
      PayerValues_& v = payer_vals[p];
      v.when.resize(kChunk);
      for (auto* x : {&v.ded, &v.ratio, &v.ceiling, &v.line_ceiling}) x->resize(kChunk);
      v.limits.assign(plan.payers[p].band_limits.size(), std::vector<OptInt>(kChunk));
    }
    std::map<int64_t, std::vector<int>> st;
    for (size_t r = 0; r < plan.rules.size(); ++r) st[plan.rules[r].stage].push_back(static_cast<int>(r));
    stages.assign(st.begin(), st.end());
    for (size_t i = 0; i + 1 < stages.size(); ++i)
      for (int r : stages[i].second)
        if (plan.rules[static_cast<size_t>(r)].reject) multi_stage_visibility = true;
    vals.resize(plan.rules.size());
    for (RuleValues& v : vals) v.Resize(kChunk);
    // Pair codes live in the store's service_code dictionary from the start,
    // so the bound pair sets hold every pair, whatever claims arrive later.
    for (const PlanPairs& pp : plan.pairs)
      for (const auto& [a, b] : pp.pairs) {
        store.column(kServiceCode).dict.Intern(a);
        store.column(kServiceCode).dict.Intern(b);
      }
  }

  void Rebind() {
    bound = Bind(plan, store);
    ev_owner = std::make_unique<ExprEvaluator>(*bound);
    ev = ev_owner.get();
    RefreshSource();
  }

  void RefreshSource() {
    if (src.fields.size() != static_cast<size_t>(store.schema().size())) {
      src = RowSource::FromBatch(store);
      return;
    }
    src.size = store.size();
    for (int f = 0; f < store.schema().size(); ++f) {
      const Column& c = store.column(f);
      FieldView& v = src.fields[static_cast<size_t>(f)];
      v.codes = c.codes.empty() ? nullptr : c.codes.data();
      v.ints = c.ints.empty() ? nullptr : c.ints.data();
      v.bits = c.bits.word_count() ? c.bits.words() : nullptr;
      v.valid = c.nullable && c.valid.word_count() ? c.valid.words() : nullptr;
    }
  }

  // ---- keys and groups ----

  bool KeyValue(int f, RowIndex row, int64_t* out) const {
    const Column& c = store.column(f);
    if (!c.IsValid(row)) return false;
    switch (c.type) {
      case ValueType::kString:
        if (c.codes[row] < 0) return false;
        *out = c.codes[row];
        return true;
      case ValueType::kDate: *out = c.codes[row]; return true;
      case ValueType::kInt: *out = c.ints[row]; return true;
      case ValueType::kBool: *out = c.bits.Get(row); return true;
    }
    return false;
  }

  // The group of `row` for key set ks, created if new (unless !create);
  // -1 when a key is null or (without create) the group does not exist.
  int32_t GroupOf(int ks_index, RowIndex row) { return GroupOf(ks_index, row, /*create=*/true); }
  int32_t FindGroup(int ks_index, RowIndex row) { return GroupOf(ks_index, row, /*create=*/false); }
  int32_t GroupOf(int ks_index, RowIndex row, bool create) {
    KeySet& ks = key_sets[static_cast<size_t>(ks_index)];
    int64_t a = 0, b = 0;
    if (ks.packed) {
      if (!KeyValue(ks.fields[0], row, &a)) return -1;
      uint64_t key = static_cast<uint64_t>(a);
      if (ks.fields.size() == 2) {
        if (!KeyValue(ks.fields[1], row, &b)) return -1;
        key = (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
      }
      if (!create) {
        auto found = ks.packed_ids.find(key);
        return found == ks.packed_ids.end() ? -1 : found->second;
      }
      auto [it, fresh] = ks.packed_ids.try_emplace(key, ks.groups);
      if (fresh) {
        ++ks.groups;
        if (new_groups) new_groups->push_back(NewGroup{ks_index, key, {}});
      }
      return it->second;
    }
    std::vector<int64_t> tuple(ks.fields.size());
    for (size_t i = 0; i < ks.fields.size(); ++i)
      if (!KeyValue(ks.fields[i], row, &tuple[i])) return -1;
    if (!create) {
      auto found = ks.tuple_ids.find(tuple);
      return found == ks.tuple_ids.end() ? -1 : found->second;
    }
    auto [it, fresh] = ks.tuple_ids.try_emplace(tuple, ks.groups);
    if (fresh) {
      ++ks.groups;
      if (new_groups) new_groups->push_back(NewGroup{ks_index, 0, std::move(tuple)});
    }
    return it->second;
  }

  // Forgets the keys whose logs are empty in every rule (after compaction):
  // a key with nothing left to see costs nothing and counts against no
  // budget. A limit without period keeps its folded total, so its keys stay.
  void ReleaseIdleKeys() {
    for (size_t ksi = 0; ksi < key_sets.size(); ++ksi) {
      KeySet& ks = key_sets[ksi];
      const size_t n = static_cast<size_t>(ks.groups);
      std::vector<uint8_t> live(n, 0);
      for (size_t r = 0; r < rules.size(); ++r) {
        RuleState& rs = rules[r];
        if (rs.key_set != static_cast<int>(ksi)) continue;
        const bool all_time = plan.rules[r].check == CheckKind::kLimit && plan.rules[r].period == Period::kNone;
        for (size_t g = 0; g < rs.limits.size() && g < n; ++g)
          live[g] |= !rs.limits[g].e.empty() || (all_time && rs.limits[g].base != 0);
        for (size_t g = 0; g < rs.events.size() && g < n; ++g) live[g] |= !rs.events[g].e.empty();
        for (size_t g = 0; g < rs.pair_logs.size() && g < n; ++g) live[g] |= rs.pair_logs[g].entries() > 0;
      }
      for (size_t p = 0; p < payers.size(); ++p) {
        const PayerState& ps = payers[p];
        if (ps.key_set != static_cast<int>(ksi)) continue;
        const bool all_time = plan.payers[p].period == Period::kNone;  // its folded sums still count
        for (size_t g = 0; g < ps.logs.size() && g < n; ++g) live[g] |= all_time ? !ps.logs[g].idle() : !ps.logs[g].e.empty();
      }
      std::vector<int32_t> remap(n, -1);
      int32_t kept = 0;
      for (size_t g = 0; g < n; ++g)
        if (live[g]) remap[g] = kept++;
      if (static_cast<size_t>(kept) == n) continue;
      auto renumber = [&](auto& ids) {
        for (auto it = ids.begin(); it != ids.end();) {
          const int32_t to = remap[static_cast<size_t>(it->second)];
          if (to < 0) {
            ids.erase(it++);
          } else {
            it->second = to;
            ++it;
          }
        }
      };
      renumber(ks.packed_ids);
      renumber(ks.tuple_ids);
      // A log vector may be shorter than the key set (logs grow lazily), so
      // a slot can be handed to a kept group whose log lies beyond its end:
      // every slot is rebuilt, never left holding a released group's log.
      auto compact = [&](auto& logs) {
        std::decay_t<decltype(logs)> out;
        for (size_t g = 0; g < logs.size() && g < n; ++g) {
          if (remap[g] < 0) continue;
          const size_t to = static_cast<size_t>(remap[g]);
          if (out.size() <= to) out.resize(to + 1);
          out[to] = std::move(logs[g]);
        }
        logs = std::move(out);
      };
      for (RuleState& rs : rules) {
        if (rs.key_set != static_cast<int>(ksi)) continue;
        compact(rs.limits);
        compact(rs.events);
        compact(rs.pair_logs);
      }
      for (PayerState& ps : payers)
        if (ps.key_set == static_cast<int>(ksi)) compact(ps.logs);
      ks.groups = kept;
    }
  }

  int64_t TotalGroups() const {
    int64_t n = 0;
    for (const KeySet& ks : key_sets) n += ks.groups;
    return n;
  }

  // Forgets the groups created since new_groups was set (newest first; they
  // hold the highest ids), and the logs sized for them.
  void DropNewGroups(std::vector<NewGroup>& created) {
    for (auto it = created.rbegin(); it != created.rend(); ++it) {
      KeySet& ks = key_sets[static_cast<size_t>(it->ks)];
      if (ks.packed) ks.packed_ids.erase(it->key);
      else ks.tuple_ids.erase(it->tuple);
      --ks.groups;
    }
    for (RuleState& rs : rules) {
      if (rs.key_set < 0) continue;
      const size_t groups = static_cast<size_t>(key_sets[static_cast<size_t>(rs.key_set)].groups);
      if (rs.limits.size() > groups) rs.limits.resize(groups);
      if (rs.events.size() > groups) rs.events.resize(groups);
    }
    for (PayerState& ps : payers) {
      if (ps.key_set < 0) continue;
      const size_t groups = static_cast<size_t>(key_sets[static_cast<size_t>(ps.key_set)].groups);
      if (ps.logs.size() > groups) ps.logs.resize(groups);
    }
    created.clear();
  }

  LimitLog& LimitLogOf(int r, int32_t g) {
    auto& logs = rules[static_cast<size_t>(r)].limits;
    if (logs.size() <= static_cast<size_t>(g)) logs.resize(static_cast<size_t>(g) + 1);
    return logs[static_cast<size_t>(g)];
  }
  EventLog& EventLogOf(int r, int32_t g) {
    auto& logs = rules[static_cast<size_t>(r)].events;
    if (logs.size() <= static_cast<size_t>(g)) logs.resize(static_cast<size_t>(g) + 1);
    return logs[static_cast<size_t>(g)];
  }
  PairLog& PairLogOf(int r, int32_t g) {
    auto& logs = rules[static_cast<size_t>(r)].pair_logs;
    if (logs.size() <= static_cast<size_t>(g)) logs.resize(static_cast<size_t>(g) + 1);
    return logs[static_cast<size_t>(g)];
  }

  // ---- expression values ----

  // Evaluates every rule's expressions for rows[0..n), n <= kChunk.
  void EvalRows(const RowIndex* rows, int n) {
    ExtendCodeTables(*bound, store);
    RefreshSource();
    for (size_t r = 0; r < plan.rules.size(); ++r) {
      const BoundRule& br = bound->rules[r];
      RuleValues& v = vals[r];
      if (br.when.empty()) std::fill(v.when.begin(), v.when.begin() + n, 1);
      else { ev->Run(br.when, src, 0, rows, n); ev->Condition(n, v.when.data()); }
      if (!br.cap.empty()) {
        ev->Run(br.cap, src, 0, rows, n);
        std::copy(ev->values(), ev->values() + n, v.cap.begin());
        std::copy(ev->valid(), ev->valid() + n, v.cap_valid.begin());
      }
      if (!br.conflict.empty()) { ev->Run(br.conflict, src, 0, rows, n); ev->Condition(n, v.conflict.data()); }
      if (!br.unless.empty()) { ev->Run(br.unless, src, 0, rows, n); ev->Condition(n, v.conflict.data()); }  // conflict pairs only
      if (!br.deduct_expr.empty()) {
        ev->Run(br.deduct_expr, src, 0, rows, n);
        std::copy(ev->values(), ev->values() + n, v.ded.begin());
        std::copy(ev->valid(), ev->valid() + n, v.ded_valid.begin());
      }
    }
    for (size_t p = 0; p < plan.payers.size(); ++p) {
      const BoundPayer& bp = bound->payers[p];
      PayerValues_& v = payer_vals[p];
      if (bp.when.empty()) std::fill(v.when.begin(), v.when.begin() + n, 1);
      else { ev->Run(bp.when, src, 0, rows, n); ev->Condition(n, v.when.data()); }
      auto ints = [&](const BoundProgram& prog, std::vector<OptInt>& out) {
        if (prog.empty()) return;
        const ExprNode& root = prog.nodes[static_cast<size_t>(prog.root)];
        if (root.op == ExprOp::kConst) {  // most deductibles, limits and ceilings: no evaluator run
          std::fill(out.begin(), out.begin() + n, OptInt{!root.is_null, root.int_value});
          return;
        }
        ev->Run(prog, src, 0, rows, n);
        for (int k = 0; k < n; ++k) out[static_cast<size_t>(k)] = OptInt{ev->valid()[k] != 0, ev->values()[k]};
      };
      ints(bp.deductible, v.ded);
      ints(bp.ratio, v.ratio);
      ints(bp.ceiling, v.ceiling);
      ints(bp.line_ceiling, v.line_ceiling);
      for (size_t b = 0; b < bp.band_limits.size(); ++b) ints(bp.band_limits[b], v.limits[b]);
    }
  }

  // ---- settlement (SETTLEMENT.md §2, §5) ----

  SettleLog& SettleLogOf(size_t p, int32_t g) {
    auto& logs = payers[p].logs;
    if (logs.size() <= static_cast<size_t>(g)) logs.resize(static_cast<size_t>(g) + 1);
    return logs[static_cast<size_t>(g)];
  }

  // Settles history row `row` (values at index k) with the given line
  // deduction against the payers' logs (judge), or re-logs its recorded
  // settlement (!judge, rebuilds). Records undo entries (payer, group, pos).
  void SettleLine(RowIndex row, int k, bool judge, std::vector<Undo>* undo) {
    if (plan.payers.empty()) return;
    const Days day = store.column(kServiceDate).codes[row];
    const int64_t allowed = store.column(kAmount).ints[row] - deduction[row];
    int64_t left = allowed;
    for (size_t p = 0; p < plan.payers.size(); ++p) {
      const PayerPlan& payer = plan.payers[p];
      PayerState& ps = payers[p];
      const PayerValues_& v = payer_vals[p];
      int32_t g = -1;
      bool member = judge ? v.when[static_cast<size_t>(k)] != 0 : ps.in[row] != 0;
      if (member && ps.key_set >= 0) {
        // ProcessLine looked this row's groups up (line_groups) if a rule shares the keys.
        int32_t& cached = line_groups[static_cast<size_t>(ps.key_set)];
        if (cached == kUnknownGroup) cached = GroupOf(ps.key_set, row);
        g = cached;
        member = g >= 0;
      }
      if (!judge) {
        if (member && g >= 0) SettleLogOf(p, g).Insert(day, row, ps.deducted[row], ps.eligible[row], ps.pay[row]);
        continue;
      }
      ps.in[row] = member;
      ps.pay[row] = ps.deducted[row] = ps.eligible[row] = 0;
      if (!member) continue;
      PayerTotals totals;
      if (g >= 0) {
        if (ps.last_day != day || !ps.has_last_day) {  // claims come mostly in date order: one calendar lookup a day
          ps.last_day = day;
          ps.last_bucket = PayerSettle::BucketOf(payer, plan.calendar, day);
          ps.has_last_day = true;
        }
        totals = SettleLogOf(p, g).Totals(ps.last_bucket, day);
      }
      limit_scratch.resize(v.limits.size());
      for (size_t b = 0; b < v.limits.size(); ++b) limit_scratch[b] = v.limits[b][static_cast<size_t>(k)];
      const PayerValues pv{v.ded[static_cast<size_t>(k)], v.ratio[static_cast<size_t>(k)], v.ceiling[static_cast<size_t>(k)],
                           v.line_ceiling[static_cast<size_t>(k)], {limit_scratch.data(), limit_scratch.size()}};
      const PayerStep st = PayerSettle::Step(payer, totals, allowed, left, pv);
      ps.pay[row] = st.pay;
      ps.deducted[row] = st.deductible;
      ps.eligible[row] = st.eligible;
      left -= st.pay;
      if (g >= 0) {
        const size_t pos = SettleLogOf(p, g).Insert(day, row, st.deductible, st.eligible, st.pay);
        if (undo) undo->push_back(Undo{-1 - static_cast<int32_t>(p), g, pos});  // a negative rule: payer p
      }
    }
    patient[row] = left;
  }

  // ---- looking a claim's groups up ahead ----
  //
  // In a large history one insured's logs are cold: each rule's and payer's
  // first search of its log waits on memory, one miss after another. Before
  // judging a claim, Judge looks up the groups that already exist for every
  // line and key set and reads each log's head (LookUpClaim); after the
  // expression runs, the entries the lines will search, at each log's tail
  // and head (TouchLogEnds). These loads do not depend on one another, so the
  // processor overlaps their misses; the lines' rules and payers then find
  // them in cache. They are loads, not prefetches: the logs' entries sit on
  // pages not touched for a while, and a prefetch that misses the TLB was
  // dropped (measured: a payer's first Totals took 650 cycles after
  // prefetches, 240 after loads). Groups created while judging (a new
  // insured) are looked up as before.

  int32_t* LineGroups(int k) {
    const size_t nks = key_sets.size();
    if (claim_groups_ready) return claim_groups.data() + static_cast<size_t>(k) * nks;
    group_cache.assign(nks, kUnknownGroup);
    return group_cache.data();
  }

  template <typename Logs>
  static const typename Logs::value_type* LogIfAny(const Logs& logs, int32_t g) {
    return g >= 0 && static_cast<size_t>(g) < logs.size() ? &logs[static_cast<size_t>(g)] : nullptr;
  }
  // One byte of each cache line the object spans (summed, so the loads stay).
  static int64_t TouchObject(const void* p, size_t bytes) {
    const auto* c = static_cast<const unsigned char*>(p);
    int64_t sum = 0;
    for (size_t i = 0; i < bytes; i = ((reinterpret_cast<uintptr_t>(c + i) | 63) + 1) - reinterpret_cast<uintptr_t>(c)) sum += c[i];
    return sum;
  }
  template <typename Entries>
  static int64_t TouchEnds(const Entries& e) {
    if (e.empty()) return 0;
    if (e.capacity() > e.size()) {  // where the line's entry will go (same page as the last, whose touch brings in the TLB entry)
      const char* slot = reinterpret_cast<const char*>(e.data() + e.size());
      __builtin_prefetch(slot, 1);
      __builtin_prefetch(slot + sizeof(e.back()) - 1, 1);
    }
    return TouchObject(&e.back(), sizeof(e.back())) + TouchObject(&e.front(), sizeof(e.front()));
  }
  int64_t touched_ = 0;  // the touches' sum (unused but kept, so the compiler keeps the loads)

  // Calls fn(log) for each existing log a line of the claim will search
  // (once for lines in a row that share it).
  template <typename Fn>
  void ForEachClaimLog(int m, Fn&& fn) {
    const size_t nks = key_sets.size();
    for (int k = 0; k < m; ++k) {
      const int32_t* groups = claim_groups.data() + static_cast<size_t>(k) * nks;
      const int32_t* before = k > 0 ? groups - nks : nullptr;  // the line before's groups: their logs are done
      for (size_t r = 0; r < plan.rules.size(); ++r) {
        const RuleState& rs = rules[r];
        if (rs.key_set < 0) continue;
        const int32_t g = groups[static_cast<size_t>(rs.key_set)];
        if (before && before[rs.key_set] == g) continue;
        switch (plan.rules[r].check) {
          case CheckKind::kLimit: if (const auto* l = LogIfAny(rs.limits, g)) fn(*l); break;
          case CheckKind::kConflictPairs: if (const auto* l = LogIfAny(rs.pair_logs, g)) fn(l->all); break;
          case CheckKind::kNone: break;
          default: if (const auto* l = LogIfAny(rs.events, g)) fn(*l); break;
        }
      }
      for (const PayerState& ps : payers)
        if (ps.key_set >= 0 && !(before && before[ps.key_set] == groups[ps.key_set]))
          if (const auto* l = LogIfAny(ps.logs, groups[static_cast<size_t>(ps.key_set)])) fn(*l);
    }
  }

  void LookUpClaim(const RowIndex* rows, int m) {
    const size_t nks = key_sets.size();
    claim_groups.assign(static_cast<size_t>(m) * nks, kUnknownGroup);
    for (int k = 0; k < m; ++k)
      for (size_t ks = 0; ks < nks; ++ks) {
        int32_t& slot = claim_groups[static_cast<size_t>(k) * nks + ks];
        if (k > 0 && SameKeys(key_sets[ks], rows[k - 1], rows[k])) {  // a claim's lines mostly share insured and provider
          slot = claim_groups[static_cast<size_t>(k - 1) * nks + ks];
          continue;
        }
        const int32_t g = FindGroup(static_cast<int>(ks), rows[k]);
        if (g >= 0) slot = g;  // absent or a null key: looked up when needed
      }
    claim_groups_ready = true;
    int64_t sum = 0;
    ForEachClaimLog(m, [&](const auto& log) { sum += TouchObject(&log, sizeof(log)); });
    touched_ += sum;
  }
  bool SameKeys(const KeySet& ks, RowIndex a, RowIndex b) const {
    for (int f : ks.fields) {
      int64_t x = 0, y = 0;
      const bool vx = KeyValue(f, a, &x), vy = KeyValue(f, b, &y);
      if (vx != vy || x != y) return false;
    }
    return true;
  }
  void TouchLogEnds(int m) {
    int64_t sum = 0;
    ForEachClaimLog(m, [&](const auto& log) { sum += TouchEnds(log.e); });
    touched_ += sum;
  }
  void EndClaim() { claim_groups_ready = false; }

  // ---- judging one line ----

  // One stateful rule on one line of group g (core/exec/checks/): judge it
  // (with `judge`, filling h and hv on a hit) and log it, recording undo.
  // Returns whether it hit.
  bool JudgeAndLog(const RulePlan& rule, int r, int32_t g, RowIndex row, int k, Days day, int32_t code, bool in, bool judge,
                   Hit& h, int64_t& hv, std::vector<Undo>* undo) {
    const RuleValues& v = vals[static_cast<size_t>(r)];
    bool hit = false;
    switch (rule.check) {
      case CheckKind::kLimit: {
        if (!in) break;
        const int64_t val = LimitCheck::Value(rule, rule.is_sum ? store.column(rule.sum_field).ints[row] : 1);
        LimitLog& log = LimitLogOf(r, g);
        if (judge) {
          const LimitCheck::Judgement judged =
              LimitCheck::Judge(rule, log, day, LookBackFrom(rule, plan.calendar, day), val,
                                v.cap_valid[static_cast<size_t>(k)] != 0, v.cap[static_cast<size_t>(k)]);
          if (judged.hit) {
            hit = true;
            h.evidence = EvidenceKind::kLimit;
            h.total = judged.total;
            h.cap = v.cap[static_cast<size_t>(k)];
            hv = val;
          }
        }
        const size_t pos = LimitCheck::Log(log, day, row, val);
        if (undo) undo->push_back(Undo{r, g, pos});
        break;
      }
      case CheckKind::kRepeat: {
        if (!in) break;
        EventLog& log = EventLogOf(r, g);
        if (judge) {
          if (const EventEntry* j = RepeatCheck::Judge(rule, log, day)) {
            hit = true;
            h.evidence = EvidenceKind::kOtherLine;
            h.other = j->row;
          }
        }
        const size_t pos = RepeatCheck::Log(log, day, row);
        if (undo) undo->push_back(Undo{r, g, pos});
        break;
      }
      case CheckKind::kConflictPairs: {
        if (!in) break;
        PairLog& log = PairLogOf(r, g);
        const bool unless = !rule.unless.empty() && v.conflict[static_cast<size_t>(k)] != 0;
        if (judge) {
          RowIndex j;
          if (ConflictPairsCheck::Judge(rule, log, day, code, bound->pairs[static_cast<size_t>(rule.pairs)], unless, &j)) {
            hit = true;
            h.evidence = EvidenceKind::kOtherLine;
            h.other = j;
          }
        }
        const size_t pos = ConflictPairsCheck::Log(log, day, code, row, unless);
        if (undo) undo->push_back(Undo{r, g, pos});
        break;
      }
      case CheckKind::kConflictWith: {
        EventLog& log = EventLogOf(r, g);
        if (judge && in) {
          if (const EventEntry* j = ConflictWithCheck::Judge(rule, log, day)) {
            hit = true;
            h.evidence = EvidenceKind::kOtherLine;
            h.other = j->row;
          }
        }
        if (ConflictWithCheck::IsOtherLine(v.conflict[static_cast<size_t>(k)] != 0)) {
          const size_t pos = ConflictWithCheck::Log(log, day, row);
          if (undo) undo->push_back(Undo{r, g, pos});
        }
        break;
      }
      case CheckKind::kNone: break;
    }
    return hit;
  }

  // Processes history row `row` (values at index k of `vals`) through every
  // stage. With `judge`, computes its hits (into `hits`, declaration order
  // not yet applied) and its rejection stage; without, uses rej_stage[row].
  // Inserts the row into the logs it belongs to, recording undo entries.
  void ProcessLine(RowIndex row, int k, bool judge, std::vector<Hit>* hits, std::vector<int64_t>* hit_v,
                   std::vector<Undo>* undo) {
    const Days day = store.column(kServiceDate).codes[row];
    const int32_t code = store.column(kServiceCode).codes[row];
    int64_t rejected_at = judge ? kNeverRejected : rej_stage[row];
    // Group ids per key set, looked up once per line (rules share key sets).
    line_groups = LineGroups(k);
    for (const auto& [stage, stage_rules] : stages) {
      if (rejected_at < stage) break;
      bool reject_hit = false;
      for (int r : stage_rules) {
        const RulePlan& rule = plan.rules[static_cast<size_t>(r)];
        const RuleValues& v = vals[static_cast<size_t>(r)];
        const bool when = v.when[static_cast<size_t>(k)] != 0;
        Hit h;
        h.row = row;
        h.rule = r;
        bool hit = false;
        int64_t hv = 0;
        if (rule.check == CheckKind::kNone) {
          hit = when;
        } else {
          const bool need_group = when || rule.check == CheckKind::kConflictWith;
          int32_t g = -1;
          if (need_group) {
            const int ks = rules[static_cast<size_t>(r)].key_set;
            int32_t& cached = line_groups[static_cast<size_t>(ks)];
            if (cached == kUnknownGroup) cached = GroupOf(ks, row);
            g = cached;
          }
          if (g < 0) continue;
          // population.h: visible (the stage loop stops at a rejection), when, keys, sum field.
          const bool sum_present = !rule.is_sum || store.column(rule.sum_field).IsValid(row);
          const bool in = Population::Classify(rule, /*visible=*/true, when, /*first_null_key=*/-1, sum_present) == Membership::kIn;
          hit = JudgeAndLog(rule, r, g, row, k, day, code, in, judge, h, hv, undo);
        }
        if (hit && judge) {
          if (rule.reject) reject_hit = true;
          if (hits) {
            hits->push_back(h);
            hit_v->push_back(hv);
          }
        }
      }
      if (judge && reject_hit && rejected_at == kNeverRejected) rejected_at = stage;
    }
    if (judge) rej_stage[row] = rejected_at;
  }

  void UndoAll(std::vector<Undo>& undo) {
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
      if (it->rule < 0) {  // a payer's settled line
        SettleLogOf(static_cast<size_t>(-1 - it->rule), it->group).RemoveAt(it->pos);
        continue;
      }
      const CheckKind check = plan.rules[static_cast<size_t>(it->rule)].check;
      if (check == CheckKind::kLimit) LimitLogOf(it->rule, it->group).RemoveAt(it->pos);
      else if (check == CheckKind::kConflictPairs) PairLogOf(it->rule, it->group).RemoveAt(it->pos);
      else EventLogOf(it->rule, it->group).RemoveAt(it->pos);
    }
    undo.clear();
  }

  // ---- bulk rebuilds ----

  void ClearLogs() {
    for (KeySet& ks : key_sets) {
      ks.packed_ids.clear();
      ks.tuple_ids.clear();
      ks.groups = 0;
    }
    for (RuleState& rs : rules) {
      rs.limits.clear();
      rs.events.clear();
      rs.pair_logs.clear();
    }
    for (PayerState& ps : payers) ps.logs.clear();
  }

  // Live rows in adjudication order.
  std::vector<RowIndex> LiveRowsInOrder() const {
    std::vector<RowIndex> rows;
    for (RowIndex r = 0; r < store.size(); ++r)
      if (!retracted[r]) rows.push_back(r);
    std::sort(rows.begin(), rows.end(), [&](RowIndex a, RowIndex b) { return ord[a] < ord[b]; });
    return rows;
  }

  // Rebuilds every log from the live rows; `judge` re-judges visibility.
  void RebuildLogs(bool judge) {
    ClearLogs();
    const std::vector<RowIndex> rows = LiveRowsInOrder();
    for (size_t b = 0; b < rows.size(); b += kChunk) {
      const int n = static_cast<int>(std::min<size_t>(kChunk, rows.size() - b));
      EvalRows(rows.data() + b, n);
      for (int k = 0; k < n; ++k) {
        ProcessLine(rows[b + static_cast<size_t>(k)], k, judge, nullptr, nullptr, nullptr);
        SettleLine(rows[b + static_cast<size_t>(k)], k, /*judge=*/false, nullptr);  // the recorded settlement
      }
    }
    if (has_horizon) {
      DropBefore(horizon);
      ReleaseIdleKeys();
    }
  }

  void DropBefore(Days b) {
    for (size_t r = 0; r < plan.rules.size(); ++r) {
      const RulePlan& rule = plan.rules[r];
      if (rule.check == CheckKind::kNone) continue;
      const Days keep = LookBackFrom(rule, plan.calendar, b);
      if (rule.check == CheckKind::kLimit) {
        for (LimitLog& log : rules[r].limits) log.DropBefore(keep);
      } else if (rule.check == CheckKind::kConflictPairs) {
        for (PairLog& log : rules[r].pair_logs) log.DropBefore(keep);
      } else {
        for (EventLog& log : rules[r].events) log.DropBefore(keep);
      }
    }
    // A payer's lines count only in their own bucket; an all-time scope folds them into its sums.
    for (size_t p = 0; p < plan.payers.size(); ++p) {
      const Days keep = plan.payers[p].period == Period::kNone ? b : PayerSettle::BucketOf(plan.payers[p], plan.calendar, b);
      for (SettleLog& log : payers[p].logs) log.DropBefore(keep);
    }
  }

  void AddMeta(RowIndex row) {
    ord.push_back(0);
    retracted.push_back(0);
    rej_stage.push_back(kNeverRejected);
    status.push_back(0);
    deduction.push_back(0);
    primary.push_back(-1);
    if (!plan.payers.empty()) patient.push_back(0);
    for (PayerState& ps : payers) {
      ps.pay.push_back(0);
      ps.deducted.push_back(0);
      ps.eligible.push_back(0);
      ps.in.push_back(0);
    }
    (void)row;
  }
  void TruncateMeta(RowIndex n) {
    for (auto* v : {&ord, &rej_stage, &deduction}) v->resize(n);
    retracted.resize(n);
    status.resize(n);
    primary.resize(n);
    if (!plan.payers.empty()) patient.resize(n);
    for (PayerState& ps : payers) {
      for (auto* v : {&ps.pay, &ps.deducted, &ps.eligible}) v->resize(n);
      ps.in.resize(n);
    }
  }

  OnlineLine MakeLine(RowIndex row) const {
    OnlineLine l;
    l.claim_id = std::string(store.String(kClaimId, row));
    l.line_no = store.Int(kLineNo, row);
    l.seq = store.Int(kSeq, row);
    l.service_date = store.Date(kServiceDate, row);
    l.amount = store.Int(kAmount, row);
    return l;
  }
};

}  // namespace online_internal

/// The state and the lock that serialises calls (linearizable).
struct OnlineEngine::Guarded {
  explicit Guarded(const Plan& plan) : state(std::make_unique<online_internal::EngineState>(plan)) {}
  SpinMutex mu;
  std::unique_ptr<online_internal::EngineState> state;
};

}  // namespace sanad
