// Evaluation of the example rule set over loaded generated claims: bind +
// all rules + verdicts (no file parsing), lines/s, for 1 and 2 threads.

#include <benchmark/benchmark.h>

#include "bench/bench_data.h"
#include "sanad/api/evaluation.h"
#include "sanad/core/exec/batch_evaluator.h"
#include "sanad/core/exec/bound_plan.h"
#include "sanad/api/output.h"

#include <chrono>
#include <filesystem>

namespace sanad::bench {
namespace {

void BM_EvaluateExample(benchmark::State& state) {
  const LoadedClaims& claims = ExampleClaims(state.range(0));
  EvalOptions eo;
  eo.threads = static_cast<int>(state.range(1));
  size_t hits = 0;
  // One untimed run first: the timed runs then measure the steady state of
  // a process that evaluates repeatedly (work buffers cached, see
  // core/big_vector.h); the first run's time is reported as first_run_ms.
  {
    const auto t0 = std::chrono::steady_clock::now();
    Verdicts v = std::move(Evaluate(ExampleRules(), claims, eo).value().verdicts);
    benchmark::DoNotOptimize(v);
    state.counters["first_run_ms"] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  for (auto _ : state) {
    Verdicts v = std::move(Evaluate(ExampleRules(), claims, eo).value().verdicts);
    hits = v.hits.size();
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * claims.batch.size());
  state.counters["lines"] = claims.batch.size();
  state.counters["hits"] = static_cast<double>(hits);
  state.counters["batch_MB"] = static_cast<double>(claims.batch.ColumnBytes() + claims.batch.DictionaryBytes()) / 1e6;
  state.counters["peak_rss_MB"] = static_cast<double>(PeakRssBytes()) / 1e6;
}
BENCHMARK(BM_EvaluateExample)
    ->ArgsProduct({{1000000, 2000000, 5000000, 10000000}, {1, 2}})
    ->ArgNames({"lines", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

// Settlement's cost (SETTLEMENT.md; goal: at most 20% on top of the
// example's evaluation at 5M lines): the example rule set without and with
// three payers, on the same claims. Run with --benchmark_repetitions and
// --benchmark_enable_random_interleaving so the two alternate.
void BM_Settlement(benchmark::State& state) {
  const LoadedClaims& claims = ExampleClaims(state.range(0));
  EvalOptions eo;
  eo.threads = static_cast<int>(state.range(1));
  const bool payers = state.range(2) != 0;
  Rules& rules = payers ? ExampleRulesWithSettlement() : ExampleRules();
  Verdicts warm = std::move(Evaluate(rules, claims, eo).value().verdicts);  // untimed, as above
  benchmark::DoNotOptimize(warm);
  double settle = 0;
  for (auto _ : state) {
    Verdicts v = std::move(Evaluate(rules, claims, eo).value().verdicts);
    settle += v.profile.settle;
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * claims.batch.size());
  state.counters["settle_ms"] = 1000 * settle / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Settlement)
    ->ArgsProduct({{5000000}, {2}, {0, 1}})
    ->ArgNames({"lines", "threads", "payers"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

// End to end from CSV text in memory: ingest, bind, evaluate, write the
// verdicts file (CSV) — lines/s, input MB/s and peak RSS, 1 and 2 threads.
void BM_EndToEndCsv(benchmark::State& state) {
  const std::string& text = ClaimsText(state.range(0), /*csv=*/true);
  const Plan& plan = *ExampleRules().plan();
  const std::string out = (std::filesystem::temp_directory_path() / "sanad_bench_verdicts.csv").string();
  const int threads = static_cast<int>(state.range(1));
  int64_t lines = 0;
  for (auto _ : state) {
    LoadOptions lo;
    lo.threads = threads;
    Result<LoadedClaims> claims = ReadCsv(text, plan.schema, lo);
    if (!claims.ok()) {
      state.SkipWithError(claims.status().message().c_str());
      break;
    }
    EvalOptions eo;
    eo.threads = threads;
    Verdicts v = std::move(Evaluate(ExampleRules(), *claims, eo).value().verdicts);
    if (!WriteVerdicts(out, plan, claims->batch, v).ok()) state.SkipWithError("write failed");
    lines = claims->batch.size();
  }
  std::filesystem::remove(out);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * lines);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
  state.counters["lines"] = static_cast<double>(lines);
  state.counters["peak_rss_MB"] = static_cast<double>(PeakRssBytes()) / 1e6;
}
BENCHMARK(BM_EndToEndCsv)
    ->ArgsProduct({{1000000, 10000000}, {1, 2}})
    ->ArgNames({"lines", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

}  // namespace
}  // namespace sanad::bench

BENCHMARK_MAIN();
