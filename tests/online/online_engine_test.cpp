// The online engine against the batch semantics: replaying random data claim
// by claim in (service_date, seq) order through CheckAndCommit must give
// exactly the reference evaluator's verdicts, deductions, primary rules and
// hits — also after Retract, Compact, Preload and Snapshot/Restore. Plus the
// concurrency stress test and snapshot corruption cases.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include <unistd.h>

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

namespace sanad {
namespace {

int CaseCount() {
  const char* env = std::getenv("SANAD_PROPERTY_CASES");
  return (env ? std::atoi(env) : 2000) / 4;
}

// A random case prepared for replay: the batch in line order with seq = its
// position, split into claims of consecutive lines (one claim_id each; a
// claim_id whose lines are not consecutive is renamed per run), and the
// reference evaluator's verdicts on exactly that batch.
struct ReplayCase {
  std::unique_ptr<Rules> rules;
  ClaimBatch batch;
  std::vector<std::pair<RowIndex, RowIndex>> claims;  // [begin, end) rows
  reference::RefResult ref;
  testing::RandomCase source;
};

std::unique_ptr<ReplayCase> MakeReplayCase(uint64_t seed) {
  auto rc = std::make_unique<ReplayCase>();
  rc->source = testing::MakeRandomCase(seed);
  rc->rules = Rules::FromText("random.sanad", rc->source.rules);
  EXPECT_TRUE(rc->rules->ok()) << rc->rules->RenderDiagnostics();
  for (const auto& [name, rows] : rc->source.externals)
    EXPECT_TRUE(compiler::BindReferenceRows(*rc->rules->mutable_plan(), name, rows, name).ok());
  Result<LoadedClaims> loaded = ReadNdjson(rc->source.claims_ndjson, rc->rules->plan()->schema, LoadOptions{});
  EXPECT_TRUE(loaded.ok()) << loaded.status().message();
  testing::ClaimsInOrder split = testing::SplitIntoClaims(loaded->batch);
  rc->batch = std::move(split.lines);
  rc->claims = std::move(split.claims);
  for (RowIndex k = 0; k < rc->batch.size(); ++k) rc->batch.column(kSeq).ints[k] = k + 1;
  dsl::DiagnosticBag diags;
  dsl::ParseResult parsed = dsl::Parse(rc->rules->source(), diags);
  rc->ref = reference::Evaluate(parsed.program, ToReferenceLines(rc->batch), rc->source.externals);
  return rc;
}

ClaimBatch ClaimOf(const ReplayCase& rc, size_t c) {
  ClaimBatch b(rc.batch.schema());
  AppendRows(rc.batch, rc.claims[c].first, rc.claims[c].second, b);
  return b;
}

// "" when the online verdicts of claim c equal the reference's.
std::string CompareClaim(const ReplayCase& rc, size_t c, const ClaimVerdict& v) {
  const auto [begin, end] = rc.claims[c];
  if (v.lines.size() != end - begin) return "line count";
  for (RowIndex row = begin; row < end; ++row) {
    const OnlineLine& l = v.lines[row - begin];
    const std::string where = "row " + std::to_string(row) + " (" + l.claim_id + "/" + std::to_string(l.line_no) + "): ";
    if (static_cast<int>(l.status) != rc.ref.status[row]) return where + "status " + std::to_string(static_cast<int>(l.status)) + " vs " + std::to_string(rc.ref.status[row]);
    if (l.deduction != rc.ref.deduction[row]) return where + "deduction " + std::to_string(l.deduction) + " vs " + std::to_string(rc.ref.deduction[row]);
    if (l.primary_rule != rc.ref.primary[row]) return where + "primary";
    if (l.seq != rc.batch.Int(kSeq, row)) return where + "seq " + std::to_string(l.seq);
    const auto& ref_hits = rc.ref.hits[row];
    if (l.hits.size() != ref_hits.size()) return where + "hit count " + std::to_string(l.hits.size()) + " vs " + std::to_string(ref_hits.size());
    for (size_t k = 0; k < ref_hits.size(); ++k) {
      const OnlineHit& h = l.hits[k];
      const reference::RefHit& e = ref_hits[k];
      if (h.rule != e.rule || h.deduction != e.deduction || static_cast<int>(h.evidence) != e.evidence)
        return where + "hit " + std::to_string(k) + " rule/deduction/evidence";
      if (e.evidence == 1 && (h.total != e.total || h.cap != e.cap)) return where + "limit evidence";
      if (e.evidence == 2) {
        const RowIndex other = static_cast<RowIndex>(e.other);
        if (h.other_claim_id != rc.batch.String(kClaimId, other) || h.other_line_no != rc.batch.Int(kLineNo, other))
          return where + "other line " + h.other_claim_id + "/" + std::to_string(h.other_line_no);
      }
    }
  }
  return "";
}

TEST(OnlineEngineTest, ReplayClaimByClaimEqualsBatchOnRandomRuleSets) {
  int64_t hits = 0, lines = 0;
  for (int seed = 1; seed <= CaseCount(); ++seed) {
    auto rc = MakeReplayCase(static_cast<uint64_t>(seed));
    OnlineEngine engine(*rc->rules->plan());
    for (size_t c = 0; c < rc->claims.size(); ++c) {
      const ClaimBatch claim = ClaimOf(*rc, c);
      Result<ClaimVerdict> dry = engine.Check(claim);  // a dry run changes nothing...
      ASSERT_TRUE(dry.ok()) << dry.status().message();
      Result<ClaimVerdict> v = engine.CheckAndCommit(claim);
      ASSERT_TRUE(v.ok()) << v.status().message();
      ASSERT_EQ(CompareClaim(*rc, c, *v), "") << "seed " << seed << " claim " << c << "\n" << rc->source.rules;
      ASSERT_EQ(CompareClaim(*rc, c, *dry), "") << "seed " << seed << " claim " << c << " (dry run)";
      for (const OnlineLine& l : v->lines) hits += static_cast<int64_t>(l.hits.size());
      lines += static_cast<int64_t>(v->lines.size());
    }
    EXPECT_EQ(engine.Memory().history_lines, rc->batch.size());
    // Reconcile against the batch: nothing differs when claims came in order.
    Result<std::vector<ReconcileDiff>> diffs = engine.Reconcile(rc->batch, 1);
    ASSERT_TRUE(diffs.ok());
    EXPECT_TRUE(diffs->empty()) << "seed " << seed << ": " << diffs->size() << " lines differ, first " << (*diffs)[0].claim_id;
  }
  EXPECT_GT(hits, lines / 10);  // rules must actually fire
}

TEST(OnlineEngineTest, RetractThenRestOfReplayEqualsBatchWithoutTheClaim) {
  std::mt19937_64 rng(7);
  for (int seed = 1; seed <= CaseCount(); ++seed) {
    auto full = MakeReplayCase(static_cast<uint64_t>(seed));
    if (full->claims.size() < 3) continue;
    const size_t victim = rng() % (full->claims.size() - 1);
    const size_t stop = victim + rng() % (full->claims.size() - victim);  // replay up to here, then retract
    // The batch without the victim, with the same claim split.
    auto without = std::make_unique<ReplayCase>();
    without->batch = ClaimBatch(full->batch.schema());
    for (size_t c = 0; c < full->claims.size(); ++c) {
      if (c == victim) continue;
      const RowIndex begin = without->batch.size();
      AppendRows(full->batch, full->claims[c].first, full->claims[c].second, without->batch);
      without->claims.push_back({begin, without->batch.size()});
    }
    dsl::DiagnosticBag diags;
    dsl::ParseResult parsed = dsl::Parse(full->rules->source(), diags);
    without->ref = reference::Evaluate(parsed.program, ToReferenceLines(without->batch), full->source.externals);

    OnlineEngine engine(*full->rules->plan());
    for (size_t c = 0; c <= stop; ++c) ASSERT_TRUE(engine.CheckAndCommit(ClaimOf(*full, c)).ok());
    ASSERT_TRUE(engine.Retract(full->batch.String(kClaimId, full->claims[victim].first)).ok());
    EXPECT_FALSE(engine.Retract(full->batch.String(kClaimId, full->claims[victim].first)).ok());  // only once
    for (size_t c = stop + 1; c < full->claims.size(); ++c) {
      Result<ClaimVerdict> v = engine.CheckAndCommit(ClaimOf(*full, c));
      ASSERT_TRUE(v.ok()) << v.status().message();
      // Claim c of `full` is claim c - 1 of `without` (same seq values).
      ASSERT_EQ(CompareClaim(*without, c - 1, *v), "") << "seed " << seed << " victim " << victim << " stop " << stop << "\n"
                                                       << full->source.rules;
    }
  }
}

TEST(OnlineEngineTest, PreloadSnapshotRestoreAndCompactKeepReplayExact) {
  const std::string path = (std::filesystem::temp_directory_path() / ("sanad_online_test_" + std::to_string(::getpid()) + ".snap")).string();
  for (int seed = 1; seed <= CaseCount(); ++seed) {
    auto rc = MakeReplayCase(static_cast<uint64_t>(seed));
    const size_t n = rc->claims.size();
    const size_t half = n / 2;
    // Preload the first half as a batch.
    ClaimBatch first(rc->batch.schema());
    if (half > 0) AppendRows(rc->batch, 0, rc->claims[half - 1].second, first);
    OnlineEngine engine(*rc->rules->plan());
    ASSERT_TRUE(engine.Preload(first, 1).ok());
    size_t c = half;
    for (; c < half + (n - half) / 2; ++c) {
      Result<ClaimVerdict> v = engine.CheckAndCommit(ClaimOf(*rc, c));
      ASSERT_TRUE(v.ok());
      ASSERT_EQ(CompareClaim(*rc, c, *v), "") << "seed " << seed << " after preload, claim " << c;
    }
    ASSERT_TRUE(engine.Snapshot(path).ok());
    OnlineEngine restored(*rc->rules->plan());
    ASSERT_TRUE(restored.Restore(path).ok());
    for (; c < n; ++c) {
      // Compact up to the next claim's date: everything later is dated on or after it.
      if (c % 3 == 0) {
        ASSERT_TRUE(restored.Compact(rc->batch.Date(kServiceDate, rc->claims[c].first)).ok());
      }
      Result<ClaimVerdict> v = restored.CheckAndCommit(ClaimOf(*rc, c));
      ASSERT_TRUE(v.ok()) << v.status().message();
      ASSERT_EQ(CompareClaim(*rc, c, *v), "") << "seed " << seed << " after restore/compact, claim " << c << "\n" << rc->source.rules;
    }
  }
  std::filesystem::remove(path);
}

// Every history operation keeps the engine equal to a replay of the
// surviving claims (an adversarial run found retract after compact leaving a
// voided claim in an all-time limit's folded total).
TEST(OnlineEngineTest, RandomOperationSequencesEqualReplayOfTheSurvivingClaims) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("sanad_history_ops_" + std::to_string(::getpid()) + ".snap")).string();
  testing::RandomCaseOptions opt;
  opt.max_lines = 60;
  for (int seed = 1; seed <= CaseCount(); ++seed) {
    const testing::RandomCase source = testing::MakeRandomCase(static_cast<uint64_t>(seed) * 7919, opt);
    const std::string failure = testing::CheckRandomHistoryOps(source, static_cast<uint64_t>(seed), path);
    ASSERT_EQ(failure, "") << "seed " << seed << "\n" << source.rules;
  }
  std::filesystem::remove(path);
}

