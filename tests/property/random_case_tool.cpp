// random_case_tool SEED DIR [MAX_RULES MAX_LINES]: writes one random case of
// the differential generator (random_case.h) as files, for tests outside
// C++ (python/tests/test_dask.py checks distributed runs against one machine
// on them): DIR/rules.sanad, DIR/claims.ndjson and DIR/NAME.csv per external
// object (the CLI's --ref format).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "tests/property/random_case.h"

namespace {

bool Write(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.close();
  if (!f) std::cerr << "random_case_tool: cannot write " << path << "\n";
  return static_cast<bool>(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 5) {
    std::cerr << "usage: random_case_tool SEED DIR [MAX_RULES MAX_LINES]\n";
    return 2;
  }
  sanad::testing::RandomCaseOptions options;
  if (argc == 5) {
    options.max_rules = std::atoi(argv[3]);
    options.max_lines = std::atoi(argv[4]);
  }
  const sanad::testing::RandomCase c = sanad::testing::MakeRandomCase(std::strtoull(argv[1], nullptr, 10), options);
  const std::string dir = argv[2];
  bool ok = Write(dir + "/rules.sanad", c.rules) && Write(dir + "/claims.ndjson", c.claims_ndjson);
  for (const auto& [name, rows] : c.externals) {
    std::string csv;
    for (const auto& row : rows) {
      for (size_t k = 0; k < row.size(); ++k) csv += (k ? "," : "") + row[k];
      csv += "\n";
    }
    ok = ok && Write(dir + "/" + name + ".csv", csv);
  }
  return ok ? 0 : 1;
}
