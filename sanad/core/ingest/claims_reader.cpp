#include "sanad/core/ingest/claims_reader.h"

#include "sanad/core/read_file.h"


#include <simdjson.h>

#include "sanad/core/ingest/chunking.h"

namespace sanad {
namespace {
bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
}  // namespace

Result<ClaimsFormat> FormatFromPath(std::string_view path) {
  if (EndsWith(path, ".ndjson") || EndsWith(path, ".jsonl") || EndsWith(path, ".json")) return ClaimsFormat::kNdjson;
  if (EndsWith(path, ".csv")) return ClaimsFormat::kCsv;
  return Status::Invalid(std::string(path) + ": unknown claims format (use .ndjson, .jsonl or .csv)");
}

Result<LoadedClaims> ReadClaimsFile(const std::string& path, const Schema& schema, const LoadOptions& options) {
  Result<ClaimsFormat> format = FormatFromPath(path);
  if (!format.ok()) return format.status();
  // Mapped, not copied (read_file.h); NDJSON gets simdjson's padding.
  Result<FileBytes> bytes = FileBytes::Open(path, simdjson::SIMDJSON_PADDING);
  if (!bytes.ok()) return bytes.status();
  const std::string_view data = bytes->view();
  Result<LoadedClaims> r = *format == ClaimsFormat::kNdjson ? internal::ReadNdjsonPadded(data, schema, options)
                                                           : ReadCsv(data, schema, options);
  if (!r.ok()) return Status(r.status().code(), path + ": " + r.status().message());
  return r;
}

}  // namespace sanad
