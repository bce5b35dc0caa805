// Hand-computed verdicts for every rule family, action and deduction form
// (LANGUAGE.md §4), and the spec's example rule set on the bundled example
// claims, whose outputs were checked line by line against the spec.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>

#include "sanad/compiler/reference_data.h"
#include "sanad/core/exec/batch_evaluator.h"
#include "sanad/core/exec/bound_plan.h"
#include "sanad/core/ingest/claims_reader.h"
#include "sanad/api/output.h"
#include "sanad/api/evaluation.h"
#include "sanad/api/rules.h"
#include "sanad/api/summary.h"
#include "sanad/online/online_engine.h"
#include "sanad/core/exec/plan_fingerprint.h"
#include "sanad/rules_dsl/formatter.h"
#include "sanad/rules_dsl/parser.h"

namespace sanad {
namespace {

struct EvalRun {
  std::unique_ptr<Rules> rules;
  LoadedClaims claims;
  Verdicts v;

  // Hits of line `row` as "rule:deduction" joined by spaces.
  std::string Hits(RowIndex row) const {
    std::string s;
    for (uint32_t k = v.hit_begin[row]; k < v.hit_begin[row + 1]; ++k) {
      const Hit& h = v.hits[k];
      if (!s.empty()) s += ' ';
      s += rules->plan()->rules[static_cast<size_t>(h.rule)].name + ":" + std::to_string(h.deduction);
    }
    return s;
  }
  const Hit& OnlyHit(RowIndex row) const {
    EXPECT_EQ(v.hit_begin[row + 1] - v.hit_begin[row], 1u);
    return v.hits[v.hit_begin[row]];
  }
};

EvalRun Evaluate(const std::string& rules_text, const std::string& ndjson,
                 const std::map<std::string, std::string>& refs_csv = {}) {
  EvalRun r;
  r.rules = Rules::FromText("t.sanad", rules_text);
  EXPECT_TRUE(r.rules->ok()) << r.rules->RenderDiagnostics();
  if (!r.rules->ok()) return r;
  for (const auto& [name, csv] : refs_csv) {
    Status st = compiler::BindReferenceCsv(*r.rules->mutable_plan(), name, csv, name + ".csv");
    EXPECT_TRUE(st.ok()) << st.message();
  }
  Result<LoadedClaims> c = ReadNdjson(ndjson, r.rules->plan()->schema, LoadOptions{});
  EXPECT_TRUE(c.ok()) << c.status().message();
  r.claims = std::move(c).value();
  Result<Evaluation> e = Evaluate(*r.rules, r.claims);
  EXPECT_TRUE(e.ok()) << e.status().message();
  if (e.ok()) r.v = std::move(e->verdicts);
  return r;
}

// One claim line; `extra` adds or overrides fields.
// (Fields named in `extra` replace the defaults: a key repeated in one
// object is an input error.)
std::string L(const std::string& claim, const std::string& date, const std::string& extra = "") {
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"claim_id", "\"" + claim + "\""}, {"insured_id", "\"I1\""},         {"fund", "\"rural\""},
      {"provider_id", "\"P1\""},        {"provider_sector", "\"public\""}, {"service_code", "\"A\""},
      {"service_date", "\"" + date + "\""}, {"amount", "1000"}};
  std::string s = "{";
  for (const auto& [k, v] : fields)
    if (extra.find("\"" + k + "\":") == std::string::npos) s += "\"" + k + "\":" + v + ",";
  if (!extra.empty()) s += extra + ",";
  s.back() = '}';
  return s + "\n";
}

TEST(LimitRuleTest, CountPerDayFlagsLinesAboveTheCapAndCountsHitsToo) {
  EvalRun r = Evaluate("rule cap\n  limit count per provider_id per day <= 2\n  reject\n",
                   L("a", "2024-05-01") + L("b", "2024-05-01") + L("c", "2024-05-01") + L("d", "2024-05-01") + L("e", "2024-05-02"));
  EXPECT_EQ(r.Hits(0), "");
  EXPECT_EQ(r.Hits(1), "");
  EXPECT_EQ(r.Hits(2), "cap:1000");
  EXPECT_EQ(r.OnlyHit(2).total, 3);
  EXPECT_EQ(r.OnlyHit(2).cap, 2);
  EXPECT_EQ(r.OnlyHit(3).total, 4);  // hits count toward R
  EXPECT_EQ(r.Hits(4), "");          // a new day is a new bucket
  EXPECT_EQ(r.v.status[2], LineStatus::kRejected);
  EXPECT_EQ(r.v.deduction[2], 1000);
}

