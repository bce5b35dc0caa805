// libFuzzer target: arbitrary bytes as NDJSON claims, in both error modes.
// Must never crash, hang or leak, and nothing may be lost: in skip mode
// every record is either loaded or reported (records_read = loaded +
// errors), and fail mode succeeds exactly when skip mode finds no error.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/ingest/claims_reader.h"

namespace {
const sanad::Schema& FuzzSchema() {
  static sanad::Schema s = [] {
    sanad::Schema x = sanad::Schema::Standard();
    (void)x.AddExtra("score", sanad::ValueType::kInt);
    (void)x.AddExtra("admit", sanad::ValueType::kDate);
    (void)x.AddExtra("flag", sanad::ValueType::kBool);
    return x;
  }();
  return s;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1 << 16)) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  sanad::LoadOptions skip;
  skip.on_error = sanad::OnError::kSkip;
  skip.threads = 1;
  skip.max_string_bytes = 256;
  skip.max_items_per_claim = 64;
  sanad::Result<sanad::LoadedClaims> s = sanad::ReadNdjson(text, FuzzSchema(), skip);
  if (!s.ok()) std::abort();  // skip mode never fails on content
  const sanad::LoadedClaims& l = s.value();
  if (l.records_read != l.records_loaded + static_cast<int64_t>(l.errors.size())) std::abort();
  if (static_cast<int64_t>(l.batch.size()) < l.records_loaded) std::abort();
  if (l.input_lines.size() != l.batch.size()) std::abort();
  sanad::LoadOptions fail = skip;
  fail.on_error = sanad::OnError::kFail;
  sanad::Result<sanad::LoadedClaims> f = sanad::ReadNdjson(text, FuzzSchema(), fail);
  if (f.ok() != l.errors.empty()) std::abort();
  if (f.ok() && f.value().batch.size() != l.batch.size()) std::abort();
  return 0;
}
