#include "sanad/rules_dsl/formatter.h"

#include <algorithm>
#include <cstdio>

namespace sanad::dsl {

std::string QuoteString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04X", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string FormatLiteral(const Literal& l) {
  switch (l.kind) {
    case Literal::kInt: return l.spelling.empty() ? std::to_string(l.value) : l.spelling;
    case Literal::kString: return QuoteString(l.text);
    case Literal::kBool: return l.value ? "true" : "false";
    case Literal::kDate: {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(l.value / 10000),
                    static_cast<int>(l.value / 100 % 100), static_cast<int>(l.value % 100));
      return buf;
    }
  }
  return "?";
}

namespace {

int Precedence(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kBinary:
      switch (e.op) {
        case Op::kOr: return 1;
        case Op::kAnd: return 2;
        case Op::kEq: case Op::kNe: case Op::kLt: case Op::kLe: case Op::kGt: case Op::kGe: return 4;
        case Op::kAdd: case Op::kSub: return 5;
        default: return 6;
      }
    case ExprKind::kUnary: return e.op == Op::kNot ? 3 : 7;
    case ExprKind::kIn: case ExprKind::kIsNull: return 4;
    case ExprKind::kLiteral: return e.lit.kind == Literal::kInt && e.lit.value < 0 ? 7 : 8;
    default: return 8;
  }
}

void Emit(const Expr& e, std::string& out);

void EmitChild(const Expr& child, int min_prec, std::string& out) {
  if (Precedence(child) < min_prec) {
    out += '(';
    Emit(child, out);
    out += ')';
  } else {
    Emit(child, out);
  }
}

std::string LiteralList(const std::vector<Literal>& ls) {
  if (ls.empty()) return "{ }";
  std::string s = "{ ";
  for (size_t i = 0; i < ls.size(); ++i) {
    if (i) s += ", ";
    s += FormatLiteral(ls[i]);
  }
  return s + " }";
}

void Emit(const Expr& e, std::string& out) {
  switch (e.kind) {
    case ExprKind::kLiteral: out += FormatLiteral(e.lit); return;
    case ExprKind::kName: out += e.name.name; return;
    case ExprKind::kUnary:
      if (e.op == Op::kNot) {
        out += "not ";
        EmitChild(*e.args[0], 3, out);
      } else {
        const Expr& child = *e.args[0];
        if (child.kind == ExprKind::kLiteral && child.lit.kind == Literal::kInt) {
          // The parser folds "-" followed by an integer literal into one
          // literal, so a negation of a literal (written "-(5)") keeps its
          // parentheses; "-5" would parse back as a different tree.
          out += "-(";
          Emit(child, out);
          out += ')';
          return;
        }
        out += '-';
        // "- -x" keeps two tokens readable.
        if (Precedence(child) == 7) out += ' ';
        EmitChild(child, 7, out);
      }
      return;
    case ExprKind::kBinary: {
      const int p = Precedence(e);
      const bool cmp = p == 4;
      EmitChild(*e.args[0], cmp ? 5 : p, out);
      out += ' ';
      out += OpText(e.op);
      out += ' ';
      // 'and'/'or' are associative and parse as balanced trees: a right
      // child of the same operator needs no parentheses.
      const bool assoc = (e.op == Op::kAnd || e.op == Op::kOr) && e.args[1]->kind == ExprKind::kBinary && e.args[1]->op == e.op;
      EmitChild(*e.args[1], cmp ? 5 : assoc ? p : p + 1, out);
      return;
    }
    case ExprKind::kIn:
      EmitChild(*e.args[0], 5, out);
      out += e.negated ? " not in " : " in ";
      out += e.inline_set ? LiteralList(e.set_members) : e.name.name;
      return;
    case ExprKind::kIsNull:
      EmitChild(*e.args[0], 5, out);
      out += e.negated ? " is not null" : " is null";
      return;
    case ExprKind::kIndex:
      out += e.name.name + "[";
      Emit(*e.args[0], out);
      out += ']';
      return;
    case ExprKind::kCall:
      out += e.name.name + "(";
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i) out += ", ";
        Emit(*e.args[i], out);
      }
      out += ')';
      return;
  }
}

