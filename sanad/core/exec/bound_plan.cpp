#include "sanad/core/exec/bound_plan.h"

#include <algorithm>
#include <numeric>

#include "sanad/core/check.h"
#include "sanad/core/exec/expr_evaluator.h"

namespace sanad {

void DatedIndex::Build(const std::vector<int32_t>& key_of_entry, int32_t keys, const std::vector<Validity>& periods) {
  begin.assign(static_cast<size_t>(keys) + 1, 0);
  for (int32_t k : key_of_entry) ++begin[static_cast<size_t>(k) + 1];
  for (size_t k = 1; k < begin.size(); ++k) begin[k] += begin[k - 1];
  std::vector<uint32_t> fill(begin.begin(), begin.end() - 1);
  entry.resize(key_of_entry.size());
  for (size_t e = 0; e < key_of_entry.size(); ++e) entry[fill[static_cast<size_t>(key_of_entry[e])]++] = static_cast<int32_t>(e);
  for (size_t k = 0; k + 1 < begin.size(); ++k)
    std::sort(entry.begin() + begin[k], entry.begin() + begin[k + 1],
              [&](int32_t a, int32_t b) { return periods[static_cast<size_t>(a)].from < periods[static_cast<size_t>(b)].from; });
  period.resize(entry.size());
  for (size_t p = 0; p < entry.size(); ++p) period[p] = periods[static_cast<size_t>(entry[p])];
}

void CodePairSet::Reset(size_t expected) {
  size_t cap = 16;
  while (cap < expected * 2) cap *= 2;
  slots_.assign(cap, kEmpty);
  mask_ = cap - 1;
  count_ = 0;
  second_.clear();
  firsts_ = std::make_unique<FirstsIndex>();
}

std::pair<uint64_t, bool> CodePairSet::Insert(uint64_t key) {
  uint64_t i = Mix(key) & mask_;
  while (slots_[i] != kEmpty && slots_[i] != key) i = (i + 1) & mask_;
  const bool fresh = slots_[i] == kEmpty;
  if (fresh) {
    slots_[i] = key;
    ++count_;
  }
  const size_t second = static_cast<uint32_t>(key);
  if (second >= second_.size()) second_.resize(second + 1, 0);
  second_[second] = 1;
  return {i, fresh};
}

void CodePairSet::Build(const std::vector<uint64_t>& pairs) {
  Reset(pairs.size());
  dated_ = false;
  for (uint64_t key : pairs) Insert(key);
}

void CodePairSet::BuildDated(const std::vector<uint64_t>& keys, const std::vector<Validity>& periods,
                             const std::vector<uint8_t>& bypass) {
  Reset(keys.size());
  dated_ = true;
  ids_.assign(slots_.size(), -1);
  std::vector<int32_t> key_of(keys.size());
  int32_t next = 0;
  for (size_t e = 0; e < keys.size(); ++e) {
    const auto [slot, fresh] = Insert(keys[e]);
    if (fresh) ids_[slot] = next++;
    key_of[e] = ids_[slot];
  }
  periods_.Build(key_of, next, periods);
  bypass_ = bypass;
}

std::span<const int32_t> CodePairSet::FirstsOf(int32_t code) const {
  // Built on first use (only large conflict-pairs groups ask), once, by
  // whichever thread comes first: a counting pass and a fill pass over the
  // table, no sort (order within a second code does not matter).
  FirstsIndex& x = *firsts_;
  std::call_once(x.once, [&] {
    x.begin.assign(second_.size() + 1, 0);
    for (uint64_t k : slots_)
      if (k != kEmpty) ++x.begin[static_cast<uint32_t>(k) + size_t{1}];
    for (size_t c = 1; c < x.begin.size(); ++c) x.begin[c] += x.begin[c - 1];
    x.firsts.resize(count_);
    std::vector<uint32_t> fill(x.begin.begin(), x.begin.end() - 1);
    for (uint64_t k : slots_)
      if (k != kEmpty) x.firsts[fill[static_cast<uint32_t>(k)]++] = static_cast<int32_t>(k >> 32);
  });
  if (code < 0 || static_cast<size_t>(code) + 1 >= x.begin.size()) return {};
  return {x.firsts.data() + x.begin[static_cast<size_t>(code)],
          x.begin[static_cast<size_t>(code) + 1] - x.begin[static_cast<size_t>(code)]};
}

namespace {

constexpr int kDepNone = -2;   // constant
constexpr int kDepMulti = -1;  // several fields, or a non-string field

int CombineDeps(int x, int y) {
  if (x == kDepNone) return y;
  if (y == kDepNone) return x;
  if (x == y) return x;
  return kDepMulti;
}

void PostOrder(const std::vector<ExprNode>& nodes, int32_t idx, std::vector<int32_t>& order) {
  const ExprNode& n = nodes[static_cast<size_t>(idx)];
  if (n.left >= 0) PostOrder(nodes, n.left, order);
  if (n.right >= 0) PostOrder(nodes, n.right, order);
  order.push_back(idx);
}

// Copies the subtree at idx of `from` into `to`, returning the new index.
int32_t CopySubtree(const std::vector<ExprNode>& from, int32_t idx, std::vector<ExprNode>& to) {
  ExprNode n = from[static_cast<size_t>(idx)];
  if (n.left >= 0) n.left = CopySubtree(from, n.left, to);
  if (n.right >= 0) n.right = CopySubtree(from, n.right, to);
  to.push_back(std::move(n));
  return static_cast<int32_t>(to.size() - 1);
}

// Evaluates `prog` over synthetic rows: field `field` reads codes[k] and,
// when `days` is given, service_date reads days[k]. Values, validity and
// (string results) views land in the out arrays.
void EvalOverCodes(const BoundPlan& bound, const ClaimBatch& batch, const BoundProgram& prog, int field,
                   const std::vector<int32_t>& codes, const std::vector<int32_t>* days, std::vector<int64_t>* values,
                   std::vector<uint8_t>* valid, std::vector<std::string_view>* strings) {
  const RowIndex rows = static_cast<RowIndex>(codes.size());
  RowSource src = RowSource::FromBatch(batch);
  src.size = rows;
  FieldView& fv = src.fields[static_cast<size_t>(field)];
  fv.codes = codes.data();
  fv.valid = nullptr;
  if (days) {
    FieldView& dv = src.fields[static_cast<size_t>(kServiceDate)];
    dv.codes = days->data();
    dv.valid = nullptr;
  }
  values->resize(rows);
  valid->resize(rows);
  if (strings) strings->resize(rows);
  ExprEvaluator ev(bound);
  for (RowIndex begin = 0; begin < rows; begin += ExprEvaluator::kChunk) {
    const int n = static_cast<int>(std::min<RowIndex>(ExprEvaluator::kChunk, rows - begin));
    ev.Run(prog, src, begin, nullptr, n);
    std::copy(ev.values(), ev.values() + n, values->begin() + begin);
    std::copy(ev.valid(), ev.valid() + n, valid->begin() + begin);
    if (strings && ev.strings()) std::copy(ev.strings(), ev.strings() + n, strings->begin() + begin);
  }
}

bool IsDatedLookup(const Plan& plan, const ExprNode& n) {
  if (n.right < 0) return false;
  if (n.op == ExprOp::kInSet || n.op == ExprOp::kNotInSet) return plan.sets[static_cast<size_t>(n.ref)].dated;
  if (n.op == ExprOp::kLookup) return plan.tables[static_cast<size_t>(n.ref)].dated;
  return false;
}

// The days on which any dated lookup of t.sub may change its result for
// each of `codes` (rows): every valid_from and valid_to + 1 of the periods
// of the key each lookup sees for that code, as (row, day), by row.
std::vector<std::pair<uint32_t, Days>> Breakpoints(const BoundPlan& bound, const ClaimBatch& batch, const CodeTable& t,
                                                   const std::vector<int32_t>& codes) {
  std::vector<std::pair<uint32_t, Days>> out;
  const Plan& plan = *bound.plan;
  std::vector<int64_t> vals;
  std::vector<uint8_t> valid;
  std::vector<std::string_view> strs;
  int lookups = 0;
  for (const ExprNode& n : t.sub.nodes) {
    if (!IsDatedLookup(plan, n)) continue;
    ++lookups;
    BoundProgram key;
    key.root = CopySubtree(t.sub.nodes, n.left, key.nodes);
    PostOrder(key.nodes, key.root, key.order);
    const bool is_string = key.nodes[static_cast<size_t>(key.root)].type == ValueType::kString;
    EvalOverCodes(bound, batch, key, t.field, codes, nullptr, &vals, &valid, is_string ? &strs : nullptr);
    const DatedIndex& periods =
        n.op == ExprOp::kLookup ? bound.tables[static_cast<size_t>(n.ref)].periods : bound.sets[static_cast<size_t>(n.ref)].periods;
    for (size_t r = 0; r < codes.size(); ++r) {
      if (!valid[r]) continue;
      int32_t id;
      if (n.op == ExprOp::kLookup) {
        const BoundTable& bt = bound.tables[static_cast<size_t>(n.ref)];
        id = is_string ? bt.IdOf(strs[r]) : bt.IdOf(vals[r]);
      } else {
        const BoundSet& bs = bound.sets[static_cast<size_t>(n.ref)];
        id = is_string ? bs.IdOf(strs[r]) : bs.IdOf(vals[r]);
      }
      for (const Validity& v : periods.PeriodsOf(id)) {
        out.emplace_back(static_cast<uint32_t>(r), v.from);
        if (v.to != Validity::kOpenEnd) out.emplace_back(static_cast<uint32_t>(r), v.to + 1);
      }
    }
  }
  // One lookup appends rows in order with each key's days ascending; several interleave.
  if (lookups > 1) std::sort(out.begin(), out.end());
  return out;
}

// Fills the table for every code of t.field's dictionary not yet tabulated
// (all of them the first time). Row 0 stands for the null value.
void TabulateCodes(const BoundPlan& bound, const ClaimBatch& batch, CodeTable& t) {
  const StringDictionary& dict = batch.column(t.field).dict;
  const RowIndex rows = static_cast<RowIndex>(dict.size()) + 1;
  const RowIndex first = static_cast<RowIndex>(t.codes());
  if (first >= rows) return;
  std::vector<int32_t> codes(rows - first);
  std::iota(codes.begin(), codes.end(), static_cast<int32_t>(first) - 1);
  std::vector<int64_t> vals;
  std::vector<uint8_t> valid;
  if (!t.dated) {
    EvalOverCodes(bound, batch, t.sub, t.field, codes, nullptr, &vals, &valid, nullptr);
    t.values.insert(t.values.end(), vals.begin(), vals.end());
    t.valid.insert(t.valid.end(), valid.begin(), valid.end());
    return;
  }
  // Dated: one synthetic row per (code, period start); the first period of
  // every code starts at INT32_MIN.
  const std::vector<std::pair<uint32_t, Days>> breaks = Breakpoints(bound, batch, t, codes);
  std::vector<int32_t> row_codes, row_days;
  row_codes.reserve(codes.size() + breaks.size());
  row_days.reserve(codes.size() + breaks.size());
  size_t at = 0;
  for (size_t r = 0; r < codes.size(); ++r) {
    const size_t first = row_days.size();
    row_codes.push_back(codes[r]);
    row_days.push_back(INT32_MIN);
    for (; at < breaks.size() && breaks[at].first == r; ++at) {
      if (breaks[at].second == row_days.back()) continue;  // sorted: repeats are adjacent
      row_codes.push_back(codes[r]);
      row_days.push_back(breaks[at].second);
    }
    t.epoch_begin.push_back(t.epoch_begin.back() + static_cast<uint32_t>(row_days.size() - first));
  }
  EvalOverCodes(bound, batch, t.sub, t.field, row_codes, &row_days, &vals, &valid, nullptr);
  t.values.insert(t.values.end(), vals.begin(), vals.end());
  t.valid.insert(t.valid.end(), valid.begin(), valid.end());
  t.epoch_start.insert(t.epoch_start.end(), row_days.begin(), row_days.end());
}

class Binder {
 public:
  Binder(const Plan& plan, const ClaimBatch& batch, BoundPlan& out) : plan_(plan), batch_(batch), out_(out) {}

