#include <cstdio>
#include "bench/bench_data.h"
#include "sanad/core/exec/batch_evaluator.h"
#include "sanad/core/exec/bound_plan.h"
#include <chrono>
#include <string>
#include <sys/resource.h>
#include "sanad/core/big_vector.h"
#include "sanad/core/ingest/claims_reader.h"
// usage: profile_phases [LINES] [THREADS] [RUNS] [CLAIMS_FILE|-] [payers]
// With CLAIMS_FILE (e.g. `sanad gen --shape month-end` output) LINES is ignored;
// `payers`: the example rule set with bench_data.cpp's three payers.
using namespace sanad;
int main(int argc, char** argv) {
  int64_t n = argc > 1 ? atoll(argv[1]) : 1000000;
  int threads = argc > 2 ? atoi(argv[2]) : 1;
  const bool payers = argc > 5 && std::string(argv[5]) == "payers";
  const Plan& plan = *(payers ? bench::ExampleRulesWithSettlement() : bench::ExampleRules()).plan();
  const bool file = argc > 4 && std::string(argv[4]) != "-";
  LoadedClaims from_file;
  if (file) {
    Result<LoadedClaims> r = ReadClaimsFile(argv[4], plan.schema, LoadOptions{});
    if (!r.ok()) { fprintf(stderr, "%s\n", r.status().message().c_str()); return 1; }
    from_file = std::move(r).value();
  }
  const LoadedClaims& c = file ? from_file : bench::ExampleClaims(n);
  const int runs = argc > 3 ? atoi(argv[3]) : 3;
  for (int it = 0; it < runs; ++it) {
    rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    auto t0 = std::chrono::steady_clock::now();
    auto bound = Bind(plan, c.batch);
    auto t1 = std::chrono::steady_clock::now();
    EvalOptions eo; eo.threads = threads;
    Verdicts v = EvaluateBatch(*bound, c.batch, eo);
    auto t2 = std::chrono::steady_clock::now();
    getrusage(RUSAGE_SELF, &ru1);
    auto& p = v.profile;
    printf("bind %.3f eval %.3f | order %.3f group %.3f stages", std::chrono::duration<double>(t1-t0).count(), std::chrono::duration<double>(t2-t1).count(), p.order, p.grouping);
    for (double s : p.stage_seconds) printf(" %.3f", s);
    printf(" assemble %.3f settle %.3f\n  rules:", p.assemble, p.settle);
    for (size_t i = 0; i < p.rule_seconds.size(); ++i) printf(" %s=%.3f", plan.rules[i].name.c_str(), p.rule_seconds[i]);
    const BigBufferCacheStats cs = GetBigBufferCacheStats();
    printf("\n  big buffers: %zu reused, %zu mapped (%.0f MB), %.0f MB cached; %ld page faults (4 KiB or 2 MiB) in bind+eval\n", cs.reused, cs.mapped, cs.mapped_bytes / 1e6, cs.cached_bytes / 1e6, ru1.ru_minflt - ru0.ru_minflt);
  }
}
