#include "sanad/rules_dsl/parser.h"

#include <algorithm>

#include <string>

namespace sanad::dsl {

const char* TypeNameText(TypeName t) {
  switch (t) {
    case TypeName::kInt: return "int";
    case TypeName::kString: return "string";
    case TypeName::kBool: return "bool";
    case TypeName::kDate: return "date";
  }
  return "?";
}

const char* OpText(Op op) {
  switch (op) {
    case Op::kOr: return "or";
    case Op::kAnd: return "and";
    case Op::kNot: return "not";
    case Op::kEq: return "==";
    case Op::kNe: return "!=";
    case Op::kLt: return "<";
    case Op::kLe: return "<=";
    case Op::kGt: return ">";
    case Op::kGe: return ">=";
    case Op::kAdd: return "+";
    case Op::kSub: return "-";
    case Op::kMul: return "*";
    case Op::kDiv: return "/";
    case Op::kMod: return "%";
    case Op::kNeg: return "-";
    case Op::kNone: break;
  }
  return "?";
}

namespace {

struct ParseAbort {};  // unwinds to the declaration loop after a reported error

bool IsTopLevel(Tok t) {
  return t == Tok::kKwRule || t == Tok::kKwSet || t == Tok::kKwTable || t == Tok::kKwPairs || t == Tok::kKwField ||
         t == Tok::kKwRuleset || t == Tok::kKwCalendar || t == Tok::kKwPayer;
}

bool StartsOperand(Tok t) {
  switch (t) {
    case Tok::kIntLit: case Tok::kDecimalLit: case Tok::kStringLit: case Tok::kDateLit: case Tok::kIdent:
    case Tok::kLParen: case Tok::kMinus: case Tok::kKwNot: case Tok::kKwTrue: case Tok::kKwFalse:
    case Tok::kKwYear: case Tok::kKwMonth:
      return true;
    default:
      return false;
  }
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, DiagnosticBag& diags, const ParseOptions& opt)
      : toks_(std::move(tokens)), diags_(diags), opt_(opt) {}

  Program Run() {
    while (Peek().kind != Tok::kEof) {
      if (diags_.error_count() > DiagnosticBag::kMaxErrors) break;
      size_t start = pos_;
      try {
        ParseDecl();
      } catch (const ParseAbort&) {
        Sync(start);
      }
    }
    return std::move(prog_);
  }

