// The plan fingerprint (DATA.md §4): the same for the same rules and data,
// unchanged by comments, layout and the order of non-rule declarations or
// entries; different when any rule, declaration or reference entry changes.

#include <gtest/gtest.h>

#include "compiler/reference_data.h"
#include "core/exec/plan_fingerprint.h"
#include "api/rules.h"

namespace sanad {
namespace {

constexpr const char* kBase = R"(ruleset "fp"
field note : string
set visits = { "970000", "970005" }
set mri = external
table tariff : string -> int = { "A": 10, "B": 20 }
pairs ptp = { ("A", "B") }
rule cap "visit cap"
  when service_code in visits
  limit count per insured_id per month <= 6
  warn
rule mri_price
  when service_code in mri and amount > tariff[service_code]
  reject deduct excess_free
)";

std::string Fp(const std::string& text, const std::vector<std::vector<std::string>>& mri = {{"X1"}, {"X2"}}) {
  std::unique_ptr<Rules> r = Rules::FromText("fp.sanad", text);
  EXPECT_TRUE(r->ok()) << r->RenderDiagnostics();
  if (!r->ok()) return "";
  EXPECT_TRUE(compiler::BindReferenceRows(*r->mutable_plan(), "mri", mri, "mri").ok());
  return PlanFingerprint(*r->plan()).ToString();
}

std::string Replace(std::string s, const std::string& a, const std::string& b) {
  const size_t at = s.find(a);
  EXPECT_NE(at, std::string::npos) << a;
  return s.replace(at, a.size(), b);
}

TEST(FingerprintTest, UnchangedByCommentsLayoutAndEntryOrder) {
  const std::string base = Replace(kBase, "reject deduct excess_free", "reject deduct 10%");
  const std::string fp = Fp(base);
  EXPECT_EQ(fp.size(), 32u);
  EXPECT_EQ(Fp(base), fp);  // deterministic
  EXPECT_EQ(Fp("# a comment\n" + Replace(base, "  warn\n", "  warn   # why\n\n\n")), fp);
  EXPECT_EQ(Fp(Replace(base, "when service_code in visits", "when (service_code in visits)")), fp);
  EXPECT_EQ(Fp(Replace(base, R"({ "970000", "970005" })", R"({ "970005", "970000" })")), fp);
  EXPECT_EQ(Fp(Replace(base, R"({ "A": 10, "B": 20 })", R"({ "B": 20, "A": 10 })")), fp);
  EXPECT_EQ(Fp(base, {{"X2"}, {"X1"}}), fp);  // reference rows in another order
  // Declarations other than rules moved.
  EXPECT_EQ(Fp(Replace(Replace(base, "set mri = external\n", ""), "pairs ptp", "set mri = external\npairs ptp")), fp);
}

TEST(FingerprintTest, ChangesWhenAnyRuleDeclarationOrReferenceEntryChanges) {
  const std::string base = Replace(kBase, "reject deduct excess_free", "reject deduct 10%");
  const std::string fp = Fp(base);
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"ruleset \"fp\"", "ruleset \"fp2\""},
      {"field note : string\n", ""},
      {"\"970005\" }", "\"970006\" }"},
      {"\"B\": 20", "\"B\": 21"},
      {"(\"A\", \"B\")", "(\"B\", \"A\")"},
      {"\"visit cap\"", "\"visit cap!\""},
      {"<= 6", "<= 7"},
      {"per month", "per year"},
      {"  warn\n", "  reject\n"},
      {"deduct 10%", "deduct 11%"},
      {"amount > tariff", "amount >= tariff"},
      {"rule cap", "rule cap2"},
      {"insured_id per", "provider_id per"},
  };
  for (const auto& [a, b] : edits) EXPECT_NE(Fp(Replace(base, a, b)), fp) << a << " -> " << b;
  EXPECT_NE(Fp(base, {{"X1"}, {"X3"}}), fp);           // a reference entry changed
  EXPECT_NE(Fp(base, {{"X1"}}), fp);                   // one removed
  // Rule order decides ties, so it counts.
  const std::string swapped = Replace(Replace(base, "rule cap \"visit cap\"", "rule tmp"), "rule mri_price", "rule cap \"visit cap\"");
  EXPECT_NE(Fp(swapped), fp);
}

}  // namespace
}  // namespace sanad
