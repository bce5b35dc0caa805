#pragma once
/// CSV tokenizing shared by claim ingestion and reference-data loading:
/// RFC 4180 records (quoted cells, "" escapes, embedded newlines, CRLF).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sanad {

struct CsvCell {
  size_t begin, end;  // raw extent, quotes included
  bool quoted;
};

/// Splits the record starting at `pos` into cells. Returns the position after
/// its terminating newline (or `end`), the newlines consumed and whether a
/// quote was left open.
size_t SplitCsvRecord(std::string_view d, size_t pos, size_t end, std::vector<CsvCell>* cells, int64_t* newlines,
                      bool* unterminated);

/// A cell's text with quotes removed and "" unescaped (into `scratch` when
/// needed; keep scratch alive and unreallocated while the view is used).
/// `ok` is false for junk after a closing quote.
std::string_view CsvCellText(std::string_view d, const CsvCell& c, std::string* scratch, bool* ok);

}  // namespace sanad
