#include "sanad/core/exec/plan_printer.h"

#include <map>

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
        case ValueType::kInt: return std::to_string(n.int_value);
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
      const size_t size = s.type == ValueType::kString ? s.strings.size() : s.ints.size();
      return "(" + sub(n.left) + (n.op == ExprOp::kInSet ? " in " : " not in ") + s.name + "[" + std::to_string(size) +
             (s.dated ? " dated entries] on " + sub(n.right) + ")" : " members])");
    }
    case ExprOp::kLookup: {
      const PlanTable& t = plan.tables[static_cast<size_t>(n.ref)];
      return t.name + "[" + sub(n.left) + "]" + (t.dated ? " on " + sub(n.right) : std::string());
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

}  // namespace

std::string ExprToString(const Plan& plan, const ExprProgram& prog) {
  return prog.empty() ? "true" : Node(plan, prog, prog.root);
}

std::string ExplainPlan(const Plan& plan) {
  std::string o = "plan";
  if (!plan.ruleset_name.empty()) o += " \"" + plan.ruleset_name + "\"";
  o += std::string(" (calendar ") + (plan.calendar == Calendar::kJalali ? "jalali" : "gregorian") + ")\n";
  o += "order: lines sorted once by (service_date, seq, input position)\n";
  std::map<std::vector<int>, std::vector<std::string>> groups;
  for (const RulePlan& r : plan.rules)
    if (r.check != CheckKind::kNone) groups[r.keys].push_back(r.name);
  o += "grouping passes: " + std::to_string(groups.size()) + "\n";
  for (const auto& [keys, rules] : groups) {
    o += "  per " + Keys(plan, keys) + ":";
    for (const std::string& r : rules) o += " " + r;
    o += "\n";
  }
  std::map<int64_t, std::vector<size_t>> stages;
  for (size_t i = 0; i < plan.rules.size(); ++i) stages[plan.rules[i].stage].push_back(i);
  for (const auto& [stage, idx] : stages) {
    o += "stage " + std::to_string(stage) + " (" + std::to_string(idx.size()) + " rules, run in parallel; lines they reject leave later stages)\n";
    for (size_t i : idx) {
      const RulePlan& r = plan.rules[i];
      o += "  rule " + r.name + " [#" + std::to_string(i) + "]\n";
      o += "    population: " + ExprToString(plan, r.when) + " and visible";
      if (!r.keys.empty()) o += " and keys (" + Keys(plan, r.keys) + ") not null";
      if (r.is_sum) o += " and " + plan.schema.field(r.sum_field).name + " not null";
      o += "\n";
      switch (r.check) {
        case CheckKind::kNone: o += "    check: every population line hits\n"; break;
        case CheckKind::kLimit: {
          static const char* kPeriod[] = {"all time", "day", "month", "year", "rolling"};
          o += "    check: limit " + (r.is_sum ? "sum(" + plan.schema.field(r.sum_field).name + ")" : std::string("count")) +
               " per " + Keys(plan, r.keys) + ", bucket " + kPeriod[static_cast<int>(r.period)];
          if (r.period == Period::kRolling) o += " " + std::to_string(r.days) + " days";
          o += ", cap " + ExprToString(plan, r.cap) + " (scan in line order)\n";
          break;
        }
        case CheckKind::kRepeat:
          o += "    check: repeat per " + Keys(plan, r.keys) + " within " + std::to_string(r.days) + " days (scan)\n";
          break;
        case CheckKind::kConflictWith:
          o += "    check: conflict with " + ExprToString(plan, r.conflict) + " per " + Keys(plan, r.keys) + " within " +
               std::to_string(r.days) + " days (scan)\n";
          break;
        case CheckKind::kConflictPairs:
          o += "    check: conflict pairs " + plan.pairs[static_cast<size_t>(r.pairs)].name + " per " + Keys(plan, r.keys) +
               " within " + std::to_string(r.days) + " days (code-pair hash set" +
               (plan.pairs[static_cast<size_t>(r.pairs)].dated ? ", pairs in force on the later line's service_date" : "") +
               ", scan)\n";
          if (!r.unless.empty()) o += "    unless: " + ExprToString(plan, r.unless) + " on line i or j exempts bypassable pairs\n";
          break;
      }
      o += std::string("    action: ") + (r.reject ? "reject" : "warn");
      switch (r.deduct) {
        case DeductKind::kNone: o += r.reject ? " deduct amount" : " deduct 0"; break;
        case DeductKind::kPercent: o += " deduct " + std::to_string(r.percent_hundredths) + "/10000 of amount"; break;
        case DeductKind::kExcess: o += " deduct excess"; break;
        case DeductKind::kExpr: o += " deduct clamp(" + ExprToString(plan, r.deduct_expr) + ", 0, amount)"; break;
      }
      o += "\n";
    }
  }
  if (!plan.payers.empty()) {
    o += "settlement: " + std::to_string(plan.payers.size()) +
         " payers in order, after the verdicts, each in line order per scope group (key partitions)\n";
    static const char* kPeriod[] = {"all time", "day", "month", "year", "rolling"};
    for (const PayerPlan& p : plan.payers) {
      o += "  payer " + p.name + "\n    population: " + ExprToString(plan, p.when);
      if (!p.keys.empty()) o += " and keys (" + Keys(plan, p.keys) + ") not null";
      o += std::string("\n    base: ") + (p.on_remaining ? "what earlier payers left" : "the payable amount") + "\n";
      if (p.has_per) o += "    scope: per " + Keys(plan, p.keys) + ", bucket " + kPeriod[static_cast<int>(p.period)] + "\n";
      if (!p.deductible.empty()) o += "    deductible: " + ExprToString(plan, p.deductible) + " less what earlier lines took\n";
      o += "    covers: ";
      switch (p.cover) {
        case CoverKind::kFlat: o += std::to_string(p.band_hundredths[0]) + "/10000 of the eligible amount"; break;
        case CoverKind::kExprPercent: o += "clamp(" + ExprToString(plan, p.ratio) + ", 0, 100)/100 of the eligible amount"; break;
        case CoverKind::kBands:
          for (size_t k = 0; k < p.band_hundredths.size(); ++k) {
            o += (k ? ", " : "") + std::to_string(p.band_hundredths[k]) + "/10000";
            if (k < p.band_limits.size()) o += " up to " + ExprToString(plan, p.band_limits[k]);
          }
          o += " of the running eligible total";
          break;
      }
      o += "\n";
      if (!p.line_ceiling.empty()) o += "    line ceiling: " + ExprToString(plan, p.line_ceiling) + "\n";
      if (!p.ceiling.empty())
        o += std::string("    ceiling: ") + ExprToString(plan, p.ceiling) + (p.has_per ? " less what it paid the scope" : " per line") + "\n";
    }
  }
  return o;
}

}  // namespace sanad
