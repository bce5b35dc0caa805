// The online engine with history preloaded (10M generated lines, ~830k
// insured by default; SANAD_ONLINE_HISTORY overrides): check_and_commit of
// 3-line claims arriving in date order after the history, on 1 and 2
// threads, with p50/p99 latency of the calls; plus the dry-run check.
//
// New claims: 3 consecutive generated lines (seed 2) made into one visit
// (same insured, provider, fund, date), dated after the history at about
// 7,000 claims a day, so daily and monthly caps keep biting.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>

#include "bench/bench_data.h"
#include "sanad/online/online_engine.h"
#include "tools/claims_generator/claims_generator.h"

namespace sanad::bench {
namespace {

int64_t HistoryLines() {
  const char* env = std::getenv("SANAD_ONLINE_HISTORY");
  return env ? std::atoll(env) : 10000000;
}

struct OnlineFixture {
  std::unique_ptr<OnlineEngine> engine;
  std::vector<ClaimBatch> claims;
  std::atomic<size_t> next{0};
  double preload_seconds = 0;
  int64_t insured = 0;
};

OnlineFixture& Fixture() {
  static OnlineFixture* f = [] {
    auto* fx = new OnlineFixture;
    const Plan& plan = *ExampleRules().plan();
    const LoadedClaims& history = ExampleClaims(HistoryLines());
    fx->engine = std::make_unique<OnlineEngine>(plan);
    const auto t = std::chrono::steady_clock::now();
    Status st = fx->engine->Preload(history.batch, 2);
    fx->preload_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    if (!st.ok()) std::abort();
    fx->insured = history.batch.column(kInsuredId).dict.size();
    Days last = INT32_MIN;
    for (Days d : history.batch.column(kServiceDate).codes) last = std::max(last, d);
    // Claims to commit: enough for every run below.
    const char* env = std::getenv("SANAD_ONLINE_CLAIMS");
    const size_t kClaims = env ? static_cast<size_t>(std::atoll(env)) : 520000;
    GeneratorOptions go;
    go.seed = 2;
    go.lines = static_cast<int64_t>(kClaims * 3 + 1000);
    go.ptp_pairs = 0;
    Result<LoadedClaims> fresh = ReadNdjson(GenerateClaimsText(go), plan.schema, LoadOptions{});
    if (!fresh.ok()) std::abort();
    const ClaimBatch& src = fresh->batch;
    fx->claims.reserve(kClaims);
    for (size_t k = 0; k < kClaims; ++k) {
      ClaimBatch c(plan.schema);
      const RowIndex first = static_cast<RowIndex>(3 * k);
      AppendRows(src, first, first + 3, c);
      for (int f : {kInsuredId, kFund, kProviderId, kProviderSector, kProviderSpecialty})
        for (RowIndex i = 1; i < 3; ++i) {
          c.column(f).codes[i] = c.column(f).codes[0];
          if (c.column(f).nullable) c.column(f).valid.Set(i, c.column(f).valid.Get(0));
        }
      Column& id = c.column(kClaimId);
      const int32_t code = id.dict.Intern("N" + std::to_string(k));
      for (RowIndex i = 0; i < 3; ++i) {
        id.codes[i] = code;
        c.column(kLineNo).ints[i] = i + 1;
        c.column(kServiceDate).codes[i] = static_cast<Days>(last + 1 + static_cast<int64_t>(k) / 7000);
      }
      fx->claims.push_back(std::move(c));
    }
    return fx;
  }();
  return *f;
}

void Report(benchmark::State& state, std::vector<double>& latencies_us) {
  OnlineFixture& fx = Fixture();
  state.SetItemsProcessed(state.iterations());
  state.counters["claims_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  if (!latencies_us.empty()) {
    std::sort(latencies_us.begin(), latencies_us.end());
    state.counters["p50_us"] = latencies_us[latencies_us.size() / 2];
    state.counters["p99_us"] = latencies_us[latencies_us.size() * 99 / 100];
    state.counters["max_us"] = latencies_us.back();
  }
  if (state.thread_index() == 0) {
    const OnlineMemory m = fx.engine->Memory();
    state.counters["history_lines"] = static_cast<double>(m.history_lines);
    state.counters["preload_s"] = fx.preload_seconds;
    state.counters["state_MB"] = static_cast<double>(m.state_bytes) / 1e6;
    state.counters["history_MB"] = static_cast<double>(m.history_bytes) / 1e6;
    state.counters["state_B_per_insured"] = static_cast<double>(m.state_bytes) / static_cast<double>(fx.insured);
    state.counters["peak_rss_MB"] = static_cast<double>(PeakRssBytes()) / 1e6;
  }
}

void BM_OnlineCheckAndCommit(benchmark::State& state) {
  OnlineFixture& fx = Fixture();
  std::vector<double> lat;
  lat.reserve(1 << 20);
  int64_t rejected = 0;
  for (auto _ : state) {
    const size_t k = fx.next.fetch_add(1);
    if (k >= fx.claims.size()) {
      state.SkipWithError("out of prepared claims");
      break;
    }
    const auto t = std::chrono::steady_clock::now();
    Result<ClaimVerdict> v = fx.engine->CheckAndCommit(fx.claims[k]);
    lat.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count());
    if (!v.ok()) {
      state.SkipWithError(v.status().message().c_str());
      break;
    }
    for (const OnlineLine& l : v->lines) rejected += l.status == LineStatus::kRejected;
  }
  state.counters["rejected_lines"] = benchmark::Counter(static_cast<double>(rejected), benchmark::Counter::kAvgThreads);
  Report(state, lat);
}
BENCHMARK(BM_OnlineCheckAndCommit)->Threads(1)->Threads(2)->Iterations(170000)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_OnlineCheckDryRun(benchmark::State& state) {
  OnlineFixture& fx = Fixture();
  std::vector<double> lat;
  lat.reserve(1 << 20);
  const size_t k = fx.claims.size() - 1;  // never committed: the runs above stop short of it
  for (auto _ : state) {
    const auto t = std::chrono::steady_clock::now();
    Result<ClaimVerdict> v = fx.engine->Check(fx.claims[k]);
    lat.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count());
    benchmark::DoNotOptimize(v);
  }
  Report(state, lat);
}
BENCHMARK(BM_OnlineCheckDryRun)->Threads(1)->Iterations(100000)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Settlement's online cost (SETTLEMENT.md §5; goal: one payer adds at most
// 1 µs a claim): the example rule set without payers, with one payer
// (deductible, three bands and a ceiling per insured and year) and with
// three, each engine preloaded with the same 1M lines and committing the
// same 3-line claims. The separate runs' p50s drift with the machine;
// BM_OnlineSettlementPaired below is the measure of what a payer adds.
struct SettleFixture {
  std::unique_ptr<OnlineEngine> engine;
  std::vector<ClaimBatch> claims;
  size_t next = 0;
};

