// fmt is idempotent, keeps comments, and parse(fmt(x)) equals parse(x)
// structurally: over the examples and over random valid programs.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "sanad/rules_dsl/formatter.h"
#include "sanad/rules_dsl/parser.h"
#include "tests/property/random_case.h"

namespace sanad::dsl {
namespace {

// Structural equality of programs, ignoring spans.
bool SameLit(const Literal& a, const Literal& b) { return a == b; }
bool SameExpr(const Expr* a, const Expr* b) {
  if (!a || !b) return a == b;
  if (a->kind != b->kind || a->op != b->op || a->negated != b->negated || a->name.name != b->name.name ||
      a->inline_set != b->inline_set || a->args.size() != b->args.size() || a->set_members.size() != b->set_members.size())
    return false;
  if (a->kind == ExprKind::kLiteral && !SameLit(a->lit, b->lit)) return false;
  for (size_t i = 0; i < a->set_members.size(); ++i)
    if (!SameLit(a->set_members[i], b->set_members[i])) return false;
  for (size_t i = 0; i < a->args.size(); ++i)
    if (!SameExpr(a->args[i].get(), b->args[i].get())) return false;
  return true;
}
bool SameProgram(const Program& a, const Program& b) {
  if (a.ruleset_name != b.ruleset_name || a.calendar != b.calendar || a.fields.size() != b.fields.size() ||
      a.sets.size() != b.sets.size() || a.tables.size() != b.tables.size() || a.pairs.size() != b.pairs.size() ||
      a.rules.size() != b.rules.size() || a.order.size() != b.order.size())
    return false;
  for (size_t i = 0; i < a.order.size(); ++i)
    if (a.order[i].kind != b.order[i].kind) return false;
  for (size_t i = 0; i < a.sets.size(); ++i) {
    if (a.sets[i].name.name != b.sets[i].name.name || a.sets[i].external != b.sets[i].external ||
        a.sets[i].members.size() != b.sets[i].members.size())
      return false;
    for (size_t k = 0; k < a.sets[i].members.size(); ++k)
      if (!SameLit(a.sets[i].members[k], b.sets[i].members[k])) return false;
  }
  for (size_t i = 0; i < a.tables.size(); ++i)
    if (a.tables[i].entries.size() != b.tables[i].entries.size() || a.tables[i].key_type != b.tables[i].key_type) return false;
  for (size_t i = 0; i < a.pairs.size(); ++i)
    if (a.pairs[i].pairs.size() != b.pairs[i].pairs.size()) return false;
  for (size_t i = 0; i < a.rules.size(); ++i) {
    const RuleDecl &x = a.rules[i], &y = b.rules[i];
    if (x.name.name != y.name.name || x.title != y.title || x.stage != y.stage || x.has_stage != y.has_stage) return false;
    if (!SameExpr(x.when.get(), y.when.get())) return false;
    const Check &c = x.check, &d = y.check;
    if (c.kind != d.kind || c.is_sum != d.is_sum || c.sum_field.name != d.sum_field.name || c.period != d.period ||
        c.period_days != d.period_days || c.window_days != d.window_days || c.same_day != d.same_day ||
        c.pairs_name.name != d.pairs_name.name || c.keys.size() != d.keys.size())
      return false;
    if (!SameExpr(c.cap.get(), d.cap.get()) || !SameExpr(c.conflict_expr.get(), d.conflict_expr.get())) return false;
    if (x.action.kind != y.action.kind || x.action.deduct != y.action.deduct ||
        x.action.percent_hundredths != y.action.percent_hundredths || !SameExpr(x.action.amount.get(), y.action.amount.get()))
      return false;
  }
  return true;
}

std::string Fmt(const std::string& text, Program* program = nullptr) {
  SourceFile src("x.sanad", text);
  DiagnosticBag diags;
  ParseResult r = Parse(src, diags);
  EXPECT_FALSE(diags.HasErrors()) << RenderAll(diags, src) << text;
  std::string out = Format(r.program, r.comments, src);
  if (program) *program = std::move(r.program);
  return out;
}

void CheckRoundTrip(const std::string& text) {
  Program original, formatted;
  const std::string once = Fmt(text, &original);
  const std::string twice = Fmt(once, &formatted);
  EXPECT_EQ(once, twice) << "fmt is not idempotent";
  EXPECT_TRUE(SameProgram(original, formatted)) << "fmt changed the program:\n" << text << "\n---\n" << once;
}

TEST(FormatterTest, ExampleRuleSetRoundTripsAndKeepsComments) {
  std::ifstream in(SANAD_EXAMPLES_DIR "/outpatient.sanad");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  CheckRoundTrip(text);
  const std::string out = Fmt(text);
  for (const char* comment : {"# Outpatient rules of an insurer", "# imaging codes, from the caller",
                              "# Eligibility-like checks run first", "# national unbundling edit pairs"})
    EXPECT_NE(out.find(comment), std::string::npos) << comment << "\n" << out;
}

TEST(FormatterTest, CanonicalLayout) {
  EXPECT_EQ(Fmt("rule   a stage 2 when(fund==\"x\")and not(referral) reject deduct 12.50%  # why\n"),
            "rule a stage 2\n  when fund == \"x\" and not referral\n  reject deduct 12.5%  # why\n");
  EXPECT_EQ(Fmt("rule a\n  when (a - (b - c)) * -(d) > 1\n  warn\n"), "rule a\n  when (a - (b - c)) * -d > 1\n  warn\n");
}

// An analyst's digit groups are part of how the rules read: fmt keeps an
// integer as written when it has `_` groups, and prints others plainly.
TEST(FormatterTest, DigitGroupsAreKeptAsWritten) {
  EXPECT_EQ(Fmt("rule a when amount > 500_000_000 and amount < 1000 and age != -1_0 warn deduct amount - 12_500\n"),
            "rule a\n  when amount > 500_000_000 and amount < 1000 and age != -1_0\n  warn deduct amount - 12_500\n");
  EXPECT_EQ(Fmt("table t : string -> int = { \"a\": 1_000 }\nrule a when t[service_code] > 0 warn\n"),
            "table t : string -> int = { \"a\": 1_000 }\n\nrule a\n  when t[service_code] > 0\n  warn\n");
  CheckRoundTrip("payer basic per insured_id per year deductible 1_000_000 covers 50% up to 20_000_000, 70%\n");
}

TEST(FormatterTest, RandomProgramsRoundTrip) {
  for (uint64_t seed = 1; seed <= 500; ++seed) {
    SCOPED_TRACE(seed);
    CheckRoundTrip(sanad::testing::MakeRandomCase(seed).rules);
  }
}

TEST(FormatterTest, CommentsEverywhereSurviveTwice) {
  const std::string text =
      "# head\nset s = { \"a\" } # trailing\n\n# before rule\nrule r # after name\n  # inside\n  when fund in s # cond\n"
      "  reject # act\n# tail\n";
  CheckRoundTrip(text);
  const std::string out = Fmt(text);
  for (const char* c : {"# head", "# trailing", "# before rule", "# after name", "# inside", "# cond", "# act", "# tail"})
    EXPECT_NE(out.find(c), std::string::npos) << c << "\n" << out;
}

// Found by fuzz_rules: a comment ending in several carriage returns lost one
// per formatting pass. Trailing blanks are not part of a comment.
TEST(FormatterTest, CommentWithTrailingCarriageReturnsIsIdempotent) {
  CheckRoundTrip("#=\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r");
  CheckRoundTrip("rule a # why \t\r\r\n  reject\r\n");
  EXPECT_EQ(Fmt("# note  \r\r\nrule a\r\n  reject\r\n"), "# note\nrule a\n  reject\n");
}

// Found by fuzz_rules: "--0" lost a minus per formatting pass, because the
// parser folds "-" and an integer literal into one literal.
TEST(FormatterTest, NegatedIntegerLiteralsKeepTheirShape) {
  CheckRoundTrip("rule a\n  when amount > ----------0\n  reject\n");
  CheckRoundTrip("rule a\n  when amount > -(5) + -(-5) - -5\n  reject\n");
  EXPECT_EQ(Fmt("rule a\n  when amount > --5\n  reject\n"), "rule a\n  when amount > -(-5)\n  reject\n");
}

}  // namespace
}  // namespace sanad::dsl
