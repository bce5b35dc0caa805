// sanad: the command-line front end.
//   sanad check RULES DATA [--ref NAME=PATH]... [--verdicts OUT] [--hits OUT] [--settlement OUT] [--summary OUT.json]
//   sanad stats DATA        sanad lint RULES        sanad fmt RULES        sanad explain-plan RULES

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "sanad/core/exec/batch_evaluator.h"
#include "sanad/core/read_file.h"
#include "sanad/core/exec/bound_plan.h"
#include "sanad/core/exec/plan_printer.h"
#include "sanad/core/ingest/claims_reader.h"
#include "tools/claims_generator/claims_generator.h"
#include "sanad/api/evaluation.h"
#include "sanad/api/output.h"
#include "sanad/core/output_file.h"
#include "sanad/api/rules.h"
#include "sanad/compiler/reference_data.h"
#include "sanad/rules_dsl/formatter.h"
#include "sanad/rules_dsl/parser.h"
#include "sanad/version.h"

namespace sanad {
namespace {

/// Exit codes (README "Exit codes"; tests/cli/exit_codes_test.sh).
constexpr int kExitOk = 0;
constexpr int kExitBadInput = 1;     // bad input data or reference data, I/O errors
constexpr int kExitRulesError = 2;   // the rules do not compile
constexpr int kExitUsage = 3;        // the command line itself is wrong
constexpr int kExitRefused = 4;      // the run completed, but refused records (--on-error skip)

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

int Fail(const std::string& msg, int code = kExitBadInput) {
  std::fprintf(stderr, "sanad: %s\n", msg.c_str());
  return code;
}

// Progress of a long run on stderr, only when it is a terminal and not --quiet.
bool g_quiet = false;
void Progress(const char* what) {
  if (!g_quiet && isatty(STDERR_FILENO)) std::fprintf(stderr, "\r\033[K%s...", what);
}
void ProgressDone() {
  if (!g_quiet && isatty(STDERR_FILENO)) std::fprintf(stderr, "\r\033[K");
}

// Claims from a path, or from standard input for "-" (NDJSON unless
// --input-format csv): stdin has no extension to tell the format by.
Result<LoadedClaims> ReadClaims(const std::string& path, const std::string& input_format, const Schema& schema,
                                const LoadOptions& lo) {
  if (path != "-") return ReadClaimsFile(path, schema, lo);
  Result<std::string> text = ReadFileToString("/dev/stdin");
  if (!text.ok()) return Status::Io("stdin: " + text.status().message());
  Result<LoadedClaims> r = input_format == "csv" ? ReadCsv(*text, schema, lo) : ReadNdjson(*text, schema, lo);
  if (!r.ok()) return Status(r.status().code(), "stdin: " + r.status().message());
  return r;
}

// --ref NAME=PATH arguments into `refs`; false (after saying why) on a malformed one.
bool ParseRefs(const std::vector<std::string>& args, std::map<std::string, std::string>* refs) {
  for (const std::string& r : args) {
    const size_t eq = r.find('=');
    if (eq == std::string::npos || eq == 0) {
      Fail("--ref expects NAME=PATH, got '" + r + "'");
      return false;
    }
    (*refs)[r.substr(0, eq)] = r.substr(eq + 1);
  }
  return true;
}

std::unique_ptr<Rules> CompileOrReport(const std::string& path, int* exit_code) {
  Result<std::unique_ptr<Rules>> rules = Rules::FromFile(path);
  if (!rules.ok()) {
    *exit_code = Fail(rules.status().message());
    return nullptr;
  }
  std::unique_ptr<Rules> r = std::move(rules).value();
  if (r->diagnostics().diagnostics().size()) std::fputs(r->RenderDiagnostics().c_str(), stderr);
  if (!r->ok()) {
    *exit_code = kExitRulesError;
    return nullptr;
  }
  return r;
}

void ReportLoadErrors(const LoadedClaims& c) {
  const size_t show = std::min<size_t>(c.errors.size(), 20);
  for (size_t i = 0; i < show; ++i) std::fprintf(stderr, "input %s\n", FormatLoadError(c.errors[i]).c_str());
  if (c.errors.size() > show) std::fprintf(stderr, "... and %zu more bad records\n", c.errors.size() - show);
}

// Every refused record as CSV: line, field, message (quoted as CSV needs).
Status WriteLoadErrors(OutputFile& out, const LoadedClaims& c) {
  std::string o = "line,field,message\n";
  auto cell = [&](std::string_view v) {
    o += '"';
    for (char ch : v) {
      if (ch == '"') o += '"';
      o += ch;
    }
    o += '"';
  };
  for (const LoadError& e : c.errors) {
    o += std::to_string(e.line);
    o += ',';
    cell(e.field);
    o += ',';
    cell(e.message);
    o += '\n';
  }
  return out.Write(o);
}

struct CheckArgs {
  std::string rules, data, verdicts, hits, summary, settlement, errors, on_error = "fail", input_format = "ndjson";
  std::vector<std::string> refs;
  int threads = 0;
  bool timings = false;
};

int RunCheck(const CheckArgs& a) {
  const auto t0 = Clock::now();
  int code = 0;
  // Output formats come from the extensions: check them before any work.
  for (const auto& [path, summary] : {std::pair{a.verdicts, false}, {a.hits, false}, {a.settlement, false}, {a.summary, true}})
    if (!path.empty())
      if (Status st = CheckOutputPath(path, summary); !st.ok()) return Fail(st.message(), kExitUsage);
  // "-" is standard output for one of them; the human table then stays off stdout.
  int to_stdout = 0;
  for (const std::string* p : {&a.verdicts, &a.hits, &a.settlement, &a.summary, &a.errors}) to_stdout += *p == "-";
  if (to_stdout > 1) return Fail("only one output can be written to stdout ('-')", kExitUsage);
  if (!a.errors.empty() && a.errors != "-" && (a.errors.size() < 4 || a.errors.compare(a.errors.size() - 4, 4, ".csv") != 0))
    return Fail(a.errors + ": unknown output format (the errors file is .csv)", kExitUsage);
  Progress("compiling rules");
  std::unique_ptr<Rules> rules = CompileOrReport(a.rules, &code);
  if (!rules) return code;
  std::map<std::string, std::string> refs;
  if (!ParseRefs(a.refs, &refs)) return kExitUsage;
  if (!a.settlement.empty() && rules->plan()->payers.empty())
    return Fail(a.rules + ": --settlement needs payers, and the rule set declares none (docs/LANGUAGE.md §8)", kExitUsage);
  Progress("loading reference data");
  if (Status s = rules->BindReferenceFiles(refs); !s.ok()) return Fail(s.message());
  const auto t1 = Clock::now();
  LoadOptions lo;
  lo.threads = a.threads;
  lo.on_error = a.on_error == "skip" ? OnError::kSkip : OnError::kFail;
  Progress("loading claims");
  Result<LoadedClaims> claims = ReadClaims(a.data, a.input_format, rules->plan()->schema, lo);
  if (!claims.ok()) { ProgressDone(); return Fail(claims.status().message()); }
  ProgressDone();
  ReportLoadErrors(*claims);
  const auto t2 = Clock::now();
  Progress("evaluating");
  EvalOptions eo;
  eo.threads = a.threads;
  Result<Evaluation> evaluation = Evaluate(*rules, *claims, eo);
  if (!evaluation.ok()) { ProgressDone(); return Fail(evaluation.status().message()); }
  const Verdicts& v = evaluation->verdicts;
  const LoadCounts& counts = evaluation->counts;
  const auto t4 = Clock::now();
  Progress("writing");
  // Every output is written beside its final path, then all are renamed
  // together: a failed or killed run leaves the previous outputs in place.
  std::vector<std::unique_ptr<OutputFile>> outputs;
  auto stage = [&](const std::string& path, auto write) -> Status {
    if (path.empty()) return Status::Ok();
    Result<std::unique_ptr<OutputFile>> f = OutputFile::Create(path);
    if (!f.ok()) return f.status();
    if (Status st = write(**f); !st.ok()) return st;
    outputs.push_back(std::move(f).value());
    return Status::Ok();
  };
  const Plan& plan = *rules->plan();
  for (Status st : {stage(a.verdicts, [&](OutputFile& o) { return WriteVerdicts(o, plan, claims->batch, v); }),
                    stage(a.hits, [&](OutputFile& o) { return WriteHits(o, plan, claims->batch, v); }),
                    stage(a.settlement, [&](OutputFile& o) { return WriteSettlement(o, plan, claims->batch, v); }),
                    stage(a.summary, [&](OutputFile& o) { return WriteSummaryJson(o, plan, claims->batch, v, counts); }),
                    stage(a.errors, [&](OutputFile& o) { return WriteLoadErrors(o, *claims); })})
    if (!st.ok()) { ProgressDone(); return Fail(st.message()); }
  if (Status st = CommitAll(outputs); !st.ok()) { ProgressDone(); return Fail(st.message()); }
  const auto t5 = Clock::now();
  ProgressDone();
  if (to_stdout == 0 && !g_quiet) std::fputs(SummaryTable(plan, claims->batch, v, counts).c_str(), stdout);
  if (a.timings) {
    std::fprintf(stderr, "timings: compile+refs %.3fs, load %.3fs, evaluate %.3fs, write %.3fs, total %.3fs\n",
                 Seconds(t0, t1), Seconds(t1, t2), Seconds(t2, t4), Seconds(t4, t5), Seconds(t0, t5));
  }
  if (Status st = CheckStdout(); !st.ok()) return Fail(st.message());
  if (!claims->errors.empty()) {
    std::fprintf(stderr, "sanad: %zu bad records refused (exit %d)\n", claims->errors.size(), kExitRefused);
    return kExitRefused;
  }
  return kExitOk;
}

int RunStats(const std::string& path, const std::string& input_format, int threads) {
  LoadOptions lo;
  lo.threads = threads;
  lo.on_error = OnError::kSkip;
  const auto t0 = Clock::now();
  Progress("loading claims");
  Result<LoadedClaims> r = ReadClaims(path, input_format, Schema::Standard(), lo);
  ProgressDone();
  if (!r.ok()) return Fail(r.status().message());
  const auto t1 = Clock::now();
  const ClaimBatch& b = r->batch;
  auto distinct = [&](int field) {
    const Column& c = b.column(field);
    std::vector<uint8_t> seen(static_cast<size_t>(c.dict.size()), 0);
    int64_t n = 0;
    for (RowIndex i = 0; i < b.size(); ++i)
      if (c.codes[i] >= 0 && !seen[static_cast<size_t>(c.codes[i])]++) ++n;
    return n;
  };
  std::printf("file         %s\n", path.c_str());
  std::printf("records      %lld read, %lld loaded, %zu errors\n", static_cast<long long>(r->records_read),
              static_cast<long long>(r->records_loaded), r->errors.size());
  std::printf("lines        %u\n", b.size());
  std::printf("claims       %lld\n", static_cast<long long>(distinct(kClaimId)));
  std::printf("insured      %lld\n", static_cast<long long>(distinct(kInsuredId)));
  std::printf("providers    %lld\n", static_cast<long long>(distinct(kProviderId)));
  std::printf("codes        %lld\n", static_cast<long long>(distinct(kServiceCode)));
  if (b.size()) {
    const auto& d = b.column(kServiceDate).codes;
    auto [lo_it, hi_it] = std::minmax_element(d.begin(), d.end());
    char x[10], y[10];
    FormatIsoDate(*lo_it, x);
    FormatIsoDate(*hi_it, y);
    std::printf("dates        %.10s .. %.10s\n", x, y);
    __int128 amount = 0;
    for (RowIndex i = 0; i < b.size(); ++i) amount += b.Int(kAmount, i);
    std::printf("amount       %s\n", Int128ToString(amount).c_str());
    std::printf("memory       %.1f bytes/line + %.1f MB dictionaries\n",
                static_cast<double>(b.ColumnBytes()) / b.size(), static_cast<double>(b.DictionaryBytes()) / 1e6);
  }
  std::printf("load time    %.3f s\n", Seconds(t0, t1));
  if (Status st = CheckStdout(); !st.ok()) return Fail(st.message());
  ReportLoadErrors(*r);
  return 0;
}

int RunLint(const std::string& path) {
  Result<std::unique_ptr<Rules>> rules = Rules::FromFile(path);
  if (!rules.ok()) return Fail(rules.status().message());
  const Rules& r = **rules;
  std::fputs(r.RenderDiagnostics().c_str(), stdout);
  if (r.diagnostics().diagnostics().empty()) std::printf("%s: no problems found\n", path.c_str());
  if (Status st = CheckStdout(); !st.ok()) return Fail(st.message());
  return r.ok() ? kExitOk : kExitRulesError;
}

int RunFmt(const std::string& path, bool check, bool write) {
  Result<std::string> text = ReadFileToString(path);
  if (!text.ok()) return Fail(text.status().message());
  dsl::SourceFile src(path, std::move(text).value());
  dsl::DiagnosticBag diags;
  dsl::ParseResult parsed = dsl::Parse(src, diags);
  if (diags.HasErrors()) {
    std::fputs(dsl::RenderAll(diags, src).c_str(), stderr);
    return kExitRulesError;
  }
  std::string out = dsl::Format(parsed.program, parsed.comments, src);
  if (write) {  // in place, whole or not at all; an unchanged file is not rewritten
    if (out == src.text()) return kExitOk;
    Result<std::unique_ptr<OutputFile>> f = OutputFile::Create(path);
    if (!f.ok()) return Fail(f.status().message());
    if (Status st = (*f)->Write(out); !st.ok()) return Fail(st.message());
    if (Status st = (*f)->Commit(); !st.ok()) return Fail(st.message());
    return kExitOk;
  }
  if (check) {
    if (out != src.text()) { std::fprintf(stderr, "%s: not formatted\n", path.c_str()); return kExitBadInput; }
    return kExitOk;
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (Status st = CheckStdout(); !st.ok()) return Fail(st.message());
  return kExitOk;
}

int RunExplain(const std::string& path, const std::vector<std::string>& ref_args) {
  int code = 0;
  std::unique_ptr<Rules> rules = CompileOrReport(path, &code);
  if (!rules) return code;
  // With --ref the plan shows the sizes of the data bound; without, the
  // external objects are listed as not loaded.
  std::map<std::string, std::string> refs;
  if (!ParseRefs(ref_args, &refs)) return kExitUsage;
  for (const auto& [name, file] : refs)  // not BindReferenceFiles: the others may stay unbound here
    if (Status st = compiler::BindReferenceFile(*rules->mutable_plan(), name, file); !st.ok()) return Fail(st.message());
  std::fputs(ExplainPlan(*rules->plan()).c_str(), stdout);
  if (Status st = CheckStdout(); !st.ok()) return Fail(st.message());
  return kExitOk;
}

}  // namespace
}  // namespace sanad

int main(int argc, char** argv) {
  using namespace sanad;
  CLI::App app{"sanad: a rules engine for health-insurance claim adjudication"};
  RemoveTemporaryOutputsOnInterrupt();  // Ctrl-C stops at once and leaves no temporary files
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("sanad ") + SANAD_VERSION);
  CheckArgs ca;
  auto* check = app.add_subcommand("check", "evaluate a rule set over claim lines");
  check->add_option("RULES", ca.rules, "rules file (.sanad)")->required();
  check->add_option("DATA", ca.data, "claims (.ndjson, .jsonl or .csv; - reads stdin)")->required();
  check->add_option("--ref", ca.refs, "reference data for an external object: NAME=PATH.csv");
  check->add_option("--verdicts", ca.verdicts, "write verdicts (.csv or .ndjson)");
  check->add_option("--hits", ca.hits, "write hits (.csv or .ndjson)");
  check->add_option("--summary", ca.summary, "write the summary (.json)");
  check->add_option("--settlement", ca.settlement, "write who pays each line (.csv or .ndjson; needs payers)");
  check->add_option("--errors", ca.errors, "write every bad input record (.csv)");
  check->add_option("--threads", ca.threads, "threads (0 = all cores)")->check(CLI::Range(0, 1024));
  check->add_option("--on-error", ca.on_error, "bad records: fail (stop at the first) or skip (report all)")
      ->check(CLI::IsMember({"fail", "skip"}));
  check->add_flag("--timings", ca.timings, "print phase timings on stderr");
  check->add_option("--input-format", ca.input_format, "format of DATA when it is '-' (stdin): ndjson or csv")
      ->check(CLI::IsMember({"ndjson", "csv"}));
  check->add_flag("-q,--quiet", g_quiet, "no progress and no summary table (outputs and errors only)");

