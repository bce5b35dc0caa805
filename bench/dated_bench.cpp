// Dated reference data (LANGUAGE.md §2.1) against the same data undated, on
// 1M generated month-end lines (2024-03 to 2025-05, across both new years):
//  - lookup/{undated,dated}: `amount > tariff[service_code] * quantity` with
//    a tariff of every billed code; dated, four periods per code (two
//    Jalali new years and a mid-year change);
//  - eligibility/{undated,dated}: `not (insured_id in enrolled)` over every
//    insured; dated, two periods each with a gap for one in seven;
//  - pairs_load/{undated,dated}: binding a national edit table of 2.5M
//    pairs from CSV text (dated: every pair in force from 2024-03-20, one in
//    five split in two periods, a bypass flag on half);
//  - conflict_pairs/{undated,dated,dated_unless}: the conflict pairs rule
//    over that table.
// Run with --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
// so undated and dated alternate; compare medians.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "bench/bench_data.h"
#include "sanad/api/evaluation.h"
#include "sanad/compiler/reference_data.h"

namespace sanad::bench {
namespace {

constexpr int64_t kLines = 1000000;
constexpr int64_t kPairs = 2500000;

const LoadedClaims& Claims() { return ExampleClaims(kLines); }

std::string TariffCsv(bool dated) {
  const StringDictionary& codes = Claims().batch.column(kServiceCode).dict;
  std::string out;
  for (int32_t c = 0; c < codes.size(); ++c) {
    const std::string code(codes.View(c));
    const int64_t price = 100000 + (c * 7919) % 400000;
    if (!dated) {
      out += code + "," + std::to_string(price) + "\n";
      continue;
    }
    out += code + "," + std::to_string(price * 9 / 10) + ",2023-03-21,2024-03-19\n";
    out += code + "," + std::to_string(price) + ",2024-03-20,2024-09-30\n";
    out += code + "," + std::to_string(price * 21 / 20) + ",2024-10-01,2025-03-20\n";
    out += code + "," + std::to_string(price * 6 / 5) + ",2025-03-21,\n";
  }
  return out;
}

std::string EnrolledCsv(bool dated) {
  const StringDictionary& ids = Claims().batch.column(kInsuredId).dict;
  std::string out;
  for (int32_t c = 0; c < ids.size(); ++c) {
    const std::string id(ids.View(c));
    if (!dated) {
      if (c % 50) out += id + "\n";
      continue;
    }
    if (c % 7 == 0) out += id + ",2024-01-01,2024-09-30\n" + id + ",2024-11-01,\n";  // a month's gap
    else out += id + ",2024-01-01,2024-12-31\n" + id + ",2025-01-01,\n";
  }
  return out;
}

// The billed pairs of the generator's national table (lab unbundling,
// visit + injection, drug pairs) plus unique synthetic pairs up to kPairs.
std::string PairsCsv(bool dated) {
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"300100", "300105"}, {"300105", "300100"}, {"300110", "300115"}, {"300130", "300120"}, {"970000", "901905"}, {"970005", "901910"}};
  char a[16], b[16];
  for (int d = 0; d + 1 < 3000; d += 97) {
    std::snprintf(a, sizeof a, "D%05d", d);
    std::snprintf(b, sizeof b, "D%05d", d + 1);
    pairs.emplace_back(a, b);
  }
  for (int64_t i = 0; static_cast<int64_t>(pairs.size()) < kPairs; ++i) {  // (i / 13, i * 7919 mod 200000) never repeats
    std::snprintf(a, sizeof a, "N%06lld", static_cast<long long>(i / 13));
    std::snprintf(b, sizeof b, "N%06lld", static_cast<long long>((i * 7919) % 200000));
    pairs.emplace_back(a, b);
  }
  std::string out;
  out.reserve(pairs.size() * (dated ? 40 : 16));
  for (size_t k = 0; k < pairs.size(); ++k) {
    const std::string ab = pairs[k].first + "," + pairs[k].second;
    if (!dated) out += ab + "\n";
    else if (k % 5 == 4) out += ab + ",2024-03-20,2024-12-20,0\n" + ab + ",2024-12-21,," + (k % 2 ? "1" : "0") + "\n";
    else out += ab + ",2024-03-20,," + (k % 2 ? "1" : "0") + "\n";
  }
  return out;
}

