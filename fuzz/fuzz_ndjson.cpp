// libFuzzer target: arbitrary bytes as NDJSON claims (see ingest_fuzz.h).
#include "fuzz/ingest_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sanad::fuzz::FuzzIngest(data, size, sanad::ReadNdjson, /*whole_file_errors=*/false);
}
