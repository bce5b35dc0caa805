#pragma once
/// Reading claim lines from NDJSON and CSV (DATA.md §2) into a ClaimBatch.
/// Parallel with TBB over newline-aligned chunks; results (codes, order,
/// errors) do not depend on the thread count.

#include <string>
#include <string_view>

#include "sanad/core/ingest/load_options.h"
#include "sanad/core/status.h"

namespace sanad {

enum class ClaimsFormat { kNdjson, kCsv };

/// Format from the file name: .ndjson/.jsonl/.json -> NDJSON, .csv -> CSV.
Result<ClaimsFormat> FormatFromPath(std::string_view path);

/// `data` need not be padded; it is copied into a padded buffer when needed.
Result<LoadedClaims> ReadNdjson(std::string_view data, const Schema& schema, const LoadOptions& options);
Result<LoadedClaims> ReadCsv(std::string_view data, const Schema& schema, const LoadOptions& options);

/// Reads a whole file and dispatches on its extension. I/O errors name the path.
Result<LoadedClaims> ReadClaimsFile(const std::string& path, const Schema& schema, const LoadOptions& options);


}  // namespace sanad
