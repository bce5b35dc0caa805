#include "sanad/compiler/compiler.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "sanad/core/exec/bound_plan.h"
#include "sanad/core/exec/expr_evaluator.h"
#include "sanad/rules_dsl/formatter.h"
#include "sanad/rules_dsl/parser.h"

namespace sanad::compiler {
namespace {

using dsl::Span;

enum class SymKind { kField, kSet, kTable, kPairs, kRule, kPayer };

const char* SymKindName(SymKind k) {
  switch (k) {
    case SymKind::kField: return "field";
    case SymKind::kSet: return "set";
    case SymKind::kTable: return "table";
    case SymKind::kPairs: return "pairs table";
    case SymKind::kRule: return "rule";
    case SymKind::kPayer: return "payer";
  }
  return "?";
}

struct Symbol {
  SymKind kind;
  int index;
  Span span;
  bool standard = false;
};

// A checked expression: its type (nullopt after an error) and its node.
struct Typed {
  std::optional<ValueType> type;
  int32_t node = -1;
  bool ok() const { return type.has_value(); }
};

ValueType ToValueType(dsl::TypeName t) {
  switch (t) {
    case dsl::TypeName::kInt: return ValueType::kInt;
    case dsl::TypeName::kString: return ValueType::kString;
    case dsl::TypeName::kBool: return ValueType::kBool;
    case dsl::TypeName::kDate: return ValueType::kDate;
  }
  return ValueType::kInt;
}

ValueType LiteralType(const dsl::Literal& l) {
  switch (l.kind) {
    case dsl::Literal::kInt: return ValueType::kInt;
    case dsl::Literal::kString: return ValueType::kString;
    case dsl::Literal::kDate: return ValueType::kDate;
    case dsl::Literal::kBool: return ValueType::kBool;
  }
  return ValueType::kInt;
}

int64_t LiteralValue(const dsl::Literal& l) {
  if (l.kind == dsl::Literal::kDate)
    return DaysFromCivil(static_cast<int32_t>(l.value / 10000), static_cast<int32_t>(l.value / 100 % 100),
                         static_cast<int32_t>(l.value % 100));
  return l.value;
}

std::string TypeStr(ValueType t) { return std::string(ValueTypeName(t)); }

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

class Compiler {
 public:
  Compiler(const dsl::Program& prog, dsl::DiagnosticBag& diags, const dsl::SourceFile* src)
      : prog_(prog), diags_(diags), src_(src) {}

  std::unique_ptr<Plan> Run() {
    const int errors_before = diags_.error_count();
    plan_.ruleset_name = prog_.ruleset_name.value_or("");
    plan_.calendar = prog_.calendar == dsl::CalendarKind::kJalali ? Calendar::kJalali : Calendar::kGregorian;
    fold_bound_.plan = &plan_;
    for (int f = 0; f < plan_.schema.size(); ++f)
      syms_[plan_.schema.field(f).name] = {SymKind::kField, f, {}, true};
    for (const dsl::Decl& d : prog_.order) Declare(d);
    for (size_t i = 0; i < prog_.rules.size(); ++i) {
      if (rule_ok_[i]) CompileRule(prog_.rules[i]);
    }
    for (size_t i = 0; i < prog_.payers.size(); ++i) {
      if (payer_ok_[i]) CompilePayer(prog_.payers[i], i == 0);
    }
    for (size_t i = 0; i < prog_.sets.size(); ++i)
      if (!set_used_[i]) diags_.Warning("W0101", prog_.sets[i].name.span, "set '" + prog_.sets[i].name.name + "' is never used");
    for (size_t i = 0; i < prog_.tables.size(); ++i)
      if (!table_used_[i]) diags_.Warning("W0101", prog_.tables[i].name.span, "table '" + prog_.tables[i].name.name + "' is never used");
    for (size_t i = 0; i < prog_.pairs.size(); ++i)
      if (!pairs_used_[i]) diags_.Warning("W0101", prog_.pairs[i].name.span, "pairs '" + prog_.pairs[i].name.name + "' is never used");
    if (diags_.error_count() > errors_before) return nullptr;
    return std::make_unique<Plan>(std::move(plan_));
  }

 private:
  std::string LineOf(Span s) const { return src_ ? "line " + std::to_string(src_->Line(s.begin)) : "earlier"; }

  bool Register(const std::string& name, Symbol sym) {
    auto it = syms_.find(name);
    if (it != syms_.end()) {
      dsl::Diagnostic d;
      d.code = "E0302";
      d.span = sym.span;
      if (it->second.standard) {
        d.message = "'" + name + "' is a standard field; choose another name";
      } else {
        d.message = "'" + name + "' is already declared as a " + SymKindName(it->second.kind);
        d.notes.push_back("first declared at " + LineOf(it->second.span));
      }
      diags_.Add(std::move(d));
      return false;
    }
    syms_.emplace(name, sym);
    return true;
  }

