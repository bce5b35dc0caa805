// Micro-benchmarks: one rule per run over 1M loaded generated lines (bind +
// evaluate), one per kernel family (comparisons on codes, `in` sets, table
// lookups, arithmetic with nulls) and per grouped scan (limit count/sum,
// rolling, repeat, conflict with, conflict pairs); the cost of a rule set
// against its size (10, 100 and 1,000 generated rules sharing 4 key sets);
// and pathological rule sets on 100,000 lines (a 100,000-day rolling window,
// 10,000 rules on one key, a pair table where every code pairs with every other).

#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "bench/bench_data.h"
#include "sanad/api/evaluation.h"
#include "sanad/core/exec/batch_evaluator.h"
#include "sanad/core/exec/bound_plan.h"

namespace sanad::bench {
namespace {

constexpr int64_t kLines = 1000000;

struct Case {
  const char* name;
  const char* rules;
};

const Case kCases[] = {
    {"predicate/compare_codes", "rule r\n  when fund == \"rural\" and provider_sector != \"public\"\n  warn\n"},
    {"predicate/in_set", "set s = { \"970000\", \"970005\", \"970010\", \"901905\", \"300100\" }\n"
                         "rule r\n  when service_code in s and not (diagnosis in { \"J06.9\", \"I10\" })\n  warn\n"},
    {"predicate/table_lookup", "table t : string -> int = { \"970000\": 200000, \"970005\": 250000, \"300100\": 1000 }\n"
                               "rule r\n  when amount > t[service_code] * quantity\n  warn deduct amount - t[service_code] * quantity\n"},
    {"predicate/arithmetic_nulls", "rule r\n  when age * 2 + quantity - amount / 1000 > 90 or age is null\n  warn deduct amount * 7 / 100\n"},
    {"scan/limit_count_day", "rule r\n  limit count per provider_id per day <= 40\n  reject\n"},
    {"scan/limit_sum_year_excess", "rule r\n  limit sum(amount) per insured_id per year <= 50_000_000\n  reject deduct excess\n"},
    {"scan/limit_rolling_30", "rule r\n  limit count per insured_id per rolling 30 days <= 5\n  warn\n"},
    {"scan/repeat_30", "rule r\n  repeat per insured_id, service_code within 30 days\n  warn\n"},
    {"scan/conflict_with", "rule r\n  when service_code in { \"901905\", \"901910\", \"901915\" }\n"
                           "  conflict with service_code in { \"970000\", \"970005\" } per insured_id, provider_id same day\n  reject\n"},
    {"scan/conflict_pairs", "pairs p = { (\"300100\", \"300105\"), (\"300105\", \"300100\"), (\"300110\", \"300115\"), (\"970000\", \"901905\") }\n"
                            "rule r\n  conflict pairs p per insured_id, provider_id within 3 days\n  reject\n"},
};

// `n` rules in the shape of a national rule book: each rule is about one
// drug code (its own `when`), cycling over limit/repeat/rolling forms on 4
// key sets (insured; provider; insured+provider; insured+code) with its
// own constants. The grouping passes are shared (4 key sets for any n); each
// rule still filters every line and scans its own population.
std::string GeneratedRules(int n) {
  static const char* kKeys[] = {"insured_id", "provider_id", "insured_id, provider_id", "insured_id, service_code"};
  std::string out = "ruleset \"generated\"\ncalendar jalali\n";
  for (int i = 0; i < n; ++i) {
    const std::string keys = kKeys[i % 4];
    char code[16];
    std::snprintf(code, sizeof code, "D%05d", i % 400);
    out += "rule r" + std::to_string(i) + " stage " + std::to_string(1 + i % 2) + "\n  when service_code == \"" + code + "\"\n";
    switch ((i / 4) % 4) {
      case 0: out += "  limit count per " + keys + " per month <= " + std::to_string(2 + i % 5) + "\n  warn\n"; break;
      case 1: out += "  limit sum(quantity) per " + keys + " per year <= " + std::to_string(10 + i % 13) + "\n  reject deduct excess\n"; break;
      case 2: out += "  repeat per " + keys + " within " + std::to_string(2 + i % 29) + " days\n  warn\n"; break;
      default: out += "  limit count per " + keys + " per rolling " + std::to_string(3 + i % 20) + " days <= " +
                      std::to_string(1 + i % 3) + "\n  warn\n"; break;
    }
  }
  return out;
}

// Pathological rule sets (robustness issue): their cost must stay
// proportional to their input. Run on 100,000 lines.
std::string ManyRulesOneKey(int n) {
  std::string out = "ruleset \"many\"\n";
  for (int i = 0; i < n; ++i)
    out += "rule r" + std::to_string(i) + "\n  when amount > " + std::to_string(1000 * i) +
           "\n  limit count per insured_id per month <= " + std::to_string(3 + i % 11) + "\n  warn\n";
  return out;
}

std::string AllPairs(int codes) {
  // Every one of the `codes` most frequent drug codes pairs with every other.
  std::string out = "ruleset \"pairs\"\npairs p = {";
  char a[16], b[16];
  bool first = true;
  for (int i = 0; i < codes; ++i)
    for (int j = 0; j < codes; ++j) {
      if (i == j) continue;
      std::snprintf(a, sizeof a, "D%05d", i);
      std::snprintf(b, sizeof b, "D%05d", j);
      out += std::string(first ? " " : ", ") + "(\"" + a + "\", \"" + b + "\")";
      first = false;
    }
  return out + " }\nrule r\n  conflict pairs p per insured_id within 365 days\n  reject\n";
}

void RunRulesOn(benchmark::State& state, const std::string& text, int64_t lines);

void RunRules(benchmark::State& state, const std::string& text) { RunRulesOn(state, text, kLines); }

void RunRulesOn(benchmark::State& state, const std::string& text, int64_t lines) {
  std::unique_ptr<Rules> rules = Rules::FromText("bench.sanad", text);
  if (!rules->ok()) {
    state.SkipWithError(rules->RenderDiagnostics().c_str());
    return;
  }
  const LoadedClaims& claims = ExampleClaims(lines);
  EvalOptions eo;
  eo.threads = static_cast<int>(state.range(0));
  size_t hits = 0;
  for (auto _ : state) {
    Verdicts v = std::move(Evaluate(*rules, claims, eo).value().verdicts);
    hits = v.hits.size();
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * claims.batch.size());
  state.counters["hits"] = static_cast<double>(hits);
  state.counters["rules"] = static_cast<double>(rules->plan()->rules.size());
}

void BM_RuleCount(benchmark::State& state) { RunRules(state, GeneratedRules(static_cast<int>(state.range(1)))); }
void BM_PathologicalRollingWindow(benchmark::State& state) {
  RunRulesOn(state, "ruleset \"w\"\nrule r\n  limit count per insured_id per rolling " + std::to_string(state.range(1)) +
                        " days <= 50\n  warn\n", 100000);
}
BENCHMARK(BM_PathologicalRollingWindow)->ArgsProduct({{1}, {30, 100000}})->ArgNames({"threads", "days"})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);

void BM_PathologicalRulesOnOneKey(benchmark::State& state) {
  RunRulesOn(state, ManyRulesOneKey(static_cast<int>(state.range(1))), 100000);
}
BENCHMARK(BM_PathologicalRulesOnOneKey)->ArgsProduct({{2}, {1000, 10000}})->ArgNames({"threads", "rules"})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);