TEST(LimitRuleTest, SumWithExcessDeductsOnlyThePartAboveTheCap) {
  // amounts 600, 300, 500 against a cap of 1000 per insured per month:
  // R = 600, 900, 1400; the third line is over by 400 of its 500 -> floor(500*400/500) = 400.
  EvalRun r = Evaluate("rule ceiling\n  limit sum(amount) per insured_id per month <= 1000\n  reject deduct excess\n",
                   L("a", "2024-05-01", R"("amount":600)") + L("b", "2024-05-02", R"("amount":300)") +
                       L("c", "2024-05-03", R"("amount":500)") + L("d", "2024-06-01", R"("amount":900)"));
  EXPECT_EQ(r.Hits(2), "ceiling:400");
  EXPECT_EQ(r.v.deduction[2], 400);
  EXPECT_EQ(r.v.status[2], LineStatus::kRejected);
  EXPECT_EQ(r.Hits(3), "");
}

TEST(LimitRuleTest, ExcessOfSumOfQuantityScalesTheAmount) {
  // quantities 2 then 3 against 3: over = 5 - max(3, 2) = 2 of v = 3 -> floor(45000 * 2 / 3) = 30000.
  EvalRun r = Evaluate("rule q\n  limit sum(quantity) per claim_id, service_code <= 3\n  reject deduct excess\n",
                   L("x", "2024-05-01", R"("quantity":2,"amount":30000)") + L("x", "2024-05-01", R"("quantity":3,"amount":45000)"));
  EXPECT_EQ(r.Hits(1), "q:30000");
}

TEST(LimitRuleTest, RollingWindowExcludesDayN) {
  // rolling 3 days: on May 4 the May 1 line is 3 days back (not < 3) and no longer counts.
  EvalRun r = Evaluate("rule roll\n  limit count per insured_id per rolling 3 days <= 1\n  warn\n",
                   L("a", "2024-05-01") + L("b", "2024-05-03") + L("c", "2024-05-04") + L("d", "2024-05-07"));
  EXPECT_EQ(r.Hits(1), "roll:0");
  EXPECT_EQ(r.OnlyHit(1).total, 2);
  EXPECT_EQ(r.OnlyHit(2).total, 2);  // May 3 and May 4
  EXPECT_EQ(r.Hits(3), "");
  EXPECT_EQ(r.v.status[1], LineStatus::kWarned);
  EXPECT_EQ(r.v.deduction[1], 0);
}

TEST(LimitRuleTest, CapFromATableByFundAndNullCapMeansNoCap) {
  EvalRun r = Evaluate(
      "table caps : string -> int = { \"rural\": 1 }\nrule by_fund\n  limit count per insured_id <= caps[fund]\n  reject\n",
      L("a", "2024-05-01") + L("b", "2024-05-02") + L("c", "2024-05-01", R"("insured_id":"I2","fund":"other")") +
          L("d", "2024-05-02", R"("insured_id":"I2","fund":"other")"));
  EXPECT_EQ(r.Hits(1), "by_fund:1000");
  EXPECT_EQ(r.Hits(3), "");  // no cap for the fund 'other'
}

TEST(LimitRuleTest, JalaliMonthsResetAtFarvardinFirst) {
  // 2025-03-20 is 1403-12-30 and 2025-03-21 is 1404-01-01.
  const std::string data = L("a", "2025-03-19") + L("b", "2025-03-20") + L("c", "2025-03-21");
  EvalRun j = Evaluate("calendar jalali\nrule m\n  limit count per insured_id per year <= 1\n  reject\n", data);
  EXPECT_EQ(j.Hits(1), "m:1000");
  EXPECT_EQ(j.Hits(2), "");
  EvalRun g = Evaluate("rule m\n  limit count per insured_id per year <= 1\n  reject\n", data);
  EXPECT_EQ(g.Hits(2), "m:1000");
}

TEST(RepeatRuleTest, EvidenceIsTheLatestEarlierLineWithinTheWindow) {
  EvalRun r = Evaluate("rule again\n  repeat per insured_id, service_code within 30 days\n  reject deduct 25%\n",
                   L("a", "2024-05-01") + L("b", "2024-05-20") + L("c", "2024-06-18") + L("d", "2024-07-30"));
  EXPECT_EQ(r.Hits(0), "");
  EXPECT_EQ(r.Hits(1), "again:250");
  EXPECT_EQ(r.OnlyHit(2).other, 1u);  // b, not a
  EXPECT_EQ(r.Hits(3), "");           // 42 days after c
}

TEST(RepeatRuleTest, WithinOneDayIsTheSameDayAndOrderFollowsSeq) {
  // Same day; explicit seq puts the input's second line first.
  EvalRun r = Evaluate("rule sameday\n  repeat per insured_id within 1 days\n  reject\n",
                   L("a", "2024-05-01", R"("seq":9)") + L("b", "2024-05-01", R"("seq":2)") + L("c", "2024-05-02"));
  EXPECT_EQ(r.Hits(0), "sameday:1000");
  EXPECT_EQ(r.OnlyHit(0).other, 1u);
  EXPECT_EQ(r.Hits(1), "");
  EXPECT_EQ(r.Hits(2), "");
}

