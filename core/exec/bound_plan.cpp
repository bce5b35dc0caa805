#include "core/exec/bound_plan.h"

#include <algorithm>
#include <numeric>

#include "core/check.h"
#include "core/exec/expr_evaluator.h"

namespace sanad {

void CodePairSet::Build(const std::vector<uint64_t>& pairs) {
  size_t cap = 16;
  while (cap < pairs.size() * 2) cap *= 2;
  slots_.assign(cap, kEmpty);
  mask_ = cap - 1;
  count_ = 0;
  for (uint64_t key : pairs) {
    uint64_t i = Mix(key) & mask_;
    while (slots_[i] != kEmpty && slots_[i] != key) i = (i + 1) & mask_;
    if (slots_[i] == kEmpty) {
      slots_[i] = key;
      ++count_;
    }
    const size_t second = static_cast<uint32_t>(key);
    if (second >= second_.size()) second_.resize(second + 1, 0);
    second_[second] = 1;
  }
  firsts_ = std::make_unique<FirstsIndex>();
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

// Fills t.values/t.valid for every code of t.field's dictionary not yet
// tabulated (all of them the first time). Row 0 stands for the null value.
void TabulateCodes(const BoundPlan& bound, const ClaimBatch& batch, CodeTable& t) {
  const StringDictionary& dict = batch.column(t.field).dict;
  const RowIndex rows = static_cast<RowIndex>(dict.size()) + 1;
  const RowIndex first = static_cast<RowIndex>(t.values.size());
  if (first >= rows) return;
  std::vector<int32_t> codes(rows - first);
  std::iota(codes.begin(), codes.end(), static_cast<int32_t>(first) - 1);
  RowSource src = RowSource::FromBatch(batch);
  src.size = rows - first;
  FieldView& fv = src.fields[static_cast<size_t>(t.field)];
  fv.codes = codes.data();
  fv.valid = nullptr;
  t.values.resize(rows);
  t.valid.resize(rows);
  ExprEvaluator ev(bound);
  for (RowIndex begin = 0; begin < rows - first; begin += ExprEvaluator::kChunk) {
    const int n = static_cast<int>(std::min<RowIndex>(ExprEvaluator::kChunk, rows - first - begin));
    ev.Run(t.sub, src, begin, nullptr, n);
    std::copy(ev.values(), ev.values() + n, t.values.begin() + first + begin);
    std::copy(ev.valid(), ev.valid() + n, t.valid.begin() + first + begin);
  }
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
      for (const std::string& m : s.strings) b.strings.Intern(m);
      for (int64_t v : s.ints) b.ints.insert(v);
      out_.sets.push_back(std::move(b));
    }
    for (const PlanTable& t : plan_.tables) {
      BoundTable b;
      b.key_type = t.key_type;
      b.value_type = t.value_type;
      for (size_t i = 0; i < t.size(); ++i) {
        if (t.key_type == ValueType::kString) b.key_strings.Intern(t.key_strings[i]);
        else b.key_ints.emplace(t.key_ints[i], static_cast<int32_t>(i));
      }
      b.value_ints = t.value_ints;
      b.value_strings = t.value_strings;
      out_.tables.push_back(std::move(b));
    }
    const StringDictionary& codes = batch_.column(kServiceCode).dict;
    for (const PlanPairs& p : plan_.pairs) {
      std::vector<uint64_t> keys;
      keys.reserve(p.pairs.size());
      for (const auto& [first, second] : p.pairs) {
        const int32_t a = codes.Find(first), b = codes.Find(second);
        if (a >= 0 && b >= 0) keys.push_back(CodePairSet::Key(a, b));  // codes absent from the batch never match
      }
      CodePairSet set;
      set.Build(keys);
      out_.pairs.push_back(std::move(set));
    }
    for (const RulePlan& r : plan_.rules) {
      BoundRule b;
      b.when = BindProgram(r.when);
      b.cap = BindProgram(r.cap);
      b.conflict = BindProgram(r.conflict);
      b.deduct_expr = BindProgram(r.deduct_expr);
      out_.rules.push_back(std::move(b));
    }
  }

 private:
  BoundProgram BindProgram(const ExprProgram& p) {
    BoundProgram b;
    if (p.empty()) return b;
    b.nodes = p.nodes;
    b.root = p.root;
    std::vector<int> dep(b.nodes.size(), kDepNone);
    for (size_t i = 0; i < b.nodes.size(); ++i) {  // children come first
      const ExprNode& n = b.nodes[i];
      if (n.op == ExprOp::kField) {
        dep[i] = n.type == ValueType::kString ? n.field : kDepMulti;
        continue;
      }
      int d = kDepNone;
      if (n.left >= 0) d = CombineDeps(d, dep[static_cast<size_t>(n.left)]);
      if (n.right >= 0) d = CombineDeps(d, dep[static_cast<size_t>(n.right)]);
      dep[i] = d;
    }
    Tabulate(b, b.root, dep);
    PostOrder(b.nodes, b.root, b.order);
    return b;
  }

  // Replaces maximal single-string-field subtrees below idx by per-code tables.
  void Tabulate(BoundProgram& b, int32_t idx, const std::vector<int>& dep) {
    ExprNode& n = b.nodes[static_cast<size_t>(idx)];
    const int d = dep[static_cast<size_t>(idx)];
    if (d >= 0 && n.op != ExprOp::kField && n.type != ValueType::kString) {
      n = MakeCodeTable(b, idx, d);
      return;
    }
    if (n.left >= 0) Tabulate(b, n.left, dep);
    if (b.nodes[static_cast<size_t>(idx)].right >= 0) Tabulate(b, b.nodes[static_cast<size_t>(idx)].right, dep);
  }

  ExprNode MakeCodeTable(const BoundProgram& b, int32_t idx, int field) {
    CodeTable t;
    t.field = field;
    t.sub.root = CopySubtree(b.nodes, idx, t.sub.nodes);
    PostOrder(t.sub.nodes, t.sub.root, t.sub.order);
    TabulateCodes(out_, batch_, t);
    ExprNode node;
    node.op = ExprOp::kCodeTable;
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

std::unique_ptr<BoundPlan> Bind(const Plan& plan, const ClaimBatch& batch) {
  SANAD_CHECK(plan.schema == batch.schema());
  auto out = std::make_unique<BoundPlan>();
  Binder(plan, batch, *out).Run();
  return out;
}

}  // namespace sanad