struct OutLine {
  std::string text;
  uint32_t src_begin = 0, src_end = 0;  // source range printed on this line (empty for blank lines)
  bool blank = false;
};

class Printer {
 public:
  Printer(const Program& p, const SourceFile& src) : p_(p), src_(src) {}

  std::vector<OutLine> Run() {
    const Decl* prev = nullptr;
    for (const Decl& d : p_.order) {
      if (prev != nullptr && NeedsBlank(*prev, d)) lines_.push_back({"", 0, 0, true});
      EmitDecl(d);
      prev = &d;
    }
    return std::move(lines_);
  }

 private:
  bool NeedsBlank(const Decl& a, const Decl& b) const {
    if (a.kind == Decl::kRule || b.kind == Decl::kRule || a.kind == Decl::kPayer || b.kind == Decl::kPayer) return true;
    if ((a.kind == Decl::kRuleset || a.kind == Decl::kCalendar) !=
        (b.kind == Decl::kRuleset || b.kind == Decl::kCalendar))
      return true;
    // Otherwise keep a blank line the author left between the two.
    std::string_view gap = src_.text().substr(a.span.end, b.span.begin - a.span.end);
    bool line_empty = false;
    int newlines = 0;
    for (char c : gap) {
      if (c == '\n') {
        if (line_empty && newlines > 0) return true;
        ++newlines;
        line_empty = true;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        line_empty = false;
        if (c == '#') {  // skip the comment's text
          // the rest of the line is not blank
        }
      }
    }
    return false;
  }

  void Line(std::string text, Span span) { lines_.push_back({std::move(text), span.begin, span.end, false}); }

  // A set/table/pairs body: on one line when short, else one member per line.
  template <typename Items>
  void Body(const std::string& head, const Items& items, Span decl_span,
            std::string (*fmt)(const typename Items::value_type&), Span (*span_of)(const typename Items::value_type&)) {
    std::string one = head + "{ ";
    bool fits = true;
    for (size_t i = 0; i < items.size() && fits; ++i) {
      if (i) one += ", ";
      one += fmt(items[i]);
      fits = one.size() <= 100;
    }
    one += items.empty() ? "}" : " }";
    if (fits && one.size() <= 100) {
      Line(one, decl_span);
      return;
    }
    Line(head + "{", {decl_span.begin, items.empty() ? decl_span.end : span_of(items[0]).begin});
    for (size_t i = 0; i < items.size(); ++i) Line("  " + fmt(items[i]) + ",", span_of(items[i]));
    Line("}", {decl_span.end - 1, decl_span.end});
  }

  static std::string FmtLit(const Literal& l) { return FormatLiteral(l); }
  static Span SpanLit(const Literal& l) { return l.span; }
  static std::string FmtEntry(const std::pair<Literal, Literal>& e) {
    return FormatLiteral(e.first) + ": " + FormatLiteral(e.second);
  }
  static std::string FmtPair(const std::pair<Literal, Literal>& e) {
    return "(" + FormatLiteral(e.first) + ", " + FormatLiteral(e.second) + ")";
  }
  static Span SpanEntry(const std::pair<Literal, Literal>& e) { return Join(e.first.span, e.second.span); }

