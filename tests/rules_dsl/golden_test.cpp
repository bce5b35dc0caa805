// Golden diagnostics: every tests/rules_dsl/golden/NAME.sanad holds one kind of
// mistake; NAME.expected holds the exact diagnostics (code, message,
// file:line:column, source line, caret). SANAD_UPDATE_GOLDEN=1 rewrites them.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sanad/compiler/compiler.h"
#include "sanad/rules_dsl/source.h"

namespace sanad {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> GoldenFiles() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(SANAD_GOLDEN_DIR))
    if (e.path().extension() == ".sanad") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(GoldenDiagnosticsTest, EveryMistakeIsReportedExactlyAsRecorded) {
  const bool update = std::getenv("SANAD_UPDATE_GOLDEN") != nullptr;
  std::vector<fs::path> files = GoldenFiles();
  ASSERT_GE(files.size(), 40u);
  int distinct_codes = 0;
  std::set<std::string> codes;
  for (const fs::path& p : files) {
    SCOPED_TRACE(p.filename().string());
    const dsl::SourceFile src("golden/" + p.filename().string(), Slurp(p));
    const compiler::CompileResult r = compiler::CompileSource(src);
    const std::string got = dsl::RenderAll(r.diagnostics, src);
    EXPECT_FALSE(r.diagnostics.diagnostics().empty()) << "a golden file must hold a mistake";
    for (const auto& d : r.diagnostics.diagnostics()) codes.insert(d.code);
    fs::path expected = p;
    expected.replace_extension(".expected");
    if (update) {
      std::ofstream(expected, std::ios::binary) << got;
      continue;
    }
    ASSERT_TRUE(fs::exists(expected)) << "missing " << expected;
    EXPECT_EQ(got, Slurp(expected));
  }
  distinct_codes = static_cast<int>(codes.size());
  EXPECT_GE(distinct_codes, 35);
}

}  // namespace
}  // namespace sanad