  std::string stats_path;
  int stats_threads = 0;
  auto* stats = app.add_subcommand("stats", "load claims and print what they hold");
  stats->add_option("DATA", stats_path, "claims (.ndjson, .jsonl or .csv)")->required();
  stats->add_option("--threads", stats_threads, "threads (0 = all cores)")->check(CLI::Range(0, 1024));
  std::string stats_format = "ndjson";
  stats->add_option("--input-format", stats_format, "format of DATA when it is '-' (stdin): ndjson or csv")
      ->check(CLI::IsMember({"ndjson", "csv"}));
  stats->add_flag("-q,--quiet", g_quiet, "no progress on stderr");

  std::string lint_path, fmt_path, explain_path;
  bool fmt_check = false;
  auto* lint = app.add_subcommand("lint", "print every diagnostic of a rules file; non-zero exit on errors");
  lint->add_option("RULES", lint_path)->required();
  auto* fmtc = app.add_subcommand("fmt", "print a rules file in the canonical layout");
  fmtc->add_option("RULES", fmt_path)->required();
  bool fmt_write = false;
  fmtc->add_flag("--check", fmt_check, "exit non-zero if the file is not formatted");
  fmtc->add_flag("--write", fmt_write, "rewrite the file in the canonical layout (whole or not at all)")->excludes("--check");
  auto* explain = app.add_subcommand("explain-plan", "print the execution plan of a rule set");
  explain->add_option("RULES", explain_path, "rules file (.sanad)")->required();
  std::vector<std::string> explain_refs;
  explain->add_option("--ref", explain_refs, "reference data to show the sizes of: NAME=PATH.csv");

