#include "online/online_engine.h"
#include "core/read_file.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>

#include <absl/container/flat_hash_map.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/exec/batch_evaluator.h"
#include "core/exec/checks/conflict_check.h"
#include "core/exec/checks/population.h"
#include "core/exec/checks/limit_check.h"
#include "core/exec/checks/repeat_check.h"
#include "core/exec/bound_plan.h"
#include "core/exec/deduction.h"
#include "core/exec/expr_evaluator.h"
#include "core/exec/line_order.h"
#include "core/exec/plan_fingerprint.h"
#include "core/output_file.h"
#include "core/exec/window_log.h"
#include "core/ingest/claims_reader.h"

namespace sanad {
namespace {

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
  std::vector<LimitLog> limits;  // by group id (limit rules)
  std::vector<EventLog> events;  // by group id (repeat, conflict with)
  std::vector<PairLog> pair_logs;  // by group id (conflict pairs)
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

void TruncateRows(ClaimBatch& b, RowIndex n) {
  for (int f = 0; f < b.schema().size(); ++f) {
    Column& c = b.column(f);
    if (c.type == ValueType::kString || c.type == ValueType::kDate) c.codes.resize(n);
    if (c.type == ValueType::kInt) c.ints.resize(n);
    if (c.type == ValueType::kBool) c.bits.Resize(n);
    if (c.nullable) c.valid.Resize(n);
  }
  b.SetSize(n);
}

// ---- snapshot encoding -------------------------------------------------

constexpr char kMagic[8] = {'S', 'A', 'N', 'A', 'D', 'S', 'N', 'P'};
constexpr uint32_t kSnapshotVersion = 2;  // 2: 128-bit plan fingerprint with reference data

class Writer {
 public:
  template <typename T>
  void Pod(const T& v) { Bytes(&v, sizeof v); }
  template <typename T>
  void Vec(const std::vector<T>& v) {
    Pod<uint64_t>(v.size());
    Bytes(v.data(), v.size() * sizeof(T));
  }
  void Str(std::string_view s) {
    Pod<uint64_t>(s.size());
    Bytes(s.data(), s.size());
  }
  void Bits(const Bitmap& b) {
    Pod<uint64_t>(b.size());
    Bytes(b.words(), b.word_count() * 8);
  }
  void Bytes(const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }
  std::string out;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <typename T>
  bool Pod(T* v) { return Bytes(v, sizeof *v); }
  template <typename T>
  bool Vec(std::vector<T>* v) {
    uint64_t n;
    if (!Pod(&n) || n > (in_.size() - pos_) / sizeof(T)) return false;
    v->resize(n);
    return Bytes(v->data(), n * sizeof(T));
  }
  bool Str(std::string* s) {
    uint64_t n;
    if (!Pod(&n) || n > in_.size() - pos_) return false;
    s->assign(in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool Bits(Bitmap* b) {
    uint64_t n;
    if (!Pod(&n) || (n + 63) / 64 > (in_.size() - pos_) / 8) return false;
    b->Resize(n);
    return Bytes(b->words(), b->word_count() * 8);
  }
  bool Bytes(void* p, size_t n) {
    if (n > in_.size() - pos_) return false;
    if (n) std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

struct OnlineEngine::State {
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
  std::vector<int32_t> group_cache;

  explicit State(const Plan& p) : plan(p), store(p.schema) {
    std::map<std::vector<int>, int> ks;
    rules.resize(plan.rules.size());
    for (size_t r = 0; r < plan.rules.size(); ++r) {
      const RulePlan& rule = plan.rules[r];
      if (rule.check == CheckKind::kNone) continue;
      auto [it, fresh] = ks.emplace(rule.keys, static_cast<int>(key_sets.size()));
      if (fresh) {
        KeySet k;
        k.fields = rule.keys;
        auto fits32 = [&](int f) { return plan.schema.field(f).type != ValueType::kInt; };
        k.packed = rule.keys.size() == 1 || (rule.keys.size() == 2 && fits32(rule.keys[0]) && fits32(rule.keys[1]));
        key_sets.push_back(std::move(k));
      }
      rules[r].key_set = it->second;
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
      auto compact = [&](auto& logs) {
        for (size_t g = 0; g < logs.size() && g < n; ++g)
          if (remap[g] >= 0 && static_cast<size_t>(remap[g]) != g) logs[static_cast<size_t>(remap[g])] = std::move(logs[g]);
        logs.resize(std::min(logs.size(), static_cast<size_t>(kept)));
        logs.shrink_to_fit();
      };
      for (RuleState& rs : rules) {
        if (rs.key_set != static_cast<int>(ksi)) continue;
        compact(rs.limits);
        compact(rs.events);
        compact(rs.pair_logs);
      }
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
      if (!br.deduct_expr.empty()) {
        ev->Run(br.deduct_expr, src, 0, rows, n);
        std::copy(ev->values(), ev->values() + n, v.ded.begin());
        std::copy(ev->valid(), ev->valid() + n, v.ded_valid.begin());
      }
    }
  }

  // ---- judging one line ----

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
    group_cache.assign(key_sets.size(), kUnknownGroup);
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
            int32_t& cached = group_cache[static_cast<size_t>(ks)];
            if (cached == kUnknownGroup) cached = GroupOf(ks, row);
            g = cached;
          }
          if (g < 0) continue;
          // population.h: visible (the stage loop stops at a rejection), when, keys, sum field.
          const bool sum_present = !rule.is_sum || store.column(rule.sum_field).IsValid(row);
          const bool in = Population::Classify(rule, /*visible=*/true, when, /*first_null_key=*/-1, sum_present) == Membership::kIn;
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
              if (judge) {
                RowIndex j;
                if (ConflictPairsCheck::Judge(rule, log, day, code, bound->pairs[static_cast<size_t>(rule.pairs)], &j)) {
                  hit = true;
                  h.evidence = EvidenceKind::kOtherLine;
                  h.other = j;
                }
              }
              const size_t pos = ConflictPairsCheck::Log(log, day, code, row);
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
      for (int k = 0; k < n; ++k) ProcessLine(rows[b + static_cast<size_t>(k)], k, judge, nullptr, nullptr, nullptr);
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
  }

  void AddMeta(RowIndex row) {
    ord.push_back(0);
    retracted.push_back(0);
    rej_stage.push_back(kNeverRejected);
    status.push_back(0);
    deduction.push_back(0);
    primary.push_back(-1);
    (void)row;
  }
  void TruncateMeta(RowIndex n) {
    for (auto* v : {&ord, &rej_stage, &deduction}) v->resize(n);
    retracted.resize(n);
    status.resize(n);
    primary.resize(n);
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

OnlineEngine::OnlineEngine(const Plan& plan) : plan_(plan), s_(std::make_unique<State>(plan)) { s_->Rebind(); }
OnlineEngine::~OnlineEngine() = default;

Status OnlineEngine::Preload(const ClaimBatch& history, int threads) {
  std::lock_guard<SpinMutex> lock(mu_);
  State& s = *s_;
  if (s.store.size() != 0) return Status::Invalid("preload: the engine already holds history");
  if (!(history.schema() == plan_.schema)) return Status::Invalid("preload: the batch's fields differ from the rule set's");
  AppendRows(history, 0, history.size(), s.store);
  s.Rebind();
  const RowIndex n = history.size();
  EvalOptions opt;
  opt.threads = threads;
  Verdicts v = EvaluateBatch(*s.bound, s.store, opt);
  for (RowIndex r = 0; r < n; ++r) s.AddMeta(r);
  const BigVector<RowIndex> order = ComputeLineOrder(s.store);
  int64_t max_seq = 0;
  for (RowIndex k = 0; k < n; ++k) s.ord[order[k]] = k;
  for (RowIndex r = 0; r < n; ++r) {
    s.status[r] = static_cast<uint8_t>(v.status[r]);
    s.deduction[r] = v.deduction[r];
    s.primary[r] = v.primary_rule[r];
    for (uint32_t h = v.hit_begin[r]; h < v.hit_begin[r + 1]; ++h) {
      const RulePlan& rule = plan_.rules[static_cast<size_t>(v.hits[h].rule)];
      if (rule.reject) s.rej_stage[r] = std::min(s.rej_stage[r], rule.stage);
    }
    s.claims[s.store.column(kClaimId).codes[r]].push_back(r);
    max_seq = std::max(max_seq, s.store.Int(kSeq, r));
  }
  s.next_seq = max_seq + 1;
  s.next_ord = n;
  s.RebuildLogs(/*judge=*/false);
  return Status::Ok();
}

Result<ClaimVerdict> OnlineEngine::Check(const ClaimBatch& claim) {
  std::lock_guard<SpinMutex> lock(mu_);
  return Judge(claim, false);
}

Result<ClaimVerdict> OnlineEngine::CheckAndCommit(const ClaimBatch& claim) {
  std::lock_guard<SpinMutex> lock(mu_);
  return Judge(claim, true);
}

Result<ClaimVerdict> OnlineEngine::CheckJson(std::string_view record, bool commit) {
  LoadOptions opt;
  opt.threads = 1;
  Result<LoadedClaims> loaded = ReadNdjson(record, plan_.schema, opt);
  if (!loaded.ok()) return loaded.status();
  if (loaded->records_read != 1) return Status::Invalid("expected one NDJSON record (one claim), got " + std::to_string(loaded->records_read));
  std::lock_guard<SpinMutex> lock(mu_);
  return Judge(loaded->batch, commit);
}

Result<ClaimVerdict> OnlineEngine::Judge(const ClaimBatch& claim, bool commit) {
  State& s = *s_;
  const RowIndex m = claim.size();
  if (m == 0) return Status::Invalid("a claim needs at least one line");
  if (m > static_cast<RowIndex>(kChunk)) return Status::Limit("a claim may have at most " + std::to_string(kChunk) + " lines online");
  if (!(claim.schema() == plan_.schema)) return Status::Invalid("the claim's fields differ from the rule set's");
  const std::string_view id = claim.String(kClaimId, 0);
  for (RowIndex r = 0; r < m; ++r) {
    if (claim.String(kClaimId, r) != id)
      return Status::Invalid("a claim's lines must share one claim_id: '" + std::string(id) + "' and '" +
                             std::string(claim.String(kClaimId, r)) + "'");
    for (RowIndex q = 0; q < r; ++q)
      if (claim.Int(kLineNo, q) == claim.Int(kLineNo, r))
        return Status::Invalid("claim '" + std::string(id) + "': duplicate line_no " + std::to_string(claim.Int(kLineNo, r)));
    if (s.has_horizon && claim.Date(kServiceDate, r) < s.horizon) {
      char d[10], h[10];
      FormatIsoDate(claim.Date(kServiceDate, r), d);
      FormatIsoDate(s.horizon, h);
      return Status::Invalid("claim '" + std::string(id) + "' line " + std::to_string(claim.Int(kLineNo, r)) +
                             ": service_date " + std::string(d, 10) + " is before the compaction horizon " + std::string(h, 10));
    }
  }
  const int32_t existing = s.store.column(kClaimId).dict.Find(id);
  if (existing >= 0) {
    auto it = s.claims.find(existing);
    if (it != s.claims.end() && !it->second.empty())
      return Status::Invalid("claim '" + std::string(id) + "' is already in history (retract it first to replace it)");
  }

  const RowIndex n0 = s.store.size();
  const int64_t seq0 = s.next_seq, ord0 = s.next_ord;
  AppendRows(claim, 0, m, s.store);
  Column& seq = s.store.column(kSeq);
  RowIndex rows[kChunk];
  for (RowIndex k = 0; k < m; ++k) {
    rows[k] = n0 + k;
    seq.ints[n0 + k] = s.next_seq++;
    s.AddMeta(n0 + k);
    s.ord[n0 + k] = s.next_ord++;
  }
  s.EvalRows(rows, static_cast<int>(m));
  // Adjudication order inside the claim: by day, then arrival (input) order.
  std::vector<int> by_order(m);
  std::iota(by_order.begin(), by_order.end(), 0);
  const int32_t* day = s.store.column(kServiceDate).codes.data();
  std::stable_sort(by_order.begin(), by_order.end(), [&](int a, int b) { return day[rows[a]] < day[rows[b]]; });

  std::vector<Undo> undo;
  std::vector<Hit> hits;
  std::vector<int64_t> hit_v;
  std::vector<State::NewGroup> created;
  s.new_groups = &created;
  ClaimVerdict out;
  out.lines.resize(m);
  for (int k : by_order) {
    const RowIndex row = rows[k];
    hits.clear();
    hit_v.clear();
    s.ProcessLine(row, k, true, &hits, &hit_v, &undo);
    std::vector<size_t> idx(hits.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return hits[a].rule < hits[b].rule; });
    OnlineLine line = s.MakeLine(row);
    VerdictAccumulator acc;
    for (size_t i : idx) {
      const Hit& h = hits[i];
      const RulePlan& rule = plan_.rules[static_cast<size_t>(h.rule)];
      const RuleValues& v = s.vals[static_cast<size_t>(h.rule)];
      OnlineHit oh;
      oh.rule = h.rule;
      oh.evidence = h.evidence;
      oh.total = h.total;
      oh.cap = h.cap;
      oh.deduction = HitDeduction(rule, line.amount, h.total, h.cap, hit_v[i], v.ded_valid[static_cast<size_t>(k)] != 0,
                                  v.ded[static_cast<size_t>(k)]);
      if (h.evidence == EvidenceKind::kOtherLine) {
        oh.other_claim_id = std::string(s.store.String(kClaimId, h.other));
        oh.other_line_no = s.store.Int(kLineNo, h.other);
      }
      acc.Add(h.rule, rule.reject, oh.deduction);
      line.hits.push_back(std::move(oh));
    }
    line.status = acc.status;
    line.deduction = acc.Deduction(line.amount);
    line.primary_rule = acc.primary;
    s.status[row] = static_cast<uint8_t>(line.status);
    s.deduction[row] = line.deduction;
    s.primary[row] = line.primary_rule;
    out.lines[static_cast<size_t>(k)] = std::move(line);
  }
  s.new_groups = nullptr;
  const bool over_budget = s.key_budget > 0 && !created.empty() && s.TotalGroups() > s.key_budget;
  if (commit && !over_budget) {
    std::vector<RowIndex>& list = s.claims[s.store.column(kClaimId).codes[n0]];
    for (RowIndex k = 0; k < m; ++k) list.push_back(n0 + k);
  } else {
    // A dry run, or a claim over the key budget: history as it was.
    const int64_t groups = over_budget ? s.TotalGroups() : 0;  // for the message
    s.UndoAll(undo);
    s.DropNewGroups(created);
    TruncateRows(s.store, n0);
    s.TruncateMeta(n0);
    s.next_seq = seq0;
    s.next_ord = ord0;
    s.RefreshSource();
    if (over_budget)
      return Status::Limit("claim '" + std::string(id) + "' would raise the engine's keys to " + std::to_string(groups) +
                           ", over its budget of " + std::to_string(s.key_budget) +
                           " (compact, or raise the budget with SetKeyBudget)");
  }
  return out;
}

void OnlineEngine::SetKeyBudget(int64_t max_keys) {
  std::lock_guard<SpinMutex> lock(mu_);
  s_->key_budget = max_keys;
}

Status OnlineEngine::Retract(std::string_view claim_id) {
  std::lock_guard<SpinMutex> lock(mu_);
  State& s = *s_;
  const int32_t code = s.store.column(kClaimId).dict.Find(claim_id);
  auto it = code < 0 ? s.claims.end() : s.claims.find(code);
  if (it == s.claims.end() || it->second.empty()) return Status::NotFound("retract: no claim '" + std::string(claim_id) + "' in history");
  std::vector<RowIndex> rows = std::move(it->second);
  s.claims.erase(it);
  for (RowIndex r : rows) s.retracted[r] = 1;
  bool folded = false;  // a line compacted away: its value may sit in a limit's folded total
  for (RowIndex r : rows) folded |= s.has_horizon && s.store.Date(kServiceDate, r) < s.horizon;
  if (s.multi_stage_visibility || folded) {
    // Later lines' visibility in later stages may depend on the voided
    // lines, or the voided lines were compacted into running totals:
    // rebuild the logs from the surviving history in order (O(history),
    // documented), which is "as if it never arrived" by construction.
    s.RebuildLogs(/*judge=*/s.multi_stage_visibility);
    return Status::Ok();
  }
  // One effective stage: log entries do not depend on other lines, so
  // removing the claim's entries is exactly "never arrived".
  for (size_t r = 0; r < plan_.rules.size(); ++r) {
    const RulePlan& rule = plan_.rules[r];
    if (rule.check == CheckKind::kNone) continue;
    for (RowIndex row : rows) {
      const int32_t g = s.FindGroup(s.rules[r].key_set, row);
      if (g < 0) continue;
      const Days day = s.store.Date(kServiceDate, row);
      if (rule.check == CheckKind::kLimit) {
        LimitLog& log = s.LimitLogOf(static_cast<int>(r), g);
        for (size_t p = log.LowerBound(day); p < log.e.size() && log.e[p].day == day; ++p)
          if (log.e[p].row == row) { log.RemoveAt(p); break; }
      } else if (rule.check == CheckKind::kConflictPairs) {
        s.PairLogOf(static_cast<int>(r), g).Remove(s.store.column(kServiceCode).codes[row], day, row);
      } else {
        EventLog& log = s.EventLogOf(static_cast<int>(r), g);
        for (size_t p = log.UpperBound(day - 1); p < log.e.size() && log.e[p].day == day; ++p)
          if (log.e[p].row == row) { log.RemoveAt(p); break; }
      }
    }
  }
  return Status::Ok();
}

Status OnlineEngine::Compact(Days before) {
  std::lock_guard<SpinMutex> lock(mu_);
  State& s = *s_;
  if (s.has_horizon && before <= s.horizon) return Status::Ok();
  s.has_horizon = true;
  s.horizon = before;
  s.DropBefore(before);
  s.ReleaseIdleKeys();
  return Status::Ok();
}

Result<std::vector<ReconcileDiff>> OnlineEngine::Reconcile(const ClaimBatch& batch, int threads) const {
  if (!(batch.schema() == plan_.schema)) return Status::Invalid("reconcile: the batch's fields differ from the rule set's");
  std::unique_ptr<BoundPlan> bound = Bind(plan_, batch);
  EvalOptions opt;
  opt.threads = threads;
  const Verdicts v = EvaluateBatch(*bound, batch, opt);
  std::lock_guard<SpinMutex> lock(mu_);
  const State& s = *s_;
  std::vector<ReconcileDiff> out;
  for (RowIndex r = 0; r < batch.size(); ++r) {
    ReconcileDiff d;
    d.claim_id = std::string(batch.String(kClaimId, r));
    d.line_no = batch.Int(kLineNo, r);
    d.batch_status = v.status[r];
    d.batch_deduction = v.deduction[r];
    d.batch_primary = v.primary_rule[r];
    const int32_t code = s.store.column(kClaimId).dict.Find(d.claim_id);
    auto it = code < 0 ? s.claims.end() : s.claims.find(code);
    if (it != s.claims.end())
      for (RowIndex h : it->second)
        if (s.store.Int(kLineNo, h) == d.line_no) {
          d.seen_online = true;
          d.online_status = static_cast<LineStatus>(s.status[h]);
          d.online_deduction = s.deduction[h];
          d.online_primary = s.primary[h];
        }
    if (!d.seen_online || d.online_status != d.batch_status || d.online_deduction != d.batch_deduction ||
        d.online_primary != d.batch_primary)
      out.push_back(std::move(d));
  }
  return out;
}

Status OnlineEngine::Snapshot(const std::string& path) const {
  std::lock_guard<SpinMutex> lock(mu_);
  const State& s = *s_;
  Writer w;
  const Fingerprint fp = PlanFingerprint(plan_);
  w.Pod(fp.high);
  w.Pod(fp.low);
  w.Pod<uint32_t>(s.store.size());
  w.Pod<int32_t>(s.store.schema().size());
  for (int f = 0; f < s.store.schema().size(); ++f) {
    const Column& c = s.store.column(f);
    w.Vec(c.codes);
    w.Vec(c.ints);
    w.Bits(c.bits);
    w.Bits(c.valid);
    w.Pod<int32_t>(c.dict.size());
    for (int32_t k = 0; k < c.dict.size(); ++k) w.Str(c.dict.View(k));
  }
  w.Vec(s.ord);
  w.Vec(s.retracted);
  w.Vec(s.rej_stage);
  w.Vec(s.status);
  w.Vec(s.deduction);
  w.Vec(s.primary);
  w.Pod(s.next_seq);
  w.Pod(s.next_ord);
  w.Pod<uint8_t>(s.has_horizon);
  w.Pod(s.horizon);
  std::string header(kMagic, sizeof kMagic);
  Writer h;
  h.Pod(kSnapshotVersion);
  h.Pod<uint64_t>(w.out.size());
  h.Pod<uint64_t>(XXH3_64bits(w.out.data(), w.out.size()));
  header += h.out;
  Result<std::unique_ptr<OutputFile>> out = OutputFile::Create(path);
  if (!out.ok()) return Status::Io("snapshot: " + out.status().message());
  if (Status st = (*out)->Write(header); !st.ok()) return Status::Io("snapshot: " + st.message());
  if (Status st = (*out)->Write(w.out); !st.ok()) return Status::Io("snapshot: " + st.message());
  if (Status st = (*out)->Commit(); !st.ok()) return Status::Io("snapshot: " + st.message());
  return Status::Ok();
}

Status OnlineEngine::Restore(const std::string& path) {
  Result<std::string> file = ReadFileToString(path);
  if (!file.ok()) return file.status();
  const std::string& data = file.value();
  const std::string bad = "restore: " + path + ": ";
  const size_t header = sizeof kMagic + 4 + 8 + 8;
  if (data.size() < header || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) return Status::Invalid(bad + "not a Sanad snapshot");
  Reader h(std::string_view(data).substr(sizeof kMagic, header - sizeof kMagic));
  uint32_t version;
  uint64_t length, checksum;
  (void)h.Pod(&version);
  (void)h.Pod(&length);
  (void)h.Pod(&checksum);
  if (version != kSnapshotVersion) return Status::Invalid(bad + "snapshot version " + std::to_string(version) + ", this build reads " + std::to_string(kSnapshotVersion));
  if (data.size() - header != length)
    return Status::Invalid(bad + "truncated or padded: " + std::to_string(data.size() - header) + " payload bytes, header says " + std::to_string(length));
  const std::string_view payload = std::string_view(data).substr(header);
  if (XXH3_64bits(payload.data(), payload.size()) != checksum) return Status::Invalid(bad + "checksum mismatch (corrupted)");

  auto fresh = std::make_unique<State>(plan_);
  State& s = *fresh;
  Reader r(payload);
  Fingerprint fp;
  uint32_t rows;
  int32_t fields;
  if (!r.Pod(&fp.high) || !r.Pod(&fp.low) || !(fp == PlanFingerprint(plan_)))
    return Status::Invalid(bad + "taken with different rules or reference data (fingerprint " + fp.ToString() +
                           ", these rules " + PlanFingerprint(plan_).ToString() + ")");
  if (!r.Pod(&rows) || !r.Pod(&fields) || fields != s.store.schema().size()) return Status::Invalid(bad + "field list differs");
  ClaimBatch store(plan_.schema);
  for (int f = 0; f < fields; ++f) {
    Column& c = store.column(f);
    int32_t dict_size;
    if (!r.Vec(&c.codes) || !r.Vec(&c.ints) || !r.Bits(&c.bits) || !r.Bits(&c.valid) || !r.Pod(&dict_size))
      return Status::Invalid(bad + "malformed column " + std::to_string(f));
    std::string str;
    for (int32_t k = 0; k < dict_size; ++k) {
      if (!r.Str(&str) || c.dict.Intern(str) != k) return Status::Invalid(bad + "malformed dictionary of column " + std::to_string(f));
    }
    const size_t want = rows;
    const bool sized = (c.type == ValueType::kInt ? c.ints.size() : c.type == ValueType::kBool ? c.bits.size() : c.codes.size()) == want &&
                       (!c.nullable || c.valid.size() == want);
    if (!sized) return Status::Invalid(bad + "column " + std::to_string(f) + " has the wrong length");
    if (c.type == ValueType::kString)
      for (int32_t code : c.codes)
        if (code < -1 || code >= dict_size) return Status::Invalid(bad + "column " + std::to_string(f) + " has an out-of-range code");
  }
  store.SetSize(rows);
  uint8_t has_horizon;
  if (!r.Vec(&s.ord) || !r.Vec(&s.retracted) || !r.Vec(&s.rej_stage) || !r.Vec(&s.status) || !r.Vec(&s.deduction) ||
      !r.Vec(&s.primary) || !r.Pod(&s.next_seq) || !r.Pod(&s.next_ord) || !r.Pod(&has_horizon) || !r.Pod(&s.horizon) || !r.done())
    return Status::Invalid(bad + "malformed line records");
  for (auto n : {s.ord.size(), s.retracted.size(), s.rej_stage.size(), s.status.size(), s.deduction.size(), s.primary.size()})
    if (n != rows) return Status::Invalid(bad + "line records do not match the line count");
  s.has_horizon = has_horizon != 0;
  s.store = std::move(store);
  for (RowIndex row = 0; row < rows; ++row)
    if (!s.retracted[row]) s.claims[s.store.column(kClaimId).codes[row]].push_back(row);
  s.Rebind();
  s.RebuildLogs(/*judge=*/false);
  std::lock_guard<SpinMutex> lock(mu_);
  fresh->key_budget = s_->key_budget;  // a setting of this engine, not part of the snapshot
  s_ = std::move(fresh);
  return Status::Ok();
}

OnlineMemory OnlineEngine::Memory() const {
  std::lock_guard<SpinMutex> lock(mu_);
  const State& s = *s_;
  OnlineMemory m;
  for (const auto& [code, rows] : s.claims) m.history_lines += static_cast<int64_t>(rows.size());
  for (const KeySet& ks : s.key_sets)
    m.state_bytes += ks.packed_ids.capacity() * (sizeof(uint64_t) + sizeof(int32_t) + 1) +
                     ks.tuple_ids.capacity() * (sizeof(std::vector<int64_t>) + sizeof(int32_t) + 1 + 8 * ks.fields.size());
  for (const RuleState& rs : s.rules) {
    for (const LimitLog& l : rs.limits) {
      m.groups += !l.e.empty();
      m.entries += static_cast<int64_t>(l.e.size());
      m.state_bytes += sizeof(LimitLog) + l.e.capacity() * sizeof(LimitEntry);
    }
    for (const EventLog& l : rs.events) {
      m.groups += !l.e.empty();
      m.entries += static_cast<int64_t>(l.e.size());
      m.state_bytes += sizeof(EventLog) + l.e.capacity() * sizeof(EventEntry);
    }
    for (const PairLog& l : rs.pair_logs) {
      m.groups += l.entries() > 0;
      m.entries += static_cast<int64_t>(l.entries());
      m.state_bytes += sizeof(PairLog) + l.all.e.capacity() * sizeof(EventEntry) + l.runs.capacity() * sizeof(PairLog::CodeRun);
      for (const PairLog::CodeRun& run : l.runs)
        if (run.e.size() > 1) m.state_bytes += run.e.capacity() * sizeof(PairEntry);
    }
  }
  m.keys = s.TotalGroups();
  m.history_bytes = s.store.ColumnBytes() + s.store.DictionaryBytes() +
                    s.ord.capacity() * (8 + 1 + 8 + 1 + 8 + 4);
  return m;
}

}  // namespace sanad
