#include <gtest/gtest.h>

#include "sanad/rules_dsl/formatter.h"
#include "sanad/rules_dsl/parser.h"

namespace sanad::dsl {
namespace {

ParseResult MustParse(const std::string& text, DiagnosticBag* diags_out = nullptr) {
  static std::vector<std::unique_ptr<SourceFile>> keep;
  keep.push_back(std::make_unique<SourceFile>("t.sanad", text));
  DiagnosticBag diags;
  ParseResult r = Parse(*keep.back(), diags);
  EXPECT_FALSE(diags.HasErrors()) << RenderAll(diags, *keep.back());
  if (diags_out) *diags_out = diags;
  return r;
}

TEST(ParserTest, PrecedenceFollowsTheSpecTable) {
  ParseResult r = MustParse("rule x\n  when not a == 1 or b + 2 * c > -d and e in s\n  reject\n");
  ASSERT_EQ(r.program.rules.size(), 1u);
  EXPECT_EQ(FormatExpr(*r.program.rules[0].when), "not a == 1 or b + 2 * c > -d and e in s");
  const Expr& top = *r.program.rules[0].when;
  ASSERT_EQ(top.kind, ExprKind::kBinary);
  EXPECT_EQ(top.op, Op::kOr);
  EXPECT_EQ(top.args[0]->kind, ExprKind::kUnary);  // not binds looser than ==
  EXPECT_EQ(top.args[0]->args[0]->op, Op::kEq);
  EXPECT_EQ(top.args[1]->op, Op::kAnd);
}

TEST(ParserTest, ReadsEveryCheckAndDeductionForm) {
  ParseResult r = MustParse(R"(
rule a "t" stage 3
  when x is not null
  limit sum(amount) per insured_id, provider_id per rolling 30 days <= 5_000
  reject deduct excess
rule b
  repeat per insured_id within 1 days
  warn deduct 12.5%
rule c
  conflict with service_code in { "1", "2" } per insured_id same day
  reject deduct amount - 10
rule d
  conflict pairs p per insured_id within 7 days
  reject deduct 100%
rule e
  limit count per insured_id per month <= t[fund]
  warn
)");
  ASSERT_EQ(r.program.rules.size(), 5u);
  const RuleDecl& a = r.program.rules[0];
  EXPECT_EQ(a.stage, 3);
  EXPECT_EQ(*a.title, "t");
  EXPECT_TRUE(a.check.is_sum);
  EXPECT_EQ(a.check.period, PeriodKind::kRolling);
  EXPECT_EQ(a.check.period_days, 30);
  EXPECT_EQ(a.check.keys.size(), 2u);
  EXPECT_EQ(a.action.deduct, DeductKind::kExcess);
  EXPECT_EQ(FormatExpr(*a.check.cap), "5_000");
  EXPECT_EQ(r.program.rules[1].action.percent_hundredths, 1250);
  EXPECT_EQ(r.program.rules[1].check.window_days, 1);
  EXPECT_TRUE(r.program.rules[2].check.same_day);
  EXPECT_EQ(r.program.rules[2].action.deduct, DeductKind::kExpr);
  EXPECT_EQ(r.program.rules[3].check.pairs_name.name, "p");
  EXPECT_EQ(r.program.rules[4].check.period, PeriodKind::kMonth);
}

TEST(ParserTest, PercentAfterDeductVersusModulo) {
  ParseResult r = MustParse("rule a\n  reject deduct 50%\nrule b\n  reject deduct amount % 7\n");
  EXPECT_EQ(r.program.rules[0].action.deduct, DeductKind::kPercent);
  EXPECT_EQ(r.program.rules[0].action.percent_hundredths, 5000);
  EXPECT_EQ(r.program.rules[1].action.deduct, DeductKind::kExpr);
  EXPECT_EQ(FormatExpr(*r.program.rules[1].action.amount), "amount % 7");
}

TEST(ParserTest, StringEscapesAndUtf8) {
  ParseResult r = MustParse("ruleset \"\\u062A\\\"x\\\\\\n\\t\xE5\x8C\x97\"\n");
  EXPECT_EQ(*r.program.ruleset_name, "\xD8\xAA\"x\\\n\t\xE5\x8C\x97");
}

TEST(ParserTest, MinimumIntegerLiteral) {
  ParseResult r = MustParse("rule a\n  when amount > -9223372036854775808\n  reject\n");
  EXPECT_EQ(r.program.rules[0].when->args[1]->lit.value, INT64_MIN);
}

TEST(ParserTest, InlineSetsTablesAndPairsInEveryWrittenForm) {
  ParseResult r = MustParse(
      "set s = { }\nset t = { 1, -2, 3, }\ntable m : string -> date = { \"a\": 2024-01-31 }\n"
      "pairs p = { (\"a\", \"b\"), \"c\" -> \"d\" }\n");
  EXPECT_TRUE(r.program.sets[0].members.empty());
  EXPECT_EQ(r.program.sets[1].members[1].value, -2);
  EXPECT_EQ(r.program.tables[0].entries[0].second.value, 20240131);
  ASSERT_EQ(r.program.pairs[0].pairs.size(), 2u);
  EXPECT_EQ(r.program.pairs[0].pairs[1].first.text, "c");
}

TEST(ParserTest, HostileNestingIsAnErrorNotACrash) {
  std::string deep = "rule r\n  when " + std::string(100000, '(') + "true" + std::string(100000, ')') + "\n  reject\n";
  SourceFile src("deep.sanad", deep);
  DiagnosticBag diags;
  Parse(src, diags);
  ASSERT_TRUE(diags.HasErrors());
  EXPECT_EQ(diags.diagnostics()[0].code, "E0206");
  std::string nots = "rule r\n  when ";
  for (int i = 0; i < 100000; ++i) nots += "not ";
  nots += "true\n  reject\n";
  SourceFile src2("nots.sanad", nots);
  DiagnosticBag d2;
  Parse(src2, d2);
  EXPECT_TRUE(d2.HasErrors());
}

TEST(ParserTest, ErrorCountIsBounded) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "rule r" + std::to_string(i) + "\n  when ) \n  reject\n";
  SourceFile src("many.sanad", text);
  DiagnosticBag diags;
  Parse(src, diags);
  EXPECT_LE(diags.diagnostics().size(), static_cast<size_t>(DiagnosticBag::kMaxErrors));
  // The parser stops looking past the limit: the count says "more than",
  // never a number that is only a lower bound (found by an adversarial run).
  const std::string out = RenderAll(diags, src);
  EXPECT_NE(out.find("note: stopped after 100 errors; the file may hold more"), std::string::npos);
  EXPECT_NE(out.find("many.sanad: more than 100 errors, 0 warnings"), std::string::npos) << out.substr(out.size() - 300);
}

// Found by an adversarial run: a rules file saved with a UTF-8 byte order
// mark was refused (claims and reference files already skipped it).
TEST(ParserTest, ByteOrderMarkIsSkipped) {
  DiagnosticBag diags;
  ParseResult r = MustParse("\xEF\xBB\xBFruleset \"bom\"\nrule r\n  reject\n", &diags);
  EXPECT_EQ(r.program.rules.size(), 1u);
  EXPECT_FALSE(diags.HasErrors());
}

}  // namespace
}  // namespace sanad::dsl
