// The fast engine against the naive reference evaluator on random valid rule
// sets and random data: every verdict, deduction, primary rule, hit (with
// evidence) and rule statistic must be equal, for 1 and 2 threads and for
// one or many key partitions.

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

    // Two threads, with groups spread over many key partitions (the default
    // puts a small case's groups in one partition).
    EvalOptions two;
    two.threads = 2;
    two.groups_per_partition = 1 + seed % 4;
    Verdicts v2 = EvaluateBatch(*bound, claims->batch, two);
    ASSERT_EQ(Diff(v2, ref), "") << "seed " << seed << " (2 threads, " << two.groups_per_partition << " groups per partition)";
    total_hits += static_cast<int64_t>(v.hits.size());
    total_lines += claims->batch.size();
  }
  // The generator must produce cases where rules actually fire.
  EXPECT_GT(total_hits, total_lines / 10);
}

}  // namespace
}  // namespace sanad
