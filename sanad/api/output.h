#pragma once
/// Writers for evaluation results (DATA.md §4): verdicts and hits as CSV or
/// NDJSON (chosen by the file's extension), the summary as JSON, and the
/// summary table the CLI prints. Output follows input order and is the same
/// bytes for any thread count; rows are formatted in parallel chunks.

#include <cstdio>
#include <string>

#include "sanad/core/claim_batch.h"
#include "sanad/core/exec/plan.h"
#include "sanad/core/exec/verdicts.h"
#include "sanad/core/status.h"
#include "sanad/core/output_file.h"

namespace sanad {

struct Summary;

/// Counts behind the summary outputs.
struct LoadCounts {
  int64_t records_read = 0;
  int64_t records_loaded = 0;
  int64_t errors = 0;
};

/// Checks that `path` names a format the writers know: .csv, .ndjson,
/// .jsonl or .json for verdicts and hits (`summary`: .json only). An unknown
/// extension is an error naming it, never silently CSV.
Status CheckOutputPath(const std::string& path, bool summary = false);

/// Each writes a whole file at `path`, or leaves it as it was (OutputFile).
Status WriteVerdicts(const std::string& path, const Plan& plan, const ClaimBatch& batch, const Verdicts& v);
Status WriteHits(const std::string& path, const Plan& plan, const ClaimBatch& batch, const Verdicts& v);
/// SETTLEMENT.md §4 (the rule set must declare payers).
Status WriteSettlement(const std::string& path, const Plan& plan, const ClaimBatch& batch, const Verdicts& v);
Status WriteSummaryJson(const std::string& path, const Plan& plan, const ClaimBatch& batch, const Verdicts& v,
                        const LoadCounts& counts);
/// The same into an open OutputFile (the format follows its path); the
/// caller commits, e.g. all of a run's outputs together with CommitAll.
Status WriteVerdicts(OutputFile& out, const Plan& plan, const ClaimBatch& batch, const Verdicts& v);
Status WriteHits(OutputFile& out, const Plan& plan, const ClaimBatch& batch, const Verdicts& v);
Status WriteSettlement(OutputFile& out, const Plan& plan, const ClaimBatch& batch, const Verdicts& v);
Status WriteSummaryJson(OutputFile& out, const Plan& plan, const ClaimBatch& batch, const Verdicts& v,
                        const LoadCounts& counts);
/// The human-readable summary table.
std::string SummaryTable(const Plan& plan, const ClaimBatch& batch, const Verdicts& v, const LoadCounts& counts);

/// Decimal text of a 128-bit integer.
std::string Int128ToString(__int128 v);
/// JSON string literal (quotes included).
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace sanad