// The adversarial instance: an all-time limit, compaction past a claim, then
// its retraction. The next claim must not see the voided claim's count.
TEST(OnlineEngineTest, RetractAfterCompactRemovesTheClaimFromAnAllTimeLimit) {
  auto rules = Rules::FromText("t.sanad", R"(ruleset "t"
rule lifetime
  limit count per insured_id <= 1
  reject
)");
  ASSERT_TRUE(rules->ok());
  OnlineEngine engine(*rules->plan());
  auto claim = [&](const std::string& id, const std::string& date) {
    return ReadNdjson(R"({"claim_id":")" + id + R"(","insured_id":"I1","fund":"f","provider_id":"P","provider_sector":"s","service_code":"X","service_date":")" +
                          date + R"(","amount":100})",
                      rules->plan()->schema, LoadOptions{})
        ->batch;
  };
  ASSERT_TRUE(engine.CheckAndCommit(claim("A", "2024-01-01")).ok());
  ASSERT_TRUE(engine.Compact(DaysFromCivil(2024, 6, 1)).ok());
  ASSERT_TRUE(engine.Retract("A").ok());
  Result<ClaimVerdict> v = engine.CheckAndCommit(claim("B", "2024-07-01"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->lines[0].status, LineStatus::kAccepted);
}

// SETTLEMENT.md §5 online: a claim's lines come back with each payer's pay;
// committing adds to the running totals, a retracted claim's lines leave
// them (the totals are what the surviving lines took), compaction keeps an
// all-time scope's sums, a snapshot keeps everything, and reconcile lists a
// line whose settlement differs from the batch's.
// A one-line claim of insured I1 (the settlement tests' claims).
ClaimBatch OneLineClaim(const Plan& plan, const std::string& id, const std::string& date, int64_t amount) {
  return ReadNdjson(R"({"claim_id":")" + id + R"(","insured_id":"I1","fund":"f","provider_id":"P","provider_sector":"s","service_code":"X","service_date":")" +
                        date + R"(","amount":)" + std::to_string(amount) + "}",
                    plan.schema, LoadOptions{})
      ->batch;
}

