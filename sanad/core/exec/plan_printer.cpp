#include "sanad/core/exec/plan_printer.h"

#include <map>

#include "sanad/core/digits.h"

namespace sanad {
namespace {

const char* OpName(ExprOp op) {
  switch (op) {
    case ExprOp::kNeg: return "-";
    case ExprOp::kAdd: return "+";
    case ExprOp::kSub: return "-";
    case ExprOp::kMul: return "*";
    case ExprOp::kDiv: return "/";
    case ExprOp::kMod: return "%";
    case ExprOp::kEq: return "==";
    case ExprOp::kNe: return "!=";
    case ExprOp::kLt: return "<";
    case ExprOp::kLe: return "<=";
    case ExprOp::kGt: return ">";
    case ExprOp::kGe: return ">=";
    case ExprOp::kAnd: return "and";
    case ExprOp::kOr: return "or";
    default: return "?";
  }
}

std::string Node(const Plan& plan, const ExprProgram& p, int32_t i) {
  const ExprNode& n = p.nodes[static_cast<size_t>(i)];
  auto sub = [&](int32_t c) { return Node(plan, p, c); };
  switch (n.op) {
    case ExprOp::kConst: {
      if (n.is_null) return "null";
      switch (n.type) {
        case ValueType::kString: return "\"" + n.str_value + "\"";
        case ValueType::kBool: return n.int_value ? "true" : "false";
        case ValueType::kDate: {
          char buf[11];
          FormatIsoDate(static_cast<Days>(n.int_value), buf);
          return std::string(buf, 10);
        }
        case ValueType::kInt: {  // 500000000 -> 500_000_000, as an analyst writes it (1000 stays)
          const std::string d = std::to_string(n.int_value);
          return d.size() - (n.int_value < 0) < 5 ? d : GroupDigits(d, '_');
        }
      }
      return "?";
    }
    case ExprOp::kField: return plan.schema.field(n.field).name;
    case ExprOp::kNeg: return "(-" + sub(n.left) + ")";
    case ExprOp::kNot: return "(not " + sub(n.left) + ")";
    case ExprOp::kIsNull: return "(" + sub(n.left) + " is null)";
    case ExprOp::kIsNotNull: return "(" + sub(n.left) + " is not null)";
    case ExprOp::kInSet:
    case ExprOp::kNotInSet: {
      const PlanSet& s = plan.sets[static_cast<size_t>(n.ref)];
      return "(" + sub(n.left) + (n.op == ExprOp::kInSet ? " in " : " not in ") + s.name + ")";
    }
    case ExprOp::kLookup: {
      const PlanTable& t = plan.tables[static_cast<size_t>(n.ref)];
      return t.name + "[" + sub(n.left) + "]";
    }
    case ExprOp::kStartsWith: return "starts_with(" + sub(n.left) + ", " + sub(n.right) + ")";
    case ExprOp::kYear: return "year(" + sub(n.left) + ")";
    case ExprOp::kMonth: return "month(" + sub(n.left) + ")";
    case ExprOp::kDaysBetween: return "days_between(" + sub(n.left) + ", " + sub(n.right) + ")";
    case ExprOp::kCodeTable: return "codetable(" + plan.schema.field(n.field).name + ")";
    case ExprOp::kDatedCodeTable: return "codetable(" + plan.schema.field(n.field).name + ", service_date)";
    default: return "(" + sub(n.left) + " " + OpName(n.op) + " " + sub(n.right) + ")";
  }
}

std::string Keys(const Plan& plan, const std::vector<int>& keys) {
  std::string s;
  for (size_t i = 0; i < keys.size(); ++i) s += (i ? ", " : "") + plan.schema.field(keys[i]).name;
  return s;
}

// "1,234 members": counts and sizes in running text.
std::string Plural(int64_t n, const char* one, const char* many) {
  return GroupDigits(std::to_string(n), ',') + " " + (n == 1 ? one : many);
}

// 5000 hundredths -> "50%", 1250 -> "12.5%".
std::string Percent(int64_t hundredths) {
  std::string s = std::to_string(hundredths / 100);
  if (int64_t f = hundredths % 100) s += "." + std::string(f % 10 ? (f < 10 ? "0" : "") + std::to_string(f) : std::to_string(f / 10));
  return s + "%";
}

// An expression without its outermost parentheses.
std::string Text(const Plan& plan, const ExprProgram& prog) {
  std::string s = ExprToString(plan, prog);
  if (s.size() >= 2 && s.front() == '(' && s.back() == ')') {
    int depth = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      depth += s[i] == '(' ? 1 : s[i] == ')' ? -1 : 0;
      if (depth == 0 && i + 1 < s.size()) return s;  // "(a) and (b)": not one group
    }
    return s.substr(1, s.size() - 2);
  }
  return s;
}

std::string Window(int64_t days) { return days == 1 ? "on the same day" : "within " + std::to_string(days) + " days"; }

std::string PeriodText(Period p, int64_t days) {
  switch (p) {
    case Period::kNone: return "over all time";
    case Period::kDay: return "per day";
    case Period::kMonth: return "per month";
    case Period::kYear: return "per year";
    case Period::kRolling: return "in any " + std::to_string(days) + " days";
  }
  return "?";
}

std::string ReferenceLine(const char* kind, const std::string& name, bool external, bool bound, bool dated, size_t n,
                          const char* one, const char* many) {
  std::string o = std::string("  ") + kind + " " + name + ": ";
  if (external && !bound) return o + "external, not loaded yet (--ref " + name + "=PATH)\n";
  o += Plural(static_cast<int64_t>(n), one, many);
  if (dated) o += ", each with its period in force";
  return o + (external ? " (external)" : " (inline)") + "\n";
}

}  // namespace

