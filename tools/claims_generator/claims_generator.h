#pragma once
/// Synthetic claims for benchmarks and for analysts to try rules on
/// (`sanad gen`): claims of realistic shape (GP and specialist visits with
/// injections, imaging, labs, pharmacy items, hospital stays), skewed
/// insured persons and providers so caps are reached, funds and sectors in
/// plausible shares, dates from 2024-03 to 2025-05 crossing both the
/// Gregorian and the Jalali new year, optional fields sometimes absent,
/// plus the reference data the example rule set needs (mri, tariff, ptp).
/// Output depends only on the options (not on the thread count): lines are
/// generated in fixed blocks, each seeded from (seed, block).
///
/// `month_end` gives the shape of a file an insurer re-adjudicates at month
/// end: lines in arrival order (arrival days rise through the file, each
/// claim's service date is its arrival day minus a lag of 0-40 days), about
/// two lines per claim, twelve per insured and 120 per provider, and Persian
/// text: a `zone` column (the provider's province, undeclared by the example
/// rule set, so readers skip it), booklet claim ids of the rural fund and
/// charity providers' ids.

#include <cstdint>
#include <string>

#include "sanad/core/status.h"

namespace sanad {

struct GeneratorOptions {
  int64_t lines = 1000000;
  uint64_t seed = 1;
  bool csv = false;          // else NDJSON (nested claims and flat lines mixed)
  int64_t ptp_pairs = 1000000;
  int threads = 0;
  bool month_end = false;    // arrival order with lag, ~2 lines a claim, Persian text (above)
};

/// Claim lines as NDJSON or CSV text (about `lines` lines; claims are whole).
std::string GenerateClaimsText(const GeneratorOptions& options);

/// Writes claims.(ndjson|csv), mri.csv, tariff.csv and ptp.csv into `dir`.
Status GenerateClaimsFiles(const GeneratorOptions& options, const std::string& dir);

}  // namespace sanad