 private:
  const Token& Peek(size_t k = 0) const {
    size_t i = pos_ + k;
    return i < toks_.size() ? toks_[i] : toks_.back();
  }
  bool At(Tok t) const { return Peek().kind == t; }
  const Token& Advance() {
    const Token& t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  bool Accept(Tok t) {
    if (!At(t)) return false;
    Advance();
    return true;
  }

  [[noreturn]] void Fail(const std::string& code, Span span, const std::string& msg) {
    diags_.Error(code, span, msg);
    throw ParseAbort{};
  }
  // Error for an unexpected token (a lexer error token was already reported).
  [[noreturn]] void Unexpected(const std::string& expected) {
    const Token& t = Peek();
    if (t.kind == Tok::kError) throw ParseAbort{};
    std::string found(TokName(t.kind));
    if (t.kind == Tok::kIdent) found = "identifier '" + t.text + "'";
    Fail("E0201", t.span, "expected " + expected + ", found " + found);
  }
  const Token& Expect(Tok t, const std::string& what = "") {
    if (!At(t)) Unexpected(what.empty() ? std::string(TokName(t)) : what);
    return Advance();
  }
  Ident ExpectIdent(const std::string& what) {
    if (!At(Tok::kIdent)) {
      if (IsKeyword(Peek().kind))
        Fail("E0201", Peek().span, "expected " + what + ", found keyword " + std::string(TokName(Peek().kind)) +
                                       " (keywords are reserved)");
      Unexpected(what);
    }
    const Token& t = Advance();
    return {t.text, t.span};
  }
  int64_t ExpectCount(const std::string& what) {
    const Token& t = Expect(Tok::kIntLit, what);
    if (t.u64 > static_cast<uint64_t>(INT64_MAX)) Fail("E0104", t.span, "integer literal out of the 64-bit range");
    return static_cast<int64_t>(t.u64);
  }
  Span Prev() const { return toks_[pos_ > 0 ? pos_ - 1 : 0].span; }

  // After an error: skip to the next top-level keyword (not the `pairs` of
  // `conflict pairs`, nor a `payer` misused as a name: a payer declaration
  // starts with `payer NAME`).
  void Sync(size_t start) {
    if (pos_ == start) Advance();
    while (!At(Tok::kEof)) {
      const bool not_a_start = (At(Tok::kKwPairs) && pos_ > 0 && toks_[pos_ - 1].kind == Tok::kKwConflict) ||
                               (At(Tok::kKwPayer) && Peek(1).kind != Tok::kIdent);
      if (IsTopLevel(Peek().kind) && !not_a_start) return;
      Advance();
    }
  }

  // One production per top-level keyword (LANGUAGE.md §2), in one switch
  // like the grammar itself; each case is a few lines (95 in all).
  void ParseDecl() {
    const Token& t = Peek();
    const uint32_t begin = t.span.begin;
    switch (t.kind) {
      case Tok::kKwRuleset: {
        Advance();
        const Token& name = Expect(Tok::kStringLit, "the rule set's name as a string");
        if (prog_.ruleset_name) Fail("E0210", Join(t.span, name.span), "'ruleset' is declared twice");
        prog_.ruleset_name = name.text;
        prog_.ruleset_span = {begin, name.span.end};
        prog_.order.push_back({Decl::kRuleset, 0, prog_.ruleset_span});
        return;
      }
      case Tok::kKwCalendar: {
        Advance();
        CalendarKind k;
        if (Accept(Tok::kKwGregorian)) k = CalendarKind::kGregorian;
        else if (Accept(Tok::kKwJalali)) k = CalendarKind::kJalali;
        else {
          if (At(Tok::kIdent)) Fail("E0205", Peek().span, "unknown calendar '" + Peek().text + "' (use gregorian or jalali)");
          Unexpected("'gregorian' or 'jalali'");
        }
        if (prog_.has_calendar) Fail("E0210", {begin, Prev().end}, "'calendar' is declared twice");
        prog_.has_calendar = true;
        prog_.calendar = k;
        prog_.calendar_span = {begin, Prev().end};
        prog_.order.push_back({Decl::kCalendar, 0, prog_.calendar_span});
        return;
      }
      case Tok::kKwField: {
        Advance();
        FieldDecl f;
        f.name = ExpectIdent("a field name");
        Expect(Tok::kColon, "':' and a type");
        f.type_span = Peek().span;
        f.type = ParseType();
        f.span = {begin, Prev().end};
        prog_.order.push_back({Decl::kField, prog_.fields.size(), f.span});
        prog_.fields.push_back(std::move(f));
        return;
      }
      case Tok::kKwSet: {
        Advance();
        SetDecl s;
        s.name = ExpectIdent("a set name");
        ParseDated(&s.dated, &s.dated_span);
        Expect(Tok::kAssign, "'='");
        if (Accept(Tok::kKwExternal)) s.external = true;
        else {
          if (s.dated) s.dated = DatedNotInline("a dated set is");
          s.members = ParseLiteralList(nullptr);
        }
        s.span = {begin, Prev().end};
        prog_.order.push_back({Decl::kSet, prog_.sets.size(), s.span});
        prog_.sets.push_back(std::move(s));
        return;
      }
      case Tok::kKwTable: {
        Advance();
        TableDecl tb;
        tb.name = ExpectIdent("a table name");
        Expect(Tok::kColon, "':' and the key type");
        tb.key_type_span = Peek().span;
        tb.key_type = ParseType();
        Expect(Tok::kArrow, "'->' and the value type");
        tb.value_type_span = Peek().span;
        tb.value_type = ParseType();
        ParseDated(&tb.dated, &tb.dated_span);
        Expect(Tok::kAssign, "'='");
        if (Accept(Tok::kKwExternal)) tb.external = true;
        else {
          if (tb.dated) tb.dated = DatedNotInline("a dated table is");
          ParseEntries(&tb.entries, /*pairs=*/false);
        }
        tb.span = {begin, Prev().end};
        prog_.order.push_back({Decl::kTable, prog_.tables.size(), tb.span});
        prog_.tables.push_back(std::move(tb));
        return;
      }
      case Tok::kKwPairs: {
        Advance();
        PairsDecl p;
        p.name = ExpectIdent("a pairs name");
        ParseDated(&p.dated, &p.dated_span);
        Expect(Tok::kAssign, "'='");
        if (Accept(Tok::kKwExternal)) p.external = true;
        else {
          if (p.dated) p.dated = DatedNotInline("dated pairs are");
          ParseEntries(&p.pairs, /*pairs=*/true);
        }
        p.span = {begin, Prev().end};
        prog_.order.push_back({Decl::kPairs, prog_.pairs.size(), p.span});
        prog_.pairs.push_back(std::move(p));
        return;
      }
      case Tok::kKwRule: {
        if (prog_.rules.size() >= opt_.max_rules)
          Fail("E0209", t.span, "more than " + std::to_string(opt_.max_rules) + " rules in one file");
        RuleDecl r = ParseRule();
        prog_.order.push_back({Decl::kRule, prog_.rules.size(), r.span});
        prog_.rules.push_back(std::move(r));
        return;
      }
      case Tok::kKwPayer: {
        PayerDecl p = ParsePayer();
        prog_.order.push_back({Decl::kPayer, prog_.payers.size(), p.span});
        prog_.payers.push_back(std::move(p));
        return;
      }
      default:
        Unexpected("a declaration ('rule', 'payer', 'set', 'table', 'pairs', 'field', 'ruleset' or 'calendar')");
    }
  }

  // `dated` before '=' (LANGUAGE.md §2.1).
  void ParseDated(bool* dated, Span* span) {
    if (!At(Tok::kKwDated)) return;
    *span = Advance().span;
    *dated = true;
  }
  // Reported, then the inline entries are read as undated ones, so the
  // declaration still exists and its uses raise no follow-on errors.
  bool DatedNotInline(const std::string& what) {
    diags_.Error("E0212", Peek().span, what + " external only (the entries come with their periods from a file or "
                                       "DataFrame); write '= external' or drop 'dated'");
    return false;
  }

  TypeName ParseType() {
    switch (Peek().kind) {
      case Tok::kKwInt: Advance(); return TypeName::kInt;
      case Tok::kKwString: Advance(); return TypeName::kString;
      case Tok::kKwBool: Advance(); return TypeName::kBool;
      case Tok::kKwDate: Advance(); return TypeName::kDate;
      default: Unexpected("a type (int, string, bool or date)");
    }
  }

  Literal ParseLiteral() {
    Literal l;
    const Token& t = Peek();
    l.span = t.span;
    switch (t.kind) {
      case Tok::kMinus: {
        Advance();
        const Token& n = Expect(Tok::kIntLit, "an integer after '-'");
        l.kind = Literal::kInt;
        l.value = n.u64 == (uint64_t{1} << 63) ? INT64_MIN : -static_cast<int64_t>(n.u64);
        if (!n.text.empty()) l.spelling = "-" + n.text;
        l.span = Join(t.span, n.span);
        return l;
      }
      case Tok::kIntLit:
        Advance();
        if (t.u64 > static_cast<uint64_t>(INT64_MAX)) Fail("E0104", t.span, "integer literal out of the 64-bit range");
        l.kind = Literal::kInt;
        l.value = static_cast<int64_t>(t.u64);
        l.spelling = t.text;
        return l;
      case Tok::kStringLit: Advance(); l.kind = Literal::kString; l.text = t.text; return l;
      case Tok::kDateLit: Advance(); l.kind = Literal::kDate; l.value = t.i64; return l;
      case Tok::kKwTrue: Advance(); l.kind = Literal::kBool; l.value = 1; return l;
      case Tok::kKwFalse: Advance(); l.kind = Literal::kBool; l.value = 0; return l;
      case Tok::kDecimalLit: Fail("E0106", t.span, "decimal numbers are only allowed as percentages after 'deduct'");
      default: Unexpected("a literal (integer, string, date, true or false)");
    }
  }

  // '{' [lit {',' lit} [',']] '}'
  std::vector<Literal> ParseLiteralList(Span* braces) {
    const Token& open = Expect(Tok::kLBrace, "'{' or 'external'");
    std::vector<Literal> out;
    while (!At(Tok::kRBrace)) {
      if (out.size() >= opt_.max_members)
        Fail("E0209", Peek().span, "more than " + std::to_string(opt_.max_members) + " members in one set");
      out.push_back(ParseLiteral());
      if (!Accept(Tok::kComma)) break;
    }
    const Token& close = Expect(Tok::kRBrace, "',' or '}'");
    if (braces) *braces = Join(open.span, close.span);
    return out;
  }

  // Tables: '{' lit ':' lit, ... '}'. Pairs: '{' ('(' lit ',' lit ')' | lit '->' lit), ... '}'.
  void ParseEntries(std::vector<std::pair<Literal, Literal>>* out, bool pairs) {
    Expect(Tok::kLBrace, "'{' or 'external'");
    while (!At(Tok::kRBrace)) {
      if (out->size() >= opt_.max_members)
        Fail("E0209", Peek().span, "more than " + std::to_string(opt_.max_members) + " entries");
      if (pairs && Accept(Tok::kLParen)) {
        Literal a = ParseLiteral();
        Expect(Tok::kComma, "','");
        Literal b = ParseLiteral();
        Expect(Tok::kRParen, "')'");
        out->emplace_back(std::move(a), std::move(b));
      } else {
        Literal a = ParseLiteral();
        if (pairs) Expect(Tok::kArrow, "'->' between the two codes of a pair");
        else Expect(Tok::kColon, "':' between key and value");
        Literal b = ParseLiteral();
        out->emplace_back(std::move(a), std::move(b));
      }
      if (!Accept(Tok::kComma)) break;
    }
    Expect(Tok::kRBrace, "',' or '}'");
  }

  std::vector<Ident> ParseKeys() {
    std::vector<Ident> keys;
    keys.push_back(ExpectIdent("a key field after 'per'"));
    while (Accept(Tok::kComma)) keys.push_back(ExpectIdent("a key field"));
    return keys;
  }

  int64_t ParseDays(Span* span) {
    const Token& n = Peek();
    int64_t v = ExpectCount("a number of days");
    if (!Accept(Tok::kKwDays) && !Accept(Tok::kKwDay)) Unexpected("'days'");
    *span = {n.span.begin, Prev().end};
    return v;
  }

  RuleDecl ParseRule() {
    RuleDecl r;
    const Token& kw = Advance();  // 'rule'
    r.name = ExpectIdent("a rule name");
    if (At(Tok::kStringLit)) {
      r.title = Peek().text;
      r.title_span = Advance().span;
    }
    if (Accept(Tok::kKwCode)) {
      if (!At(Tok::kStringLit)) Fail("E0201", Peek().span, "expected a reason code string after 'code', e.g. code \"K-203\"");
      r.code = Peek().text;
      r.code_span = Advance().span;
      if (r.code->empty()) Fail("E0211", r.code_span, "a reason code cannot be empty");
    }
    if (Accept(Tok::kKwStage)) {
      const Token& n = Peek();
      if (At(Tok::kMinus)) Fail("E0502", n.span, "stage must be a whole number >= 1");
      r.stage = ExpectCount("a stage number");
      r.has_stage = true;
      r.stage_span = n.span;
    }
    if (Accept(Tok::kKwWhen)) r.when = ParseExpr();
    ParseCheck(&r.check);
    ParseAction(&r.action);
    r.span = {kw.span.begin, Prev().end};
    return r;
  }

  void ParseCheck(Check* c) {
    const Token& kw = Peek();
    if (Accept(Tok::kKwLimit)) {
      c->kind = CheckKind::kLimit;
      if (Accept(Tok::kKwSum)) {
        c->is_sum = true;
        Expect(Tok::kLParen, "'(' after 'sum'");
        c->sum_field = ExpectIdent("a field to sum");
        Expect(Tok::kRParen, "')'");
      } else if (!Accept(Tok::kKwCount)) {
        Unexpected("'count' or 'sum(FIELD)'");
      }
      Expect(Tok::kKwPer, "'per' and the key fields");
      c->keys = ParseKeys();
      if (Accept(Tok::kKwPer)) {
        const Token& p = Peek();
        if (Accept(Tok::kKwDay)) c->period = PeriodKind::kDay;
        else if (Accept(Tok::kKwMonth)) c->period = PeriodKind::kMonth;
        else if (Accept(Tok::kKwYear)) c->period = PeriodKind::kYear;
        else if (Accept(Tok::kKwRolling)) {
          c->period = PeriodKind::kRolling;
          Span s;
          c->period_days = ParseDays(&s);
        } else {
          Unexpected("a period ('day', 'month', 'year' or 'rolling N days')");
        }
        c->period_span = {p.span.begin, Prev().end};
      }
      if (!Accept(Tok::kLe)) {
        if (At(Tok::kLt) || At(Tok::kGe) || At(Tok::kGt) || At(Tok::kEq))
          Fail("E0201", Peek().span, "a limit is written '<= CAP'");
        Unexpected("'<=' and the cap");
      }
      c->cap = ParseExpr();
    } else if (Accept(Tok::kKwRepeat)) {
      c->kind = CheckKind::kRepeat;
      Expect(Tok::kKwPer, "'per' and the key fields");
      c->keys = ParseKeys();
      Expect(Tok::kKwWithin, "'within N days'");
      c->window_days = ParseDays(&c->window_span);
    } else if (Accept(Tok::kKwConflict)) {
      if (Accept(Tok::kKwWith)) {
        c->kind = CheckKind::kConflictWith;
        c->conflict_expr = ParseExpr();
      } else if (Accept(Tok::kKwPairs)) {
        c->kind = CheckKind::kConflictPairs;
        c->pairs_name = ExpectIdent("the name of a pairs table");
      } else {
        Unexpected("'with' or 'pairs'");
      }
      Expect(Tok::kKwPer, "'per' and the key fields");
      c->keys = ParseKeys();
      if (Accept(Tok::kKwSame)) {
        const Token& s = Peek();
        Expect(Tok::kKwDay, "'day' after 'same'");
        c->same_day = true;
        c->window_days = 1;
        c->window_span = Join(toks_[pos_ - 2].span, s.span);
      } else if (Accept(Tok::kKwWithin)) {
        c->window_days = ParseDays(&c->window_span);
      } else {
        Unexpected("'same day' or 'within N days'");
      }
    } else {
      return;
    }
    if (At(Tok::kKwUnless)) {  // checked by the compiler: only `conflict pairs` takes it
      c->unless_span = Advance().span;
      c->unless = ParseExpr();
    }
    c->span = {kw.span.begin, Prev().end};
  }

  // ---- payers (SETTLEMENT.md §1) ----
  static bool IsPayerWord(const Token& t) {
    static const char* kWords[] = {"covers", "deductible", "ceiling", "percent", "up", "to", "line", "on", "payable", "remaining"};
    if (t.kind != Tok::kIdent) return false;
    for (const char* w : kWords)
      if (t.text == w) return true;
    return false;
  }
  bool AtWord(const char* w, size_t ahead = 0) const { return Peek(ahead).kind == Tok::kIdent && Peek(ahead).text == w; }
  const Token& ExpectWord(const char* w) {
    if (!AtWord(w)) Unexpected(std::string("'") + w + "'");
    return Advance();
  }
  // A percentage literal `P%` here: the number is followed by '%' and not by
  // an operand (else it is a modulo), a payer word or the end of a clause.
  bool AtPercentLiteral() const {
    const Token& t = Peek();
    if ((t.kind != Tok::kIntLit && t.kind != Tok::kDecimalLit) || Peek(1).kind != Tok::kPercent) return false;
    return !StartsOperand(Peek(2).kind) || IsPayerWord(Peek(2));
  }
  void ParseBandPercent(Band* b) {
    const Token& t = Advance();
    const Token& pct = Advance();
    b->percent_span = Join(t.span, pct.span);
    b->percent_hundredths = PercentValue(t);
    b->percent_text = t.kind == Tok::kIntLit ? std::to_string(t.u64) : t.text;
  }
  void Once(bool* seen, const Token& word, const std::string& payer) {
    if (*seen) Fail("E0213", word.span, "'" + (word.kind == Tok::kIdent ? word.text : std::string(TokName(word.kind))) +
                                            "' is given twice in payer '" + payer + "'");
    *seen = true;
  }

  PayerDecl ParsePayer() {
    const Token& kw = Advance();  // 'payer'
    PayerDecl p;
    p.name = ExpectIdent("a payer name");
    if (At(Tok::kStringLit)) {
      p.title = Peek().text;
      p.title_span = Advance().span;
    }
    bool when = false, on = false, per = false, ded = false, covers = false, ceil = false, line_ceil = false;
    for (;;) {
      const Token& t = Peek();
      if (At(Tok::kKwWhen)) {
        Once(&when, Advance(), p.name.name);
        p.when = ParseExpr();
      } else if (AtWord("on")) {
        Once(&on, Advance(), p.name.name);
        p.has_on = true;
        if (AtWord("remaining")) p.on_remaining = true;
        else if (!AtWord("payable")) Unexpected("'payable' or 'remaining' after 'on'");
        p.on_span = Join(t.span, Advance().span);
      } else if (At(Tok::kKwPer)) {
        Once(&per, Advance(), p.name.name);
        p.has_per = true;
        p.keys = ParseKeys();
        p.per_span = {t.span.begin, Prev().end};
        if (Accept(Tok::kKwPer)) {
          const Token& q = Peek();
          if (Accept(Tok::kKwDay)) p.period = PeriodKind::kDay;
          else if (Accept(Tok::kKwMonth)) p.period = PeriodKind::kMonth;
          else if (Accept(Tok::kKwYear)) p.period = PeriodKind::kYear;
          else if (At(Tok::kKwRolling)) Fail("E0505", q.span, "a payer's period is day, month or year (no rolling window)");
          else Unexpected("a period ('day', 'month' or 'year')");
          p.period_span = q.span;
        }
      } else if (AtWord("deductible")) {
        Once(&ded, t, p.name.name);
        p.deductible_span = Advance().span;
        p.deductible = ParseExpr();
      } else if (AtWord("covers")) {
        Once(&covers, t, p.name.name);
        p.cover_span = Advance().span;
        p.has_covers = true;
        ParseCoverage(&p);
      } else if (AtWord("ceiling")) {
        Once(&ceil, t, p.name.name);
        p.ceiling_span = Advance().span;
        p.ceiling = ParseExpr();
      } else if (AtWord("line")) {
        Once(&line_ceil, t, p.name.name);
        Advance();
        p.line_ceiling_span = Join(t.span, ExpectWord("ceiling").span);
        p.line_ceiling = ParseExpr();
      } else {
        break;
      }
    }
    if (!p.has_covers) {
      if (Peek().kind != Tok::kEof && !IsTopLevel(Peek().kind))
        Unexpected("a payer clause ('when', 'on', 'per', 'deductible', 'covers', 'ceiling' or 'line ceiling')");
      Fail("E0214", p.name.span, "payer '" + p.name.name + "' needs 'covers' (e.g. covers 70%)");
    }
    p.span = {kw.span.begin, Prev().end};
    return p;
  }

  // COVERAGE := P% | EXPR percent | P% up to EXPR, ..., P%
  void ParseCoverage(PayerDecl* p) {
    if (!AtPercentLiteral()) {
      p->cover = CoverKind::kExprPercent;
      p->ratio = ParseExpr();
      if (!AtWord("percent"))
        Fail("E0201", Peek().span, "expected 'percent' after the coverage expression (or write a percentage, e.g. covers 70%)");
      Advance();
      return;
    }
    Band b;
    ParseBandPercent(&b);
    if (!AtWord("up")) {
      p->cover = CoverKind::kFlat;
      p->bands.push_back(std::move(b));
      return;
    }
    p->cover = CoverKind::kBands;
    for (;;) {
      ExpectWord("up");
      ExpectWord("to");
      b.limit = ParseExpr();
      p->bands.push_back(std::move(b));
      b = Band{};
      Expect(Tok::kComma, "',' and the next band (the last band has no limit, e.g. ', 90%')");
      if (!AtPercentLiteral()) Unexpected("a percentage, e.g. 70%");
      ParseBandPercent(&b);
      if (!AtWord("up")) break;
    }
    p->bands.push_back(std::move(b));  // the last band: no limit
  }

  void ParseAction(Action* a) {
    const Token& kw = Peek();
    if (Accept(Tok::kKwReject)) a->kind = ActionKind::kReject;
    else if (Accept(Tok::kKwWarn)) a->kind = ActionKind::kWarn;
    else Unexpected("'reject' or 'warn' (a rule needs an action)");
    if (Accept(Tok::kKwDeduct)) {
      const Token& t = Peek();
      if ((t.kind == Tok::kIntLit || t.kind == Tok::kDecimalLit) && Peek(1).kind == Tok::kPercent &&
          !StartsOperand(Peek(2).kind)) {
        Advance();
        const Token& pct = Advance();
        a->deduct = DeductKind::kPercent;
        a->deduct_span = Join(t.span, pct.span);
        a->percent_hundredths = PercentValue(t);
        a->percent_text = t.kind == Tok::kIntLit ? std::to_string(t.u64) : t.text;
      } else if (Accept(Tok::kKwExcess)) {
        a->deduct = DeductKind::kExcess;
        a->deduct_span = t.span;
      } else {
        a->deduct = DeductKind::kExpr;
        a->amount = ParseExpr();
        a->deduct_span = a->amount->span;
      }
    }
    a->span = {kw.span.begin, Prev().end};
  }

  int64_t PercentValue(const Token& t) {
    constexpr uint64_t kMax = 1000000000000ULL;  // far above any sensible percentage
    if (t.kind == Tok::kIntLit) {
      if (t.u64 > kMax) Fail("E0106", t.span, "percentage too large");
      return static_cast<int64_t>(t.u64 * 100);
    }
    const std::string& s = t.text;
    size_t dot = s.find('.');
    std::string ip = s.substr(0, dot), fp = s.substr(dot + 1);
    if (fp.size() > 2) Fail("E0106", t.span, "a percentage has at most two decimals");
    while (fp.size() < 2) fp += '0';
    if (ip.size() > 12) Fail("E0106", t.span, "percentage too large");
    return std::stoll(ip) * 100 + std::stoll(fp);
  }

  // ---- expressions ----
  struct DepthGuard {
    Parser* p;
    explicit DepthGuard(Parser* parser) : p(parser) {
      if (++p->depth_ > p->opt_.max_depth)
        p->Fail("E0206", p->Peek().span, "expression nested more than " + std::to_string(p->opt_.max_depth) + " levels deep");
    }
    ~DepthGuard() { --p->depth_; }
  };

  // Sets e's height from its children; an expression deeper than the limit
  // is an error (so no later pass recurses without bound).
  ExprPtr Sized(ExprPtr e) {
    uint32_t h = 0;
    for (const ExprPtr& a : e->args) h = std::max(h, a->height);
    e->height = h + 1;
    if (e->height > opt_.max_tree_depth)
      Fail("E0208", e->span,
           "expression more than " + std::to_string(opt_.max_tree_depth) +
               " levels deep (a chain of arithmetic or comparisons counts one level per operator); split it");
    return e;
  }

  ExprPtr MakeBinary(Op op, ExprPtr a, ExprPtr b) {
    auto e = std::make_unique<Expr>();
    e->kind = ExprKind::kBinary;
    e->op = op;
    e->span = Join(a->span, b->span);
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return Sized(std::move(e));
  }

  // 'and' and 'or' are associative (two-valued, no side effects), so a chain
  // is built as a balanced tree: generated rule books list thousands of
  // alternatives, and a left-nested chain would be that many levels deep.
  ExprPtr MakeBalanced(Op op, std::vector<ExprPtr> terms) {
    while (terms.size() > 1) {
      std::vector<ExprPtr> next;
      next.reserve((terms.size() + 1) / 2);
      for (size_t i = 0; i + 1 < terms.size(); i += 2) next.push_back(MakeBinary(op, std::move(terms[i]), std::move(terms[i + 1])));
      if (terms.size() % 2) next.push_back(std::move(terms.back()));
      terms = std::move(next);
    }
    return std::move(terms[0]);
  }

  // Appends `e` to a chain of `op`, splicing in the terms of a parenthesised
  // chain of the same operator, so "a or (b or c)" and "a or b or c" are one
  // tree (the formatter prints both the same way).
  static void AddTerm(Op op, ExprPtr e, std::vector<ExprPtr>& terms) {
    std::vector<ExprPtr> stack;
    stack.push_back(std::move(e));
    while (!stack.empty()) {
      ExprPtr x = std::move(stack.back());
      stack.pop_back();
      if (x->kind == ExprKind::kBinary && x->op == op) {
        stack.push_back(std::move(x->args[1]));
        stack.push_back(std::move(x->args[0]));
      } else {
        terms.push_back(std::move(x));
      }
    }
  }

  ExprPtr ParseExpr() {
    DepthGuard g(this);
    std::vector<ExprPtr> terms;
    AddTerm(Op::kOr, ParseAnd(), terms);
    while (Accept(Tok::kKwOr)) AddTerm(Op::kOr, ParseAnd(), terms);
    return MakeBalanced(Op::kOr, std::move(terms));
  }
  ExprPtr ParseAnd() {
    std::vector<ExprPtr> terms;
    AddTerm(Op::kAnd, ParseNot(), terms);
    while (Accept(Tok::kKwAnd)) AddTerm(Op::kAnd, ParseNot(), terms);
    return MakeBalanced(Op::kAnd, std::move(terms));
  }
  ExprPtr ParseNot() {
    if (At(Tok::kKwNot)) {
      DepthGuard g(this);
      const Token& kw = Advance();
      ExprPtr inner = ParseNot();
      auto e = std::make_unique<Expr>();
      e->kind = ExprKind::kUnary;
      e->op = Op::kNot;
      e->span = Join(kw.span, inner->span);
      e->args.push_back(std::move(inner));
      return Sized(std::move(e));
    }
    return ParseComparison();
  }

  static Op CmpOp(Tok t) {
    switch (t) {
      case Tok::kEq: return Op::kEq;
      case Tok::kNe: return Op::kNe;
      case Tok::kLt: return Op::kLt;
      case Tok::kLe: return Op::kLe;
      case Tok::kGt: return Op::kGt;
      case Tok::kGe: return Op::kGe;
      default: return Op::kNone;
    }
  }
  bool AtComparison() const {
    return CmpOp(Peek().kind) != Op::kNone || At(Tok::kKwIn) || At(Tok::kKwIs) ||
           (At(Tok::kKwNot) && Peek(1).kind == Tok::kKwIn);
  }

  ExprPtr ParseComparison() {
    ExprPtr left = ParseAdditive();
    if (At(Tok::kAssign)) Fail("E0207", Peek().span, "'=' is not a comparison; use '==' to compare");
    if (!AtComparison()) return left;
    ExprPtr e;
    if (Op op = CmpOp(Peek().kind); op != Op::kNone) {
      Advance();
      if (At(Tok::kKwNull)) Fail("E0201", Peek().span, "compare with null using 'is null' or 'is not null'");
      e = MakeBinary(op, std::move(left), ParseAdditive());
    } else if (At(Tok::kKwIs)) {
      Advance();
      e = std::make_unique<Expr>();
      e->kind = ExprKind::kIsNull;
      e->negated = Accept(Tok::kKwNot);
      Expect(Tok::kKwNull, "'null' after 'is'");
      e->span = {left->span.begin, Prev().end};
      e->args.push_back(std::move(left));
    } else {
      e = std::make_unique<Expr>();
      e->kind = ExprKind::kIn;
      e->negated = Accept(Tok::kKwNot);
      Expect(Tok::kKwIn);
      if (At(Tok::kLBrace)) {
        e->inline_set = true;
        e->set_members = ParseLiteralList(&e->set_span);
      } else {
        e->name = ExpectIdent("a set name or an inline set { ... }");
        e->set_span = e->name.span;
      }
      e->span = {left->span.begin, Prev().end};
      e->args.push_back(std::move(left));
    }
    if (AtComparison())
      Fail("E0203", Peek().span, "comparisons cannot be chained; combine them with 'and'");
    return Sized(std::move(e));
  }

  ExprPtr ParseAdditive() {
    ExprPtr e = ParseMultiplicative();
    while (At(Tok::kPlus) || At(Tok::kMinus)) {
      Op op = Advance().kind == Tok::kPlus ? Op::kAdd : Op::kSub;
      e = MakeBinary(op, std::move(e), ParseMultiplicative());
    }
    return e;
  }
  ExprPtr ParseMultiplicative() {
    ExprPtr e = ParseUnary();
    while (At(Tok::kStar) || At(Tok::kSlash) || At(Tok::kPercent)) {
      const Token& t = Advance();
      if (t.kind == Tok::kPercent && !StartsOperand(Peek().kind))
        Fail("E0204", t.span, "percentages are only allowed right after 'deduct'");
      Op op = t.kind == Tok::kStar ? Op::kMul : t.kind == Tok::kSlash ? Op::kDiv : Op::kMod;
      e = MakeBinary(op, std::move(e), ParseUnary());
    }
    return e;
  }
  ExprPtr ParseUnary() {
    if (At(Tok::kMinus)) {
      DepthGuard g(this);
      const Token& m = Advance();
      if (At(Tok::kIntLit)) {  // fold -literal (the only way to write INT64_MIN)
        const Token& n = Advance();
        auto e = std::make_unique<Expr>();
        e->kind = ExprKind::kLiteral;
        e->lit.kind = Literal::kInt;
        e->lit.value = n.u64 == (uint64_t{1} << 63) ? INT64_MIN : -static_cast<int64_t>(n.u64);
        if (!n.text.empty()) e->lit.spelling = "-" + n.text;
        e->span = e->lit.span = Join(m.span, n.span);
        return e;
      }
      ExprPtr inner = ParseUnary();
      auto e = std::make_unique<Expr>();
      e->kind = ExprKind::kUnary;
      e->op = Op::kNeg;
      e->span = Join(m.span, inner->span);
      e->args.push_back(std::move(inner));
      return Sized(std::move(e));
    }
    return ParsePrimary();
  }

  ExprPtr ParsePrimary() {
    const Token& t = Peek();
    auto e = std::make_unique<Expr>();
    switch (t.kind) {
      case Tok::kIntLit: case Tok::kStringLit: case Tok::kDateLit: case Tok::kKwTrue: case Tok::kKwFalse:
      case Tok::kDecimalLit:
        e->kind = ExprKind::kLiteral;
        e->lit = ParseLiteral();
        e->span = e->lit.span;
        return e;
      case Tok::kLParen: {
        DepthGuard g(this);
        Advance();
        ExprPtr inner = ParseExpr();
        Expect(Tok::kRParen, "')'");
        inner->span = {t.span.begin, Prev().end};
        return inner;
      }
      case Tok::kKwYear: case Tok::kKwMonth: case Tok::kIdent: {
        Ident name{t.kind == Tok::kIdent ? t.text : std::string(t.kind == Tok::kKwYear ? "year" : "month"), t.span};
        Advance();
        if (t.kind != Tok::kIdent && !At(Tok::kLParen)) Fail("E0201", t.span, "expected '(' after '" + name.name + "'");
        if (Accept(Tok::kLParen)) {
          DepthGuard g(this);
          e->kind = ExprKind::kCall;
          e->name = name;
          if (!At(Tok::kRParen)) {
            e->args.push_back(ParseExpr());
            while (Accept(Tok::kComma)) e->args.push_back(ParseExpr());
          }
          Expect(Tok::kRParen, "',' or ')'");
          e->span = {t.span.begin, Prev().end};
          return Sized(std::move(e));
        }
        if (Accept(Tok::kLBracket)) {
          DepthGuard g(this);
          e->kind = ExprKind::kIndex;
          e->name = name;
          e->args.push_back(ParseExpr());
          Expect(Tok::kRBracket, "']'");
          e->span = {t.span.begin, Prev().end};
          return Sized(std::move(e));
        }
        e->kind = ExprKind::kName;
        e->name = name;
        e->span = t.span;
        return e;
      }
      case Tok::kKwNull:
        Fail("E0201", t.span, "'null' is not a value; test with 'is null' or 'is not null'");
      default:
        if (IsKeyword(t.kind) && t.kind != Tok::kKwNot)
          Fail("E0202", t.span, "expected an expression, found keyword " + std::string(TokName(t.kind)));
        Unexpected("an expression");
    }
  }

  std::vector<Token> toks_;
  DiagnosticBag& diags_;
  const ParseOptions& opt_;
  size_t pos_ = 0;
  int depth_ = 0;
  Program prog_;
};

}  // namespace

ParseResult Parse(const SourceFile& source, DiagnosticBag& diags, const ParseOptions& options) {
  ParseResult out;
  if (source.text().size() > options.max_source_bytes) {
    diags.Error("E0209", {0, 0}, "rules file of " + std::to_string(source.text().size()) +
                                     " bytes exceeds the limit of " + std::to_string(options.max_source_bytes));
    return out;
  }
  LexResult lex = Lex(source, diags, options.lex);
  out.comments = std::move(lex.comments);
  out.program = Parser(std::move(lex.tokens), diags, options).Run();
  return out;
}

}  // namespace sanad::dsl