void BM_PathologicalAllPairs(benchmark::State& state) {
  RunRulesOn(state, AllPairs(static_cast<int>(state.range(1))), 100000);
}
BENCHMARK(BM_PathologicalAllPairs)->ArgsProduct({{1}, {100, 400}})->ArgNames({"threads", "codes"})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);

// A hot key over a long window (found by an adversarial run: 100k lines of
// one insured took 11-19 s). Every line of one insured bills code B, which
// pairs after codes only another insured gets, so no line hits and a search
// that walks the window back visits every earlier line.
void BM_PathologicalHotKeyPairs(benchmark::State& state) {
  const int64_t lines = state.range(1);
  std::string text = "ruleset \"hot\"\npairs p = {";
  for (int i = 0; i < 50; ++i) text += std::string(i ? ", " : " ") + "(\"A" + std::to_string(i) + "\", \"B\")";
  text += " }\nrule r\n  conflict pairs p per insured_id within 3650 days\n  reject\n";
  std::unique_ptr<Rules> rules = Rules::FromText("hot.sanad", text);
  // The first codes occur, on another insured (codes absent from a batch are
  // dropped from its pair set).
  std::string ndjson;
  for (int i = 0; i < 50; ++i)
    ndjson += R"({"claim_id":"X)" + std::to_string(i) + R"(","insured_id":"I2","fund":"f","provider_id":"P","provider_sector":"s","service_code":"A)" +
              std::to_string(i) + R"(","service_date":"2000-01-01","amount":1})" + "\n";
  for (int64_t i = 0; i < lines; ++i)
    ndjson += R"({"claim_id":"C)" + std::to_string(i) + R"(","insured_id":"I1","fund":"f","provider_id":"P","provider_sector":"s","service_code":"B","service_date":")" +
              std::to_string(2000 + i * 10 / lines) + R"(-01-01","amount":1})" + "\n";
  const LoadedClaims claims = std::move(ReadNdjson(ndjson, rules->plan()->schema, LoadOptions{}).value());
  EvalOptions eo;
  eo.threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    Verdicts v = std::move(Evaluate(*rules, claims, eo).value().verdicts);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * lines);
}
BENCHMARK(BM_PathologicalHotKeyPairs)->ArgsProduct({{1}, {10000, 100000}})->ArgNames({"threads", "lines"})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);

BENCHMARK(BM_RuleCount)->ArgsProduct({{2}, {10, 100, 1000}})->ArgNames({"threads", "rules"})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);

}  // namespace
}  // namespace sanad::bench

int main(int argc, char** argv) {
  using namespace sanad::bench;
  for (const Case& c : kCases) {
    const std::string text = std::string("ruleset \"kernel\"\n") + c.rules;
    benchmark::RegisterBenchmark(c.name, [text](benchmark::State& s) { RunRules(s, text); })
        ->Arg(1)->ArgName("threads")->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