TEST(ConflictRuleTest, WithSideNeedNotBeInThePopulationButMustComeBefore) {
  const std::string rules =
      "rule inj\n  when service_code == \"INJ\"\n  conflict with service_code == \"VISIT\" per insured_id same day\n  reject deduct 50%\n";
  EvalRun r = Evaluate(rules, L("a", "2024-05-01", R"("service_code":"INJ")") + L("b", "2024-05-01", R"("service_code":"VISIT")") +
                              L("c", "2024-05-01", R"("service_code":"INJ")") + L("d", "2024-05-02", R"("service_code":"INJ")"));
  EXPECT_EQ(r.Hits(0), "");  // the visit comes after it
  EXPECT_EQ(r.Hits(2), "inj:500");
  EXPECT_EQ(r.OnlyHit(2).other, 1u);
  EXPECT_EQ(r.Hits(3), "");  // another day
}

TEST(ConflictRuleTest, PairsAreDirectional) {
  const std::string rules = "pairs p = { (\"A\", \"B\") }\nrule unb\n  conflict pairs p per insured_id, provider_id same day\n  reject\n";
  EvalRun r = Evaluate(rules, L("a", "2024-05-01", R"("service_code":"B")") + L("b", "2024-05-01", R"("service_code":"A")") +
                              L("c", "2024-05-01", R"("service_code":"B")") +
                              L("d", "2024-05-01", R"("service_code":"B","provider_id":"P2")"));
  EXPECT_EQ(r.Hits(0), "");  // B before any A
  EXPECT_EQ(r.Hits(1), "");  // (B, A) is not a pair
  EXPECT_EQ(r.Hits(2), "unb:1000");
  EXPECT_EQ(r.Hits(3), "");  // other provider
}

// LANGUAGE.md §2.1: a tariff change at the Jalali new year (1404-01-01 is
// 2025-03-21) and an eligibility gap, each looked up on the line's date,
// with lines on the first and last day of each period.
TEST(DatedDataTest, TariffChangesAtTheJalaliNewYearAndEligibilityIsOnTheServiceDate) {
  const std::string rules =
      "calendar jalali\ntable tariff : string -> int dated = external\nset enrolled dated = external\n"
      "rule not_covered code \"ELIG\"\n  when not (insured_id in enrolled)\n  reject\n"
      "rule over_tariff code \"TARIFF\"\n  when amount > tariff[service_code]\n  warn deduct amount - tariff[service_code]\n";
  const std::map<std::string, std::string> refs = {
      {"tariff", "A,800,2024-03-20,2025-03-20\nA,900,2025-03-21,\n"},
      {"enrolled", "I1,2024-03-20,2025-03-20\nI1,2025-04-01,\n"}};
  EvalRun r = Evaluate(rules,
                       L("a", "2025-03-20") + L("b", "2025-03-21") + L("c", "2025-04-01") + L("d", "2024-03-19") +
                           L("e", "2024-03-20") + L("f", "2025-03-31"),
                       refs);
  EXPECT_EQ(r.Hits(0), "over_tariff:200");                 // last day of 1403: old tariff, covered
  EXPECT_EQ(r.Hits(1), "not_covered:1000 over_tariff:100"); // first day of 1404: new tariff, in the gap
  EXPECT_EQ(r.Hits(2), "over_tariff:100");                 // first day of the new coverage period
  EXPECT_EQ(r.Hits(3), "not_covered:1000");                // before any period: no tariff (null), not covered
  EXPECT_EQ(r.Hits(4), "over_tariff:200");                 // first day of both first periods
  EXPECT_EQ(r.Hits(5), "not_covered:1000 over_tariff:100"); // last day of the gap
}

