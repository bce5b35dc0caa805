// Front-end speed on large generated rules files: 50,000 rules (~10 MB) and a
// 1,000,000-member inline set; parse alone and parse + compile.

#include <benchmark/benchmark.h>

#include <string>

#include "sanad/compiler/compiler.h"
#include "sanad/rules_dsl/parser.h"

namespace sanad::bench {
namespace {

const std::string& ManyRules() {
  static const std::string text = [] {
    std::string s = "ruleset \"generated\"\ncalendar jalali\nset visits = { \"970000\", \"970005\" }\n"
                    "table caps : string -> int = { \"rural\": 1, \"iranian\": 4 }\n";
    for (int i = 0; i < 50000; ++i) {
      s += "rule r" + std::to_string(i) + " \"generated rule number " + std::to_string(i) + "\" stage " +
           std::to_string(1 + i % 3) + "\n  when service_code in visits and provider_sector == \"private\" and age >= " +
           std::to_string(i % 90) + " and amount > " + std::to_string(i * 10) +
           "\n  limit count per insured_id per month <= caps[fund] + " + std::to_string(i % 7) +
           "\n  reject deduct amount - 1000 * quantity\n";
    }
    return s;
  }();
  return text;
}

const std::string& HugeSet() {
  static const std::string text = [] {
    std::string s = "set codes = {";
    for (int i = 0; i < 1000000; ++i) s += (i ? ", \"" : " \"") + std::to_string(1000000 + i) + "\"";
    s += " }\nrule r\n  when service_code in codes\n  reject\n";
    return s;
  }();
  return text;
}

void Parse(benchmark::State& state, const std::string& text, bool compile) {
  for (auto _ : state) {
    dsl::SourceFile src("gen.sanad", text);
    dsl::DiagnosticBag diags;
    dsl::ParseResult r = dsl::Parse(src, diags);
    if (diags.HasErrors()) state.SkipWithError("parse errors");
    if (compile) {
      auto plan = compiler::Compile(r.program, diags, &src);
      if (!plan) state.SkipWithError("compile errors");
      benchmark::DoNotOptimize(plan);
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["file_MB"] = static_cast<double>(text.size()) / 1e6;
}

void BM_Parse50kRules(benchmark::State& s) { Parse(s, ManyRules(), false); }
void BM_ParseCompile50kRules(benchmark::State& s) { Parse(s, ManyRules(), true); }
void BM_ParseMillionMemberSet(benchmark::State& s) { Parse(s, HugeSet(), false); }
void BM_ParseCompileMillionMemberSet(benchmark::State& s) { Parse(s, HugeSet(), true); }
BENCHMARK(BM_Parse50kRules)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseCompile50kRules)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseMillionMemberSet)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseCompileMillionMemberSet)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sanad::bench

BENCHMARK_MAIN();