TEST(OnlineEngineTest, SettlementTotalsFollowCommitsRetractsCompactionAndSnapshots) {
  auto rules = Rules::FromText("t.sanad", R"(ruleset "t"
payer basic
  per insured_id
  deductible 1000
  covers 100%
payer top_up
  on remaining
  covers 50%
)");
  ASSERT_TRUE(rules->ok()) << rules->RenderDiagnostics();
  OnlineEngine engine(*rules->plan());
  auto claim = [&](const std::string& id, const std::string& date) { return OneLineClaim(*rules->plan(), id, date, 800); };
  auto pays = [](const Result<ClaimVerdict>& v) {
    return std::to_string(v->lines[0].pay[0]) + "+" + std::to_string(v->lines[0].pay[1]) + " patient " +
           std::to_string(v->lines[0].patient);
  };
  Result<ClaimVerdict> a = engine.CheckAndCommit(claim("A", "2024-01-01"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(pays(a), "0+400 patient 400");  // 800 of the deductible; top_up pays half of what is left
  Result<ClaimVerdict> b = engine.CheckAndCommit(claim("B", "2024-02-01"));
  EXPECT_EQ(pays(b), "600+100 patient 100");  // the last 200 of the deductible
  EXPECT_EQ(pays(engine.Check(claim("C", "2024-03-01"))), "800+0 patient 0");  // a dry run: deductible met
  ASSERT_TRUE(engine.Retract("A").ok());
  // A's 800 leave the totals: the deductible taken is B's 200.
  EXPECT_EQ(pays(engine.Check(claim("C", "2024-03-01"))), "0+400 patient 400");
  ASSERT_TRUE(engine.Snapshot(::testing::TempDir() + "settle.snap").ok());
  OnlineEngine restored(*rules->plan());
  ASSERT_TRUE(restored.Restore(::testing::TempDir() + "settle.snap").ok());
  EXPECT_EQ(pays(restored.Check(claim("C", "2024-03-01"))), "0+400 patient 400");
  ASSERT_TRUE(restored.Compact(DaysFromCivil(2024, 2, 15)).ok());  // B is folded into the all-time sums
  EXPECT_EQ(pays(restored.Check(claim("C", "2024-03-01"))), "0+400 patient 400");
  ASSERT_TRUE(restored.CheckAndCommit(claim("D", "2024-03-01")).ok());
  // The batch of B and D: B takes the whole deductible (800 of 1000) after A's retraction,
  // so it differs from what B got online; reconcile lists B.
  const ClaimBatch bd = ReadNdjson(
      R"({"claim_id":"B","insured_id":"I1","fund":"f","provider_id":"P","provider_sector":"s","service_code":"X","service_date":"2024-02-01","amount":800})"
      "\n"
      R"({"claim_id":"D","insured_id":"I1","fund":"f","provider_id":"P","provider_sector":"s","service_code":"X","service_date":"2024-03-01","amount":800})",
      rules->plan()->schema, LoadOptions{})->batch;
  Result<std::vector<ReconcileDiff>> diffs = restored.Reconcile(bd, 1);
  ASSERT_TRUE(diffs.ok());
  ASSERT_EQ(diffs->size(), 2u);
  EXPECT_EQ((*diffs)[0].claim_id, "B");
  EXPECT_EQ((*diffs)[0].online_pay, (std::vector<int64_t>{600, 100}));
  EXPECT_EQ((*diffs)[0].batch_pay, (std::vector<int64_t>{0, 400}));
  EXPECT_EQ((*diffs)[0].online_status, (*diffs)[0].batch_status);  // the verdict is the same: only the settlement differs
}

// Last year's claim retracted after this year's totals were read: this year's
// running totals (and so the deductible a new line takes) stay what they were.
TEST(OnlineEngineTest, RetractingLastYearsClaimLeavesThisYearsTotals) {
  auto rules = Rules::FromText("t.sanad", R"(ruleset "t"
payer basic
  per insured_id per year
  deductible 100
  covers 100%
)");
  ASSERT_TRUE(rules->ok()) << rules->RenderDiagnostics();
  OnlineEngine engine(*rules->plan());
  auto claim = [&](const std::string& id, const std::string& date) { return OneLineClaim(*rules->plan(), id, date, 500); };
  auto paid = [](const Result<ClaimVerdict>& v) { return v.ok() ? v->lines[0].pay[0] : -1; };
  EXPECT_EQ(paid(engine.CheckAndCommit(claim("A", "2024-12-20"))), 400);  // 2024's deductible
  EXPECT_EQ(paid(engine.CheckAndCommit(claim("B", "2025-01-05"))), 400);  // 2025's deductible
  EXPECT_EQ(paid(engine.Check(claim("C", "2025-01-10"))), 500);           // 2025's deductible met
  ASSERT_TRUE(engine.Retract("A").ok());
  EXPECT_EQ(paid(engine.Check(claim("C", "2025-01-10"))), 500);  // still met: A was 2024's
  EXPECT_EQ(paid(engine.CheckAndCommit(claim("D", "2024-12-21"))), 400);  // 2024's deductible again, A gone
  EXPECT_EQ(paid(engine.Check(claim("C", "2025-01-10"))), 500);
}

constexpr const char* kCapRules = R"(ruleset "stress"
rule gp_daily_cap "at most 40 visits per provider per day"
  when service_code == "V1"
  limit count per provider_id per day <= 40
  reject
rule same_insured_twice
  repeat per insured_id, service_code within 1 days
  warn
)";

TEST(OnlineEngineConcurrencyTest, SixteenThreadsRaceForFortySlotsExactlyFortyAccepted) {
  std::unique_ptr<Rules> rules = Rules::FromText("stress.sanad", kCapRules);
  ASSERT_TRUE(rules->ok()) << rules->RenderDiagnostics();
  for (int round = 0; round < 5; ++round) {
    OnlineEngine engine(*rules->plan());
    constexpr int kThreads = 16, kPerThread = 10;
    std::atomic<int> accepted{0}, rejected{0}, errors{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    std::vector<std::vector<OnlineLine>> seen(kThreads);
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        while (!go.load()) std::this_thread::yield();
        for (int i = 0; i < kPerThread; ++i) {
          const std::string json = "{\"claim_id\":\"T" + std::to_string(t) + "-" + std::to_string(i) +
                                   "\",\"insured_id\":\"I" + std::to_string(t * 100 + i) +
                                   "\",\"fund\":\"rural\",\"provider_sector\":\"public\",\"provider_id\":\"P1\",\"service_date\":\"2025-05-01\",\"service_code\":\"V1\",\"amount\":100}";
          Result<ClaimVerdict> v = engine.CheckJson(json, true);
          if (!v.ok()) { ++errors; continue; }
          (v->lines[0].status == LineStatus::kAccepted ? accepted : rejected)++;
          seen[static_cast<size_t>(t)].push_back(v->lines[0]);
        }
      });
    go = true;
    for (auto& th : threads) th.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(accepted.load(), 40);
    EXPECT_EQ(rejected.load(), kThreads * kPerThread - 40);
    EXPECT_EQ(engine.Memory().history_lines, kThreads * kPerThread);
    // Linearizable: the accepted lines are exactly the first 40 by seq, and
    // each rejected line's running total equals its seq (no lost or double count).
    std::set<int64_t> seqs;
    for (const auto& lines : seen)
      for (const OnlineLine& l : lines) {
        EXPECT_TRUE(seqs.insert(l.seq).second) << "seq " << l.seq << " given twice";
        EXPECT_EQ(l.status == LineStatus::kAccepted, l.seq <= 40) << "seq " << l.seq;
        if (l.status == LineStatus::kRejected) {
          ASSERT_EQ(l.hits.size(), 1u);
          EXPECT_EQ(static_cast<int64_t>(l.hits[0].total), l.seq);
        }
      }
    EXPECT_EQ(seqs.size(), static_cast<size_t>(kThreads * kPerThread));
  }
}