// §2.1 bypassable pairs: a pair marked bypass = 1 yields when `unless` holds
// on the later line i or the earlier line j; bypass = 0 never does; the pair
// table is read on the later line's date.
TEST(DatedDataTest, BypassablePairsYieldToUnlessOnEitherLine) {
  const std::string rules =
      "field modifier : string\npairs ptp dated = external\n"
      "rule edit\n  conflict pairs ptp per insured_id same day unless modifier in { \"59\" }\n  reject\n";
  const std::map<std::string, std::string> refs = {{"ptp", "A,B,2024-01-01,,1\nC,B,2024-01-01,,0\nA,D,2024-01-01,2024-05-01,1\n"}};
  const std::string m59 = R"("modifier":"59")";
  EvalRun r = Evaluate(rules,
                       L("a", "2024-05-01", R"("service_code":"A")") +
                           L("b", "2024-05-01", R"("service_code":"B",)" + m59) +  // unless on i: (A, B) yields
                           L("x", "2024-05-01", R"("service_code":"D")") +        // (A, D) bypassable, no modifier: hits
                           L("c", "2024-05-02", R"("service_code":"A",)" + m59) +
                           L("d", "2024-05-02", R"("service_code":"B")") +        // unless on j: (A, B) yields
                           L("e", "2024-05-02", R"("service_code":"C")") +
                           L("f", "2024-05-02", R"("service_code":"B",)" + m59) +  // (C, B) is not bypassable
                           L("g", "2024-05-02", R"("service_code":"B")") +        // evidence: e, the latest j that counts
                           L("y", "2024-05-02", R"("service_code":"D")"),         // (A, D) ended on 2024-05-01
                       refs);
  EXPECT_EQ(r.Hits(1), "");
  EXPECT_EQ(r.Hits(2), "edit:1000");
  EXPECT_EQ(r.OnlyHit(2).other, 0u);
  EXPECT_EQ(r.Hits(4), "");
  EXPECT_EQ(r.Hits(6), "edit:1000");
  EXPECT_EQ(r.OnlyHit(6).other, 5u);
  EXPECT_EQ(r.Hits(7), "edit:1000");
  EXPECT_EQ(r.OnlyHit(7).other, 5u);
  EXPECT_EQ(r.Hits(8), "");
}

// ---- Settlement (SETTLEMENT.md §2), computed by hand ----

// pay of payer p on input row `row`, and the patient's share.
int64_t Pay(const EvalRun& r, size_t p, RowIndex row) { return r.v.settlement.pay[p][row]; }
int64_t Patient(const EvalRun& r, RowIndex row) { return r.v.settlement.patient[row]; }

TEST(SettlementTest, DeductibleReachedExactlyThenALineSpanningTwoBandsInLineOrder) {
  const std::string rules = "payer basic\n  per insured_id per year\n  deductible 1000\n  covers 50% up to 4000, 80%\n";
  // Input order is not line order: c is settled last.
  EvalRun r = Evaluate(rules, L("c", "2024-01-03") + L("a", "2024-01-01") + L("b", "2024-01-02", R"("amount":6000)"));
  EXPECT_EQ(r.v.settlement.Deducted(0, 1), 1000);  // a: the whole deductible, exactly
  EXPECT_EQ(Pay(r, 0, 1), 0);
  EXPECT_EQ(Patient(r, 1), 1000);
  EXPECT_EQ(r.v.settlement.Deducted(0, 2), 0);  // b: nothing left to deduct
  EXPECT_EQ(Pay(r, 0, 2), 4000 * 50 / 100 + 2000 * 80 / 100);  // [0, 6000) spans both bands: 3600
  EXPECT_EQ(Patient(r, 2), 2400);
  EXPECT_EQ(Pay(r, 0, 0), 800);  // c: E = 6000, all in the 80% band
}

TEST(SettlementTest, ANullBandLimitMakesItsBandEmpty) {
  const std::string rules = "table first_band : string -> int = { \"rural\": 1000 }\n"
                            "payer basic\n  per insured_id\n  covers 50% up to first_band[fund], 70% up to 3000, 90%\n";
  EvalRun r = Evaluate(rules, L("a", "2024-01-01", R"("amount":2000)") + L("b", "2024-01-01", R"("amount":2000,"insured_id":"I2","fund":"urban")"));
  EXPECT_EQ(Pay(r, 0, 0), 500 + 700);   // rural: [0, 1000) at 50%, [1000, 2000) at 70%
  EXPECT_EQ(Pay(r, 0, 1), 1400);        // urban: the limit is null, band 1 is empty, [0, 2000) at 70%
}

TEST(SettlementTest, CeilingReachedMidLineAndOnRemainingAfterAPayerPaidAll) {
  const std::string rules = "payer basic\n  per insured_id\n  covers 100%\n  ceiling 1500\n"
                            "payer second\n  on remaining\n  covers 50%\n";
  EvalRun r = Evaluate(rules, L("a", "2024-01-01") + L("b", "2024-01-02") + L("c", "2024-01-03"));
  EXPECT_EQ(Pay(r, 0, 0), 1000);
  EXPECT_EQ(Pay(r, 1, 0), 0);  // basic paid all: nothing remains
  EXPECT_EQ(Patient(r, 0), 0);
  EXPECT_EQ(Pay(r, 0, 1), 500);  // the ceiling is reached mid-line
  EXPECT_EQ(Pay(r, 1, 1), 250);
  EXPECT_EQ(Patient(r, 1), 250);
  EXPECT_EQ(Pay(r, 0, 2), 0);
  EXPECT_EQ(Pay(r, 1, 2), 500);
  EXPECT_EQ(Patient(r, 2), 500);
}

