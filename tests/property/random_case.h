#pragma once
/// Random valid rule sets and claim data for differential tests: a rule
/// set as .sanad text (every check kind, stages, deductions, nulls, inline
/// and external reference data) and NDJSON claims with small key domains
/// (so caps and windows bite), ties on dates, explicit and equal seq values,
/// nested claims, and dates around the Gregorian or Jalali new year.

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace sanad::testing {

struct RandomCase {
  std::string rules;
  std::string claims_ndjson;
  std::map<std::string, std::vector<std::vector<std::string>>> externals;  // name -> rows
};

struct RandomCaseOptions {
  int max_rules = 6;
  int max_lines = 120;
  int max_depth = 3;
};

RandomCase MakeRandomCase(uint64_t seed, const RandomCaseOptions& options = {});

}  // namespace sanad::testing