  void EmitDecl(const Decl& d) {
    switch (d.kind) {
      case Decl::kRuleset: Line("ruleset " + QuoteString(*p_.ruleset_name), d.span); return;
      case Decl::kCalendar:
        Line(std::string("calendar ") + (p_.calendar == CalendarKind::kJalali ? "jalali" : "gregorian"), d.span);
        return;
      case Decl::kField: {
        const FieldDecl& f = p_.fields[d.index];
        Line("field " + f.name.name + " : " + TypeNameText(f.type), d.span);
        return;
      }
      case Decl::kSet: {
        const SetDecl& s = p_.sets[d.index];
        if (s.external) Line("set " + s.name.name + (s.dated ? " dated" : "") + " = external", d.span);
        else Body("set " + s.name.name + " = ", s.members, d.span, &FmtLit, &SpanLit);
        return;
      }
      case Decl::kTable: {
        const TableDecl& t = p_.tables[d.index];
        std::string head = "table " + t.name.name + " : " + TypeNameText(t.key_type) + " -> " +
                           TypeNameText(t.value_type) + (t.dated ? " dated" : "") + " = ";
        if (t.external) Line(head + "external", d.span);
        else Body(head, t.entries, d.span, &FmtEntry, &SpanEntry);
        return;
      }
      case Decl::kPairs: {
        const PairsDecl& pr = p_.pairs[d.index];
        if (pr.external) Line("pairs " + pr.name.name + (pr.dated ? " dated" : "") + " = external", d.span);
        else Body("pairs " + pr.name.name + " = ", pr.pairs, d.span, &FmtPair, &SpanEntry);
        return;
      }
      case Decl::kRule: EmitRule(p_.rules[d.index]); return;
      case Decl::kPayer: EmitPayer(p_.payers[d.index]); return;
    }
  }

  void EmitRule(const RuleDecl& r) {
    std::string head = "rule " + r.name.name;
    Span hs = {r.span.begin, r.name.span.end};
    if (r.title) { head += " " + QuoteString(*r.title); hs.end = r.title_span.end; }
    if (r.code) { head += " code " + QuoteString(*r.code); hs.end = r.code_span.end; }
    if (r.has_stage) { head += " stage " + std::to_string(r.stage); hs.end = r.stage_span.end; }
    Line(head, hs);
    if (r.when) Line("  when " + FormatExpr(*r.when), {r.when->span.begin - 0, r.when->span.end});
    const Check& c = r.check;
    auto keys = [&] {
      std::string k;
      for (size_t i = 0; i < c.keys.size(); ++i) k += (i ? ", " : "") + c.keys[i].name;
      return k;
    };
    auto window = [&] { return c.same_day ? std::string("same day") : "within " + std::to_string(c.window_days) + " days"; };
    const std::string unless = c.unless ? " unless " + FormatExpr(*c.unless) : std::string();
    switch (c.kind) {
      case CheckKind::kNone: break;
      case CheckKind::kLimit: {
        std::string s = "  limit " + (c.is_sum ? "sum(" + c.sum_field.name + ")" : std::string("count")) + " per " + keys();
        switch (c.period) {
          case PeriodKind::kNone: break;
          case PeriodKind::kDay: s += " per day"; break;
          case PeriodKind::kMonth: s += " per month"; break;
          case PeriodKind::kYear: s += " per year"; break;
          case PeriodKind::kRolling: s += " per rolling " + std::to_string(c.period_days) + " days"; break;
        }
        Line(s + " <= " + FormatExpr(*c.cap) + unless, c.span);
        break;
      }
      case CheckKind::kRepeat:
        Line("  repeat per " + keys() + " within " + std::to_string(c.window_days) + " days" + unless, c.span);
        break;
      case CheckKind::kConflictWith:
        Line("  conflict with " + FormatExpr(*c.conflict_expr) + " per " + keys() + " " + window() + unless, c.span);
        break;
      case CheckKind::kConflictPairs:
        Line("  conflict pairs " + c.pairs_name.name + " per " + keys() + " " + window() + unless, c.span);
        break;
    }
    const Action& a = r.action;
    std::string s = a.kind == ActionKind::kReject ? "  reject" : "  warn";
    switch (a.deduct) {
      case DeductKind::kNone: break;
      case DeductKind::kPercent: s += " deduct " + Percent(a.percent_hundredths); break;
      case DeductKind::kExcess: s += " deduct excess"; break;
      case DeductKind::kExpr: s += " deduct " + FormatExpr(*a.amount); break;
    }
    Line(s, a.span);
  }