TEST(SettlementTest, ARejectedLineConsumesNoDeductibleBandOrCeiling) {
  const std::string rules = "rule no_x\n  when service_code == \"X\"\n  reject\n"
                            "payer basic\n  per insured_id\n  deductible 1000\n  covers 100%\n";
  EvalRun r = Evaluate(rules, L("a", "2024-01-01", R"("service_code":"X","amount":5000)") + L("b", "2024-01-02", R"("amount":1500)"));
  EXPECT_EQ(r.v.settlement.allowed[0], 0);
  EXPECT_EQ(r.v.settlement.Deducted(0, 0), 0);
  EXPECT_EQ(Pay(r, 0, 0), 0);
  EXPECT_EQ(r.v.settlement.covered[0][0], 1);  // still in the payer's population (lines covered count it)
  EXPECT_EQ(r.v.settlement.Deducted(0, 1), 1000);
  EXPECT_EQ(Pay(r, 0, 1), 500);
}

TEST(SettlementTest, AJalaliYearChangeResetsTheTotals) {
  const std::string rules = "calendar jalali\npayer basic\n  per insured_id per year\n  deductible 1000\n  covers 100%\n";
  EvalRun r = Evaluate(rules, L("a", "2025-03-20", R"("amount":800)") + L("b", "2025-03-21", R"("amount":800)") +
                              L("c", "2025-03-22", R"("amount":800)"));
  EXPECT_EQ(Pay(r, 0, 0), 0);    // 1403-12-30: 800 of the deductible
  EXPECT_EQ(Pay(r, 0, 1), 0);    // 1404-01-01: a new year, a new deductible
  EXPECT_EQ(Pay(r, 0, 2), 600);  // the rest of 1404's deductible is 200
}

TEST(SettlementTest, HandSettledLinesGetARefundOrATopUp) {
  const std::string rules = "payer basic\n  covers 70%\n";
  EvalRun r = Evaluate(rules, L("a", "2024-01-01", R"("patient_paid":500)") + L("b", "2024-01-01", R"("patient_paid":100)") +
                              L("c", "2024-01-01"));
  namespace fs = std::filesystem;
  const fs::path out = fs::temp_directory_path() / ("sanad_settlement_" + std::to_string(::getpid()) + ".csv");
  ASSERT_TRUE(WriteSettlement(out.string(), *r.rules->plan(), r.claims.batch, r.v).ok());
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  fs::remove(out);
  EXPECT_EQ(ss.str(),
            "claim_id,line_no,allowed,basic,patient,patient_paid,balance\n"
            "a,1,1000,700,300,500,-200\n"   // collected 500, owed 300: a refund of 200
            "b,1,1000,700,300,100,200\n"    // collected 100: a top-up of 200
            "c,1,1000,700,300,,\n");        // not settled by hand
}

TEST(StageTest, LinesRejectedEarlierAreInvisibleLater) {
  const std::string rules =
      "rule gate stage 1\n  when referral\n  reject\n"
      "rule cap stage 2\n  limit count per insured_id <= 1\n  reject\n"
      "rule note stage 1\n  when amount > 0\n  warn\n";
  EvalRun r = Evaluate(rules, L("a", "2024-05-01", R"("referral":true)") + L("b", "2024-05-02") + L("c", "2024-05-03"));
  EXPECT_EQ(r.Hits(0), "gate:1000 note:0");  // rejected in stage 1, not counted by cap
  EXPECT_EQ(r.Hits(1), "note:0");            // R = 1 (a is invisible)
  EXPECT_EQ(r.Hits(2), "cap:1000 note:0");
  EXPECT_EQ(r.v.rules[1].population, 2);     // warnings do not hide lines
}

TEST(DeductionTest, PercentFloorsExpressionsClampAndNullIsZero) {
  const std::string rules =
      "table t : string -> int = { \"A\": 100 }\n"
      "rule pct\n  warn deduct 12.5%\n"
      "rule expr\n  warn deduct amount - t[service_code] * quantity\n"
      "rule big\n  when service_code == \"C\"\n  warn deduct amount * 2\n";
  EvalRun r = Evaluate(rules, L("a", "2024-05-01", R"("amount":999)") + L("b", "2024-05-01", R"("service_code":"B","amount":10)") +
                              L("c", "2024-05-01", R"("service_code":"C","amount":10)"));
  // 999 * 12.5% = 124.875 -> 124; 999 - 100 = 899.
  EXPECT_EQ(r.Hits(0), "pct:124 expr:899");
  EXPECT_EQ(r.v.deduction[0], 899);
  EXPECT_EQ(r.v.primary_rule[0], 1);
  EXPECT_EQ(r.Hits(1), "pct:1 expr:0");  // missing key -> null -> 0
  EXPECT_EQ(r.Hits(2), "pct:1 expr:0 big:10");  // clamped to the amount
  EXPECT_EQ(r.v.status[0], LineStatus::kWarned);
}