TEST(OnlineEngineConcurrencyTest, ChecksRaceWithCommitsAndRetracts) {
  std::unique_ptr<Rules> rules = Rules::FromText("stress.sanad", kCapRules);
  ASSERT_TRUE(rules->ok());
  OnlineEngine engine(*rules->plan());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string id = "R" + std::to_string(t) + "-" + std::to_string(i);
        const std::string json = "{\"claim_id\":\"" + id + "\",\"insured_id\":\"I1\",\"fund\":\"rural\",\"provider_sector\":\"public\",\"provider_id\":\"P1\",\"service_date\":\"2025-05-0" +
                                 std::to_string(1 + i % 5) + "\",\"service_code\":\"V1\",\"amount\":100}";
        EXPECT_TRUE(engine.CheckJson(json, false).ok());
        EXPECT_TRUE(engine.CheckJson(json, true).ok());
        if (i % 2) {
          EXPECT_TRUE(engine.Retract(id).ok());
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(engine.Memory().history_lines, 4 * 25);
}

TEST(OnlineEngineTest, ClaimErrorsAreClearAndChangeNothing) {
  std::unique_ptr<Rules> rules = Rules::FromText("stress.sanad", kCapRules);
  ASSERT_TRUE(rules->ok());
  OnlineEngine engine(*rules->plan());
  const std::string ok = R"({"claim_id":"A","insured_id":"I1","fund":"rural","provider_sector":"public","provider_id":"P1","service_date":"2025-05-01","service_code":"V1","amount":100})";
  ASSERT_TRUE(engine.CheckJson(ok, true).ok());
  Result<ClaimVerdict> dup = engine.CheckJson(ok, true);
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("already in history"), std::string::npos) << dup.status().message();
  Result<ClaimVerdict> bad = engine.CheckJson(R"({"claim_id":"B","insured_id":"I1","service_date":"2025-02-30","amount":1})", true);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("service_date"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(engine.Retract("nope").ok());
  ASSERT_TRUE(engine.Compact(DaysFromCivil(2025, 6, 1)).ok());
  Result<ClaimVerdict> old = engine.CheckJson(
      R"({"claim_id":"C","insured_id":"I1","fund":"rural","provider_sector":"public","provider_id":"P1","service_date":"2025-05-02","service_code":"V1","amount":100})", true);
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("compaction horizon 2025-06-01"), std::string::npos) << old.status().message();
  EXPECT_EQ(engine.Memory().history_lines, 1);
  // Retract then resubmit the same claim id: accepted again.
  ASSERT_TRUE(engine.Retract("A").ok());
  EXPECT_EQ(engine.Memory().history_lines, 0);
}

