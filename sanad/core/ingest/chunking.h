#pragma once
/// Splitting input into newline-aligned chunks for parallel parsing, and
/// running one parse task per chunk.

#include <cstddef>
#include <string_view>
#include <vector>

namespace sanad::internal {

/// Boundaries b[0]=begin .. b[n]=end of up to `parts` chunks of data[begin,end),
/// each starting right after a '\n' (or at begin). When `csv_quotes` is set a
/// boundary is only taken at a newline outside double quotes.
std::vector<size_t> SplitAtNewlines(std::string_view data, size_t begin, size_t parts, bool csv_quotes);

/// Number of chunks to use for `bytes` of input on `threads` threads, each
/// at least `min_chunk_bytes` (LoadOptions::min_chunk_bytes).
size_t ChunkCount(size_t bytes, int threads, size_t min_chunk_bytes);

int ResolveThreads(int threads);
/// Threads for a task arena: the request, capped at the hardware's cores
/// (chunking still follows the request, so results are checked for any count).
int ArenaThreads(int threads);

}  // namespace sanad::internal

#include "sanad/core/ingest/load_options.h"
#include "sanad/core/status.h"

namespace sanad::internal {
/// NDJSON from a buffer followed by at least SIMDJSON_PADDING readable bytes.
Result<LoadedClaims> ReadNdjsonPadded(std::string_view data, const Schema& schema, const LoadOptions& options);
}  // namespace sanad::internal
