#include "sanad/core/ingest/claims_reader.h"

#include "sanad/core/read_file.h"

#include <cstdio>
#include <sys/stat.h>

#include <cstring>

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
  if (*format == ClaimsFormat::kNdjson) {
    simdjson::padded_string data;
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (auto e = simdjson::padded_string::load(path).get(data)) {
        return Status::Io(path + ": " + (e == simdjson::IO_ERROR ? std::string(std::strerror(errno)) : simdjson::error_message(e)));
      }
    } else {
      // A pipe, FIFO or device cannot be sized up front: read it as a stream.
      Result<std::string> text = ReadFileToString(path);
      if (!text.ok()) return text.status();
      data = simdjson::padded_string(*text);
    }
    Result<LoadedClaims> r = internal::ReadNdjsonPadded(std::string_view(data.data(), data.size()), schema, options);
    if (!r.ok()) return Status(r.status().code(), path + ": " + r.status().message());
    return r;
  }
  Result<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  Result<LoadedClaims> r = ReadCsv(*text, schema, options);
  if (!r.ok()) return Status(r.status().code(), path + ": " + r.status().message());
  return r;
}

}  // namespace sanad