TEST(OnlineEngineTest, RetractRevealsALineAnEarlierStageHadHidden) {
  // B is rejected in stage 1 only because of A; once A is voided, B is
  // visible to stage 2 and counts toward provider P2's cap of 2.
  std::unique_ptr<Rules> rules = Rules::FromText("stages.sanad", R"(ruleset "stages"
rule one_per_insured_day stage 1
  limit count per insured_id per day <= 1
  reject
rule two_per_provider_day stage 2
  limit count per provider_id per day <= 2
  warn
)");
  ASSERT_TRUE(rules->ok()) << rules->RenderDiagnostics();
  OnlineEngine engine(*rules->plan());
  auto claim = [&](const std::string& id, const std::string& insured, const std::string& provider, bool commit) {
    return engine.CheckJson("{\"claim_id\":\"" + id + "\",\"insured_id\":\"" + insured +
                                "\",\"fund\":\"rural\",\"provider_sector\":\"public\",\"provider_id\":\"" + provider +
                                "\",\"service_date\":\"2025-05-01\",\"service_code\":\"V1\",\"amount\":100}",
                            commit);
  };
  ASSERT_EQ(claim("A", "I1", "P1", true)->lines[0].status, LineStatus::kAccepted);
  ASSERT_EQ(claim("B", "I1", "P2", true)->lines[0].status, LineStatus::kRejected);
  ASSERT_EQ(claim("C", "I2", "P2", true)->lines[0].status, LineStatus::kAccepted);
  EXPECT_EQ(claim("D", "I3", "P2", false)->lines[0].status, LineStatus::kAccepted);  // P2 count: C, D
  ASSERT_TRUE(engine.Retract("A").ok());
  Result<ClaimVerdict> d = claim("D", "I3", "P2", true);  // P2 count: B, C, D
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->lines[0].status, LineStatus::kWarned);
  ASSERT_EQ(d->lines[0].hits.size(), 1u);
  EXPECT_EQ(static_cast<int64_t>(d->lines[0].hits[0].total), 3);
}

