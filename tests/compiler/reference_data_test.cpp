// Reference data for `external` objects (DATA.md §3): malformed files are
// load errors that name the object, the file and the CSV line.

#include <gtest/gtest.h>

#include "compiler/reference_data.h"
#include "api/rules.h"

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
  Status st = compiler::CheckReferencesBound(*rules->plan());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("price"), std::string::npos) << st.message();
  Status unknown = compiler::BindReferenceCsv(*rules->mutable_plan(), "nope", "A\n", "nope.csv");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("nope"), std::string::npos) << unknown.message();
}

}  // namespace
}  // namespace sanad