TEST(VerdictTest, PrimaryRuleTiesGoToTheRuleDeclaredFirst) {
  const std::string rules = "rule second_name\n  warn deduct 10%\nrule first_name\n  reject deduct 10%\n";
  EvalRun r = Evaluate(rules, L("a", "2024-05-01"));
  EXPECT_EQ(r.v.primary_rule[0], 0);
  EXPECT_EQ(r.v.status[0], LineStatus::kRejected);
  EXPECT_EQ(r.v.deduction[0], 100);
}

TEST(NullTest, NullKeysLeaveThePopulationAndNullConditionsAreFalse) {
  const std::string rules =
      "field tag : string\nrule by_tag\n  limit count per tag <= 0\n  warn\n"
      "rule young\n  when age < 18 or not (age >= 18)\n  warn\n";
  EvalRun r = Evaluate(rules, L("a", "2024-05-01", R"("tag":"x","age":20)") + L("b", "2024-05-01"));
  EXPECT_EQ(r.Hits(0), "by_tag:0");
  EXPECT_EQ(r.Hits(1), "young:0");  // age null: `age < 18` false, `not (age >= 18)` true
  EXPECT_EQ(r.v.rules[0].population, 1);
}

// Evaluates an example directory's rule set on its claims and compares the
// written verdicts, hits and summary with its expected/ files byte for byte,
// for 1, 2 and 8 threads.
void CheckExample(const std::string& dir, const std::string& rules_file, const std::map<std::string, std::string>& refs) {
  namespace fs = std::filesystem;
  Result<std::unique_ptr<Rules>> rules = Rules::FromFile(dir + "/" + rules_file);
  ASSERT_TRUE(rules.ok());
  ASSERT_TRUE((*rules)->ok()) << (*rules)->RenderDiagnostics();
  std::map<std::string, std::string> paths;
  for (const auto& [name, file] : refs) paths[name] = dir + "/" + file;
  ASSERT_TRUE((*rules)->BindReferenceFiles(paths).ok());
  const Plan& plan = *(*rules)->plan();
  Result<LoadedClaims> claims = ReadClaimsFile(dir + "/claims.ndjson", plan.schema, LoadOptions{});
  ASSERT_TRUE(claims.ok());
  auto slurp = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  const fs::path tmp = fs::temp_directory_path() / ("sanad_example_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  for (int threads : {1, 2, 8}) {
    EvalOptions eo;
    eo.threads = threads;
    Result<Evaluation> e = Evaluate(**rules, *claims, eo);
    ASSERT_TRUE(e.ok()) << e.status().message();
    const Verdicts& v = e->verdicts;
    const LoadCounts& counts = e->counts;
    ASSERT_TRUE(WriteVerdicts((tmp / "v.csv").string(), plan, claims->batch, v).ok());
    ASSERT_TRUE(WriteHits((tmp / "h.csv").string(), plan, claims->batch, v).ok());
    ASSERT_TRUE(WriteSummaryJson((tmp / "s.json").string(), plan, claims->batch, v, counts).ok());
    EXPECT_EQ(slurp((tmp / "v.csv").string()), slurp(dir + "/expected/verdicts.csv")) << threads;
    EXPECT_EQ(slurp((tmp / "h.csv").string()), slurp(dir + "/expected/hits.csv")) << threads;
    EXPECT_EQ(slurp((tmp / "s.json").string()), slurp(dir + "/expected/summary.json")) << threads;
    if (fs::exists(dir + "/expected/settlement.csv")) {
      ASSERT_TRUE(WriteSettlement((tmp / "st.csv").string(), plan, claims->batch, v).ok());
      EXPECT_EQ(slurp((tmp / "st.csv").string()), slurp(dir + "/expected/settlement.csv")) << threads;
    }
  }
  fs::remove_all(tmp);
}

TEST(ExampleTest, SpecExampleOnBundledClaimsMatchesCheckedOutputs) {
  CheckExample(SANAD_EXAMPLES_DIR, "outpatient.sanad", {{"mri", "mri.csv"}, {"tariff", "tariff.csv"}, {"ptp", "ptp.csv"}});
}

// examples/settlement: three payers in layers and re-entered hand-settled
// claims (each line computed by hand in examples/settlement/README.md).
TEST(ExampleTest, SettlementExampleMatchesHandComputedShares) {
  CheckExample(std::string(SANAD_EXAMPLES_DIR) + "/settlement", "village-clinic.sanad", {});
}

