// Recorded random cases that once broke the online engine, replayed through
// the same random history operations (tests/online/history_ops.h). A case
// file: the operations' seed, the rules and the claims (each after its
// length), then every external object's rows (a cell count, then the cells,
// tab-separated).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/online/history_ops.h"
#include "tests/property/random_case.h"

namespace sanad {
namespace {

std::string ReplayRecordedCase(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot read " + path;
  unsigned long long seed;
  size_t n;
  in >> seed >> n;
  in.get();
  testing::RandomCase c;
  c.rules.resize(n);
  in.read(c.rules.data(), static_cast<std::streamsize>(n));
  in >> n;
  in.get();
  c.claims_ndjson.resize(n);
  in.read(c.claims_ndjson.data(), static_cast<std::streamsize>(n));
  std::string tag, name;
  size_t rows;
  while (in >> tag >> name >> rows) {
    in.get();
    auto& ext = c.externals[name];
    for (size_t r = 0; r < rows; ++r) {
      std::string line;
      std::getline(in, line);
      std::stringstream ss(line);
      size_t cells;
      ss >> cells;
      std::vector<std::string> row;
      std::string cell;
      ss.get();
      for (size_t k = 0; k < cells; ++k) {
        std::getline(ss, cell, '\t');
        row.push_back(cell);
      }
      // the first getline after the count reads the empty text before the first tab
      ext.push_back(row);
    }
  }
  return testing::CheckRandomHistoryOps(c, seed, ::testing::TempDir() + "recorded_case.snap");
}

// Found by fuzz_differential: compaction released keys and renumbered the
// rest, but a log vector shorter than the key set (logs grow lazily) kept a
// moved-from limit log, with its folded total, in a slot handed to another
// key; that key's all-time cap then counted someone else's total. A payer
// sharing the rule's keys (so its logs reached further) exposed it.
TEST(RecordedCaseTest, CompactionNeverHandsAReleasedKeysTotalToAnother) {
  EXPECT_EQ(ReplayRecordedCase(SANAD_TESTS_DIR "/online/regression/released_key_slot.case"), "");
}

}  // namespace
}  // namespace sanad