std::string ExprToString(const Plan& plan, const ExprProgram& prog) {
  return prog.empty() ? "true" : Node(plan, prog, prog.root);
}

std::string ExplainPlan(const Plan& plan) {
  std::string o = "Rule set";
  if (!plan.ruleset_name.empty()) o += " \"" + plan.ruleset_name + "\"";
  o += std::string(", ") + (plan.calendar == Calendar::kJalali ? "Jalali" : "Gregorian") + " calendar: " +
       Plural(static_cast<int64_t>(plan.rules.size()), "rule", "rules");
  if (!plan.payers.empty()) o += ", " + Plural(static_cast<int64_t>(plan.payers.size()), "payer", "payers");
  o += ".\nLines are judged in order of service date, then arrival (seq), then position in the input.\n";

  if (!plan.sets.empty() || !plan.tables.empty() || !plan.pairs.empty()) {
    o += "\nReference data\n";
    for (const PlanSet& t : plan.sets)
      o += ReferenceLine("set", t.name, t.external, t.bound, t.dated,
                         t.type == ValueType::kString ? t.strings.size() : t.ints.size(), "member", "members");
    for (const PlanTable& t : plan.tables)
      o += ReferenceLine("table", t.name, t.external, t.bound, t.dated, t.size(), "entry", "entries");
    for (const PlanPairs& t : plan.pairs) {
      o += ReferenceLine("pairs", t.name, t.external, t.bound, t.dated, t.pairs.size(), "pair", "pairs");
      if (t.dated && t.bound) {
        int64_t bypassable = 0;
        for (uint8_t b : t.bypass) bypassable += b;
        if (bypassable) o += "    " + Plural(bypassable, "pair", "pairs") + " may be bypassed by a rule's `unless`\n";
      }
    }
  }

  std::map<int64_t, std::vector<size_t>> stages;
  for (size_t i = 0; i < plan.rules.size(); ++i) stages[plan.rules[i].stage].push_back(i);
  for (const auto& [stage, idx] : stages) {
    o += "\nStage " + std::to_string(stage) + ": " + Plural(static_cast<int64_t>(idx.size()), "rule", "rules") +
         ", judged independently";
    o += stages.rbegin()->first == stage ? "\n" : "; lines they reject are invisible to later stages\n";
    for (size_t i : idx) {
      const RulePlan& r = plan.rules[i];
      o += "  " + r.name;
      if (!r.title.empty()) o += " \"" + r.title + "\"";
      if (r.code != r.name) o += " [code " + r.code + "]";
      o += "\n    applies to: ";
      o += r.when.empty() ? std::string("every line") : "lines where " + Text(plan, r.when);
      if (!r.keys.empty()) o += ", with " + Keys(plan, r.keys) + " present";
      if (r.is_sum) o += (r.keys.empty() ? ", with " : " and ") + plan.schema.field(r.sum_field).name + " present";
      o += "\n    hits: ";
      const std::string group = "the same " + Keys(plan, r.keys);
      switch (r.check) {
        case CheckKind::kNone: o += "every line it applies to\n"; break;
        case CheckKind::kLimit:
          o += std::string("when the ") +
               (r.is_sum ? "sum of " + plan.schema.field(r.sum_field).name : std::string("number of such lines")) + " per " +
               Keys(plan, r.keys) + " " + PeriodText(r.period, r.days) + ", this line included, is above " +
               Text(plan, r.cap) + "\n";
          break;
        case CheckKind::kRepeat:
          o += "when an earlier line it applies to, of " + group + ", is " + Window(r.days) + "\n";
          break;
        case CheckKind::kConflictWith:
          o += "when an earlier line of " + group + " " + Window(r.days) + " has " + Text(plan, r.conflict) + "\n";
          break;
        case CheckKind::kConflictPairs: {
          const PlanPairs& pp = plan.pairs[static_cast<size_t>(r.pairs)];
          o += "when an earlier line of " + group + " " + Window(r.days) + " has a code that pairs " + pp.name +
               " says this line's code may not follow" + (pp.dated ? " (pairs in force on this line's date)" : "") + "\n";
          if (!r.unless.empty())
            o += "    except: a bypassable pair, when " + Text(plan, r.unless) + " on either line\n";
          break;
        }
      }
      o += std::string("    then: ") + (r.reject ? "reject" : "warn") + ", deducting ";
      switch (r.deduct) {
        case DeductKind::kNone: o += r.reject ? "the whole amount" : "nothing"; break;
        case DeductKind::kPercent: o += Percent(r.percent_hundredths) + " of the amount"; break;
        case DeductKind::kExcess: o += "the part of the line above the cap"; break;
        case DeductKind::kExpr: o += Text(plan, r.deduct_expr) + " (between 0 and the amount; nothing if null)"; break;
      }
      o += "\n";
    }
  }

  if (!plan.payers.empty()) {
    o += "\nSettlement, after the verdicts: the payers in this order, then the patient pays what is left\n";
    for (size_t k = 0; k < plan.payers.size(); ++k) {
      const PayerPlan& p = plan.payers[k];
      o += "  " + std::to_string(k + 1) + ". " + p.name;
      if (!p.title.empty()) o += " \"" + p.title + "\"";
      o += "\n    covers: " + (p.when.empty() ? std::string("every line") : "lines where " + Text(plan, p.when));
      if (!p.keys.empty()) o += ", with " + Keys(plan, p.keys) + " present";
      o += std::string("\n    base: ") + (p.on_remaining ? "what the payers before it left" : "the payable amount") + "\n";
      const std::string scope = p.has_per ? " per " + Keys(plan, p.keys) + " " + PeriodText(p.period, 0) : "";
      if (!p.deductible.empty()) o += "    deductible: " + Text(plan, p.deductible) + scope + "\n";
      o += "    pays: ";
      switch (p.cover) {
        case CoverKind::kFlat: o += Percent(p.band_hundredths[0]) + " of the rest"; break;
        case CoverKind::kExprPercent: o += Text(plan, p.ratio) + " percent of the rest (0 to 100; 0 if null)"; break;
        case CoverKind::kBands:
          for (size_t b = 0; b < p.band_hundredths.size(); ++b) {
            o += (b ? ", " : "") + Percent(p.band_hundredths[b]);
            o += b < p.band_limits.size() ? " up to " + Text(plan, p.band_limits[b]) : " above";
          }
          o += " of the running total" + scope;
          break;
      }
      o += "\n";
      if (!p.line_ceiling.empty()) o += "    at most " + Text(plan, p.line_ceiling) + " a line\n";
      if (!p.ceiling.empty()) o += "    at most " + Text(plan, p.ceiling) + (p.has_per ? scope : std::string(" a line")) + "\n";
    }
  }

  std::map<std::vector<int>, std::vector<std::string>> groups;
  for (const RulePlan& r : plan.rules)
    if (r.check != CheckKind::kNone) groups[r.keys].push_back(r.name);
  if (!groups.empty()) {
    o += "\nHow it runs: rules with the same keys share one grouping pass (" + Plural(static_cast<int64_t>(groups.size()), "pass", "passes") + ")\n";
    for (const auto& [keys, rules] : groups) {
      o += "  per " + Keys(plan, keys) + ":";
      for (const std::string& r : rules) o += " " + r;
      o += "\n";
    }
  }
  return o;
}

}  // namespace sanad