  static std::string Percent(int64_t h) {
    std::string pct = std::to_string(h / 100);
    if (h % 100) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%02d", static_cast<int>(h % 100));
      std::string frac = buf;
      if (frac.back() == '0') frac.pop_back();
      pct += "." + frac;
    }
    return pct + "%";
  }

  // A payer (SETTLEMENT.md §1): one clause per line, in the order of §1.
  void EmitPayer(const PayerDecl& p) {
    std::string head = "payer " + p.name.name;
    Span hs = {p.span.begin, p.name.span.end};
    if (p.title) { head += " " + QuoteString(*p.title); hs.end = p.title_span.end; }
    Line(head, hs);
    if (p.when) Line("  when " + FormatExpr(*p.when), p.when->span);
    if (p.has_on) Line(p.on_remaining ? "  on remaining" : "  on payable", p.on_span);
    if (p.has_per) {
      std::string s = "  per ";
      for (size_t i = 0; i < p.keys.size(); ++i) s += (i ? ", " : "") + p.keys[i].name;
      if (p.period == PeriodKind::kDay) s += " per day";
      if (p.period == PeriodKind::kMonth) s += " per month";
      if (p.period == PeriodKind::kYear) s += " per year";
      Line(s, p.per_span);
    }
    if (p.deductible) Line("  deductible " + FormatExpr(*p.deductible), {p.deductible_span.begin, p.deductible->span.end});
    std::string c = "  covers ";
    Span cs = p.cover_span;
    if (p.cover == CoverKind::kExprPercent) {
      c += FormatExpr(*p.ratio) + " percent";
      cs.end = p.ratio->span.end;
    } else {
      for (size_t i = 0; i < p.bands.size(); ++i) {
        c += (i ? ", " : "") + Percent(p.bands[i].percent_hundredths);
        if (p.bands[i].limit) c += " up to " + FormatExpr(*p.bands[i].limit);
        cs.end = p.bands[i].limit ? p.bands[i].limit->span.end : p.bands[i].percent_span.end;
      }
    }
    Line(c, cs);
    if (p.ceiling) Line("  ceiling " + FormatExpr(*p.ceiling), {p.ceiling_span.begin, p.ceiling->span.end});
    if (p.line_ceiling) Line("  line ceiling " + FormatExpr(*p.line_ceiling), {p.line_ceiling_span.begin, p.line_ceiling->span.end});
  }

  const Program& p_;
  const SourceFile& src_;
  std::vector<OutLine> lines_;
};

}  // namespace

std::string FormatExpr(const Expr& e) {
  std::string out;
  Emit(e, out);
  return out;
}

std::string Format(const Program& program, const std::vector<Comment>& comments, const SourceFile& source) {
  std::vector<OutLine> lines = Printer(program, source).Run();
  // Place comments: trailing when on the source line where the previous
  // output line ends, else leading before the next output line.
  std::vector<std::vector<std::string>> leading(lines.size() + 1);
  std::vector<std::string> trailing(lines.size());
  size_t li = 0;
  int last_content = -1;  // index of the last non-blank output line whose range starts before the comment
  for (const Comment& c : comments) {
    while (li < lines.size() && (lines[li].blank || lines[li].src_begin < c.span.begin)) {
      if (!lines[li].blank) last_content = static_cast<int>(li);
      ++li;
    }
    std::string text(source.text().substr(c.span.begin, c.span.end - c.span.begin));
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
    if (last_content >= 0 && trailing[static_cast<size_t>(last_content)].empty() &&
        source.Line(lines[static_cast<size_t>(last_content)].src_end > 0 ? lines[static_cast<size_t>(last_content)].src_end - 1 : 0) ==
            source.Line(c.span.begin) &&
        lines[static_cast<size_t>(last_content)].src_end <= c.span.begin) {
      trailing[static_cast<size_t>(last_content)] = text;
    } else {
      leading[li].push_back(text);
    }
  }
  std::string out;
  for (size_t i = 0; i <= lines.size(); ++i) {
    const std::string indent = (i < lines.size() && !lines[i].blank && lines[i].text.rfind("  ", 0) == 0) ? "  " : "";
    for (const std::string& c : leading[i]) out += indent + c + "\n";
    if (i == lines.size()) break;
    out += lines[i].text;
    if (!trailing[i].empty()) out += "  " + trailing[i];
    out += '\n';
  }
  return out;
}

}  // namespace sanad::dsl
