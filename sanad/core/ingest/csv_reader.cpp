// CSV ingestion (RFC 4180: header row, quoted cells with "" escapes and
// embedded newlines, CRLF tolerated). An empty cell means "absent".

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>

#include <simdjson.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "sanad/core/calendar.h"
#include "sanad/core/ingest/chunk_builder.h"
#include "sanad/core/ingest/chunking.h"
#include "sanad/core/ingest/claims_reader.h"
#include "sanad/core/ingest/csv_tokenizer.h"
#include "sanad/core/ingest/field_lookup.h"

namespace sanad {
namespace {

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

bool ParseCsvValue(std::string_view text, ValueType type, bool utf8_known_valid, RawValue* out, std::string* msg) {
  out->state = RawValue::kValue;
  switch (type) {
    case ValueType::kString:
      if (!utf8_known_valid && !simdjson::validate_utf8(text.data(), text.size())) { *msg = "invalid UTF-8"; return false; }
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

  /// Parses every record that starts in [begin, start_limit), starting at
  /// `begin` as at the start of a record. A record may run past start_limit
  /// (a quoted cell with newlines); it is read to its end within `d`.
  /// Returns the position after the last record read: where the next record
  /// starts, as a serial parse of the whole input would see it.
  size_t ParseChunk(std::string_view d, size_t begin, size_t start_limit) {
    // One UTF-8 check for the whole chunk; cells are checked one by one only
    // when it fails, to name the bad field.
    const size_t end = d.size();
    start_limit = std::min(start_limit, end);
    utf8_valid_ = begin >= start_limit || simdjson::validate_utf8(d.data() + begin, start_limit - begin);
    int64_t line = 1;  // chunk-relative line where the next record starts
    size_t pos = begin;
    std::vector<RawValue> vals(static_cast<size_t>(schema_.size()));
    while (pos < start_limit && pos < end) {
      int64_t nl = 0;
      bool unterminated = false;
      size_t next = SplitCsvRecord(d, pos, end, &cells_, &nl, &unterminated);
      if (next > start_limit && !utf8_valid_tail_checked_) {
        // The last record runs past the chunk: check its tail too.
        utf8_valid_ = utf8_valid_ && simdjson::validate_utf8(d.data() + start_limit, next - start_limit);
        utf8_valid_tail_checked_ = true;
      }
      const bool blank = cells_.size() == 1 && cells_[0].end == cells_[0].begin && !cells_[0].quoted;
      if (!blank) ParseRow(d, pos, next, line, unterminated, vals);
      line += nl;
      pos = next;
      out_.NoteProgress(pos - begin, start_limit - begin);
    }
    // Lines in the chunk: a final record without '\n' still occupies a line.
    out_.line_count = line - 1 + ((pos > begin && d[pos - 1] != '\n') ? 1 : 0);
    return pos;
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
      std::string_view text = CsvCellText(d, cells_[k], &scratch_, &ok);
      if (!ok) {
        err.field = schema_.field(f).name;
        err.message = "malformed quoted cell";
        out_.FailRecord(std::move(err));
        return;
      }
      if (text.empty()) continue;  // absent
      std::string msg;
      if (!ParseCsvValue(text, schema_.field(f).type, utf8_valid_, &vals[static_cast<size_t>(f)], &msg)) {
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
  std::vector<CsvCell> cells_;
  std::string scratch_;
  bool utf8_valid_ = false;
  bool utf8_valid_tail_checked_ = false;
};

}  // namespace

Result<LoadedClaims> ReadCsv(std::string_view d, const Schema& schema, const LoadOptions& options) {
  size_t pos = 0;
  if (d.size() >= 3 && std::memcmp(d.data(), "\xEF\xBB\xBF", 3) == 0) pos = 3;
  // Header (skipping leading blank lines).
  std::vector<CsvCell> cells;
  int64_t header_lines = 0, nl = 0;
  bool unterminated = false;
  size_t data_begin = pos;
  while (true) {
    if (pos >= d.size()) {  // empty file: no records
      std::vector<ChunkBuilder> none;
      return AssembleChunks(none, schema, options);
    }
    data_begin = SplitCsvRecord(d, pos, d.size(), &cells, &nl, &unterminated);
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
    std::string_view name = Trim(CsvCellText(d, cells[k], &scratch, &ok));
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
      internal::SplitAtNewlines(d, data_begin, internal::ChunkCount(d.size() - data_begin, threads, options.min_chunk_bytes), true);
  const size_t n = bounds.size() - 1;
  // Chunks are parsed speculatively from boundaries guessed by quote parity;
  // that guess can be wrong (a '"' inside an unquoted cell is a literal to
  // the tokenizer). Each chunk reports where its last record really ended;
  // a chunk whose guessed start differs from that is parsed again from the
  // true start, in order. The records are then exactly those of a serial
  // parse, for any thread count.
  std::vector<ChunkBuilder> chunks(n, ChunkBuilder(schema, options));
  std::vector<size_t> stop(n, 0);
  tbb::task_arena arena(internal::ArenaThreads(options.threads));
  // Columns written in place (ChunkBuilder::WriteInPlace): a chunk has at
  // most as many records as newlines in its byte range, plus one (every
  // record starting in the range but the last ends at one of them), also
  // when it is parsed again from a corrected start inside that range.
  std::vector<uint64_t> first_row(n + 1, 0);  // 64-bit: a file may hold more lines than a batch
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, n, [&](size_t c) {
      first_row[c + 1] = static_cast<uint64_t>(std::count(d.data() + bounds[c], d.data() + bounds[c + 1], '\n')) + 1;
    });
  });
  for (size_t c = 0; c < n; ++c) first_row[c + 1] += first_row[c];
  std::vector<Column> in_place(static_cast<size_t>(schema.size()));
  const bool write_in_place = n > 1 && first_row[n] < UINT32_MAX;
  if (write_in_place) {
    for (int f = 0; f < schema.size(); ++f) {
      Column& c = in_place[static_cast<size_t>(f)];
      c.type = schema.field(f).type;
      if (c.type == ValueType::kInt) c.ints.resize(first_row[n]);  // uninitialised: the chunks write it
      else if (c.type != ValueType::kBool) c.codes.resize(first_row[n]);
    }
  }
  auto place = [&](size_t c) {
    if (write_in_place)
      chunks[c].WriteInPlace(in_place, static_cast<RowIndex>(first_row[c]), static_cast<RowIndex>(first_row[c + 1] - first_row[c]));
  };
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, n, [&](size_t c) {
      if (StopRequested(options.stop)) return;
      place(c);
      CsvChunkParser parser(schema, column_field, chunks[c]);
      stop[c] = parser.ParseChunk(d, bounds[c], bounds[c + 1]);
    });
  });
  if (StopRequested(options.stop)) return Status::Cancelled("interrupted while reading claims");
  for (size_t c = 1; c < n; ++c) {
    if (stop[c - 1] == bounds[c]) continue;
    bounds[c] = stop[c - 1];  // may lie past bounds[c + 1]: then chunk c has no records
    chunks[c] = ChunkBuilder(schema, options);
    place(c);
    CsvChunkParser parser(schema, column_field, chunks[c]);
    stop[c] = parser.ParseChunk(d, bounds[c], bounds[c + 1]);
  }
  // Header lines come first: shift chunk 0 (and so every chunk) by them.
  if (!chunks.empty()) {
    for (auto& r : chunks[0].records) r.line += header_lines;
    for (auto& e : chunks[0].errors) e.line += header_lines;
    chunks[0].line_count += header_lines;
  }
  Result<LoadedClaims> out = Status::Invalid("");
  arena.execute([&] { out = AssembleChunks(chunks, schema, options, 0, write_in_place ? &in_place : nullptr); });
  return out;
}

}  // namespace sanad