TEST(OnlineEngineTest, KeyBudgetRefusesClaimsThatWouldAddKeysAndChangesNothing) {
  std::unique_ptr<Rules> rules = Rules::FromText("budget.sanad", R"(ruleset "budget"
rule monthly
  limit count per insured_id per month <= 5
  warn
)");
  ASSERT_TRUE(rules->ok());
  OnlineEngine engine(*rules->plan());
  engine.SetKeyBudget(3);
  auto claim = [](const std::string& id, const std::string& insured) {
    return "{\"claim_id\":\"" + id + "\",\"insured_id\":\"" + insured +
           "\",\"fund\":\"rural\",\"provider_sector\":\"public\",\"provider_id\":\"P1\","
           "\"service_date\":\"2025-05-01\",\"service_code\":\"V1\",\"amount\":100}";
  };
  for (const char* insured : {"I1", "I2", "I3"}) ASSERT_TRUE(engine.CheckJson(claim(std::string("C") + insured, insured), true).ok());
  EXPECT_EQ(engine.Memory().keys, 3);
  EXPECT_TRUE(engine.CheckJson(claim("D", "I4"), false).ok() == false);  // a dry run is refused too
  Result<ClaimVerdict> over = engine.CheckJson(claim("E", "I4"), true);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kLimitExceeded);
  EXPECT_NE(over.status().message().find("over its budget of 3"), std::string::npos) << over.status().message();
  EXPECT_EQ(engine.Memory().keys, 3);
  EXPECT_EQ(engine.Memory().history_lines, 3);
  Result<ClaimVerdict> known = engine.CheckJson(claim("F", "I1"), true);  // an existing key is fine
  ASSERT_TRUE(known.ok());
  EXPECT_EQ(known->lines[0].seq, 4);  // the refused claim used no seq
  engine.SetKeyBudget(0);
  EXPECT_TRUE(engine.CheckJson(claim("E", "I4"), true).ok());
  EXPECT_EQ(engine.Memory().keys, 4);
}

