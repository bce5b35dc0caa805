#pragma once
// Shared body of the NDJSON and CSV ingestion fuzz targets: arbitrary bytes
// through a reader in both error modes. Must never crash, hang or leak, and
// nothing may be lost: in skip mode every record is loaded or reported
// (records_read = loaded + errors), and fail mode succeeds exactly when skip
// mode finds no error; and the load is the same for any thread count and
// chunk size (chunk boundaries must agree with the tokenizer). A CSV file whose header is unusable is refused as a
// whole, in both modes, with a message naming the header.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sanad/core/ingest/claims_reader.h"
#include "tests/support/load_equality.h"

namespace sanad::fuzz {

inline const Schema& FuzzSchema() {
  static Schema s = [] {
    Schema x = Schema::Standard();
    (void)x.AddExtra("score", ValueType::kInt);
    (void)x.AddExtra("admit", ValueType::kDate);
    (void)x.AddExtra("flag", ValueType::kBool);
    return x;
  }();
  return s;
}

template <typename Reader>
int FuzzIngest(const uint8_t* data, size_t size, Reader read, bool whole_file_errors) {
  if (size > (1 << 16)) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  LoadOptions skip;
  skip.on_error = OnError::kSkip;
  skip.threads = 1;
  skip.max_string_bytes = 256;
  skip.max_items_per_claim = 64;
  Result<LoadedClaims> s = read(text, FuzzSchema(), skip);
  LoadOptions fail = skip;
  fail.on_error = OnError::kFail;
  if (!s.ok()) {
    if (!whole_file_errors || s.status().message().find("header") == std::string::npos) std::abort();
    if (read(text, FuzzSchema(), fail).ok()) std::abort();
    return 0;
  }
  const LoadedClaims& l = s.value();
  if (l.records_read != l.records_loaded + static_cast<int64_t>(l.errors.size())) std::abort();
  if (static_cast<int64_t>(l.batch.size()) < l.records_loaded) std::abort();
  if (l.input_lines.size() != l.batch.size()) std::abort();
  Result<LoadedClaims> f = read(text, FuzzSchema(), fail);
  if (f.ok() != l.errors.empty()) std::abort();
  if (f.ok() && f.value().batch.size() != l.batch.size()) std::abort();
  LoadOptions split = skip;
  split.threads = 3;
  split.min_chunk_bytes = 1 + size % 61;
  Result<LoadedClaims> p = read(text, FuzzSchema(), split);
  if (!p.ok() || !sanad::testing::DescribeLoadDifference(l, p.value()).empty()) std::abort();
  return 0;
}

}  // namespace sanad::fuzz
