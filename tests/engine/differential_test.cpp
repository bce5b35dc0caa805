// The fast engine against the naive reference evaluator on random valid rule
// sets and random data: every verdict, deduction, primary rule, hit (with
// evidence) and rule statistic must be equal, for 1 and 2 threads.

#include <gtest/gtest.h>

#include <cstdlib>

#include "compiler/reference_data.h"
#include "core/exec/batch_evaluator.h"
#include "core/exec/bound_plan.h"
#include "core/ingest/claims_reader.h"
#include "engine/rules.h"
#include "rules_dsl/parser.h"
#include "tests/engine/reference_lines.h"
#include "tests/property/random_case.h"
#include "tests/reference/reference_evaluator.h"

namespace sanad {
namespace {

std::string Describe(const Verdicts& v, RowIndex r) {
  std::string s = "status " + std::to_string(static_cast<int>(v.status[r])) + " deduction " + std::to_string(v.deduction[r]) +
                  " primary " + std::to_string(v.primary_rule[r]) + " hits:";
  for (uint32_t k = v.hit_begin[r]; k < v.hit_begin[r + 1]; ++k) {
    const Hit& h = v.hits[k];
    s += " [r" + std::to_string(h.rule) + " d=" + std::to_string(h.deduction) + " ev=" + std::to_string(static_cast<int>(h.evidence)) +
         " total=" + std::to_string(static_cast<int64_t>(h.total)) + " cap=" + std::to_string(h.cap) + " other=" + std::to_string(h.other) + "]";
  }
  return s;
}

std::string Describe(const reference::RefResult& v, size_t r) {
  std::string s = "status " + std::to_string(v.status[r]) + " deduction " + std::to_string(v.deduction[r]) + " primary " +
                  std::to_string(v.primary[r]) + " hits:";
  for (const auto& h : v.hits[r])
    s += " [r" + std::to_string(h.rule) + " d=" + std::to_string(h.deduction) + " ev=" + std::to_string(h.evidence) +
         " total=" + std::to_string(static_cast<int64_t>(h.total)) + " cap=" + std::to_string(h.cap) + " other=" + std::to_string(h.other) + "]";
  return s;
}

// Returns "" when equal, else the first difference.
std::string Diff(const Verdicts& v, const reference::RefResult& ref) {
  for (size_t r = 0; r < ref.status.size(); ++r) {
    const RowIndex row = static_cast<RowIndex>(r);
    bool same = static_cast<int>(v.status[row]) == ref.status[r] && v.deduction[row] == ref.deduction[r] &&
                v.primary_rule[row] == ref.primary[r] && v.hit_begin[row + 1] - v.hit_begin[row] == ref.hits[r].size();
    for (size_t k = 0; same && k < ref.hits[r].size(); ++k) {
      const Hit& h = v.hits[v.hit_begin[row] + k];
      const reference::RefHit& e = ref.hits[r][k];
      same = h.rule == e.rule && h.deduction == e.deduction && static_cast<int>(h.evidence) == e.evidence &&
             (e.evidence != 1 || (h.total == e.total && h.cap == e.cap)) && (e.evidence != 2 || h.other == e.other);
    }
    if (!same) return "line " + std::to_string(r) + ":\n  engine    " + Describe(v, row) + "\n  reference " + Describe(ref, r);
  }
  for (size_t i = 0; i < ref.population.size(); ++i) {
    if (v.rules[i].population != ref.population[i] || v.rules[i].hits != ref.hit_count[i] ||
        v.rules[i].deduction != ref.rule_deduction[i])
      return "rule " + std::to_string(i) + " statistics differ: population " + std::to_string(v.rules[i].population) + " vs " +
             std::to_string(ref.population[i]);
  }
  return "";
}

int CaseCount() {
  const char* env = std::getenv("SANAD_PROPERTY_CASES");
  return env ? std::atoi(env) : 2000;
}

TEST(DifferentialTest, EngineEqualsReferenceOnRandomRuleSetsAndData) {
  const int cases = CaseCount();
  int64_t total_hits = 0, total_lines = 0;
  for (int seed = 1; seed <= cases; ++seed) {
    testing::RandomCase c = testing::MakeRandomCase(static_cast<uint64_t>(seed));
    std::unique_ptr<Rules> rules = Rules::FromText("random.sanad", c.rules);
    ASSERT_TRUE(rules->ok()) << "seed " << seed << "\n" << rules->RenderDiagnostics() << c.rules;
    for (const auto& [name, rows] : c.externals)
      ASSERT_TRUE(compiler::BindReferenceRows(*rules->mutable_plan(), name, rows, name).ok());
    LoadOptions lo;
    lo.on_error = OnError::kFail;
    Result<LoadedClaims> claims = ReadNdjson(c.claims_ndjson, rules->plan()->schema, lo);
    ASSERT_TRUE(claims.ok()) << "seed " << seed << ": " << claims.status().message() << "\n" << c.claims_ndjson;
    std::unique_ptr<BoundPlan> bound = Bind(*rules->plan(), claims->batch);
    EvalOptions one;
    one.threads = 1;
    Verdicts v = EvaluateBatch(*bound, claims->batch, one);

    dsl::DiagnosticBag diags;
    dsl::ParseResult parsed = dsl::Parse(rules->source(), diags);
    reference::RefResult ref = reference::Evaluate(parsed.program, ToReferenceLines(claims->batch), c.externals);
    const std::string diff = Diff(v, ref);
    ASSERT_EQ(diff, "") << "seed " << seed << "\n" << c.rules << "\n" << c.claims_ndjson;

    EvalOptions two;
    two.threads = 2;
    Verdicts v2 = EvaluateBatch(*bound, claims->batch, two);
    ASSERT_EQ(Diff(v2, ref), "") << "seed " << seed << " (2 threads)";
    total_hits += static_cast<int64_t>(v.hits.size());
    total_lines += claims->batch.size();
  }
  // The generator must produce cases where rules actually fire.
  EXPECT_GT(total_hits, total_lines / 10);
}

}  // namespace
}  // namespace sanad