// Found by an adversarial run: keys were never released, so the budget
// refused new insured forever although its message says to compact.
TEST(OnlineEngineTest, CompactionReleasesKeysWithNothingLeftToSee) {
  std::unique_ptr<Rules> rules = Rules::FromText("budget.sanad", R"(ruleset "budget"
rule monthly
  limit count per insured_id per month <= 5
  warn
rule lifetime
  when service_code == "L"
  limit count per provider_id <= 100
  warn
)");
  ASSERT_TRUE(rules->ok());
  OnlineEngine engine(*rules->plan());
  engine.SetKeyBudget(4);
  auto claim = [](const std::string& id, const std::string& insured, const std::string& date, const std::string& code) {
    return "{\"claim_id\":\"" + id + "\",\"insured_id\":\"" + insured +
           "\",\"fund\":\"rural\",\"provider_sector\":\"public\",\"provider_id\":\"P1\","
           "\"service_date\":\"" + date + "\",\"service_code\":\"" + code + "\",\"amount\":100}";
  };
  ASSERT_TRUE(engine.CheckJson(claim("C1", "I1", "2025-05-01", "L"), true).ok());
  ASSERT_TRUE(engine.CheckJson(claim("C2", "I2", "2025-05-02", "V"), true).ok());
  ASSERT_TRUE(engine.CheckJson(claim("C3", "I3", "2025-05-03", "V"), true).ok());
  EXPECT_EQ(engine.Memory().keys, 4);  // 3 insured + 1 provider
  EXPECT_FALSE(engine.CheckJson(claim("C4", "I4", "2025-06-01", "V"), true).ok());
  ASSERT_TRUE(engine.Compact(DaysFromCivil(2025, 6, 1)).ok());
  // May's monthly counts can no longer be seen; the provider's all-time count can.
  EXPECT_EQ(engine.Memory().keys, 1);
  ASSERT_TRUE(engine.CheckJson(claim("C4", "I4", "2025-06-01", "V"), true).ok());
  // A released key comes back fresh, and the kept all-time total still counts.
  Result<ClaimVerdict> again = engine.CheckJson(claim("C5", "I1", "2025-06-02", "L"), true);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->lines[0].hits.size(), 0u);
  ASSERT_TRUE(engine.Retract("C1").ok());  // retract after compaction: the all-time total drops
  const std::string snap = (std::filesystem::temp_directory_path() / ("sanad_keys_" + std::to_string(::getpid()) + ".snap")).string();
  ASSERT_TRUE(engine.Snapshot(snap).ok());
  OnlineEngine restored(*rules->plan());
  ASSERT_TRUE(restored.Restore(snap).ok());
  std::filesystem::remove(snap);
  EXPECT_EQ(restored.Memory().keys, engine.Memory().keys);
}

TEST(OnlineEngineTest, DryRunsLeaveNoKeysBehind) {
  std::unique_ptr<Rules> rules = Rules::FromText("stress.sanad", kCapRules);
  ASSERT_TRUE(rules->ok());
  OnlineEngine engine(*rules->plan());
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(engine.CheckJson("{\"claim_id\":\"X\",\"insured_id\":\"I" + std::to_string(i) +
                                     "\",\"fund\":\"rural\",\"provider_sector\":\"public\",\"provider_id\":\"P" + std::to_string(i) +
                                     "\",\"service_date\":\"2025-05-01\",\"service_code\":\"V1\",\"amount\":100}",
                                 false).ok());
  EXPECT_EQ(engine.Memory().keys, 0);
  EXPECT_EQ(engine.Memory().state_bytes < 4096, true) << engine.Memory().state_bytes;
}

