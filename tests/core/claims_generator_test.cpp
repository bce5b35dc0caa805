// The benchmark generator's month-end shape (issue: batch speed) is what the
// benchmarks claim it is: arrival order with a lag of at most 40 days, about
// two lines per claim, twelve per insured, Persian text; and its output does
// not depend on the thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "sanad/core/ingest/claims_reader.h"
#include "tools/claims_generator/claims_generator.h"

namespace sanad {
namespace {

TEST(ClaimsGeneratorTest, MonthEndShapeIsArrivalOrderedWithLagAndPersianText) {
  GeneratorOptions o;
  o.lines = 200000;
  o.csv = true;
  o.month_end = true;
  const std::string text = GenerateClaimsText(o);
  LoadOptions lo;
  Result<LoadedClaims> r = ReadCsv(text, Schema::Standard(), lo);
  ASSERT_TRUE(r.ok()) << r.status();
  const ClaimBatch& b = r->batch;
  ASSERT_GE(b.size(), 200000u);
  const Column& date = b.column(kServiceDate);
  // Arrival order: a line's service date is at most 40 days before the
  // latest service date seen so far (arrival = service date + lag <= 40),
  // and the file spans more than a year of arrivals.
  Days latest = date.codes[0];
  Days earliest = date.codes[0];
  int64_t late = 0;
  for (RowIndex i = 0; i < b.size(); ++i) {
    latest = std::max(latest, date.codes[i]);
    earliest = std::min(earliest, date.codes[i]);
    EXPECT_LE(latest - date.codes[i], 40) << "row " << i;
    late += latest - date.codes[i] > 3;
  }
  EXPECT_GT(latest - earliest, 365);
  EXPECT_GT(late, static_cast<int64_t>(b.size()) / 10);  // many lines arrive late, not in date order
  const double per_claim = static_cast<double>(b.size()) / b.column(kClaimId).dict.size();
  const double per_insured = static_cast<double>(b.size()) / b.column(kInsuredId).dict.size();
  EXPECT_GT(per_claim, 1.8);
  EXPECT_LT(per_claim, 2.2);
  EXPECT_GT(per_insured, 10.0);
  EXPECT_LT(per_insured, 14.0);
  EXPECT_NE(text.find("دفترچه-"), std::string::npos);  // booklet claim ids
  EXPECT_NE(text.find("خیریه-"), std::string::npos);   // charity providers
  EXPECT_NE(text.find(",تهران\n"), std::string::npos);  // zones (a column readers skip)

  GeneratorOptions one = o;
  one.threads = 1;
  EXPECT_EQ(GenerateClaimsText(one), text);
}

}  // namespace
}  // namespace sanad
