// libFuzzer target: the input seeds a small random valid rule set and a few
// dozen claim lines (tests/property/random_case.h); the engine's verdicts
// must equal the naive reference evaluator's, and replaying the lines one
// at a time through the online engine must give the same verdicts again,
// and a random sequence of history operations (late claims, retract,
// compact, snapshot/restore, dry runs) must keep the online engine equal to
// a replay of the surviving claims (tests/online/history_ops.h).
// (The generator is seeded by a hash of the bytes, so this is guided random
// testing; the hand-written property tests cover the structure.)

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "sanad/compiler/reference_data.h"
#include "sanad/core/exec/batch_evaluator.h"
#include "sanad/core/exec/bound_plan.h"
#include "sanad/core/exec/line_order.h"
#include "sanad/core/ingest/claims_reader.h"
#include "sanad/online/online_engine.h"
#include "sanad/api/rules.h"
#include "sanad/rules_dsl/parser.h"
#include "tests/evaluation/reference_lines.h"
#include "tests/online/history_ops.h"
#include "tests/property/random_case.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sanad;
  const uint64_t seed = XXH3_64bits(data, size);
  testing::RandomCaseOptions opt;
  opt.max_rules = 5;
  opt.max_lines = 40;
  testing::RandomCase c = testing::MakeRandomCase(seed, opt);
  std::unique_ptr<Rules> rules = Rules::FromText("fuzz.sanad", c.rules);
  if (!rules->ok()) { std::fputs(c.rules.c_str(), stderr); std::abort(); }
  for (const auto& [name, rows] : c.externals)
    if (!compiler::BindReferenceRows(*rules->mutable_plan(), name, rows, name).ok()) std::abort();
  LoadOptions lo;
  lo.threads = 1;
  Result<LoadedClaims> claims = ReadNdjson(c.claims_ndjson, rules->plan()->schema, lo);
  if (!claims.ok()) std::abort();
  const ClaimBatch& batch = claims->batch;
  std::unique_ptr<BoundPlan> bound = Bind(*rules->plan(), batch);
  EvalOptions one;
  one.threads = 1;
  const Verdicts v = EvaluateBatch(*bound, batch, one);
  dsl::DiagnosticBag diags;
  dsl::ParseResult parsed = dsl::Parse(rules->source(), diags);
  const std::string diff = Diff(v, reference::Evaluate(parsed.program, ToReferenceLines(batch), c.externals));
  if (!diff.empty()) {
    std::fprintf(stderr, "engine != reference\n%s\n%s\n%s\n", diff.c_str(), c.rules.c_str(), c.claims_ndjson.c_str());
    std::abort();
  }
  // Online replay, one line per claim in adjudication order (claim ids made
  // unique per line; the rules may use claim_id, so the batch is re-judged
  // with the same ids).
  const BigVector<RowIndex> order = ComputeLineOrder(batch);
  ClaimBatch renamed(batch.schema());
  for (RowIndex k = 0; k < batch.size(); ++k) {
    AppendRows(batch, order[k], order[k] + 1, renamed);
    Column& id = renamed.column(kClaimId);
    id.codes[k] = id.dict.Intern(std::string(batch.String(kClaimId, order[k])) + "#" + std::to_string(k));
    renamed.column(kSeq).ints[k] = k + 1;
  }
  std::unique_ptr<BoundPlan> bound2 = Bind(*rules->plan(), renamed);
  const Verdicts want = EvaluateBatch(*bound2, renamed, one);
  OnlineEngine engine(*rules->plan());
  for (RowIndex k = 0; k < renamed.size(); ++k) {
    ClaimBatch claim(renamed.schema());
    AppendRows(renamed, k, k + 1, claim);
    Result<ClaimVerdict> got = engine.CheckAndCommit(claim);
    if (!got.ok()) std::abort();
    const OnlineLine& l = got->lines[0];
    if (l.status != want.status[k] || l.deduction != want.deduction[k] || l.primary_rule != want.primary_rule[k] ||
        l.hits.size() != want.hit_begin[k + 1] - want.hit_begin[k]) {
      std::fprintf(stderr, "online != batch at line %u\n%s\n%s\n", k, c.rules.c_str(), c.claims_ndjson.c_str());
      std::abort();
    }
  }
  static const std::string snapshot_path =
      (std::filesystem::temp_directory_path() / ("sanad_fuzz_ops_" + std::to_string(::getpid()) + ".snap")).string();
  const std::string ops = testing::CheckRandomHistoryOps(c, seed ^ 0x9E3779B97F4A7C15ULL, snapshot_path);
  if (!ops.empty()) {
    std::fprintf(stderr, "online history operations != replay of the survivors\n%s\n%s\n%s\n", ops.c_str(), c.rules.c_str(),
                 c.claims_ndjson.c_str());
    std::abort();
  }
  return 0;
}