  // An inline or external table: key and value types, inline entries typed
  // and unique by key (E0405, E0311).
  PlanTable TableOf(const dsl::TableDecl& t) {
    PlanTable pt;
    pt.name = t.name.name;
    pt.key_type = ToValueType(t.key_type);
    pt.value_type = ToValueType(t.value_type);
    pt.external = t.external;
    pt.bound = !t.external;
    pt.dated = t.dated;
    std::unordered_map<std::string, Span> seen_str;
    std::unordered_map<int64_t, Span> seen_int;
    for (const auto& [k, v] : t.entries) {
      if (LiteralType(k) != pt.key_type) {
        diags_.Error("E0405", k.span, "table key is " + TypeStr(LiteralType(k)) + " but '" + t.name.name + "' has " +
                                          TypeStr(pt.key_type) + " keys");
        continue;
      }
      if (LiteralType(v) != pt.value_type) {
        diags_.Error("E0405", v.span, "table value is " + TypeStr(LiteralType(v)) + " but '" + t.name.name +
                                          "' has " + TypeStr(pt.value_type) + " values");
        continue;
      }
      bool dup = pt.key_type == ValueType::kString ? !seen_str.emplace(k.text, k.span).second
                                                   : !seen_int.emplace(LiteralValue(k), k.span).second;
      if (dup) {
        diags_.Error("E0311", k.span, "duplicate key " + dsl::FormatLiteralForMessage(k) + " in table '" + t.name.name + "'");
        continue;
      }
      if (pt.key_type == ValueType::kString) pt.key_strings.push_back(k.text);
      else pt.key_ints.push_back(LiteralValue(k));
      if (pt.value_type == ValueType::kString) pt.value_strings.push_back(v.text);
      else pt.value_ints.push_back(LiteralValue(v));
    }
    return pt;
  }

  // One declaration: its name registered, and sets, tables and pairs turned
  // into the plan's reference objects (inline entries checked).
  void Declare(const dsl::Decl& d) {
    switch (d.kind) {
      case dsl::Decl::kRuleset:
      case dsl::Decl::kCalendar: return;
      case dsl::Decl::kField: {
        const dsl::FieldDecl& f = prog_.fields[d.index];
        if (Register(f.name.name, {SymKind::kField, plan_.schema.size(), f.name.span})) {
          (void)plan_.schema.AddExtra(f.name.name, ToValueType(f.type));
        }
        return;
      }
      case dsl::Decl::kSet: {
        const dsl::SetDecl& s = prog_.sets[d.index];
        set_used_.resize(prog_.sets.size(), false);
        set_index_.resize(prog_.sets.size(), -1);
        if (!Register(s.name.name, {SymKind::kSet, static_cast<int>(d.index), s.name.span})) return;
        PlanSet ps;
        ps.name = s.name.name;
        ps.external = s.external;
        ps.bound = !s.external;
        ps.dated = s.dated;
        if (!s.external) FillSet(ps, s.members, std::nullopt);
        set_type_known_.push_back(!s.external && !s.members.empty());
        set_index_[d.index] = static_cast<int>(plan_.sets.size());
        plan_.sets.push_back(std::move(ps));
        return;
      }
      case dsl::Decl::kTable: {
        const dsl::TableDecl& t = prog_.tables[d.index];
        table_used_.resize(prog_.tables.size(), false);
        table_index_.resize(prog_.tables.size(), -1);
        if (!Register(t.name.name, {SymKind::kTable, static_cast<int>(d.index), t.name.span})) return;
        PlanTable pt = TableOf(t);
        table_index_[d.index] = static_cast<int>(plan_.tables.size());
        plan_.tables.push_back(std::move(pt));
        return;
      }
      case dsl::Decl::kPairs: {
        const dsl::PairsDecl& p = prog_.pairs[d.index];
        pairs_used_.resize(prog_.pairs.size(), false);
        pairs_index_.resize(prog_.pairs.size(), -1);
        if (!Register(p.name.name, {SymKind::kPairs, static_cast<int>(d.index), p.name.span})) return;
        PlanPairs pp;
        pp.name = p.name.name;
        pp.external = p.external;
        pp.bound = !p.external;
        pp.dated = p.dated;
        for (const auto& [a, b] : p.pairs) {
          for (const dsl::Literal* l : {&a, &b})
            if (l->kind != dsl::Literal::kString)
              diags_.Error("E0406", l->span, "pairs hold service codes (strings), found " + TypeStr(LiteralType(*l)));
          pp.pairs.emplace_back(a.text, b.text);
        }
        pairs_index_[d.index] = static_cast<int>(plan_.pairs.size());
        plan_.pairs.push_back(std::move(pp));
        return;
      }
      case dsl::Decl::kRule: {
        const dsl::RuleDecl& r = prog_.rules[d.index];
        rule_ok_.resize(prog_.rules.size(), false);
        rule_ok_[d.index] = Register(r.name.name, {SymKind::kRule, static_cast<int>(d.index), r.name.span});
        return;
      }
      case dsl::Decl::kPayer: {
        const dsl::PayerDecl& p = prog_.payers[d.index];
        payer_ok_.resize(prog_.payers.size(), false);
        static const char* kColumns[] = {"allowed", "patient", "balance"};  // settlement output columns
        for (const char* c : kColumns)
          if (p.name.name == c) {
            diags_.Error("E0308", p.name.span, "'" + p.name.name + "' names a settlement output column; choose another payer name");
            return;
          }
        payer_ok_[d.index] = Register(p.name.name, {SymKind::kPayer, static_cast<int>(d.index), p.name.span});
        return;
      }
    }
  }

