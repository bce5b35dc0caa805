// Reference data for `external` objects (DATA.md §3): malformed files are
// load errors that name the object, the file and the CSV line.

#include <gtest/gtest.h>

#include "sanad/core/exec/bound_plan.h"
#include "sanad/compiler/reference_data.h"
#include "sanad/api/rules.h"

namespace sanad {
namespace {

constexpr const char* kRules = R"(ruleset "refs"
set codes = external
table price : string -> int = external
pairs ptp = external
rule a
  when service_code in codes and amount > price[service_code]
  reject
rule b
  conflict pairs ptp per insured_id same day
  warn
)";

Status Bind(const std::string& name, const std::string& csv) {
  std::unique_ptr<Rules> rules = Rules::FromText("refs.sanad", kRules);
  EXPECT_TRUE(rules->ok()) << rules->RenderDiagnostics();
  return compiler::BindReferenceCsv(*rules->mutable_plan(), name, csv, name + ".csv");
}

TEST(ReferenceDataTest, WellFormedFilesBind) {
  EXPECT_TRUE(Bind("codes", "A\nB\n").ok());
  EXPECT_TRUE(Bind("price", "A,10\n\"B,1\",20\n").ok());
  EXPECT_TRUE(Bind("ptp", "A,B\r\nB,A\r\n").ok());
}

TEST(ReferenceDataTest, MalformedFilesNameTheObjectFileAndLine) {
  struct Case { std::string name, csv, expect; };
  const std::vector<Case> cases = {
      {"price", "A,10\nB,ten\n", "price.csv:2: reference data 'price': value: expected an integer, got 'ten'"},
      {"price", "A,10\nA,11\n", "price.csv:2: reference data 'price': key 'A' appears again with another value (first at line 1)"},
      {"price", "A\n", "price.csv:1: reference data 'price': expected 2 columns, got 1"},
      {"ptp", "A,B\nA,B,C\n", "ptp.csv:2: reference data 'ptp': expected 2 columns, got 3"},
      {"codes", "A\n\"B\n", "codes.csv:2: reference data 'codes': unterminated quoted cell"},
  };
  for (const Case& c : cases) {
    Status st = Bind(c.name, c.csv);
    ASSERT_FALSE(st.ok()) << c.name << ": " << c.csv;
    EXPECT_EQ(st.message(), c.expect);
  }
}

TEST(ReferenceDataTest, UnboundExternalObjectIsAnErrorNamingIt) {
  std::unique_ptr<Rules> rules = Rules::FromText("refs.sanad", kRules);
  ASSERT_TRUE(rules->ok());
  ASSERT_TRUE(compiler::BindReferenceCsv(*rules->mutable_plan(), "codes", "A\n", "codes.csv").ok());
  Status st = CheckReferencesBound(*rules->plan());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("price"), std::string::npos) << st.message();
  Status unknown = compiler::BindReferenceCsv(*rules->mutable_plan(), "nope", "A\n", "nope.csv");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("nope"), std::string::npos) << unknown.message();
}

// Dated objects (LANGUAGE.md §2.1, DATA.md §3): two more columns, valid_from
// and valid_to (empty: open-ended), and on pairs an optional bypass.
constexpr const char* kDatedRules = R"(ruleset "dated"
set enrolled dated = external
table tariff : string -> int dated = external
pairs ptp dated = external
rule a
  when insured_id in enrolled and amount > tariff[service_code]
  reject
rule b
  conflict pairs ptp per insured_id same day unless referral
  warn
)";

Status BindDated(const std::string& name, const std::string& csv) {
  std::unique_ptr<Rules> rules = Rules::FromText("dated.sanad", kDatedRules);
  EXPECT_TRUE(rules->ok()) << rules->RenderDiagnostics();
  return compiler::BindReferenceCsv(*rules->mutable_plan(), name, csv, name + ".csv");
}

TEST(ReferenceDataTest, DatedFilesWithAdjacentPeriodsGapsAndOpenEndsBind) {
  EXPECT_TRUE(BindDated("enrolled", "I1,2024-01-01,2024-06-30\nI1,2024-07-01,\nI2,2024-01-01,2024-01-01\nI2,2024-03-01,\n").ok());
  EXPECT_TRUE(BindDated("tariff", "A,10,2024-03-20,2025-03-20\nA,12,2025-03-21,\nB,5,2024-01-01,\n").ok());
  EXPECT_TRUE(BindDated("ptp", "A,B,2024-01-01,,1\nA,B,2023-01-01,2023-12-31\nB,A,2024-01-01,,\nB,C,2024-01-01,,0\n").ok());
}

TEST(ReferenceDataTest, MalformedDatedEntriesNameBothEntriesAndLines) {
  struct Case { std::string name, csv, expect; };
  const std::vector<Case> cases = {
      {"enrolled", "I1,2024-01-01,2024-06-30\nI2,2024-01-01,\nI1,2024-06-30,\n",
       "enrolled.csv:3: reference data 'enrolled': member 'I1' is in force [2024-06-30, open] here and "
       "[2024-01-01, 2024-06-30] at line 1: the periods overlap"},
      {"tariff", "A,10,2024-01-01,\nA,10,2024-01-01,\n",  // identical rows overlap too
       "tariff.csv:2: reference data 'tariff': key 'A' is in force [2024-01-01, open] here and [2024-01-01, open] at line 1: "
       "the periods overlap"},
      {"ptp", "A,B,2024-05-01,,1\nA,B,2024-01-01,2024-12-31,0\n",
       "ptp.csv:2: reference data 'ptp': pair (A, B) is in force [2024-01-01, 2024-12-31] here and [2024-05-01, open] at line 1: "
       "the periods overlap"},
      {"tariff", "A,10,2025-01-01,2024-12-31\n", "tariff.csv:1: reference data 'tariff': valid_from 2025-01-01 is after valid_to 2024-12-31"},
      {"tariff", "A,10,,2024-12-31\n",
       "tariff.csv:1: reference data 'tariff': valid_from is empty (every entry needs the first day it is in force)"},
      {"tariff", "A,10,2024-02-30,\n", "tariff.csv:1: reference data 'tariff': valid_from: invalid date '2024-02-30' (expected YYYY-MM-DD)"},
      {"enrolled", "I1,2024-01-01,31/12/2024\n",
       "enrolled.csv:1: reference data 'enrolled': valid_to: invalid date '31/12/2024' (expected YYYY-MM-DD or empty for open-ended)"},
      {"tariff", "A,10,2024-01-01\n",
       "tariff.csv:1: reference data 'tariff': expected 4 columns (key, value, valid_from, valid_to), got 3"},
      {"ptp", "A,B,2024-01-01,,yes\n", "ptp.csv:1: reference data 'ptp': bypass must be 0 or 1 (or empty), got 'yes'"},
      {"ptp", "A,B,2024-01-01,,1,x\n",
       "ptp.csv:1: reference data 'ptp': expected 4 or 5 columns (first, second, valid_from, valid_to[, bypass]), got 6"},
  };
  for (const Case& c : cases) {
    Status st = BindDated(c.name, c.csv);
    ASSERT_FALSE(st.ok()) << c.name << ": " << c.csv;
    EXPECT_EQ(st.message(), c.expect);
  }
  // Undated pairs have no bypass column.
  Status st = Bind("ptp", "A,B,2024-01-01,,1\n");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "ptp.csv:1: reference data 'ptp': expected 2 columns, got 5");
}

}  // namespace
}  // namespace sanad