  void Run() {
    out_.plan = &plan_;
    out_.source = RowSource::FromBatch(batch_);
    for (const PlanSet& s : plan_.sets) {
      BoundSet b;
      b.type = s.type;
      b.dated = s.dated;
      std::vector<int32_t> key_of;
      for (const std::string& m : s.strings) key_of.push_back(b.strings.Intern(m));
      for (int64_t v : s.ints) key_of.push_back(b.ints.emplace(v, static_cast<int32_t>(b.ints.size())).first->second);
      if (s.dated) b.periods.Build(key_of, s.type == ValueType::kString ? b.strings.size() : static_cast<int32_t>(b.ints.size()), s.validity);
      out_.sets.push_back(std::move(b));
    }
    for (const PlanTable& t : plan_.tables) {
      BoundTable b;
      b.key_type = t.key_type;
      b.value_type = t.value_type;
      b.dated = t.dated;
      std::vector<int32_t> key_of;
      for (size_t i = 0; i < t.size(); ++i) {
        if (t.key_type == ValueType::kString) key_of.push_back(b.key_strings.Intern(t.key_strings[i]));
        else key_of.push_back(b.key_ints.emplace(t.key_ints[i], static_cast<int32_t>(b.key_ints.size())).first->second);
        // Undated keys are unique (the loader and the compiler see to it), so a key's id is its entry.
        SANAD_CHECK(t.dated || key_of.back() == static_cast<int32_t>(i));
      }
      if (t.dated)
        b.periods.Build(key_of, t.key_type == ValueType::kString ? b.key_strings.size() : static_cast<int32_t>(b.key_ints.size()),
                        t.validity);
      b.value_ints = t.value_ints;
      b.value_strings = t.value_strings;
      out_.tables.push_back(std::move(b));
    }
    const StringDictionary& codes = batch_.column(kServiceCode).dict;
    for (const PlanPairs& p : plan_.pairs) {
      std::vector<uint64_t> keys;
      std::vector<Validity> periods;
      std::vector<uint8_t> bypass;
      keys.reserve(p.pairs.size());
      // National tables list a first code's pairs together (and a dated
      // pair's periods): its code is looked up once per run of rows.
      const std::string* last_first = nullptr;
      int32_t a = -1;
      for (size_t e = 0; e < p.pairs.size(); ++e) {
        if (last_first == nullptr || *last_first != p.pairs[e].first) {
          last_first = &p.pairs[e].first;
          a = codes.Find(*last_first);
        }
        if (a < 0) continue;  // codes absent from the batch never match
        const int32_t b = codes.Find(p.pairs[e].second);
        if (b < 0) continue;
        keys.push_back(CodePairSet::Key(a, b));
        if (p.dated) {
          periods.push_back(p.validity[e]);
          bypass.push_back(p.bypass[e]);
        }
      }
      CodePairSet set;
      if (p.dated) set.BuildDated(keys, periods, bypass);
      else set.Build(keys);
      out_.pairs.push_back(std::move(set));
    }
    for (const RulePlan& r : plan_.rules) {
      BoundRule b;
      b.when = BindProgram(r.when);
      b.cap = BindProgram(r.cap);
      b.conflict = BindProgram(r.conflict);
      b.deduct_expr = BindProgram(r.deduct_expr);
      b.unless = BindProgram(r.unless);
      out_.rules.push_back(std::move(b));
    }
    for (const PayerPlan& p : plan_.payers) {
      BoundPayer b;
      b.when = BindProgram(p.when);
      b.deductible = BindProgram(p.deductible);
      b.ratio = BindProgram(p.ratio);
      b.ceiling = BindProgram(p.ceiling);
      b.line_ceiling = BindProgram(p.line_ceiling);
      for (const ExprProgram& l : p.band_limits) b.band_limits.push_back(BindProgram(l));
      out_.payers.push_back(std::move(b));
    }
  }