  // Members of an inline set: one type (`want` when known), duplicates warned.
  void FillSet(PlanSet& ps, const std::vector<dsl::Literal>& members, std::optional<ValueType> want) {
    if (!members.empty()) ps.type = want.value_or(LiteralType(members[0]));
    else if (want) ps.type = *want;
    std::unordered_set<std::string> seen_s;
    std::unordered_set<int64_t> seen_i;
    for (const dsl::Literal& m : members) {
      if (LiteralType(m) != ps.type) {
        diags_.Error("E0406", m.span, "set member is " + TypeStr(LiteralType(m)) + " but the set holds " + TypeStr(ps.type) +
                                          " values");
        continue;
      }
      const bool fresh = ps.type == ValueType::kString ? seen_s.insert(m.text).second : seen_i.insert(LiteralValue(m)).second;
      if (!fresh) {
        diags_.Warning("W0103", m.span, "duplicate set member " + dsl::FormatLiteralForMessage(m));
        continue;
      }
      if (ps.type == ValueType::kString) ps.strings.push_back(m.text);
      else ps.ints.push_back(LiteralValue(m));
    }
  }

  // ---- expressions ----
  int32_t Add(ExprNode n) { return cur_->Add(std::move(n)); }

  Typed Const(ValueType t, int64_t i, std::string s = {}, bool is_null = false) {
    ExprNode n;
    n.op = ExprOp::kConst;
    n.type = t;
    n.int_value = i;
    n.str_value = std::move(s);
    n.is_null = is_null;
    return {t, Add(std::move(n))};
  }

  bool IsConst(int32_t node) const { return cur_->nodes[static_cast<size_t>(node)].op == ExprOp::kConst; }

  // Adds an operator node; folds it when every operand is a constant (using
  // the evaluator's own kernels, so folding cannot disagree with evaluation).
  Typed Node(ExprOp op, ValueType type, int32_t a, int32_t b = -1, ValueType arg_type = ValueType::kInt, int32_t aux = -1) {
    ExprNode n;
    n.op = op;
    n.type = type;
    n.arg_type = arg_type;
    n.left = a;
    n.right = b;
    n.ref = aux;
    // `false and x` is false and `true or x` is true whatever x is (both are two-valued).
    if (op == ExprOp::kAnd || op == ExprOp::kOr) {
      for (int32_t side : {a, b}) {
        if (!IsConst(side)) continue;
        const ExprNode& c = cur_->nodes[static_cast<size_t>(side)];
        const bool truth = !c.is_null && c.int_value != 0;
        if (op == ExprOp::kAnd && !truth) return Const(ValueType::kBool, 0);
        if (op == ExprOp::kOr && truth) return Const(ValueType::kBool, 1);
      }
    }
    const bool foldable = aux < 0 && type != ValueType::kString && (a < 0 || IsConst(a)) && (b < 0 || IsConst(b));
    if (!foldable) return {type, Add(std::move(n))};
    BoundProgram p;
    if (a >= 0) { p.nodes.push_back(cur_->nodes[static_cast<size_t>(a)]); n.left = 0; }
    if (b >= 0) { p.nodes.push_back(cur_->nodes[static_cast<size_t>(b)]); n.right = static_cast<int32_t>(p.nodes.size() - 1); }
    p.nodes.push_back(n);
    p.root = static_cast<int32_t>(p.nodes.size() - 1);
    for (int32_t i = 0; i <= p.root; ++i) p.order.push_back(i);
    ExprEvaluator ev(fold_bound_);
    ev.Run(p, fold_bound_.source, 0, nullptr, 1);
    // Drop the folded operands (they are the last nodes added) and add the constant.
    const int32_t first = std::min(a < 0 ? INT32_MAX : a, b < 0 ? INT32_MAX : b);
    if (first != INT32_MAX && static_cast<size_t>(std::max(a, b)) + 1 == cur_->nodes.size()) cur_->nodes.resize(static_cast<size_t>(first));
    return Const(type, ev.values()[0], {}, !ev.valid()[0]);
  }

