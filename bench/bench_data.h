#pragma once
/// Shared benchmark inputs: generated claims (cached per size and format),
/// the example rule set with generated reference data, loaded batches.

#include <map>
#include <memory>
#include <string>

#include "sanad/core/ingest/claims_reader.h"
#include "sanad/api/rules.h"

namespace sanad::bench {

/// Generated claims text (seed 1), cached.
const std::string& ClaimsText(int64_t lines, bool csv);

/// The example rule set (examples/outpatient.sanad) with reference data
/// generated like `sanad gen` (1M ptp pairs), cached.
Rules& ExampleRules();

/// The example rule set with three payers (kSettlementPayers): basic with a
/// deductible and bands per insured and year, supplementary on what is left,
/// assistance for the rural fund with a line ceiling.
extern const char* const kSettlementPayers;
Rules& ExampleRulesWithSettlement();
Rules& ExampleRulesWithOnePayer();  // the first of those payers only

/// `lines` generated claims loaded against the example's schema, cached.
const LoadedClaims& ExampleClaims(int64_t lines);

/// Peak resident set size of this process, from the OS (bytes).
size_t PeakRssBytes();

}  // namespace sanad::bench