SettleFixture& SettleFixtureFor(int payers) {
  static std::map<int, std::unique_ptr<SettleFixture>> cache;
  auto& slot = cache[payers];
  if (slot) return *slot;
  slot = std::make_unique<SettleFixture>();
  Rules& rules = payers == 0 ? ExampleRules() : payers == 1 ? ExampleRulesWithOnePayer() : ExampleRulesWithSettlement();
  const Plan& plan = *rules.plan();
  const LoadedClaims& history = ExampleClaims(1000000);
  slot->engine = std::make_unique<OnlineEngine>(plan);
  if (!slot->engine->Preload(history.batch, 2).ok()) std::abort();
  Days last = INT32_MIN;
  for (Days d : history.batch.column(kServiceDate).codes) last = std::max(last, d);
  GeneratorOptions go;
  go.seed = 3;
  go.lines = 3 * 200000 + 1000;
  go.ptp_pairs = 0;
  Result<LoadedClaims> fresh = ReadNdjson(GenerateClaimsText(go), plan.schema, LoadOptions{});
  if (!fresh.ok()) std::abort();
  for (size_t k = 0; k < 200000; ++k) {  // enough for three repetitions of BM_OnlineSettlement and of the paired run
    ClaimBatch c(plan.schema);
    AppendRows(fresh->batch, static_cast<RowIndex>(3 * k), static_cast<RowIndex>(3 * k + 3), c);
    Column& id = c.column(kClaimId);
    const int32_t code = id.dict.Intern("S" + std::to_string(k));
    for (RowIndex i = 0; i < 3; ++i) {
      id.codes[i] = code;
      c.column(kLineNo).ints[i] = i + 1;
      c.column(kServiceDate).codes[i] = static_cast<Days>(last + 1 + static_cast<int64_t>(k) / 7000);
    }
    slot->claims.push_back(std::move(c));
  }
  return *slot;
}