  Typed Error() { return {std::nullopt, -1}; }

  // The date a dated lookup is made on: the line's service_date (§2.1).
  int32_t LineDate() {
    ExprNode n;
    n.op = ExprOp::kField;
    n.type = ValueType::kDate;
    n.field = kServiceDate;
    return Add(std::move(n));
  }

  std::string Suggest(const std::string& name, SymKind kind) const {
    std::string best;
    size_t best_d = std::max<size_t>(2, name.size() / 3) + 1;
    for (const auto& [n, s] : syms_) {
      if (s.kind != kind) continue;
      size_t d = EditDistance(name, n);
      if (d < best_d || (d == best_d && n < best)) { best_d = d; best = n; }
    }
    return best;
  }

  void Unknown(const dsl::Ident& id, SymKind want) {
    dsl::Diagnostic d;
    d.code = "E0301";
    d.span = id.span;
    auto it = syms_.find(id.name);
    if (it != syms_.end()) {
      d.code = want == SymKind::kField ? "E0303" : want == SymKind::kSet ? "E0303" : want == SymKind::kTable ? "E0304" : "E0305";
      d.message = "'" + id.name + "' is a " + SymKindName(it->second.kind) + ", not a " + SymKindName(want);
    } else {
      d.message = std::string("unknown ") + SymKindName(want) + " '" + id.name + "'";
      std::string s = Suggest(id.name, want);
      if (!s.empty()) d.notes.push_back("did you mean '" + s + "'?");
    }
    diags_.Add(std::move(d));
  }

  // Resolves a field name; -1 after reporting.
  int ResolveField(const dsl::Ident& id) {
    auto it = syms_.find(id.name);
    if (it == syms_.end() || it->second.kind != SymKind::kField) {
      Unknown(id, SymKind::kField);
      return -1;
    }
    return it->second.index;
  }

  bool Expect(const Typed& t, ValueType want, Span span, const std::string& code, const std::string& what) {
    if (!t.ok()) return false;
    if (*t.type != want) {
      diags_.Error(code, span, what + " must be " + TypeStr(want) + ", found " + TypeStr(*t.type));
      return false;
    }
    return true;
  }

  Typed Lower(const dsl::Expr& e) {
    switch (e.kind) {
      case dsl::ExprKind::kLiteral:
        return Const(LiteralType(e.lit), LiteralValue(e.lit), e.lit.text);
      case dsl::ExprKind::kName: {
        int f = ResolveField(e.name);
        if (f < 0) return Error();
        ExprNode n;
        n.op = ExprOp::kField;
        n.type = plan_.schema.field(f).type;
        n.field = f;
        return {n.type, Add(std::move(n))};
      }
      case dsl::ExprKind::kUnary: {
        Typed a = Lower(*e.args[0]);
        if (e.op == dsl::Op::kNot) {
          if (!Expect(a, ValueType::kBool, e.args[0]->span, "E0403", "the operand of 'not'")) return Error();
          return Node(ExprOp::kNot, ValueType::kBool, a.node);
        }
        if (!Expect(a, ValueType::kInt, e.args[0]->span, "E0402", "the operand of unary '-'")) return Error();
        return Node(ExprOp::kNeg, ValueType::kInt, a.node);
      }
      case dsl::ExprKind::kBinary: return LowerBinary(e);
      case dsl::ExprKind::kIsNull: {
        Typed a = Lower(*e.args[0]);
        if (!a.ok()) return Error();
        return Node(e.negated ? ExprOp::kIsNotNull : ExprOp::kIsNull, ValueType::kBool, a.node);
      }
      case dsl::ExprKind::kIn: return LowerIn(e);
      case dsl::ExprKind::kIndex: {
        auto it = syms_.find(e.name.name);
        if (it == syms_.end() || it->second.kind != SymKind::kTable) {
          Unknown(e.name, SymKind::kTable);
          Lower(*e.args[0]);
          return Error();
        }
        const int ti = table_index_[static_cast<size_t>(it->second.index)];
        table_used_[static_cast<size_t>(it->second.index)] = true;
        const PlanTable& t = plan_.tables[static_cast<size_t>(ti)];
        Typed k = Lower(*e.args[0]);
        if (!k.ok()) return Error();
        if (*k.type != t.key_type) {
          diags_.Error("E0405", e.args[0]->span, "table '" + t.name + "' has " + TypeStr(t.key_type) + " keys, found " + TypeStr(*k.type));
          return Error();
        }
        return Node(ExprOp::kLookup, t.value_type, k.node, t.dated ? LineDate() : -1, t.key_type, ti);
      }
      case dsl::ExprKind::kCall: return LowerCall(e);
    }
    return Error();
  }