// examples/dated: the tariff change at the Jalali new year, eligibility and
// fund periods, dated bypassable edit pairs (outputs checked by hand, see
// examples/dated/README.md).
TEST(ExampleTest, DatedExampleAcrossTheJalaliNewYearMatchesCheckedOutputs) {
  CheckExample(std::string(SANAD_EXAMPLES_DIR) + "/dated", "outpatient-1404.sanad",
               {{"tariff", "tariff.csv"}, {"enrolled", "enrolled.csv"}, {"fund_of", "fund_of.csv"}, {"ptp", "ptp.csv"}});
}

}  // namespace
}  // namespace sanad

namespace sanad {
namespace {

// Found by an adversarial run: a 20,000-term 'or' chain (generated rule
// books list codes this way) or a long '+' chain overflowed the stack in
// lowering. 'or'/'and' chains are balanced trees; other chains are bounded
// (E0208) so every pass over an expression has bounded depth.
TEST(LongExpressionTest, TwentyThousandTermOrChainCompilesFormatsAndEvaluates) {
  std::string when;
  for (int i = 0; i < 20000; ++i) when += (i ? " or service_code == \"C" : "service_code == \"C") + std::to_string(i) + "\"";
  const std::string text = "ruleset \"long\"\nrule r\n  when " + when + " or service_code == \"A\"\n  reject\n";
  EvalRun r = Evaluate(text, L("C1", "2024-03-20") + L("C2", "2024-03-20", R"("service_code":"C19999")") +
                                 L("C3", "2024-03-20", R"("service_code":"Z")"));
  ASSERT_TRUE(r.rules->ok());
  EXPECT_EQ(r.Hits(0), "r:1000");
  EXPECT_EQ(r.Hits(1), "r:1000");
  EXPECT_EQ(r.Hits(2), "");
  auto format = [](const std::string& source) {
    dsl::SourceFile src("f.sanad", source);
    dsl::DiagnosticBag diags;
    dsl::ParseResult parsed = dsl::Parse(src, diags);
    EXPECT_FALSE(diags.HasErrors());
    return dsl::Format(parsed.program, parsed.comments, src);
  };
  const std::string once = format(text);
  // Canonical layout: no parentheses added (compared without printing 600 KB).
  EXPECT_EQ(once.find('('), std::string::npos) << once.substr(0, 200);
  EXPECT_TRUE(format(once) == once);
}

TEST(LongExpressionTest, ArithmeticChainsAreBoundedWithADiagnostic) {
  auto chain = [](int terms) {
    std::string e = "amount";
    for (int i = 1; i < terms; ++i) e += " + 1";
    return "ruleset \"long\"\nrule r\n  when amount > 0\n  reject deduct " + e + "\n";
  };
  EvalRun ok = Evaluate(chain(900), L("C1", "2024-03-20", R"("amount":5000)"));
  ASSERT_TRUE(ok.rules->ok());
  EXPECT_EQ(ok.Hits(0), "r:5000");  // 5000 + 899, clamped to the amount
  for (int terms : {1001, 20000, 200000}) {
    std::unique_ptr<Rules> bad = Rules::FromText("t.sanad", chain(terms));
    ASSERT_FALSE(bad->ok());
    EXPECT_NE(bad->RenderDiagnostics().find("error[E0208]"), std::string::npos) << bad->RenderDiagnostics().substr(0, 300);
  }
}

}  // namespace
}  // namespace sanad

