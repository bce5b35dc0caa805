#include "tests/reference/reference_evaluator.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <stdexcept>

#include <unicode/ucal.h>

namespace sanad::reference {
namespace {

// ---- calendars (independent of core/calendar) ----
int64_t Days(int y, int m, int d) {
  // Days since 1970-01-01 by counting: fine for tests.
  auto leap = [](int yy) { return (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0; };
  static const int kDim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int64_t days = 0;
  if (y >= 1970) for (int yy = 1970; yy < y; ++yy) days += leap(yy) ? 366 : 365;
  else for (int yy = y; yy < 1970; ++yy) days -= leap(yy) ? 366 : 365;
  for (int mm = 1; mm < m; ++mm) days += kDim[mm - 1] + (mm == 2 && leap(y));
  return days + d - 1;
}

struct YM { int year, month; };

YM GregorianYM(int64_t days) {
  static std::map<int64_t, YM> cache;
  auto it = cache.find(days);
  if (it != cache.end()) return it->second;
  int y = 1970;
  auto leap = [](int yy) { return (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0; };
  int64_t d = days;
  while (d < 0) { --y; d += leap(y) ? 366 : 365; }
  while (d >= (leap(y) ? 366 : 365)) { d -= leap(y) ? 366 : 365; ++y; }
  static const int kDim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int m = 1;
  while (d >= kDim[m - 1] + (m == 2 && leap(y))) { d -= kDim[m - 1] + (m == 2 && leap(y)); ++m; }
  return cache[days] = {y, m};
}

YM JalaliYM(int64_t days) {
  static std::map<int64_t, YM> cache;
  auto it = cache.find(days);
  if (it != cache.end()) return it->second;
  UErrorCode st = U_ZERO_ERROR;
  const UChar utc[] = {'U', 'T', 'C', 0};
  UCalendar* cal = ucal_open(utc, -1, "en@calendar=persian", UCAL_TRADITIONAL, &st);
  ucal_setMillis(cal, (static_cast<double>(days) * 86400.0 + 43200.0) * 1000.0, &st);
  YM ym{ucal_get(cal, UCAL_EXTENDED_YEAR, &st), ucal_get(cal, UCAL_MONTH, &st) + 1};
  ucal_close(cal);
  if (U_FAILURE(st)) throw std::runtime_error("ICU failed");
  return cache[days] = ym;
}

Value Int(int64_t v) { return Value{false, v, {}}; }
Value Str(std::string s) { return Value{true, 0, std::move(s)}; }

Value LitValue(const dsl::Literal& l) {
  switch (l.kind) {
    case dsl::Literal::kString: return Str(l.text);
    case dsl::Literal::kDate:
      return Int(Days(static_cast<int>(l.value / 10000), static_cast<int>(l.value / 100 % 100), static_cast<int>(l.value % 100)));
    default: return Int(l.value);
  }
}

// An entry of reference data is in force on [from, to] (LANGUAGE.md §2.1);
// undated entries are in force on every day.
struct Period {
  int64_t from = INT64_MIN, to = INT64_MAX;
  bool Contains(int64_t d) const { return from <= d && d <= to; }
};

struct Table {
  std::multimap<std::string, std::pair<Period, Value>> by_string;  // key text (strings) or decimal of the int key
  bool string_keys = true;
};

struct Member {
  Value v;
  Period period;
};

struct PairEntry {
  Period period;
  bool bypass = false;
};

int64_t ParseDay(const std::string& text) {
  return Days(std::stoi(text.substr(0, 4)), std::stoi(text.substr(5, 2)), std::stoi(text.substr(8, 2)));
}

// The period in a dated row's cells [at, at + 1] (an empty valid_to is open-ended).
Period PeriodOf(const std::vector<std::string>& row, size_t at) {
  Period p;
  p.from = ParseDay(row.at(at));
  if (!row.at(at + 1).empty()) p.to = ParseDay(row.at(at + 1));
  return p;
}

class Ref {
 public:
  Ref(const dsl::Program& p, const std::vector<Line>& lines, const ExternalData& ext) : p_(p), lines_(lines) {
    jalali_ = p.calendar == dsl::CalendarKind::kJalali;
    for (const auto& s : p.sets) {
      std::vector<Member> members;
      if (s.external) {
        for (const auto& row : ext.at(s.name.name))  // typed at use
          members.push_back({Str(row.at(0)), s.dated ? PeriodOf(row, 1) : Period{}});
        external_sets_.insert(s.name.name);
      } else {
        for (const auto& m : s.members) members.push_back({LitValue(m), Period{}});
      }
      sets_[s.name.name] = members;
    }
    for (const auto& t : p.tables) {
      Table tb;
      tb.string_keys = t.key_type == dsl::TypeName::kString;
      auto parse = [](const std::string& text, dsl::TypeName type) -> Value {
        if (type == dsl::TypeName::kString) return Str(text);
        if (type == dsl::TypeName::kBool) return Int(text == "true" || text == "1");
        if (type == dsl::TypeName::kDate)
          return Int(Days(std::stoi(text.substr(0, 4)), std::stoi(text.substr(5, 2)), std::stoi(text.substr(8, 2))));
        return Int(std::stoll(text));
      };
      if (t.external) {
        for (const auto& row : ext.at(t.name.name)) {
          Value k = parse(row.at(0), t.key_type);
          tb.by_string.emplace(KeyText(k), std::make_pair(t.dated ? PeriodOf(row, 2) : Period{}, parse(row.at(1), t.value_type)));
        }
      } else {
        for (const auto& [k, v] : t.entries) tb.by_string.emplace(KeyText(LitValue(k)), std::make_pair(Period{}, LitValue(v)));
      }
      tables_[t.name.name] = tb;
    }
    for (const auto& pr : p.pairs) {
      std::multimap<std::pair<std::string, std::string>, PairEntry> s;
      if (pr.external) {
        for (const auto& row : ext.at(pr.name.name)) {
          PairEntry e;
          if (pr.dated) {
            e.period = PeriodOf(row, 2);
            e.bypass = row.size() > 4 && row[4] == "1";
          }
          s.emplace(std::make_pair(row.at(0), row.at(1)), e);
        }
      } else {
        for (const auto& [a, b] : pr.pairs) s.emplace(std::make_pair(a.text, b.text), PairEntry{});
      }
      pairs_[pr.name.name] = s;
    }
  }

  RefResult Run() {
    const size_t n = lines_.size();
    RefResult out;
    out.status.assign(n, 0);
    out.deduction.assign(n, 0);
    out.primary.assign(n, -1);
    out.hits.assign(n, {});
    const size_t nr = p_.rules.size();
    out.population.assign(nr, 0);
    out.hit_count.assign(nr, 0);
    out.rule_deduction.assign(nr, 0);
    // Order: (service_date, seq, input position).
    order_.resize(n);
    std::iota(order_.begin(), order_.end(), size_t{0});
    std::stable_sort(order_.begin(), order_.end(), [&](size_t a, size_t b) {
      int64_t da = F(a, "service_date")->i, db = F(b, "service_date")->i;
      if (da != db) return da < db;
      return F(a, "seq")->i < F(b, "seq")->i;
    });
    rank_.resize(n);
    for (size_t k = 0; k < n; ++k) rank_[order_[k]] = k;
    std::vector<bool> visible(n, true);
    std::set<int64_t> stages;
    for (const auto& r : p_.rules) stages.insert(r.stage);
    for (int64_t stage : stages) {
      std::vector<bool> rejected_now(n, false);
      for (size_t ri = 0; ri < nr; ++ri) {
        const dsl::RuleDecl& r = p_.rules[ri];
        if (r.stage != stage) continue;
        std::vector<bool> pop(n, false);
        for (size_t i = 0; i < n; ++i) pop[i] = InPopulation(r, i, visible);
        for (size_t i = 0; i < n; ++i) {
          if (!pop[i]) continue;
          ++out.population[ri];
          std::optional<RefHit> hit = Check(r, i, pop, visible);
          if (!hit) continue;
          hit->rule = static_cast<int>(ri);
          hit->deduction = Deduction(r, i, *hit, pop);
          out.hits[i].push_back(*hit);
          ++out.hit_count[ri];
          out.rule_deduction[ri] += hit->deduction;
          if (r.action.kind == dsl::ActionKind::kReject) rejected_now[i] = true;
        }
      }
      for (size_t i = 0; i < n; ++i)
        if (rejected_now[i]) visible[i] = false;
    }
    for (size_t i = 0; i < n; ++i) {
      auto& hs = out.hits[i];
      std::sort(hs.begin(), hs.end(), [](const RefHit& a, const RefHit& b) { return a.rule < b.rule; });
      int64_t best = -1;
      for (const RefHit& h : hs) {
        const bool rej = p_.rules[static_cast<size_t>(h.rule)].action.kind == dsl::ActionKind::kReject;
        out.status[i] = std::max(out.status[i], rej ? 2 : 1);
        if (h.deduction > best) { best = h.deduction; out.primary[i] = h.rule; }
      }
      out.deduction[i] = hs.empty() ? 0 : std::min(best, F(i, "amount")->i);
    }
    if (!p_.payers.empty()) Settle(out);
    return out;
  }

 private:
  static std::string KeyText(const Value& v) { return v.is_string ? "s:" + v.s : "i:" + std::to_string(v.i); }

  const Opt& F(size_t i, const std::string& name) const { return lines_[i].fields.at(name); }
  bool Before(size_t j, size_t i) const { return rank_[j] < rank_[i]; }
  int64_t Day(size_t i) const { return F(i, "service_date")->i; }

  bool KeysOk(const dsl::RuleDecl& r, size_t i) const {
    for (const auto& k : r.check.keys)
      if (!F(i, k.name)) return false;
    return true;
  }
  bool SameKeys(const dsl::RuleDecl& r, size_t i, size_t j) const {
    for (const auto& k : r.check.keys)
      if (!F(j, k.name) || !(*F(i, k.name) == *F(j, k.name))) return false;
    return true;
  }

  bool InPopulation(const dsl::RuleDecl& r, size_t i, const std::vector<bool>& visible) {
    if (!visible[i]) return false;
    if (r.when && !Cond(*r.when, i)) return false;
    if (!KeysOk(r, i)) return false;
    if (r.check.kind == dsl::CheckKind::kLimit && r.check.is_sum && !F(i, r.check.sum_field.name)) return false;
    return true;
  }

  int64_t Bucket(const dsl::Check& c, size_t i) const {
    const int64_t d = Day(i);
    switch (c.period) {
      case dsl::PeriodKind::kDay: return d;
      case dsl::PeriodKind::kMonth: { YM ym = jalali_ ? JalaliYM(d) : GregorianYM(d); return ym.year * 12 + ym.month; }
      case dsl::PeriodKind::kYear: return (jalali_ ? JalaliYM(d) : GregorianYM(d)).year;
      default: return 0;
    }
  }

  int64_t V(const dsl::Check& c, size_t i) const { return c.is_sum ? F(i, c.sum_field.name)->i : 1; }

  std::optional<RefHit> Check(const dsl::RuleDecl& r, size_t i, const std::vector<bool>& pop, const std::vector<bool>& visible) {
    const dsl::Check& c = r.check;
    const size_t n = lines_.size();
    switch (c.kind) {
      case dsl::CheckKind::kNone: return RefHit{};
      case dsl::CheckKind::kLimit: {
        __int128 total = V(c, i);
        for (size_t j = 0; j < n; ++j) {
          if (j == i || !pop[j] || !Before(j, i) || !SameKeys(r, i, j)) continue;
          if (c.period == dsl::PeriodKind::kRolling) {
            if (Day(i) - Day(j) >= c.period_days) continue;
          } else if (Bucket(c, j) != Bucket(c, i)) {
            continue;
          }
          total += V(c, j);
        }
        Opt cap = Eval(*c.cap, i);
        if (!cap || !(total > cap->i)) return std::nullopt;
        RefHit h;
        h.evidence = 1;
        h.total = total;
        h.cap = cap->i;
        return h;
      }
      case dsl::CheckKind::kRepeat:
      case dsl::CheckKind::kConflictWith:
      case dsl::CheckKind::kConflictPairs: {
        std::optional<size_t> best;
        for (size_t j = 0; j < n; ++j) {
          if (j == i || !Before(j, i) || Day(i) - Day(j) >= c.window_days || !SameKeys(r, i, j)) continue;
          if (c.kind == dsl::CheckKind::kConflictWith) {
            if (!visible[j] || !Cond(*c.conflict_expr, j)) continue;
          } else {
            if (!pop[j]) continue;
            if (c.kind == dsl::CheckKind::kConflictPairs && !PairCounts(c, j, i)) continue;
          }
          if (!best || Before(*best, j)) best = j;
        }
        if (!best) return std::nullopt;
        RefHit h;
        h.evidence = 2;
        h.other = *best;
        return h;
      }
    }
    return std::nullopt;
  }

  // Whether the pair (code_j, code_i) makes line i hit: an entry in force on
  // d_i, and if it is bypassable, `unless` true on neither i nor j.
  bool PairCounts(const dsl::Check& c, size_t j, size_t i) {
    const auto range = pairs_.at(c.pairs_name.name).equal_range({F(j, "service_code")->s, F(i, "service_code")->s});
    for (auto it = range.first; it != range.second; ++it) {
      if (!it->second.period.Contains(Day(i))) continue;
      if (it->second.bypass && c.unless && (Cond(*c.unless, i) || Cond(*c.unless, j))) continue;
      return true;
    }
    return false;
  }

  // ---- settlement, SETTLEMENT.md §2, naively: every running total is a
  // fresh sum over the earlier lines of the scope group and bucket ----
  int64_t PayerBucket(const dsl::PayerDecl& p, size_t i) const {
    const int64_t d = Day(i);
    switch (p.period) {
      case dsl::PeriodKind::kDay: return d;
      case dsl::PeriodKind::kMonth: { YM ym = jalali_ ? JalaliYM(d) : GregorianYM(d); return ym.year * 12 + ym.month; }
      case dsl::PeriodKind::kYear: return (jalali_ ? JalaliYM(d) : GregorianYM(d)).year;
      default: return 0;
    }
  }
  bool SamePayerScope(const dsl::PayerDecl& p, size_t i, size_t j) const {
    for (const auto& k : p.keys)
      if (!F(j, k.name) || !(*F(i, k.name) == *F(j, k.name))) return false;
    return PayerBucket(p, i) == PayerBucket(p, j);
  }

  void Settle(RefResult& out) {
    const size_t n = lines_.size();
    out.allowed.resize(n);
    for (size_t i = 0; i < n; ++i) out.allowed[i] = F(i, "amount")->i - out.deduction[i];
    std::vector<int64_t> left = out.allowed;
    for (const dsl::PayerDecl& p : p_.payers) {
      std::vector<int64_t> ded(n, 0), elig(n, 0), pay(n, 0);
      std::vector<bool> in(n, false);
      for (size_t k = 0; k < n; ++k) {
        const size_t i = order_[k];
        bool member = !p.when || Cond(*p.when, i);
        for (const auto& key : p.keys) member = member && F(i, key.name).has_value();
        if (!member) continue;
        in[i] = true;
        __int128 used = 0, total_e = 0, paid = 0;
        if (p.has_per) {
          for (size_t kk = 0; kk < k; ++kk) {
            const size_t j = order_[kk];
            if (!in[j] || !SamePayerScope(p, i, j)) continue;
            used += ded[j];
            total_e += elig[j];
            paid += pay[j];
          }
        }
        const int64_t base = p.on_remaining ? left[i] : out.allowed[i];
        int64_t d = 0;
        if (p.deductible) {
          Opt dv = Eval(*p.deductible, i);
          const __int128 want = dv && dv->i > 0 ? dv->i : 0;
          const __int128 rest = want - used > 0 ? want - used : 0;
          d = static_cast<int64_t>(rest < base ? rest : base);
        }
        const int64_t e = base - d;
        __int128 cov = 0;
        if (p.cover == dsl::CoverKind::kFlat) {
          cov = static_cast<__int128>(e) * p.bands[0].percent_hundredths / 10000;
        } else if (p.cover == dsl::CoverKind::kExprPercent) {
          Opt r = Eval(*p.ratio, i);
          int64_t pct = r ? r->i : 0;
          pct = pct < 0 ? 0 : pct > 100 ? 100 : pct;
          cov = static_cast<__int128>(e) * pct / 100;
        } else {
          // Band k covers [T_{k-1}, T_k) of the running eligible total.
          __int128 lower = 0, sum = 0;
          for (size_t b = 0; b < p.bands.size(); ++b) {
            const bool last = b + 1 == p.bands.size();
            __int128 upper = lower;
            if (!last) {
              Opt t = Eval(*p.bands[b].limit, i);
              if (t && t->i > lower) upper = t->i;
            }
            const __int128 from = total_e > lower ? total_e : lower;
            const __int128 to = last ? total_e + e : (total_e + e < upper ? total_e + e : upper);
            if (to > from) sum += (to - from) * p.bands[b].percent_hundredths;
            lower = upper;
          }
          cov = sum / 10000;
        }
        if (p.line_ceiling) {
          Opt l = Eval(*p.line_ceiling, i);
          if (l) cov = std::min<__int128>(cov, l->i > 0 ? l->i : 0);
        }
        if (p.ceiling) {
          Opt c = Eval(*p.ceiling, i);
          if (c) {
            const __int128 room = p.has_per ? static_cast<__int128>(c->i) - paid : c->i;
            cov = std::min<__int128>(cov, room > 0 ? room : 0);
          }
        }
        const int64_t pi = static_cast<int64_t>(cov < left[i] ? cov : left[i]);
        ded[i] = d;
        elig[i] = e;
        pay[i] = pi;
        left[i] -= pi;
      }
      out.pay.push_back(pay);
      out.deductible.push_back(ded);
      out.covered.push_back(in);
    }
    out.patient = left;
  }

  int64_t Deduction(const dsl::RuleDecl& r, size_t i, const RefHit& h, const std::vector<bool>& pop) {
    const int64_t amount = F(i, "amount")->i;
    const dsl::Action& a = r.action;
    switch (a.deduct) {
      case dsl::DeductKind::kNone: return a.kind == dsl::ActionKind::kReject ? amount : 0;
      case dsl::DeductKind::kPercent: {
        __int128 d = static_cast<__int128>(amount) * a.percent_hundredths / 10000;
        return d > INT64_MAX ? INT64_MAX : static_cast<int64_t>(d);
      }
      case dsl::DeductKind::kExcess: {
        const int64_t v = V(r.check, i);
        if (v <= 0) return 0;
        __int128 over = h.total - std::max<__int128>(h.cap, h.total - v);
        if (over < 0) over = 0;
        if (over > v) over = v;
        return static_cast<int64_t>(static_cast<__int128>(amount) * over / v);
      }
      case dsl::DeductKind::kExpr: {
        Opt v = Eval(*a.amount, i);
        if (!v) return 0;
        return std::min(std::max<int64_t>(v->i, 0), amount);
      }
    }
    return 0;
  }

  bool Cond(const dsl::Expr& e, size_t i) {
    Opt v = Eval(e, i);
    return v && v->i != 0;
  }

  int Compare(const Value& a, const Value& b) {
    if (a.is_string) return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
    return a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
  }

  // Membership on day d: some entry of the member in force on d.
  bool InSet(const std::string& name, const std::vector<Member>& members, const Value& v, int64_t d) {
    for (const Member& m : members) {
      if (!m.period.Contains(d)) continue;
      if (external_sets_.count(name) && !v.is_string) {
        // External members arrive as text; compare by the left operand's type.
        if (m.v.s == std::to_string(v.i)) return true;
        continue;
      }
      if (m.v == v) return true;
    }
    return false;
  }

  Opt Eval(const dsl::Expr& e, size_t i) {
    switch (e.kind) {
      case dsl::ExprKind::kLiteral: return LitValue(e.lit);
      case dsl::ExprKind::kName: return F(i, e.name.name);
      case dsl::ExprKind::kUnary: {
        if (e.op == dsl::Op::kNot) return Int(!Cond(*e.args[0], i));
        Opt a = Eval(*e.args[0], i);
        if (!a || a->i == INT64_MIN) return std::nullopt;
        return Int(-a->i);
      }
      case dsl::ExprKind::kBinary: {
        if (e.op == dsl::Op::kAnd) { bool x = Cond(*e.args[0], i); bool y = Cond(*e.args[1], i); return Int(x && y); }
        if (e.op == dsl::Op::kOr) { bool x = Cond(*e.args[0], i); bool y = Cond(*e.args[1], i); return Int(x || y); }
        Opt a = Eval(*e.args[0], i), b = Eval(*e.args[1], i);
        switch (e.op) {
          case dsl::Op::kEq: return Int(a && b && Compare(*a, *b) == 0);
          case dsl::Op::kNe: return Int(a && b && Compare(*a, *b) != 0);
          case dsl::Op::kLt: return Int(a && b && Compare(*a, *b) < 0);
          case dsl::Op::kLe: return Int(a && b && Compare(*a, *b) <= 0);
          case dsl::Op::kGt: return Int(a && b && Compare(*a, *b) > 0);
          case dsl::Op::kGe: return Int(a && b && Compare(*a, *b) >= 0);
          default: break;
        }
        if (!a || !b) return std::nullopt;
        // Exact arithmetic in 128 bits; out of the int64 range means null.
        __int128 x = a->i, y = b->i, r = 0;
        switch (e.op) {
          case dsl::Op::kAdd: r = x + y; break;
          case dsl::Op::kSub: r = x - y; break;
          case dsl::Op::kMul: r = x * y; break;
          case dsl::Op::kDiv: if (y == 0) return std::nullopt; r = x / y; break;  // truncates toward zero
          case dsl::Op::kMod: if (y == 0) return std::nullopt; r = x % y; break;
          default: return std::nullopt;
        }
        if (r > INT64_MAX || r < INT64_MIN) return std::nullopt;
        return Int(static_cast<int64_t>(r));
      }
      case dsl::ExprKind::kIsNull: {
        bool null = !Eval(*e.args[0], i).has_value();
        return Int(e.negated ? !null : null);
      }
      case dsl::ExprKind::kIn: {
        Opt a = Eval(*e.args[0], i);
        if (!a) return Int(0);
        bool in;
        if (e.inline_set) {
          in = false;
          for (const auto& m : e.set_members) in |= LitValue(m) == *a;
        } else {
          in = InSet(e.name.name, sets_.at(e.name.name), *a, Day(i));
        }
        return Int(e.negated ? !in : in);
      }
      case dsl::ExprKind::kIndex: {
        Opt k = Eval(*e.args[0], i);
        if (!k) return std::nullopt;
        const Table& t = tables_.at(e.name.name);
        const auto range = t.by_string.equal_range(KeyText(*k));
        for (auto it = range.first; it != range.second; ++it)
          if (it->second.first.Contains(Day(i))) return it->second.second;
        return std::nullopt;
      }
      case dsl::ExprKind::kCall: {
        const std::string& f = e.name.name;
        Opt a = Eval(*e.args[0], i);
        if (f == "starts_with") {
          Opt b = Eval(*e.args[1], i);
          return Int(a && b && a->s.compare(0, b->s.size(), b->s) == 0 && a->s.size() >= b->s.size());
        }
        if (!a) return std::nullopt;
        if (f == "year") return Int((jalali_ ? JalaliYM(a->i) : GregorianYM(a->i)).year);
        if (f == "month") return Int((jalali_ ? JalaliYM(a->i) : GregorianYM(a->i)).month);
        if (f == "days_between") {
          Opt b = Eval(*e.args[1], i);
          if (!b) return std::nullopt;
          return Int(b->i - a->i);
        }
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  const dsl::Program& p_;
  const std::vector<Line>& lines_;
  bool jalali_ = false;
  std::vector<size_t> order_, rank_;
  std::map<std::string, std::vector<Member>> sets_;
  std::set<std::string> external_sets_;
  std::map<std::string, Table> tables_;
  std::map<std::string, std::multimap<std::pair<std::string, std::string>, PairEntry>> pairs_;
};

}  // namespace

RefResult Evaluate(const dsl::Program& program, const std::vector<Line>& lines, const ExternalData& externals) {
  return Ref(program, lines, externals).Run();
}

}  // namespace sanad::reference
