#include "sanad/core/ingest/csv_tokenizer.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sanad {
namespace {

#if defined(__SSE2__)
// Bits of the bytes equal to `c` in d[pos, pos + 64).
inline uint64_t Mask64(const char* p, char c) {
  const __m128i k = _mm_set1_epi8(c);
  uint64_t m = 0;
  for (int i = 0; i < 4; ++i) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    m |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, k)))) << (16 * i);
  }
  return m;
}

// The common record, one without a '"': its cells from the bit masks of
// ',' and '\n' in 64-byte blocks, with no per-byte loop. Returns false
// (cells untouched beyond what the caller clears) when the record has a
// quote or runs to within 64 bytes of `end`; the byte loop then reads it.
bool SplitUnquotedRecord(std::string_view d, size_t pos, size_t end, std::vector<CsvCell>* cells, size_t* next) {
  size_t cell_begin = pos;
  for (size_t block = pos; block + 64 <= end; block += 64) {
    const char* p = d.data() + block;
    const uint64_t nl = Mask64(p, '\n');
    const uint64_t quote = Mask64(p, '"');
    // Only what lies before the record's newline matters.
    const uint64_t upto = nl ? (nl & (0 - nl)) - 1 : ~uint64_t{0};
    if (quote & upto) return false;
    uint64_t seps = (Mask64(p, ',') & upto) | (nl & (0 - nl));
    while (seps) {
      const size_t at = block + static_cast<size_t>(__builtin_ctzll(seps));
      seps &= seps - 1;
      if (d[at] == '\n') {
        size_t cell_end = at;
        if (cell_end > cell_begin && d[cell_end - 1] == '\r') --cell_end;
        cells->push_back({cell_begin, cell_end, false});
        *next = at + 1;
        return true;
      }
      cells->push_back({cell_begin, at, false});
      cell_begin = at + 1;
    }
  }
  return false;
}
#endif

}  // namespace


size_t SplitCsvRecord(std::string_view d, size_t pos, size_t end, std::vector<CsvCell>* cells, int64_t* newlines,
                   bool* unterminated) {
  cells->clear();
  *newlines = 0;
  *unterminated = false;
#if defined(__SSE2__)
  size_t next;
  if (SplitUnquotedRecord(d, pos, end, cells, &next)) {
    *newlines = 1;
    return next;
  }
  cells->clear();
#endif
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
