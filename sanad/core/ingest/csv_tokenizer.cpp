#include "sanad/core/ingest/csv_tokenizer.h"

#include <cstring>

namespace sanad {


size_t SplitCsvRecord(std::string_view d, size_t pos, size_t end, std::vector<CsvCell>* cells, int64_t* newlines,
                   bool* unterminated) {
  cells->clear();
  *newlines = 0;
  *unterminated = false;
  size_t cell_begin = pos;
  bool quoted = false;
  while (true) {
    if (pos < end && d[pos] == '"' && pos == cell_begin) {
      quoted = true;
      ++pos;
      while (true) {
        const char* q = static_cast<const char*>(std::memchr(d.data() + pos, '"', end - pos));
        if (q == nullptr) {
          for (size_t i = pos; i < end; ++i) *newlines += d[i] == '\n';
          *unterminated = true;
          cells->push_back({cell_begin, end, true});
          return end;
        }
        size_t qpos = static_cast<size_t>(q - d.data());
        for (size_t i = pos; i < qpos; ++i) *newlines += d[i] == '\n';
        pos = qpos + 1;
        if (pos < end && d[pos] == '"') { ++pos; continue; }  // escaped quote
        break;
      }
    }
    // Unquoted part (or after the closing quote): up to ',' or '\n'.
    while (pos < end && d[pos] != ',' && d[pos] != '\n') ++pos;
    size_t cell_end = pos;
    if (cell_end > cell_begin && d[cell_end - 1] == '\r' && (pos >= end || d[pos] == '\n')) --cell_end;
    cells->push_back({cell_begin, cell_end, quoted});
    if (pos >= end) return end;
    if (d[pos] == '\n') { ++*newlines; return pos + 1; }
    ++pos;  // ','
    cell_begin = pos;
    quoted = false;
  }
}

// The cell's text with quotes removed and "" unescaped (into scratch when needed).
std::string_view CsvCellText(std::string_view d, const CsvCell& c, std::string* scratch, bool* ok) {
  *ok = true;
  if (!c.quoted) return d.substr(c.begin, c.end - c.begin);
  // "...."rest : text between the quotes, "" -> ", then anything after the closing quote is an error.
  size_t pos = c.begin + 1;
  size_t start = scratch->size();
  bool has_escape = false;
  size_t close = c.end;
  for (size_t i = pos; i < c.end; ++i) {
    if (d[i] == '"') {
      if (i + 1 < c.end && d[i + 1] == '"') { has_escape = true; ++i; continue; }
      close = i;
      break;
    }
  }
  if (close == c.end || close + 1 != c.end) *ok = false;  // unterminated or junk after quote
  if (close > c.end) close = c.end;
  if (!has_escape) return d.substr(pos, close - pos);
  for (size_t i = pos; i < close; ++i) {
    scratch->push_back(d[i]);
    if (d[i] == '"') ++i;
  }
  return std::string_view(scratch->data() + start, scratch->size() - start);
}

}  // namespace sanad