TEST(OnlineEngineTest, CorruptedOrTruncatedSnapshotIsRefusedAndStateKept) {
  std::unique_ptr<Rules> rules = Rules::FromText("stress.sanad", kCapRules);
  ASSERT_TRUE(rules->ok());
  OnlineEngine engine(*rules->plan());
  for (int i = 0; i < 45; ++i)
    ASSERT_TRUE(engine.CheckJson("{\"claim_id\":\"S" + std::to_string(i) +
                                     "\",\"insured_id\":\"I1\",\"fund\":\"rural\",\"provider_sector\":\"public\",\"provider_id\":\"P1\",\"service_date\":\"2025-05-01\",\"service_code\":\"V1\",\"amount\":100}",
                                 true).ok());
  const std::string path = (std::filesystem::temp_directory_path() / ("sanad_corrupt_test_" + std::to_string(::getpid()) + ".snap")).string();
  ASSERT_TRUE(engine.Snapshot(path).ok());
  std::string bytes;
  {
    std::ifstream f(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  auto write = [&](const std::string& b) { std::ofstream(path, std::ios::binary | std::ios::trunc) << b; };
  OnlineEngine other(*rules->plan());
  ASSERT_TRUE(other.CheckJson(R"({"claim_id":"X","insured_id":"I9","fund":"rural","provider_sector":"public","provider_id":"P9","service_date":"2025-05-01","service_code":"V1","amount":7})", true).ok());
  struct Case { std::string bytes, expect; };
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x20;
  std::string version = bytes;
  version[8] = 9;
  const std::vector<Case> cases = {{bytes.substr(0, bytes.size() - 10), "truncated"},
                                   {bytes.substr(0, 12), "not a Sanad snapshot"},
                                   {flipped, "checksum mismatch"},
                                   {version, "snapshot version 9"},
                                   {"hello", "not a Sanad snapshot"}};
  for (const Case& c : cases) {
    write(c.bytes);
    Status st = other.Restore(path);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find(c.expect), std::string::npos) << st.message();
    EXPECT_EQ(other.Memory().history_lines, 1);  // untouched
  }
  // A snapshot of another rule set is refused.
  std::unique_ptr<Rules> different = Rules::FromText("d.sanad", "ruleset \"d\"\nrule r\n  limit count per provider_id per day <= 3\n  reject\n");
  ASSERT_TRUE(different->ok());
  write(bytes);
  OnlineEngine foreign(*different->plan());
  Status st = foreign.Restore(path);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("different rules or reference data"), std::string::npos) << st.message();
  // The intact snapshot restores and the restored engine answers like the original.
  ASSERT_TRUE(other.Restore(path).ok());
  const std::string next = R"({"claim_id":"N","insured_id":"I2","fund":"rural","provider_sector":"public","provider_id":"P1","service_date":"2025-05-01","service_code":"V1","amount":100})";
  Result<ClaimVerdict> a = engine.CheckJson(next, false), b = other.CheckJson(next, false);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->lines[0].status, LineStatus::kRejected);
  EXPECT_EQ(b->lines[0].status, a->lines[0].status);
  EXPECT_EQ(b->lines[0].seq, a->lines[0].seq);
  EXPECT_EQ(static_cast<int64_t>(b->lines[0].hits[0].total), 46);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace sanad

namespace sanad {
namespace {

// Found by an adversarial run: the snapshot's rule-set check ignored the
// bound reference data, so a snapshot restored silently into rules bound to
// other tables. It now carries the plan fingerprint with the data.
TEST(OnlineEngineTest, SnapshotRestoresOnlyIntoTheSameRulesAndReferenceData) {
  const std::string text = "ruleset \"s\"\nset mri = external\nrule r\n  when service_code in mri\n  reject\n";
  auto bound_to = [&](const std::string& code) {
    std::unique_ptr<Rules> r = Rules::FromText("s.sanad", text);
    EXPECT_TRUE(compiler::BindReferenceRows(*r->mutable_plan(), "mri", {{code}}, "mri").ok());
    return r;
  };
  auto a = bound_to("X1"), same = bound_to("X1"), other = bound_to("X2");
  const std::string path = (std::filesystem::temp_directory_path() / ("sanad_fp_" + std::to_string(::getpid()) + ".snap")).string();
  OnlineEngine engine(*a->plan());
  ASSERT_TRUE(engine.Snapshot(path).ok());
  OnlineEngine ok(*same->plan());
  EXPECT_TRUE(ok.Restore(path).ok());
  OnlineEngine refused(*other->plan());
  Status st = refused.Restore(path);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("different rules or reference data"), std::string::npos) << st.message();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace sanad
