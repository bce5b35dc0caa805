// libFuzzer target: arbitrary bytes as reference-data CSV for an external
// set, table and pairs object. Must never crash, hang or leak; a refused
// file names the object; an accepted one leaves the object bound.

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "sanad/compiler/reference_data.h"
#include "sanad/api/rules.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1 << 16)) return 0;
  static const char* kRules = R"(ruleset "refs"
set codes = external
set ages = external
table price : string -> int = external
table since : string -> date = external
pairs ptp = external
rule a
  when service_code in codes and age in ages and amount > price[service_code] and service_date > since[fund]
  reject
rule b
  conflict pairs ptp per insured_id same day
  warn
)";
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const char* name : {"codes", "ages", "price", "since", "ptp"}) {
    std::unique_ptr<sanad::Rules> rules = sanad::Rules::FromText("refs.sanad", kRules);
    if (!rules->ok()) std::abort();
    sanad::Status st = sanad::compiler::BindReferenceCsv(*rules->mutable_plan(), name, text, "fuzz.csv");
    if (!st.ok() && st.message().find(name) == std::string::npos) std::abort();  // errors name the object
  }
  return 0;
}