void BM_OnlineSettlement(benchmark::State& state) {
  SettleFixture& fx = SettleFixtureFor(static_cast<int>(state.range(0)));
  std::vector<double> lat;
  lat.reserve(1 << 17);
  for (auto _ : state) {
    if (fx.next >= fx.claims.size()) {
      state.SkipWithError("out of prepared claims");
      break;
    }
    const auto t = std::chrono::steady_clock::now();
    Result<ClaimVerdict> v = fx.engine->CheckAndCommit(fx.claims[fx.next++]);
    lat.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count());
    if (!v.ok()) {
      state.SkipWithError(v.status().message().c_str());
      break;
    }
  }
  std::sort(lat.begin(), lat.end());
  if (!lat.empty()) {
    state.counters["p50_us"] = lat[lat.size() / 2];
    state.counters["p99_us"] = lat[lat.size() * 99 / 100];
  }
}
BENCHMARK(BM_OnlineSettlement)->Arg(0)->Arg(1)->Arg(3)->ArgName("payers")->Iterations(30000)->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// The same question asked side by side: an engine without payers and one with
// one payer take the same claim in turn (which goes first alternates), so a
// busy machine slows both alike. Reports each engine's p50 and the median of
// the per-claim differences ("added_us": what the payer adds to a claim).
void BM_OnlineSettlementPaired(benchmark::State& state) {
  SettleFixture& plain = SettleFixtureFor(0);
  SettleFixture& paid = SettleFixtureFor(1);
  std::vector<double> lat0, lat1, diff;
  lat0.reserve(1 << 17);
  lat1.reserve(1 << 17);
  diff.reserve(1 << 17);
  auto timed = [&](SettleFixture& fx, std::vector<double>& lat) {
    const auto t = std::chrono::steady_clock::now();
    Result<ClaimVerdict> v = fx.engine->CheckAndCommit(fx.claims[fx.next++]);
    lat.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count());
    if (!v.ok()) state.SkipWithError(v.status().message().c_str());
    return v.ok();
  };
  bool plain_first = true;
  for (auto _ : state) {
    if (plain.next >= plain.claims.size() || paid.next >= paid.claims.size()) {
      state.SkipWithError("out of prepared claims");
      break;
    }
    const bool ok = plain_first ? timed(plain, lat0) && timed(paid, lat1) : timed(paid, lat1) && timed(plain, lat0);
    if (!ok) break;
    diff.push_back(lat1.back() - lat0.back());
    plain_first = !plain_first;
  }
  auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  if (!diff.empty()) {
    state.counters["p50_us_0"] = median(lat0);
    state.counters["p50_us_1"] = median(lat1);
    state.counters["added_us"] = median(diff);
  }
}
BENCHMARK(BM_OnlineSettlementPaired)->Iterations(30000)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sanad::bench

BENCHMARK_MAIN();