const std::string& Cached(int which, bool dated) {
  static std::map<std::pair<int, bool>, std::string> cache;
  std::string& s = cache[{which, dated}];
  if (s.empty()) s = which == 0 ? TariffCsv(dated) : which == 1 ? EnrolledCsv(dated) : PairsCsv(dated);
  return s;
}

std::unique_ptr<Rules> Compile(const std::string& text, const std::string& ref, int which, bool dated, benchmark::State& state) {
  std::unique_ptr<Rules> rules = Rules::FromText("bench.sanad", text);
  if (!rules->ok()) {
    state.SkipWithError(rules->RenderDiagnostics().c_str());
    return nullptr;
  }
  Status st = compiler::BindReferenceCsv(*rules->mutable_plan(), ref, Cached(which, dated), ref + ".csv");
  if (!st.ok()) {
    state.SkipWithError(st.message().c_str());
    return nullptr;
  }
  return rules;
}

void Evaluate(benchmark::State& state, const Rules& rules) {
  EvalOptions eo;
  eo.threads = 1;
  size_t hits = 0;
  for (auto _ : state) {
    Verdicts v = std::move(Evaluate(rules, Claims(), eo).value().verdicts);
    hits = v.hits.size();
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * Claims().batch.size());
  state.counters["hits"] = static_cast<double>(hits);
}

void BM_Lookup(benchmark::State& state, bool dated) {
  const std::string text = std::string("ruleset \"t\"\ntable tariff : string -> int") + (dated ? " dated" : "") +
                           " = external\nrule r\n  when amount > tariff[service_code] * quantity\n"
                           "  warn deduct amount - tariff[service_code] * quantity\n";
  if (auto rules = Compile(text, "tariff", 0, dated, state)) Evaluate(state, *rules);
}

void BM_Eligibility(benchmark::State& state, bool dated) {
  const std::string text = std::string("ruleset \"e\"\nset enrolled") + (dated ? " dated" : "") +
                           " = external\nrule r\n  when not (insured_id in enrolled)\n  reject\n";
  if (auto rules = Compile(text, "enrolled", 1, dated, state)) Evaluate(state, *rules);
}

void BM_PairsLoad(benchmark::State& state, bool dated) {
  const std::string text = std::string("ruleset \"p\"\npairs ptp") + (dated ? " dated" : "") +
                           " = external\nrule r\n  conflict pairs ptp per insured_id, provider_id within 3 days\n  reject\n";
  const std::string& csv = Cached(2, dated);
  for (auto _ : state) {
    std::unique_ptr<Rules> rules = Rules::FromText("bench.sanad", text);
    Status st = compiler::BindReferenceCsv(*rules->mutable_plan(), "ptp", csv, "ptp.csv");
    if (!st.ok()) state.SkipWithError(st.message().c_str());
    benchmark::DoNotOptimize(rules);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kPairs);
}

void BM_ConflictPairs(benchmark::State& state, bool dated, bool unless) {
  const std::string text = std::string("ruleset \"p\"\npairs ptp") + (dated ? " dated" : "") +
                           " = external\nrule r\n  conflict pairs ptp per insured_id, provider_id within 3 days" +
                           (unless ? " unless referral" : "") + "\n  reject\n";
  if (auto rules = Compile(text, "ptp", 2, dated, state)) Evaluate(state, *rules);
}

}  // namespace
}  // namespace sanad::bench

int main(int argc, char** argv) {
  using namespace sanad::bench;
  auto reg = [](const char* name, auto fn) {
    benchmark::RegisterBenchmark(name, fn)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);
  };
  reg("lookup/undated", [](benchmark::State& s) { BM_Lookup(s, false); });
  reg("lookup/dated", [](benchmark::State& s) { BM_Lookup(s, true); });
  reg("eligibility/undated", [](benchmark::State& s) { BM_Eligibility(s, false); });
  reg("eligibility/dated", [](benchmark::State& s) { BM_Eligibility(s, true); });
  reg("pairs_load/undated", [](benchmark::State& s) { BM_PairsLoad(s, false); });
  reg("pairs_load/dated", [](benchmark::State& s) { BM_PairsLoad(s, true); });
  reg("conflict_pairs/undated", [](benchmark::State& s) { BM_ConflictPairs(s, false, false); });
  reg("conflict_pairs/dated", [](benchmark::State& s) { BM_ConflictPairs(s, true, false); });
  reg("conflict_pairs/dated_unless", [](benchmark::State& s) { BM_ConflictPairs(s, true, true); });
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
