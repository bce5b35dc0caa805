// The plan fingerprint (DATA.md §4): the same for the same rules and data,
// unchanged by comments, layout and the order of non-rule declarations or
// entries; different when any rule, declaration or reference entry changes.

#include <gtest/gtest.h>

#include "sanad/compiler/reference_data.h"
#include "sanad/core/exec/plan_fingerprint.h"
#include "sanad/api/rules.h"

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

// Dated reference data (LANGUAGE.md §2.1): every period bound, open end,
// bypass flag and the `unless` condition are part of the fingerprint; the
// order of the rows is not.
constexpr const char* kDated = R"(ruleset "fp-dated"
field modifier : string
table tariff : string -> int dated = external
pairs ptp dated = external
rule price
  when amount > tariff[service_code]
  warn deduct amount - tariff[service_code]
rule edit
  conflict pairs ptp per insured_id same day unless modifier == "59"
  reject
)";

using Rows = std::vector<std::vector<std::string>>;
const Rows kTariff = {{"A", "10", "2024-03-20", "2025-03-20"}, {"A", "12", "2025-03-21", ""}};
const Rows kPtp = {{"A", "B", "2024-01-01", "", "1"}, {"B", "A", "2024-01-01", "2024-12-31", "0"}};

std::string DatedFp(const std::string& text, const Rows& tariff = kTariff, const Rows& ptp = kPtp) {
  std::unique_ptr<Rules> r = Rules::FromText("fp.sanad", text);
  EXPECT_TRUE(r->ok()) << r->RenderDiagnostics();
  if (!r->ok()) return "";
  EXPECT_TRUE(compiler::BindReferenceRows(*r->mutable_plan(), "tariff", tariff, "tariff").ok());
  EXPECT_TRUE(compiler::BindReferenceRows(*r->mutable_plan(), "ptp", ptp, "ptp").ok());
  return PlanFingerprint(*r->plan()).ToString();
}

TEST(FingerprintTest, DatedEntriesPeriodsBypassAndUnlessCount) {
  const std::string fp = DatedFp(kDated);
  EXPECT_EQ(DatedFp(kDated, {kTariff[1], kTariff[0]}, {kPtp[1], kPtp[0]}), fp);  // row order
  EXPECT_EQ(DatedFp(Replace(kDated, "unless modifier == \"59\"", "unless (modifier == \"59\")")), fp);
  auto with = [](Rows rows, size_t row, size_t col, const std::string& v) {
    rows[row][col] = v;
    return rows;
  };
  EXPECT_NE(DatedFp(kDated, with(kTariff, 0, 2, "2024-03-21")), fp);  // valid_from
  EXPECT_NE(DatedFp(kDated, with(kTariff, 0, 3, "2025-03-19")), fp);  // valid_to
  EXPECT_NE(DatedFp(kDated, with(kTariff, 1, 3, "2030-01-01")), fp);  // open end closed
  EXPECT_NE(DatedFp(kDated, with(kTariff, 1, 1, "13")), fp);          // value
  EXPECT_NE(DatedFp(kDated, kTariff, with(kPtp, 0, 4, "0")), fp);     // bypass
  EXPECT_NE(DatedFp(kDated, kTariff, with(kPtp, 1, 3, "")), fp);      // pair period
  EXPECT_NE(DatedFp(Replace(kDated, "\"59\"", "\"XU\"")), fp);       // unless
  EXPECT_NE(DatedFp(Replace(kDated, " unless modifier == \"59\"", "")), fp);
}

}  // namespace
}  // namespace sanad