 private:
  BoundProgram BindProgram(const ExprProgram& p) {
    BoundProgram b;
    if (p.empty()) return b;
    b.nodes = p.nodes;
    b.root = p.root;
    // dep: the one string field a subtree reads (or none / several);
    // by_date: whether its value depends on the line's date through dated
    // lookups. A dated lookup reads service_date (its right operand) only
    // to resolve periods, which tabulation handles per code as long as its
    // key does not itself depend on the date.
    std::vector<int> dep(b.nodes.size(), kDepNone);
    std::vector<uint8_t> by_date(b.nodes.size(), 0);
    for (size_t i = 0; i < b.nodes.size(); ++i) {  // children come first
      const ExprNode& n = b.nodes[i];
      if (n.op == ExprOp::kField) {
        dep[i] = n.type == ValueType::kString ? n.field : kDepMulti;
        continue;
      }
      if (IsDatedLookup(plan_, n)) {
        const size_t key = static_cast<size_t>(n.left);
        dep[i] = by_date[key] ? kDepMulti : dep[key];
        by_date[i] = 1;
        continue;
      }
      int d = kDepNone;
      if (n.left >= 0) {
        d = CombineDeps(d, dep[static_cast<size_t>(n.left)]);
        by_date[i] |= by_date[static_cast<size_t>(n.left)];
      }
      if (n.right >= 0) {
        d = CombineDeps(d, dep[static_cast<size_t>(n.right)]);
        by_date[i] |= by_date[static_cast<size_t>(n.right)];
      }
      dep[i] = d;
    }
    Tabulate(b, b.root, dep, by_date);
    PostOrder(b.nodes, b.root, b.order);
    return b;
  }

