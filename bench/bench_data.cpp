#include "bench/bench_data.h"

#include <sys/resource.h>

#include <filesystem>
#include <mutex>

#include "tools/claims_generator/claims_generator.h"

namespace sanad::bench {

const std::string& ClaimsText(int64_t lines, bool csv) {
  static std::map<std::pair<int64_t, bool>, std::unique_ptr<std::string>> cache;
  auto& slot = cache[{lines, csv}];
  if (!slot) {
    GeneratorOptions o;
    o.lines = lines;
    o.csv = csv;
    slot = std::make_unique<std::string>(GenerateClaimsText(o));
  }
  return *slot;
}

namespace {

std::unique_ptr<Rules> ExampleWith(const std::string& extra) {
  {
    auto r = Rules::FromFile(SANAD_EXAMPLES_DIR "/outpatient.sanad");
    if (!r.ok() || !(*r)->ok()) std::abort();
    if (!extra.empty()) {
      r = Rules::FromText("outpatient+settlement.sanad", std::string((*r)->source().text()) + extra);
      if (!(*r)->ok()) std::abort();
    }
    const std::string dir = (std::filesystem::temp_directory_path() / "sanad_bench_refs").string();
    GeneratorOptions o;
    o.lines = 1;  // reference files only matter here
    if (!GenerateClaimsFiles(o, dir).ok()) std::abort();
    if (!(*r)->BindReferenceFiles({{"mri", dir + "/mri.csv"}, {"tariff", dir + "/tariff.csv"}, {"ptp", dir + "/ptp.csv"}}).ok())
      std::abort();
    return std::move(r).value();
  }
}

}  // namespace

Rules& ExampleRules() {
  static std::unique_ptr<Rules> rules = ExampleWith("");
  return *rules;
}

const char* const kSettlementPayers = R"(
payer basic "Basic medical insurance"
  per insured_id per year
  deductible 500_000
  covers 50% up to 20_000_000, 70% up to 100_000_000, 85%
  ceiling 300_000_000

payer supplementary "Supplementary insurance on what basic left"
  on remaining
  per insured_id per year
  deductible 1_000_000
  covers 60%

payer assistance "Medical assistance, rural fund"
  when fund == "rural"
  on remaining
  covers 100%
  line ceiling 2_000_000
)";

Rules& ExampleRulesWithSettlement() {
  static std::unique_ptr<Rules> rules = ExampleWith(kSettlementPayers);
  return *rules;
}

Rules& ExampleRulesWithOnePayer() {
  // kSettlementPayers' first payer alone: deductible, three bands, ceiling, per insured and year.
  static std::unique_ptr<Rules> rules = ExampleWith(std::string(kSettlementPayers).substr(0, std::string(kSettlementPayers).find("\npayer supplementary")));
  return *rules;
}

const LoadedClaims& ExampleClaims(int64_t lines) {
  static std::map<int64_t, std::unique_ptr<LoadedClaims>> cache;
  auto& slot = cache[lines];
  if (!slot) {
    Result<LoadedClaims> c = ReadCsv(ClaimsText(lines, true), ExampleRules().plan()->schema, LoadOptions{});
    if (!c.ok()) std::abort();
    slot = std::make_unique<LoadedClaims>(std::move(c).value());
  }
  return *slot;
}

size_t PeakRssBytes() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<size_t>(ru.ru_maxrss) * 1024;
}

}  // namespace sanad::bench