  Typed LowerBinary(const dsl::Expr& e) {
    Typed a = Lower(*e.args[0]);
    Typed b = Lower(*e.args[1]);
    if (!a.ok() || !b.ok()) return Error();
    const std::string op = dsl::OpText(e.op);
    switch (e.op) {
      case dsl::Op::kAnd:
      case dsl::Op::kOr: {
        bool ok = Expect(a, ValueType::kBool, e.args[0]->span, "E0403", "an operand of '" + op + "'");
        ok &= Expect(b, ValueType::kBool, e.args[1]->span, "E0403", "an operand of '" + op + "'");
        if (!ok) return Error();
        return Node(e.op == dsl::Op::kAnd ? ExprOp::kAnd : ExprOp::kOr, ValueType::kBool, a.node, b.node);
      }
      case dsl::Op::kAdd: case dsl::Op::kSub: case dsl::Op::kMul: case dsl::Op::kDiv: case dsl::Op::kMod: {
        if (*a.type != ValueType::kInt || *b.type != ValueType::kInt) {
          const bool left_bad = *a.type != ValueType::kInt;
          std::string hint = (*a.type == ValueType::kDate && *b.type == ValueType::kDate && e.op == dsl::Op::kSub)
                                 ? " (use days_between(a, b) for the days between two dates)"
                                 : "";
          diags_.Error("E0402", left_bad ? e.args[0]->span : e.args[1]->span,
                       "operator '" + op + "' needs int operands, found " + TypeStr(*a.type) + " and " + TypeStr(*b.type) + hint);
          return Error();
        }
        ExprOp o = e.op == dsl::Op::kAdd ? ExprOp::kAdd : e.op == dsl::Op::kSub ? ExprOp::kSub
                 : e.op == dsl::Op::kMul ? ExprOp::kMul : e.op == dsl::Op::kDiv ? ExprOp::kDiv : ExprOp::kMod;
        return Node(o, ValueType::kInt, a.node, b.node);
      }
      default: {  // comparisons
        if (*a.type != *b.type) {
          diags_.Error("E0401", e.span, "cannot compare " + TypeStr(*a.type) + " with " + TypeStr(*b.type));
          return Error();
        }
        const bool ordering = e.op != dsl::Op::kEq && e.op != dsl::Op::kNe;
        if (ordering && *a.type == ValueType::kBool) {
          diags_.Error("E0410", e.span, "operator '" + op + "' does not apply to bool; use == or !=");
          return Error();
        }
        ExprOp o = e.op == dsl::Op::kEq ? ExprOp::kEq : e.op == dsl::Op::kNe ? ExprOp::kNe : e.op == dsl::Op::kLt ? ExprOp::kLt
                 : e.op == dsl::Op::kLe ? ExprOp::kLe : e.op == dsl::Op::kGt ? ExprOp::kGt : ExprOp::kGe;
        return Node(o, ValueType::kBool, a.node, b.node, *a.type);
      }
    }
  }

  Typed LowerIn(const dsl::Expr& e) {
    Typed a = Lower(*e.args[0]);
    int set_idx = -1;
    if (e.inline_set) {
      if (!a.ok()) return Error();
      PlanSet ps;
      ps.name = "{inline}";
      const int before = diags_.error_count();
      FillSet(ps, e.set_members, a.type);
      if (diags_.error_count() > before) return Error();
      set_idx = static_cast<int>(plan_.sets.size());
      plan_.sets.push_back(std::move(ps));
    } else {
      auto it = syms_.find(e.name.name);
      if (it == syms_.end() || it->second.kind != SymKind::kSet) {
        Unknown(e.name, SymKind::kSet);
        return Error();
      }
      const size_t decl = static_cast<size_t>(it->second.index);
      set_used_[decl] = true;
      set_idx = set_index_[decl];
      if (!a.ok()) return Error();
      PlanSet& ps = plan_.sets[static_cast<size_t>(set_idx)];
      if (!set_type_known_[static_cast<size_t>(set_idx)]) {  // external (or empty): the first use decides
        ps.type = *a.type;
        set_type_known_[static_cast<size_t>(set_idx)] = true;
      } else if (ps.type != *a.type) {
        diags_.Error("E0406", e.span, "set '" + ps.name + "' holds " + TypeStr(ps.type) + " values, found " + TypeStr(*a.type) + " on the left of 'in'");
        return Error();
      }
    }
    const bool dated = plan_.sets[static_cast<size_t>(set_idx)].dated;
    return Node(e.negated ? ExprOp::kNotInSet : ExprOp::kInSet, ValueType::kBool, a.node, dated ? LineDate() : -1, *a.type, set_idx);
  }

