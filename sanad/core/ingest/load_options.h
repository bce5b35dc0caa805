#pragma once
/// Options, per-record errors and results of loading claim lines (DATA.md §2).

#include <cstdint>
#include <string>
#include <vector>

#include "sanad/core/stop.h"
#include "sanad/core/claim_batch.h"

namespace sanad {

enum class OnError : uint8_t {
  kFail,  // stop at the first bad record (in input order); the load fails
  kSkip,  // skip bad records and report every one of them
};

struct LoadOptions {
  OnError on_error = OnError::kFail;
  int threads = 0;                            // 0 = all cores
  size_t max_string_bytes = 64 * 1024;        // one string value
  size_t max_record_bytes = 16 * 1024 * 1024; // one NDJSON line / CSV row
  size_t max_items_per_claim = 100000;        // nested `lines` array
  /// Smallest chunk parsed in parallel. Results never depend on it (nor on
  /// `threads`); tests lower it to put chunk boundaries everywhere.
  size_t min_chunk_bytes = 1 << 20;
  /// Set from another thread or a signal handler to stop: the read then
  /// fails with StatusCode::kCancelled (core/stop.h).
  const StopFlag* stop = nullptr;
};

/// One bad record: its 1-based input line, the field at fault ("" when the
/// record as a whole is bad, e.g. malformed JSON) and what is wrong.
struct LoadError {
  int64_t line = 0;
  std::string field;
  std::string message;
  bool operator==(const LoadError&) const = default;
};

/// "line 12: field 'amount': negative amount -5"
std::string FormatLoadError(const LoadError& e);

struct LoadedClaims {
  ClaimBatch batch;
  std::vector<LoadError> errors;  // input-line order (kSkip); empty on success with kFail
  int64_t records_read = 0;       // records_loaded + errors.size()
  int64_t records_loaded = 0;
  /// Input line of each loaded claim line (parallel to the batch rows).
  std::vector<int64_t> input_lines;
};

}  // namespace sanad
