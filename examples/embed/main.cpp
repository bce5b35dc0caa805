// Embedding Sanad: batch adjudication of a claims file, then one claim
// judged online. Usage: sanad_embed RULES CLAIMS NAME=CSV... (reference data)
// Prints the verdict counts, writes verdicts.csv, and judges one claim online.
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include <sanad/api/evaluation.h>
#include <sanad/api/output.h>
#include <sanad/api/rules.h>
#include <sanad/core/ingest/claims_reader.h>
#include <sanad/online/online_engine.h>
#include <sanad/version.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: sanad_embed RULES CLAIMS [NAME=CSV ...]\n";
    return 2;
  }
  std::map<std::string, std::string> refs;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    size_t eq = a.find('=');
    if (eq == std::string::npos) { std::cerr << "reference data must be NAME=CSV: " << a << "\n"; return 2; }
    refs[a.substr(0, eq)] = a.substr(eq + 1);
  }

  // Compile + bind + check in one call; every failure is a printable Status.
  auto rules = sanad::Rules::Load(argv[1], refs);
  if (!rules.ok()) { std::cerr << rules.status() << "\n"; return 1; }

  auto claims = sanad::ReadClaimsFile(argv[2], (*rules)->schema(), {});
  if (!claims.ok()) { std::cerr << claims.status() << "\n"; return 1; }
  auto result = sanad::Evaluate(**rules, *claims);
  if (!result.ok()) { std::cerr << result.status() << "\n"; return 1; }

  sanad::Summary s = sanad::Summarize(*(*rules)->plan(), claims->batch, result->verdicts);
  std::cout << "sanad " << SANAD_VERSION << ": " << s.lines << " lines, " << s.accepted << " accepted, "
            << s.warned << " warned, " << s.rejected << " rejected\n";
  if (sanad::Status st = sanad::WriteVerdicts("verdicts.csv", *(*rules)->plan(), claims->batch, result->verdicts);
      !st.ok()) {
    std::cerr << st << "\n";
    return 1;
  }

  // Online: the same rules, one claim at a time.
  sanad::OnlineEngine engine(*(*rules)->plan());
  if (!engine.ready().ok()) { std::cerr << engine.ready() << "\n"; return 1; }
  auto v = engine.CheckJson(
      R"({"claim_id":"ONLINE-1","line_no":1,"insured_id":"0012345678","fund":"rural","age":34,)"
      R"("provider_id":"DR-17","provider_sector":"private","provider_specialty":"GP",)"
      R"("service_code":"970000","service_date":"2025-03-19","amount":200000})",
      /*commit=*/true);
  if (!v.ok()) { std::cerr << v.status() << "\n"; return 1; }
  std::vector<std::string> names = (*rules)->RuleNames();
  for (const sanad::OnlineLine& line : v->lines)
    std::cout << "online " << line.claim_id << " line " << line.line_no << ": " << sanad::StatusName(line.status)
              << ", deduction " << line.deduction
              << (line.primary_rule >= 0 ? ", rule " + names[line.primary_rule] : std::string()) << "\n";
  return 0;
}