  Typed LowerCall(const dsl::Expr& e) {
    struct Sig { const char* name; std::vector<ValueType> args; ValueType result; ExprOp op; };
    static const std::vector<Sig> kSigs = {
        {"starts_with", {ValueType::kString, ValueType::kString}, ValueType::kBool, ExprOp::kStartsWith},
        {"year", {ValueType::kDate}, ValueType::kInt, ExprOp::kYear},
        {"month", {ValueType::kDate}, ValueType::kInt, ExprOp::kMonth},
        {"days_between", {ValueType::kDate, ValueType::kDate}, ValueType::kInt, ExprOp::kDaysBetween},
    };
    const Sig* sig = nullptr;
    for (const Sig& s : kSigs)
      if (e.name.name == s.name) sig = &s;
    std::vector<Typed> args;
    for (const auto& a : e.args) args.push_back(Lower(*a));
    if (sig == nullptr) {
      dsl::Diagnostic d;
      d.code = "E0306";
      d.span = e.name.span;
      d.message = "unknown function '" + e.name.name + "'";
      d.notes.push_back("functions are starts_with(string, string), year(date), month(date), days_between(date, date)");
      diags_.Add(std::move(d));
      return Error();
    }
    if (args.size() != sig->args.size()) {
      diags_.Error("E0404", e.span, std::string(sig->name) + "() takes " + std::to_string(sig->args.size()) + " argument" +
                                        (sig->args.size() == 1 ? "" : "s") + ", found " + std::to_string(args.size()));
      return Error();
    }
    bool ok = true;
    for (size_t i = 0; i < args.size(); ++i) {
      if (!args[i].ok()) { ok = false; continue; }
      if (*args[i].type != sig->args[i]) {
        diags_.Error("E0404", e.args[i]->span, "argument " + std::to_string(i + 1) + " of " + sig->name + "() must be " +
                                                   TypeStr(sig->args[i]) + ", found " + TypeStr(*args[i].type));
        ok = false;
      }
    }
    if (!ok) return Error();
    return Node(sig->op, sig->result, args[0].node, args.size() > 1 ? args[1].node : -1,
                sig->args[0]);
  }

  // ---- rules ----
  // A rule: its header, then one step per clause (when, keys, check, action).
  void CompileRule(const dsl::RuleDecl& r) {
    RulePlan rp;
    rp.name = r.name.name;
    rp.title = r.title.value_or("");
    rp.code = r.code.value_or(r.name.name);
    rp.stage = r.stage;
    if (r.has_stage && r.stage < 1) diags_.Error("E0502", r.stage_span, "stage must be a whole number >= 1");
    CompileWhen(r, rp);
    const dsl::Check& c = r.check;
    rp.check = c.kind == dsl::CheckKind::kLimit ? CheckKind::kLimit
             : c.kind == dsl::CheckKind::kRepeat ? CheckKind::kRepeat
             : c.kind == dsl::CheckKind::kConflictWith ? CheckKind::kConflictWith
             : c.kind == dsl::CheckKind::kConflictPairs ? CheckKind::kConflictPairs : CheckKind::kNone;
    CompileKeys(c, rp);
    CompileCheck(c, rp);
    CompileAction(r.action, c, rp);
    cur_ = nullptr;
    plan_.rules.push_back(std::move(rp));
  }

  // `when EXPR`: a bool condition; W0102 when it folds to false.
  void CompileWhen(const dsl::RuleDecl& r, RulePlan& rp) {
    if (r.when) {
      cur_ = &rp.when;
      Typed t = Lower(*r.when);
      if (Expect(t, ValueType::kBool, r.when->span, "E0403", "the condition of 'when'")) {
        rp.when.root = t.node;
        const ExprNode& n = rp.when.nodes[static_cast<size_t>(t.node)];
        if (n.op == ExprOp::kConst && (n.is_null || n.int_value == 0))
          diags_.Warning("W0102", r.when->span, "rule '" + r.name.name + "' can never fire: its condition is always false");
      }
    }
  }

  // `per KEYS` of a rule or a payer: fields, each once (E0307, W0107).
  void CompileKeys(const dsl::Check& c, RulePlan& rp) { ResolveKeys(c.keys, rp.keys); }
  void ResolveKeys(const std::vector<dsl::Ident>& keys, std::vector<int>& out) {
    for (const dsl::Ident& k : keys) {
      auto it = syms_.find(k.name);
      if (it == syms_.end() || it->second.kind != SymKind::kField) {
        dsl::Diagnostic d;
        d.code = "E0307";
        d.span = k.span;
        d.message = "key '" + k.name + "' is not a field";
        std::string s = Suggest(k.name, SymKind::kField);
        if (!s.empty()) d.notes.push_back("did you mean '" + s + "'?");
        diags_.Add(std::move(d));
        continue;
      }
      if (std::find(out.begin(), out.end(), it->second.index) != out.end()) {
        diags_.Warning("W0107", k.span, "key '" + k.name + "' is listed twice");
        continue;
      }
      out.push_back(it->second.index);
    }
  }