  // Replaces maximal single-string-field subtrees below idx by per-code tables.
  void Tabulate(BoundProgram& b, int32_t idx, const std::vector<int>& dep, const std::vector<uint8_t>& by_date) {
    ExprNode& n = b.nodes[static_cast<size_t>(idx)];
    const int d = dep[static_cast<size_t>(idx)];
    if (d >= 0 && n.op != ExprOp::kField && n.type != ValueType::kString) {
      n = MakeCodeTable(b, idx, d, by_date[static_cast<size_t>(idx)] != 0);
      return;
    }
    if (n.left >= 0) Tabulate(b, n.left, dep, by_date);
    if (b.nodes[static_cast<size_t>(idx)].right >= 0) Tabulate(b, b.nodes[static_cast<size_t>(idx)].right, dep, by_date);
  }

  ExprNode MakeCodeTable(const BoundProgram& b, int32_t idx, int field, bool dated) {
    CodeTable t;
    t.field = field;
    t.dated = dated;
    if (dated) t.epoch_begin = {0};
    t.sub.root = CopySubtree(b.nodes, idx, t.sub.nodes);
    PostOrder(t.sub.nodes, t.sub.root, t.sub.order);
    TabulateCodes(out_, batch_, t);
    ExprNode node;
    node.op = dated ? ExprOp::kDatedCodeTable : ExprOp::kCodeTable;
    node.type = b.nodes[static_cast<size_t>(idx)].type;
    node.field = field;
    node.ref = static_cast<int32_t>(out_.code_tables.size());
    out_.code_tables.push_back(std::move(t));
    return node;
  }

  const Plan& plan_;
  const ClaimBatch& batch_;
  BoundPlan& out_;
};

}  // namespace

void ExtendCodeTables(BoundPlan& bound, const ClaimBatch& batch) {
  for (CodeTable& t : bound.code_tables) TabulateCodes(bound, batch, t);
}

Status CheckReferencesBound(const Plan& plan) {
  auto missing = [](const char* kind, const std::string& name) {
    return Status::NotFound(std::string("missing reference data for external ") + kind + " '" + name +
                            "' (bind it: --ref " + name + "=PATH on the command line, Rules::BindReferenceFiles in C++)");
  };
  for (const PlanSet& s : plan.sets)
    if (!s.bound) return missing("set", s.name);
  for (const PlanTable& t : plan.tables)
    if (!t.bound) return missing("table", t.name);
  for (const PlanPairs& p : plan.pairs)
    if (!p.bound) return missing("pairs", p.name);
  return Status::Ok();
}

std::unique_ptr<BoundPlan> Bind(const Plan& plan, const ClaimBatch& batch) {
  SANAD_CHECK(plan.schema == batch.schema());
  auto out = std::make_unique<BoundPlan>();
  Binder(plan, batch, *out).Run();
  return out;
}

}  // namespace sanad
