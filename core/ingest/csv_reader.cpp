// CSV ingestion (RFC 4180: header row, quoted cells with "" escapes and
// embedded newlines, CRLF tolerated). An empty cell means "absent".

#include <charconv>
#include <cstring>
#include <string>

#include <simdjson.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "core/calendar.h"
#include "core/ingest/chunk_builder.h"
#include "core/ingest/chunking.h"
#include "core/ingest/claims_reader.h"
#include "core/ingest/field_lookup.h"

namespace sanad {
namespace {

struct Cell {
  size_t begin, end;  // raw extent, quotes included
  bool quoted;
};

// Splits one record starting at `pos` into cells. Returns the position after
// the record's terminating newline (or end), the number of newlines consumed,
// and whether a quote was left open.
size_t SplitRecord(std::string_view d, size_t pos, size_t end, std::vector<Cell>* cells, int64_t* newlines,
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
std::string_view CellText(std::string_view d, const Cell& c, std::string* scratch, bool* ok) {
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

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  auto r = std::from_chars(b, e, *out);
  return r.ec == std::errc() && r.ptr == e;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ParseCsvValue(std::string_view text, ValueType type, size_t max_string, RawValue* out, std::string* msg) {
  out->state = RawValue::kValue;
  switch (type) {
    case ValueType::kString:
      if (!simdjson::validate_utf8(text.data(), text.size())) { *msg = "invalid UTF-8"; return false; }
      (void)max_string;
      out->s = text;
      return true;
    case ValueType::kInt: {
      std::string_view t = Trim(text);
      if (!ParseInt(t, &out->i)) {
        bool digits = !t.empty();
        for (size_t i = (t.size() && t[0] == '-') ? 1 : 0; i < t.size(); ++i) digits &= (t[i] >= '0' && t[i] <= '9');
        *msg = digits && t != "-" ? "integer out of the 64-bit range"
                                  : "expected an integer, got '" + std::string(t.substr(0, 64)) + "'";
        return false;
      }
      return true;
    }
    case ValueType::kBool: {
      std::string_view t = Trim(text);
      auto eq = [&](std::string_view w) {
        if (t.size() != w.size()) return false;
        for (size_t i = 0; i < t.size(); ++i)
          if ((t[i] | 0x20) != w[i]) return false;
        return true;
      };
      if (eq("true") || t == "1") { out->i = 1; return true; }
      if (eq("false") || t == "0") { out->i = 0; return true; }
      *msg = "expected true or false, got '" + std::string(t.substr(0, 64)) + "'";
      return false;
    }
    case ValueType::kDate: {
      std::string_view t = Trim(text);
      Days d;
      if (!ParseIsoDate(t, &d)) {
        *msg = "invalid date '" + std::string(t.substr(0, 64)) + "' (expected YYYY-MM-DD)";
        return false;
      }
      out->i = d;
      return true;
    }
  }
  return false;
}

class CsvChunkParser {
 public:
  CsvChunkParser(const Schema& schema, const std::vector<int>& column_field, ChunkBuilder& out)
      : schema_(schema), column_field_(column_field), out_(out) {}

  void ParseChunk(std::string_view d, size_t begin, size_t end) {
    int64_t line = 1;  // chunk-relative line where the next record starts
    size_t pos = begin;
    std::vector<RawValue> vals(static_cast<size_t>(schema_.size()));
    while (pos < end) {
      int64_t nl = 0;
      bool unterminated = false;
      size_t next = SplitRecord(d, pos, end, &cells_, &nl, &unterminated);
      const bool blank = cells_.size() == 1 && cells_[0].end == cells_[0].begin && !cells_[0].quoted;
      if (!blank) ParseRow(d, pos, next, line, unterminated, vals);
      line += nl;
      pos = next;
    }
    // Lines in the chunk: a final record without '\n' still occupies a line.
    out_.line_count = line - 1 + ((end > begin && d[end - 1] != '\n') ? 1 : 0);
  }

 private:
  void ParseRow(std::string_view d, size_t row_begin, size_t row_end, int64_t line, bool unterminated,
                std::vector<RawValue>& vals) {
    out_.BeginRecord(line);
    LoadError err;
    if (row_end - row_begin > out_.options().max_record_bytes) {
      err.message = "record of " + std::to_string(row_end - row_begin) + " bytes exceeds the limit of " +
                    std::to_string(out_.options().max_record_bytes);
      out_.FailRecord(std::move(err));
      return;
    }
    if (unterminated) {
      err.message = "unterminated quoted cell";
      out_.FailRecord(std::move(err));
      return;
    }
    if (cells_.size() != column_field_.size()) {
      err.message = "expected " + std::to_string(column_field_.size()) + " cells, got " + std::to_string(cells_.size());
      out_.FailRecord(std::move(err));
      return;
    }
    scratch_.clear();
    scratch_.reserve(row_end - row_begin);
    for (RawValue& v : vals) v = RawValue{};
    for (size_t k = 0; k < cells_.size(); ++k) {
      const int f = column_field_[k];
      if (f < 0) continue;
      bool ok;
      std::string_view text = CellText(d, cells_[k], &scratch_, &ok);
      if (!ok) {
        err.field = schema_.field(f).name;
        err.message = "malformed quoted cell";
        out_.FailRecord(std::move(err));
        return;
      }
      if (text.empty()) continue;  // absent
      std::string msg;
      if (!ParseCsvValue(text, schema_.field(f).type, out_.options().max_string_bytes, &vals[static_cast<size_t>(f)], &msg)) {
        err.field = schema_.field(f).name;
        err.message = std::move(msg);
        out_.FailRecord(std::move(err));
        return;
      }
    }
    if (!out_.AppendLine(vals.data(), &err)) { out_.FailRecord(std::move(err)); return; }
    out_.CommitRecord();
  }

  const Schema& schema_;
  const std::vector<int>& column_field_;
  ChunkBuilder& out_;
  std::vector<Cell> cells_;
  std::string scratch_;
};

}  // namespace

Result<LoadedClaims> ReadCsv(std::string_view d, const Schema& schema, const LoadOptions& options) {
  size_t pos = 0;
  if (d.size() >= 3 && std::memcmp(d.data(), "\xEF\xBB\xBF", 3) == 0) pos = 3;
  // Header (skipping leading blank lines).
  std::vector<Cell> cells;
  int64_t header_lines = 0, nl = 0;
  bool unterminated = false;
  size_t data_begin = pos;
  while (true) {
    if (pos >= d.size()) {  // empty file: no records
      std::vector<ChunkBuilder> none;
      return AssembleChunks(none, schema, options);
    }
    data_begin = SplitRecord(d, pos, d.size(), &cells, &nl, &unterminated);
    header_lines += nl;
    if (!(cells.size() == 1 && cells[0].begin == cells[0].end)) break;
    pos = data_begin;
  }
  if (unterminated) return Status::Invalid("line 1: unterminated quoted cell in the header");
  if (nl == 0 && data_begin >= d.size()) ++header_lines;
  std::vector<int> column_field(cells.size(), -1);
  std::vector<bool> seen(static_cast<size_t>(schema.size()), false);
  internal::FieldLookup lookup(schema);
  std::string scratch;
  for (size_t k = 0; k < cells.size(); ++k) {
    bool ok;
    std::string_view name = Trim(CellText(d, cells[k], &scratch, &ok));
    const int f = lookup.Find(name);
    if (f < 0) continue;
    if (seen[static_cast<size_t>(f)]) return Status::Invalid("header: column '" + std::string(name) + "' appears twice");
    seen[static_cast<size_t>(f)] = true;
    column_field[k] = f;
  }
  for (int f = 0; f < schema.size(); ++f)
    if (schema.field(f).required && !seen[static_cast<size_t>(f)])
      return Status::Invalid("header: missing required column '" + schema.field(f).name + "'");

  const int threads = internal::ResolveThreads(options.threads);
  std::vector<size_t> bounds =
      internal::SplitAtNewlines(d, data_begin, internal::ChunkCount(d.size() - data_begin, threads), true);
  const size_t n = bounds.size() - 1;
  std::vector<ChunkBuilder> chunks(n, ChunkBuilder(schema, options));
  tbb::task_arena arena(internal::ArenaThreads(options.threads));
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, n, [&](size_t c) {
      CsvChunkParser parser(schema, column_field, chunks[c]);
      parser.ParseChunk(d, bounds[c], bounds[c + 1]);
    });
  });
  // Header lines come first: shift chunk 0 (and so every chunk) by them.
  if (!chunks.empty()) {
    for (auto& r : chunks[0].records) r.line += header_lines;
    for (auto& e : chunks[0].errors) e.line += header_lines;
    chunks[0].line_count += header_lines;
  }
  Result<LoadedClaims> out = Status::Invalid("");
  arena.execute([&] { out = AssembleChunks(chunks, schema, options); });
  return out;
}

}  // namespace sanad