  // limit (period, cap, sum field) / repeat / conflict (window, expression or pairs).
  void CompileCheck(const dsl::Check& c, RulePlan& rp) {
    switch (c.kind) {
      case dsl::CheckKind::kNone: break;
      case dsl::CheckKind::kLimit: {
        if (c.is_sum) {
          rp.is_sum = true;
          rp.sum_field = ResolveField(c.sum_field);
          if (rp.sum_field >= 0 && plan_.schema.field(rp.sum_field).type != ValueType::kInt)
            diags_.Error("E0407", c.sum_field.span, "sum() needs an int field; '" + c.sum_field.name + "' is " +
                                                        TypeStr(plan_.schema.field(rp.sum_field).type));
        }
        switch (c.period) {
          case dsl::PeriodKind::kNone: rp.period = Period::kNone; break;
          case dsl::PeriodKind::kDay: rp.period = Period::kDay; break;
          case dsl::PeriodKind::kMonth: rp.period = Period::kMonth; break;
          case dsl::PeriodKind::kYear: rp.period = Period::kYear; break;
          case dsl::PeriodKind::kRolling:
            rp.period = Period::kRolling;
            rp.days = c.period_days;
            if (c.period_days < 1) diags_.Error("E0503", c.period_span, "a rolling window needs at least 1 day");
            break;
        }
        cur_ = &rp.cap;
        Typed cap = Lower(*c.cap);
        if (Expect(cap, ValueType::kInt, c.cap->span, "E0408", "the cap of a limit")) rp.cap.root = cap.node;
        break;
      }
      case dsl::CheckKind::kRepeat:
      case dsl::CheckKind::kConflictWith:
      case dsl::CheckKind::kConflictPairs:
        rp.days = c.window_days;
        if (c.window_days < 1) diags_.Error("E0503", c.window_span, "a window needs at least 1 day ('within 1 days' is the same day)");
        if (c.kind == dsl::CheckKind::kConflictWith) {
          cur_ = &rp.conflict;
          Typed t = Lower(*c.conflict_expr);
          if (Expect(t, ValueType::kBool, c.conflict_expr->span, "E0403", "the condition of 'conflict with'")) rp.conflict.root = t.node;
        } else if (c.kind == dsl::CheckKind::kConflictPairs) {
          auto it = syms_.find(c.pairs_name.name);
          if (it == syms_.end() || it->second.kind != SymKind::kPairs) {
            Unknown(c.pairs_name, SymKind::kPairs);
          } else {
            pairs_used_[static_cast<size_t>(it->second.index)] = true;
            rp.pairs = pairs_index_[static_cast<size_t>(it->second.index)];
          }
        }
        break;
    }
    CompileUnless(c, rp);
  }

  // `unless EXPR` (§2.1): a bool condition, on `conflict pairs` only; on
  // undated pairs (no bypass column) it can never exempt anything.
  void CompileUnless(const dsl::Check& c, RulePlan& rp) {
    if (!c.unless) return;
    if (c.kind != dsl::CheckKind::kConflictPairs) {
      diags_.Error("E0504", c.unless_span, "'unless' applies only to 'conflict pairs' (it lets a condition override pairs marked bypassable)");
      return;
    }
    cur_ = &rp.unless;
    Typed t = Lower(*c.unless);
    if (!Expect(t, ValueType::kBool, c.unless->span, "E0403", "the condition of 'unless'")) return;
    rp.unless.root = t.node;
    if (rp.pairs >= 0 && !plan_.pairs[static_cast<size_t>(rp.pairs)].dated)
      diags_.Warning("W0108", c.unless_span, "'unless' has no effect: pairs '" + plan_.pairs[static_cast<size_t>(rp.pairs)].name +
                                                 "' are not dated, so none is marked bypassable");
  }

  // ---- payers (SETTLEMENT.md §1) ----
  // An int expression of a payer clause (E0411 otherwise).
  ExprProgram PayerInt(const dsl::Expr& e, const std::string& what) {
    ExprProgram prog;
    cur_ = &prog;
    Typed t = Lower(e);
    if (Expect(t, ValueType::kInt, e.span, "E0411", what)) prog.root = t.node;
    cur_ = nullptr;
    return prog;
  }

