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

Rules& ExampleRules() {
  static std::unique_ptr<Rules> rules = [] {
    auto r = Rules::FromFile(SANAD_EXAMPLES_DIR "/outpatient.sanad");
    if (!r.ok() || !(*r)->ok()) std::abort();
    const std::string dir = (std::filesystem::temp_directory_path() / "sanad_bench_refs").string();
    GeneratorOptions o;
    o.lines = 1;  // reference files only matter here
    if (!GenerateClaimsFiles(o, dir).ok()) std::abort();
    if (!(*r)->BindReferenceFiles({{"mri", dir + "/mri.csv"}, {"tariff", dir + "/tariff.csv"}, {"ptp", dir + "/ptp.csv"}}).ok())
      std::abort();
    return std::move(r).value();
  }();
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