namespace sanad {
namespace {

// Reason codes (LANGUAGE.md §4 `code`, DATA.md §4): a rule without one uses
// its name; two rules of one code on one line count twice in the code's
// hits and deduction, once in its primary lines.
TEST(ReasonCodeTest, CodesDefaultToTheRuleNameAndSumPerCode) {
  const std::string rules = R"(ruleset "codes"
rule over "over 500" code "K-203"
  when amount > 500
  warn deduct 10%
rule big code "K-203"
  when amount > 800
  reject deduct 30%
rule plain
  when amount > 0
  warn
)";
  EvalRun r = Evaluate(rules, L("A", "2024-03-20", R"("amount":1000)") + L("B", "2024-03-20", R"("amount":600)") +
                                  L("C", "2024-03-20", R"("amount":100)"));
  ASSERT_TRUE(r.rules->ok());
  EXPECT_EQ(r.rules->plan()->rules[0].code, "K-203");
  EXPECT_EQ(r.rules->plan()->rules[2].code, "plain");
  const Summary s = Summarize(*r.rules->plan(), r.claims.batch, r.v);
  ASSERT_EQ(s.codes.size(), 2u);
  EXPECT_EQ(s.codes[0].code, "K-203");
  EXPECT_EQ(s.codes[0].hits, 3);                                   // A twice, B once
  EXPECT_EQ(static_cast<int64_t>(s.codes[0].deduction), 100 + 300 + 60);
  EXPECT_EQ(s.codes[0].primary_lines, 2);                          // A (big: 300), B (over: 60)
  EXPECT_EQ(static_cast<int64_t>(s.codes[0].primary_deduction), 300 + 60);
  EXPECT_EQ(s.codes[1].code, "plain");
  EXPECT_EQ(s.codes[1].hits, 3);
  EXPECT_EQ(s.codes[1].primary_lines, 1);                          // C: its only hit, deduction 0
}

TEST(ReasonCodeTest, FormatterKeepsTheCodeAndTheFingerprintSeesIt) {
  const std::string text = "rule r \"t\" code \"K-1\" stage 2\n  reject\n";
  dsl::SourceFile src("c.sanad", text);
  dsl::DiagnosticBag diags;
  dsl::ParseResult parsed = dsl::Parse(src, diags);
  ASSERT_FALSE(diags.HasErrors());
  EXPECT_EQ(dsl::Format(parsed.program, parsed.comments, src), text);
  auto a = Rules::FromText("a.sanad", text);
  auto b = Rules::FromText("b.sanad", "rule r \"t\" code \"K-2\" stage 2\n  reject\n");
  EXPECT_NE(PlanFingerprint(*a->plan()).ToString(), PlanFingerprint(*b->plan()).ToString());
}

// A set StopFlag (Python's Ctrl-C) cancels reading and evaluation: the
// calls fail with kCancelled and return nothing partial; cleared, the same
// calls give the full result.
TEST(StopFlagTest, ASetStopFlagCancelsReadingAndEvaluationAndReturnsNothingPartial) {
  const std::string dir = SANAD_EXAMPLES_DIR;
  Result<std::unique_ptr<Rules>> rules =
      Rules::Load(dir + "/outpatient.sanad", {{"mri", dir + "/mri.csv"}, {"tariff", dir + "/tariff.csv"}, {"ptp", dir + "/ptp.csv"}});
  ASSERT_TRUE(rules.ok()) << rules.status();
  StopFlag stop{true};
  LoadOptions lo;
  lo.min_chunk_bytes = 64;  // several chunks, polled between them
  lo.stop = &stop;
  for (const char* file : {"/claims.ndjson"}) {
    Result<LoadedClaims> c = ReadClaimsFile(dir + file, (*rules)->schema(), lo);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), StatusCode::kCancelled) << c.status();
  }
  lo.stop = nullptr;
  Result<LoadedClaims> claims = ReadClaimsFile(dir + "/claims.ndjson", (*rules)->schema(), lo);
  ASSERT_TRUE(claims.ok());
  EvalOptions eo;
  eo.stop = &stop;
  Result<Evaluation> e = Evaluate(**rules, *claims, eo);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(e.status().ToString(), "cancelled: interrupted while evaluating");
  stop.store(false);
  e = Evaluate(**rules, *claims, eo);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->verdicts.status.size(), static_cast<size_t>(claims->batch.size()));
}

// Misuse from C++ is a printable error, not a crash: value() of a failed
// Result throws BadResultAccess with the error's text; a rule set with
// errors loads as a Status with every diagnostic; an online engine over
// unbound reference data refuses every call with the name of the object.
TEST(EmbeddingTest, MisuseIsAPrintableErrorNotACrash) {
  Result<std::unique_ptr<Rules>> missing = Rules::Load("/no/such/rules.sanad");
  ASSERT_FALSE(missing.ok());
  try {
    (void)missing.value();
    FAIL() << "value() of a failed Result must throw";
  } catch (const BadResultAccess& e) {
    EXPECT_NE(std::string(e.what()).find("/no/such/rules.sanad"), std::string::npos) << e.what();
  }
  const std::string bad = (std::filesystem::temp_directory_path() / "sanad_bad_rules.sanad").string();
  { std::ofstream(bad) << "rule r when amout > 1 reject\n"; }
  Result<std::unique_ptr<Rules>> r = Rules::Load(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("E0301"), std::string::npos) << r.status();
  std::unique_ptr<Rules> unbound = Rules::FromText("x", "set mri = external\nrule r when service_code in mri reject\n");
  ASSERT_TRUE(unbound->ok());
  EXPECT_EQ(unbound->RuleNames(), std::vector<std::string>{"r"});
  OnlineEngine engine(*unbound->plan());
  EXPECT_EQ(engine.ready().code(), StatusCode::kNotFound);
  Result<ClaimVerdict> v = engine.CheckJson(R"({"claim_id":"C","insured_id":"1","fund":"f","provider_id":"P",)"
                                            R"("provider_sector":"public","service_code":"X","service_date":"2025-01-01","amount":5})",
                                            true);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("external set 'mri'"), std::string::npos) << v.status();
  std::ostringstream printed;
  printed << v.status();
  EXPECT_EQ(printed.str().rfind("not found: missing reference data", 0), 0u) << printed.str();
}

}  // namespace
}  // namespace sanad