  void CompilePayer(const dsl::PayerDecl& p, bool first) {
    PayerPlan pp;
    pp.name = p.name.name;
    pp.title = p.title.value_or("");
    if (p.when) {
      cur_ = &pp.when;
      Typed t = Lower(*p.when);
      if (Expect(t, ValueType::kBool, p.when->span, "E0403", "the condition of 'when'")) pp.when.root = t.node;
      cur_ = nullptr;
    }
    pp.on_remaining = p.on_remaining;
    if (first && p.on_remaining)
      diags_.Error("E0507", p.on_span, "'on remaining' on the first payer: nothing is paid before it, so its base is the payable amount");
    pp.has_per = p.has_per;
    ResolveKeys(p.keys, pp.keys);
    pp.period = p.period == dsl::PeriodKind::kDay ? Period::kDay : p.period == dsl::PeriodKind::kMonth ? Period::kMonth
              : p.period == dsl::PeriodKind::kYear ? Period::kYear : Period::kNone;
    auto needs_per = [&](Span at, const std::string& what) {
      if (!p.has_per)
        diags_.Error("E0508", at, what + " needs 'per KEYS' (the scope whose running total it counts against)");
    };
    if (p.deductible) {
      needs_per(p.deductible_span, "'deductible'");
      pp.deductible = PayerInt(*p.deductible, "a deductible");
    }
    pp.cover = p.cover == dsl::CoverKind::kFlat ? CoverKind::kFlat : p.cover == dsl::CoverKind::kBands ? CoverKind::kBands
             : CoverKind::kExprPercent;
    if (pp.cover == CoverKind::kBands) needs_per(p.cover_span, "a tiered coverage");
    for (const dsl::Band& b : p.bands) {
      if (b.percent_hundredths > 10000) diags_.Error("E0506", b.percent_span, "a coverage percentage is at most 100%");
      pp.band_hundredths.push_back(b.percent_hundredths);
      if (b.limit) pp.band_limits.push_back(PayerInt(*b.limit, "a band limit"));
    }
    if (p.ratio) pp.ratio = PayerInt(*p.ratio, "a coverage ratio (whole percent)");
    if (p.ceiling) pp.ceiling = PayerInt(*p.ceiling, "a ceiling");
    if (p.line_ceiling) pp.line_ceiling = PayerInt(*p.line_ceiling, "a line ceiling");
    plan_.payers.push_back(std::move(pp));
  }

  // reject | warn, and the deduction.
  void CompileAction(const dsl::Action& a, const dsl::Check& c, RulePlan& rp) {
    rp.reject = a.kind == dsl::ActionKind::kReject;
    switch (a.deduct) {
      case dsl::DeductKind::kNone: rp.deduct = DeductKind::kNone; break;
      case dsl::DeductKind::kPercent:
        rp.deduct = DeductKind::kPercent;
        rp.percent_hundredths = a.percent_hundredths;
        if (a.percent_hundredths > 10000)
          diags_.Warning("W0105", a.deduct_span, "deduction above 100%; a line's deduction never exceeds its amount");
        break;
      case dsl::DeductKind::kExcess:
        rp.deduct = DeductKind::kExcess;
        if (c.kind != dsl::CheckKind::kLimit)
          diags_.Error("E0501", a.deduct_span, "'deduct excess' needs a 'limit' check (the excess is the part above the cap)");
        break;
      case dsl::DeductKind::kExpr: {
        rp.deduct = DeductKind::kExpr;
        cur_ = &rp.deduct_expr;
        Typed t = Lower(*a.amount);
        if (Expect(t, ValueType::kInt, a.amount->span, "E0409", "a deduction")) rp.deduct_expr.root = t.node;
        break;
      }
    }
  }

  const dsl::Program& prog_;
  dsl::DiagnosticBag& diags_;
  const dsl::SourceFile* src_;
  Plan plan_;
  BoundPlan fold_bound_;
  ExprProgram* cur_ = nullptr;
  std::unordered_map<std::string, Symbol> syms_;
  std::vector<bool> set_used_, table_used_, pairs_used_, rule_ok_, payer_ok_;
  std::vector<int> set_index_, table_index_, pairs_index_;
  std::vector<bool> set_type_known_;
};

}  // namespace

std::unique_ptr<Plan> Compile(const dsl::Program& program, dsl::DiagnosticBag& diags, const dsl::SourceFile* source) {
  return Compiler(program, diags, source).Run();
}

CompileResult CompileSource(const dsl::SourceFile& source) {
  CompileResult out;
  dsl::ParseResult parsed = dsl::Parse(source, out.diagnostics);
  std::unique_ptr<Plan> plan = Compile(parsed.program, out.diagnostics, &source);
  if (!out.diagnostics.HasErrors()) out.plan = std::move(plan);
  out.diagnostics.SortByPosition();
  return out;
}

}  // namespace sanad::compiler