  GeneratorOptions go;
  std::string gen_format = "ndjson", gen_out;
  auto* gen = app.add_subcommand("gen", "write synthetic claims and the example's reference data");
  gen->add_option("--lines", go.lines, "claim lines (about; claims are whole)")->required()->check(CLI::Range(int64_t{1}, int64_t{2000000000}));
  gen->add_option("--seed", go.seed, "random seed (output depends only on it)");
  gen->add_option("--format", gen_format, "ndjson or csv")->check(CLI::IsMember({"ndjson", "csv"}));
  gen->add_option("--out", gen_out, "output directory")->required();
  gen->add_option("--ptp-pairs", go.ptp_pairs, "pairs in ptp.csv")->check(CLI::Range(int64_t{0}, int64_t{100000000}));
  gen->add_option("--threads", go.threads, "threads (0 = all cores)")->check(CLI::Range(0, 1024));
  std::string gen_shape = "mixed";
  gen->add_option("--shape", gen_shape,
                  "mixed (service dates in random order) or month-end (arrival order with a lag of up to 40 days, "
                  "~2 lines a claim, Persian text)")
      ->check(CLI::IsMember({"mixed", "month-end"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // help on stdout, exit 0
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One documented code for every usage error (not CLI11's 101-115).
    std::fprintf(stderr, "sanad: %s\nRun with --help for usage.\n", e.what());
    return kExitUsage;
  }
  if (gen->parsed()) {
    go.csv = gen_format == "csv";
    go.month_end = gen_shape == "month-end";
    const auto t0 = std::chrono::steady_clock::now();
    if (Status s = GenerateClaimsFiles(go, gen_out); !s.ok()) {
      std::fprintf(stderr, "sanad: %s\n", s.message().c_str());
      return kExitBadInput;
    }
    std::fprintf(stderr, "wrote %s/claims.%s and mri.csv, tariff.csv, ptp.csv in %.2f s\n", gen_out.c_str(),
                 gen_format.c_str(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return 0;
  }
  if (check->parsed()) return RunCheck(ca);
  if (stats->parsed()) return RunStats(stats_path, stats_format, stats_threads);
  if (lint->parsed()) return RunLint(lint_path);
  if (fmtc->parsed()) return RunFmt(fmt_path, fmt_check, fmt_write);
  if (explain->parsed()) return RunExplain(explain_path, explain_refs);
  return kExitUsage;
}
