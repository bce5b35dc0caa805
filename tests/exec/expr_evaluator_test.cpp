// Unit tests of expression evaluation (core/exec/expr_evaluator.h) and of
// binding (core/exec/bound_plan.h): the null rules of LANGUAGE.md §3 kernel
// by kernel, and tabulation of string-field subexpressions per dictionary
// code giving the same values as evaluating them line by line.

#include <gtest/gtest.h>

#include "sanad/compiler/compiler.h"
#include "sanad/core/exec/bound_plan.h"
#include "sanad/core/exec/expr_evaluator.h"
#include "sanad/core/ingest/claims_reader.h"
#include "sanad/rules_dsl/source.h"

namespace sanad {
namespace {

struct Evaluated {
  std::vector<bool> valid;
  std::vector<int64_t> value;
  std::vector<bool> condition;  // valid && value != 0 (how `when` reads a bool)
};

// EXPR as `deduct EXPR` (int) or `when EXPR` (bool) of a one-rule set,
// evaluated on every line of `ndjson` (x: an optional int, tag: an optional
// string field).
Evaluated Eval(const std::string& expr, const std::string& ndjson, bool condition = false, int* code_tables = nullptr) {
  const std::string rule = condition ? "rule r\n  when " + expr + "\n  reject\n" : "rule r\n  reject deduct " + expr + "\n";
  const dsl::SourceFile src("t.sanad", "field x : int\nfield tag : string\nset s = { \"a\", \"b\" }\n" + rule);
  compiler::CompileResult c = compiler::CompileSource(src);
  EXPECT_TRUE(c.plan) << dsl::RenderAll(c.diagnostics, src);
  Evaluated out;
  if (!c.plan) return out;
  Result<LoadedClaims> claims = ReadNdjson(ndjson, c.plan->schema, LoadOptions{});
  EXPECT_TRUE(claims.ok()) << claims.status().message();
  std::unique_ptr<BoundPlan> bound = Bind(*c.plan, claims->batch);
  if (code_tables) *code_tables = static_cast<int>(bound->code_tables.size());
  ExprEvaluator ev(*bound);
  const RowIndex n = claims->batch.size();
  const BoundProgram& prog = condition ? bound->rules[0].when : bound->rules[0].deduct_expr;
  ev.Run(prog, bound->source, 0, nullptr, static_cast<int>(n));
  std::vector<uint8_t> cond(n);
  ev.Condition(static_cast<int>(n), cond.data());
  for (RowIndex k = 0; k < n; ++k) {
    out.valid.push_back(ev.valid()[k] != 0);
    out.value.push_back(ev.values()[k]);
    out.condition.push_back(cond[k] != 0);
  }
  return out;
}

std::string Line(const std::string& extra) {
  return R"({"claim_id":"C)" + std::to_string(std::hash<std::string>{}(extra) % 100000) +
         R"(","insured_id":"I","fund":"f","provider_id":"P","provider_sector":"s","service_code":"X","service_date":"2024-03-20","amount":100)" +
         (extra.empty() ? "" : "," + extra) + "}\n";
}

TEST(ExprEvaluatorTest, NullPropagatesThroughArithmeticAndOverflowIsNull) {
  const std::string data = Line(R"("x":5)") + Line("") + Line(R"("x":9223372036854775807)") + Line(R"("x":-9223372036854775807)");
  Evaluated e = Eval("x + 1", data);
  EXPECT_EQ(e.valid, (std::vector<bool>{true, false, false, true}));  // null + 1 is null; MAX + 1 overflows
  EXPECT_EQ(e.value[0], 6);
  e = Eval("x * 2 - 1", data);
  EXPECT_EQ(e.valid, (std::vector<bool>{true, false, false, false}));
  e = Eval("(x - 2) - 9223372036854775807", Line(R"("x":1)"));  // -1 - MAX = MIN: fits
  EXPECT_TRUE(e.valid[0]);
  EXPECT_EQ(e.value[0], INT64_MIN);
}

TEST(ExprEvaluatorTest, DivisionTruncatesAndByZeroOrMinOverMinusOneIsNull) {
  const std::string data = Line(R"("x":-7)") + Line(R"("x":0)");
  Evaluated e = Eval("x / 2", data);
  EXPECT_EQ(e.value[0], -3);  // toward zero
  e = Eval("x % 3", data);
  EXPECT_EQ(e.value[0], -1);  // sign of the dividend
  e = Eval("10 / x", data);
  EXPECT_EQ(e.valid, (std::vector<bool>{true, false}));
  e = Eval("(x - 9223372036854775807 - 1) / -1", Line(R"("x":0)"));  // INT64_MIN / -1
  EXPECT_FALSE(e.valid[0]);
}

TEST(ExprEvaluatorTest, ConditionsWithNullOperandsAreFalseAndTwoValued) {
  const std::string data = Line(R"("x":5,"tag":"a")") + Line("");
  using B = std::vector<bool>;
  EXPECT_EQ(Eval("x > 1", data, true).condition, (B{true, false}));
  EXPECT_EQ(Eval("not (x > 1)", data, true).condition, (B{false, true}));  // not of a false comparison
  EXPECT_EQ(Eval("x not in { 1, 2 }", data, true).condition, (B{true, false}));  // null not in: false
  EXPECT_EQ(Eval("tag in s", data, true).condition, (B{true, false}));
  EXPECT_EQ(Eval("not (tag in s)", data, true).condition, (B{false, true}));
  EXPECT_EQ(Eval("x is null or tag == \"a\"", data, true).condition, (B{true, true}));
  EXPECT_EQ(Eval("starts_with(tag, \"\")", data, true).condition, (B{true, false}));
}

TEST(BoundPlanTest, TabulatedStringSubexpressionsEqualLineByLineValues) {
  // starts_with(service_code, ...) and `service_code in s` are tabulated
  // per dictionary code at bind time; mixed with a field of another kind
  // they must give what the definition says, line by line.
  const char* codes[] = {"a", "b", "ab", "ba", "c"};
  std::string data;
  for (int i = 0; i < 50; ++i)
    data += R"({"claim_id":"C)" + std::to_string(i) + R"(","insured_id":"I","fund":"f","provider_id":"P","provider_sector":"s","service_code":")" +
            codes[i % 5] + R"(","service_date":"2024-03-20","amount":)" + std::to_string(i) + "}\n";
  int tables = 0;
  const Evaluated e = Eval("(starts_with(service_code, \"a\") or service_code in s) and amount > 10", data, true, &tables);
  EXPECT_GT(tables, 0) << "the string subexpression was not tabulated";
  for (int i = 0; i < 50; ++i) {
    const std::string c = codes[i % 5];
    const bool want = (c.rfind("a", 0) == 0 || c == "a" || c == "b") && i > 10;
    EXPECT_EQ(e.condition[static_cast<size_t>(i)], want) << i << " " << c;
  }
}

}  // namespace
}  // namespace sanad
