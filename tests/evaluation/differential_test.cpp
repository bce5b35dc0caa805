// The fast engine against the naive reference evaluator on random valid rule
// sets and random data: every verdict, deduction, primary rule, hit (with
// evidence) and rule statistic must be equal, for 1 and 2 threads and for
// one or many key partitions.

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstdio>
#include <random>
#include <set>

#include "sanad/compiler/reference_data.h"
#include "sanad/core/exec/batch_evaluator.h"
#include "sanad/core/exec/bound_plan.h"
#include "sanad/core/ingest/claims_reader.h"
#include "sanad/api/evaluation.h"
#include "sanad/api/rules.h"
#include "sanad/rules_dsl/parser.h"
#include "tests/evaluation/reference_lines.h"
#include "tests/property/random_case.h"
#include "tests/reference/reference_evaluator.h"

namespace sanad {
namespace {

int CaseCount() {
  const char* env = std::getenv("SANAD_PROPERTY_CASES");
  return env ? std::atoi(env) : 2000;
}

TEST(DifferentialTest, EngineEqualsReferenceOnRandomRuleSetsAndData) {
  const int cases = CaseCount();
  int64_t total_hits = 0, total_lines = 0;
  for (int seed = 1; seed <= cases; ++seed) {
    testing::RandomCase c = testing::MakeRandomCase(static_cast<uint64_t>(seed));
    std::unique_ptr<Rules> rules = Rules::FromText("random.sanad", c.rules);
    ASSERT_TRUE(rules->ok()) << "seed " << seed << "\n" << rules->RenderDiagnostics() << c.rules;
    for (const auto& [name, rows] : c.externals)
      ASSERT_TRUE(compiler::BindReferenceRows(*rules->mutable_plan(), name, rows, name).ok());
    LoadOptions lo;
    lo.on_error = OnError::kFail;
    Result<LoadedClaims> claims = ReadNdjson(c.claims_ndjson, rules->plan()->schema, lo);
    ASSERT_TRUE(claims.ok()) << "seed " << seed << ": " << claims.status().message() << "\n" << c.claims_ndjson;
    EvalOptions one;
    one.threads = 1;
    Result<Evaluation> e1 = Evaluate(*rules, *claims, one);
    ASSERT_TRUE(e1.ok()) << e1.status().message();
    const Verdicts& v = e1->verdicts;

    dsl::DiagnosticBag diags;
    dsl::ParseResult parsed = dsl::Parse(rules->source(), diags);
    reference::RefResult ref = reference::Evaluate(parsed.program, ToReferenceLines(claims->batch), c.externals);
    const std::string diff = Diff(v, ref);
    ASSERT_EQ(diff, "") << "seed " << seed << "\n" << c.rules << "\n" << c.claims_ndjson;

    // Two threads, with groups spread over many key partitions (the default
    // puts a small case's groups in one partition).
    EvalOptions two;
    two.threads = 2;
    two.groups_per_partition = 1 + seed % 4;
    const Verdicts v2 = std::move(Evaluate(*rules, *claims, two).value().verdicts);
    ASSERT_EQ(Diff(v2, ref), "") << "seed " << seed << " (2 threads, " << two.groups_per_partition << " groups per partition)";
    total_hits += static_cast<int64_t>(v.hits.size());
    total_lines += claims->batch.size();
  }
  // The generator must produce cases where rules actually fire.
  EXPECT_GT(total_hits, total_lines / 10);
}

// conflict pairs on groups large enough for PairLog's per-code index (more
// than 256 lines, searches past the newest 32): random codes, sparse and
// dense random pair tables, ties on dates, late and equal seq values; every
// third case with dated pairs (periods within the year, some bypassable)
// and `unless`, true on some lines.
TEST(DifferentialTest, ConflictPairsOnLargeGroupsEqualsReference) {
  std::mt19937_64 rng(424242);
  for (int c = 0; c < std::max(10, CaseCount() / 40); ++c) {
    const int codes = 3 + static_cast<int>(rng() % 30);
    const bool dated = c % 3 == 2;
    std::string pairs;
    reference::ExternalData ext;
    std::set<std::pair<std::string, std::string>> seen;
    const int npairs = 1 + static_cast<int>(rng() % (c % 2 ? 8 : 120));
    for (int k = 0; k < npairs; ++k) {
      const std::string a = "S" + std::to_string(rng() % codes), b = "S" + std::to_string(rng() % codes);
      pairs += std::string(k ? ", " : "") + "(\"" + a + "\", \"" + b + "\")";
      if (!dated || !seen.insert({a, b}).second) continue;
      // Two disjoint periods per pair: months [m1, m2] and from m3 (open or closed).
      const int m1 = 1 + static_cast<int>(rng() % 6), m2 = m1 + static_cast<int>(rng() % 3), m3 = m2 + 1 + static_cast<int>(rng() % 3);
      auto day = [](int m, bool last) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "2024-%02d-%02d", m, last ? 28 : 1);
        return std::string(buf);
      };
      ext["p"].push_back({a, b, day(m1, false), day(m2, true), rng() % 2 ? "1" : "0"});
      ext["p"].push_back({a, b, day(m3, false), rng() % 2 ? "" : day(std::min(12, m3 + 2), true), rng() % 3 ? "1" : ""});
    }
    const std::string decl = dated ? "pairs p dated = external" : "pairs p = { " + pairs + " }";
    const std::string text = "ruleset \"big\"\n" + decl + "\nrule r\n  conflict pairs p per insured_id within " +
                             std::to_string(1 + rng() % 400) + " days" + (dated ? " unless amount > 150" : "") + "\n  " +
                             (rng() % 2 ? "reject" : "warn") + "\n";
    std::string ndjson;
    const int lines = 300 + static_cast<int>(rng() % 600);
    for (int i = 0; i < lines; ++i) {
      ndjson += R"({"claim_id":"C)" + std::to_string(i) + R"(","insured_id":"I)" + std::to_string(rng() % 2) +
                R"(","fund":"f","provider_id":"P","provider_sector":"s","service_code":"S)" + std::to_string(rng() % codes) +
                R"(","service_date":"2024-)" + std::to_string(1 + rng() % 12) + "-" + std::to_string(10 + rng() % 18) +
                R"(","seq":)" + std::to_string(rng() % 50) + R"(,"amount":)" + (rng() % 4 ? "100" : "200") + "}\n";
    }
    // Dates like 2024-3-15 are not ISO; pad them.
    for (size_t at = 0; (at = ndjson.find("\"2024-", at)) != std::string::npos; at += 6) {
      const size_t dash = ndjson.find('-', at + 6);
      if (dash - (at + 6) == 1) ndjson.insert(at + 6, "0");
    }
    std::unique_ptr<Rules> rules = Rules::FromText("big.sanad", text);
    ASSERT_TRUE(rules->ok()) << rules->RenderDiagnostics();
    if (dated) ASSERT_TRUE(compiler::BindReferenceRows(*rules->mutable_plan(), "p", ext["p"], "p").ok());
    Result<LoadedClaims> claims = ReadNdjson(ndjson, rules->plan()->schema, LoadOptions{});
    ASSERT_TRUE(claims.ok()) << claims.status().message();
    const Verdicts v = std::move(Evaluate(*rules, *claims).value().verdicts);
    dsl::DiagnosticBag diags;
    dsl::ParseResult parsed = dsl::Parse(rules->source(), diags);
    reference::RefResult ref = reference::Evaluate(parsed.program, ToReferenceLines(claims->batch), ext);
    ASSERT_EQ(Diff(v, ref), "") << "case " << c << "\n" << text;
  }
}

