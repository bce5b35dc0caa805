// Ingestion throughput (MB/s of input) for NDJSON and CSV, 1 and 2 threads,
// and the memory of a loaded batch per line.

#include <benchmark/benchmark.h>

#include "bench/bench_data.h"

namespace sanad::bench {
namespace {

constexpr int64_t kLines = 1000000;

void Ingest(benchmark::State& state, bool csv) {
  const std::string& text = ClaimsText(kLines, csv);
  LoadOptions o;
  o.threads = static_cast<int>(state.range(0));
  size_t lines = 0, column_bytes = 0, dict_bytes = 0;
  for (auto _ : state) {
    Result<LoadedClaims> r = csv ? ReadCsv(text, Schema::Standard(), o) : ReadNdjson(text, Schema::Standard(), o);
    if (!r.ok()) state.SkipWithError(r.status().message().c_str());
    lines = r->batch.size();
    column_bytes = r->batch.ColumnBytes();
    dict_bytes = r->batch.DictionaryBytes();
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines));
  state.counters["bytes_per_line"] = static_cast<double>(column_bytes) / static_cast<double>(lines);
  state.counters["dict_MB"] = static_cast<double>(dict_bytes) / 1e6;
  state.counters["input_MB"] = static_cast<double>(text.size()) / 1e6;
}

void BM_IngestNdjson(benchmark::State& state) { Ingest(state, false); }
void BM_IngestCsv(benchmark::State& state) { Ingest(state, true); }
BENCHMARK(BM_IngestNdjson)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_IngestCsv)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace sanad::bench

BENCHMARK_MAIN();