// Settlement with more consecutive payers of the same keys than one fused
// pass takes (settlement.cpp settles up to 32 a pass): 33-45 payers per
// insured and year, on what is left or on the payable amount, with `when`,
// deductibles, bands and ceilings, some after the 33rd dropping the keys (a
// pass of their own), over a few hundred lines; 1 and 2 threads.
TEST(DifferentialTest, ManyPayersOfTheSameKeysEqualReference) {
  std::mt19937_64 rng(777);
  for (int c = 0; c < std::max(4, CaseCount() / 200); ++c) {
    std::string text = "ruleset \"payers\"\nrule big\n  when amount > 900000\n  reject\n";
    const int payers = 33 + static_cast<int>(rng() % 13);
    for (int i = 0; i < payers; ++i) {
      text += "\npayer p" + std::to_string(i) + "\n";
      if (rng() % 2 == 0) text += "  when fund == \"f" + std::to_string(rng() % 2) + "\"\n";
      if (i > 0 && rng() % 3) text += "  on remaining\n";
      const bool per = i < 33 || rng() % 2;  // the first 33 in one run of the same keys
      if (per) text += "  per insured_id per year\n";
      if (per && rng() % 2) text += "  deductible " + std::to_string(rng() % 3000) + "\n";
      if (per && rng() % 2)
        text += "  covers " + std::to_string(rng() % 101) + "% up to " + std::to_string(1000 + rng() % 5000) + ", " +
                std::to_string(rng() % 101) + "%\n";
      else
        text += "  covers " + std::to_string(rng() % 101) + "%\n";
      if (rng() % 3 == 0) text += "  ceiling " + std::to_string(rng() % 20000) + "\n";
    }
    std::string ndjson;
    const int lines = 200 + static_cast<int>(rng() % 300);
    for (int i = 0; i < lines; ++i) {
      char date[16];
      std::snprintf(date, sizeof date, "20%02d-%02d-%02d", 23 + static_cast<int>(rng() % 3), 1 + static_cast<int>(rng() % 12),
                    1 + static_cast<int>(rng() % 28));
      ndjson += R"({"claim_id":"C)" + std::to_string(i) + R"(","insured_id":"I)" + std::to_string(rng() % 7) + R"(","fund":"f)" +
                std::to_string(rng() % 2) + R"(","provider_id":"P","provider_sector":"s","service_code":"S","service_date":")" + date +
                R"(","seq":)" + std::to_string(rng() % 50) + R"(,"amount":)" + std::to_string(rng() % 1000000) + "}\n";
    }
    std::unique_ptr<Rules> rules = Rules::FromText("payers.sanad", text);
    ASSERT_TRUE(rules->ok()) << rules->RenderDiagnostics() << text;
    Result<LoadedClaims> claims = ReadNdjson(ndjson, rules->plan()->schema, LoadOptions{});
    ASSERT_TRUE(claims.ok()) << claims.status().message();
    dsl::DiagnosticBag diags;
    dsl::ParseResult parsed = dsl::Parse(rules->source(), diags);
    reference::RefResult ref = reference::Evaluate(parsed.program, ToReferenceLines(claims->batch), {});
    for (int threads : {1, 2}) {
      EvalOptions eo;
      eo.threads = threads;
      eo.groups_per_partition = threads;
      const Verdicts v = std::move(Evaluate(*rules, *claims, eo).value().verdicts);
      ASSERT_EQ(v.settlement.pay.size(), static_cast<size_t>(payers));
      ASSERT_EQ(Diff(v, ref), "") << "case " << c << ", " << threads << " threads\n" << text;
    }
  }
}

}  // namespace
}  // namespace sanad
