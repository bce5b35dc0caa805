#include "sanad/core/ingest/chunk_builder.h"

#include <algorithm>
#include <cstring>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <tbb/parallel_for.h>

namespace sanad {

std::string FormatLoadError(const LoadError& e) {
  std::string s = "line " + std::to_string(e.line) + ": ";
  if (!e.field.empty()) s += "field '" + e.field + "': ";
  return s + e.message;
}

ChunkBuilder::ChunkBuilder(const Schema& schema, const LoadOptions& options)
    : schema_(&schema), options_(&options) {
  columns.resize(static_cast<size_t>(schema.size()));
  for (int f = 0; f < schema.size(); ++f) {
    Column& c = columns[static_cast<size_t>(f)];
    c.type = schema.field(f).type;
    // line_no and seq track "explicitly given" in their validity until assembled.
    c.nullable = schema.field(f).nullable || f == kLineNo || f == kSeq;
  }
  queues_.resize(static_cast<size_t>(schema.size()));
}

void ChunkBuilder::WriteInPlace(std::vector<Column>& batch_columns, RowIndex first_row, RowIndex capacity) {
  in_place_ = true;
  in_capacity_ = capacity;
  in_codes_.assign(columns.size(), nullptr);
  in_ints_.assign(columns.size(), nullptr);
  for (size_t f = 0; f < columns.size(); ++f) {
    Column& dst = batch_columns[f];
    switch (columns[f].type) {
      case ValueType::kString:
      case ValueType::kDate: in_codes_[f] = dst.codes.data() + first_row; break;
      case ValueType::kInt: in_ints_[f] = dst.ints.data() + first_row; break;
      case ValueType::kBool: break;
    }
  }
}

void ChunkBuilder::LeavePlace() {
  FlushStrings();
  for (size_t f = 0; f < columns.size(); ++f) {
    if (in_codes_[f] != nullptr) columns[f].codes.assign(in_codes_[f], in_codes_[f] + rows_);
    if (in_ints_[f] != nullptr) columns[f].ints.assign(in_ints_[f], in_ints_[f] + rows_);
  }
  in_place_ = false;
}

const int32_t* ChunkBuilder::codes_of(int f) const {
  return in_place_ ? in_codes_[static_cast<size_t>(f)] : columns[static_cast<size_t>(f)].codes.data();
}
const int64_t* ChunkBuilder::ints_of(int f) const {
  return in_place_ ? in_ints_[static_cast<size_t>(f)] : columns[static_cast<size_t>(f)].ints.data();
}

template <typename Values, typename Bits>
void ChunkBuilder::ForEachStore(Values&& values, Bits&& bits) {
  for (Column& c : columns) {
    if (c.type == ValueType::kBool) bits(c.bits);
    else if (!in_place_ && c.type == ValueType::kInt) values(c.ints);
    else if (!in_place_) values(c.codes);
    if (c.nullable) bits(c.valid);
  }
}

void ChunkBuilder::NoteProgress(size_t bytes_read, size_t chunk_bytes) {
  constexpr RowIndex kSampleRows = 4096;
  if (reserved_ || rows_ < kSampleRows || bytes_read == 0) return;
  reserved_ = true;
  const double per_line = static_cast<double>(bytes_read) / rows_;
  const size_t expect = static_cast<size_t>(static_cast<double>(chunk_bytes) / per_line * 1.05) + kSampleRows;
  ForEachStore([&](auto& values) { values.reserve(expect); }, [&](Bitmap& bits) { bits.Reserve(expect); });
}

void ChunkBuilder::BeginRecord(int64_t line) {
  record_start_ = rows_;
  record_line_ = line;
}

void ChunkBuilder::CommitRecord() {
  records.push_back({record_line_, record_start_, rows_ - record_start_});
}

void ChunkBuilder::FailRecord(LoadError error) {
  Truncate(record_start_);
  error.line = record_line_;
  errors.push_back(std::move(error));
}

void ChunkBuilder::Queue(int f, std::string_view s) {
  StringQueue& q = queues_[static_cast<size_t>(f)];
  Column& c = columns[static_cast<size_t>(f)];
  if (s.size() > kQueueBytes) {  // a long value (the limit is the caller's): interned at once
    Flush(f);
    q.last_code = c.dict.Intern(s);
    PutCode(f, q.last_code);
    return;
  }
  if (q.last_entry >= 0) {
    const Queued& e = q.entries[static_cast<size_t>(q.last_entry)];
    if (std::string_view(q.bytes.data() + e.offset, e.size) == s) {
      q.entries.push_back({rows_, 0, 0, e.same_as >= 0 ? e.same_as : q.last_entry});
      PutCode(f, -1);
      if (q.entries.size() >= 4 * kQueue) Flush(f);  // a long run of one value
      return;
    }
  } else if (q.last_code >= 0 && c.dict.View(q.last_code) == s) {
    PutCode(f, q.last_code);
    return;
  }
  q.last_entry = static_cast<int32_t>(q.entries.size());
  q.entries.push_back({rows_, static_cast<uint32_t>(q.bytes.size()), static_cast<uint32_t>(s.size()), -1});
  q.hashes.push_back(StringDictionary::Hash(s));
  q.bytes.append(s);
  PutCode(f, -1);
  if (q.hashes.size() >= kQueue || q.bytes.size() >= kQueueBytes) Flush(f);
}

void ChunkBuilder::Flush(int f) {
  StringQueue& q = queues_[static_cast<size_t>(f)];
  if (q.entries.empty()) return;
  Column& c = columns[static_cast<size_t>(f)];
  std::string_view views[kQueue];
  int32_t got[kQueue];
  size_t n = 0;
  for (const Queued& e : q.entries)
    if (e.same_as < 0) views[n++] = std::string_view(q.bytes.data() + e.offset, e.size);
  c.dict.InternBatch(views, q.hashes.data(), n, got);
  // Entries that are new values take the batch's codes in order; repeats
  // take the code of the entry they repeat (always an earlier new one).
  int32_t* codes = code_slots(f);
  size_t k = 0;
  int32_t last = -1;
  for (Queued& e : q.entries) {
    if (e.same_as < 0) {
      last = got[k++];
      e.offset = static_cast<uint32_t>(last);  // reuse: the entry's code, for repeats below
    } else {
      last = static_cast<int32_t>(q.entries[static_cast<size_t>(e.same_as)].offset);
    }
    codes[e.row] = last;
  }
  q.last_code = last;
  q.last_entry = -1;
  q.entries.clear();
  q.hashes.clear();
  q.bytes.clear();
}

void ChunkBuilder::FlushStrings() {
  for (int f = 0; f < schema_->size(); ++f)
    if (columns[static_cast<size_t>(f)].type == ValueType::kString) Flush(f);
}

void ChunkBuilder::Truncate(RowIndex rows) {
  if (rows == rows_) return;
  FlushStrings();  // queued rows hold no codes yet
  ForEachStore([&](auto& values) { values.resize(rows); }, [&](Bitmap& bits) { bits.Resize(rows); });
  rows_ = rows;
}

bool ChunkBuilder::AppendLine(const RawValue* v, LoadError* err) {
  const int n = schema_->size();
  for (int f = 0; f < n; ++f) {
    const FieldDef& def = schema_->field(f);
    if (def.required && v[f].state != RawValue::kValue) {
      err->field = def.name;
      err->message = v[f].state == RawValue::kNull ? "required field is null" : "required field is missing";
      return false;
    }
    if (v[f].state == RawValue::kValue && def.type == ValueType::kString &&
        v[f].s.size() > options_->max_string_bytes) {
      err->field = def.name;
      err->message = "string of " + std::to_string(v[f].s.size()) + " bytes exceeds the limit of " +
                     std::to_string(options_->max_string_bytes);
      return false;
    }
  }
  if (v[kAmount].i < 0) {
    err->field = "amount";
    err->message = "negative amount " + std::to_string(v[kAmount].i);
    return false;
  }
  if (v[kPatientPaid].state == RawValue::kValue && v[kPatientPaid].i < 0) {
    err->field = "patient_paid";
    err->message = "negative patient_paid " + std::to_string(v[kPatientPaid].i);
    return false;
  }
  if (in_place_ && rows_ >= in_capacity_) LeavePlace();
  for (int f = 0; f < n; ++f) {
    Column& c = columns[static_cast<size_t>(f)];
    const RawValue& rv = v[f];
    bool has = rv.state == RawValue::kValue;
    int64_t iv = rv.i;
    if (!has && f == kQuantity) { has = true; iv = 1; }
    if (!has && f == kReferral) { has = true; iv = 0; }
    switch (c.type) {
      case ValueType::kString: {
        if (has) {
          Queue(f, rv.s);
        } else {
          PutCode(f, -1);
        }
        break;
      }
      case ValueType::kDate: PutCode(f, has ? static_cast<int32_t>(iv) : 0); break;
      case ValueType::kInt: PutInt(f, has ? iv : 0); break;
      case ValueType::kBool: c.bits.PushBack(has && iv != 0); break;
    }
    if (c.nullable) c.valid.PushBack(has);
  }
  ++rows_;
  return true;
}

namespace {

struct DupKey {
  int32_t claim;
  int64_t line_no;
  bool operator==(const DupKey&) const = default;
};
struct DupKeyHash {
  size_t operator()(const DupKey& k) const {
    return absl::Hash<std::pair<int32_t, int64_t>>{}({k.claim, k.line_no});
  }
};

template <typename Vector>
void CompactVector(Vector& v, const std::vector<RowIndex>& keep) {
  for (size_t i = 0; i < keep.size(); ++i) v[i] = v[keep[i]];
  v.resize(keep.size());
}

void CompactBitmap(Bitmap& b, const std::vector<RowIndex>& keep) {
  Bitmap out;
  out.Reserve(keep.size());
  for (RowIndex r : keep) out.PushBack(b.Get(r));
  b = std::move(out);
}

}  // namespace

namespace {

// Row and line offsets of each chunk in the assembled input.
struct ChunkOffsets {
  std::vector<RowIndex> row;   // nchunks + 1
  std::vector<int64_t> line;   // nchunks + 1
  RowIndex rows = 0;
};

Result<ChunkOffsets> OffsetsOf(const std::vector<ChunkBuilder>& chunks) {
  ChunkOffsets o;
  o.row.assign(chunks.size() + 1, 0);
  o.line.assign(chunks.size() + 1, 0);
  uint64_t total = 0;
  for (size_t c = 0; c < chunks.size(); ++c) {
    o.row[c] = static_cast<RowIndex>(total);
    total += chunks[c].rows();
    o.line[c + 1] = o.line[c] + chunks[c].line_count;
  }
  if (total > UINT32_MAX - 1) return Status::Limit("more than 4294967294 claim lines in one batch");
  o.rows = static_cast<RowIndex>(total);
  o.row[chunks.size()] = o.rows;
  return o;
}

// One column of the batch from every chunk: dictionaries merged in chunk
// order (the first chunk's codes stay; later chunks' strings are interned
// after it), values remapped and laid end to end. When every chunk wrote in
// place into `in_place` (WriteInPlace), that column becomes the batch's:
// each chunk's rows move down over the gaps left before them (forward, so
// the move never overwrites rows not yet moved), remapped on the way.
// Otherwise the values are copied into a new column. Frees the chunks'.
void MergeColumn(std::vector<ChunkBuilder>& chunks, const ChunkOffsets& off, int f, Column& dst,
                 Column* in_place) {
  const size_t nchunks = chunks.size();
  const RowIndex nrows = off.rows;
  const size_t fi = static_cast<size_t>(f);
  dst.nullable = chunks.empty() ? dst.nullable : chunks[0].columns[fi].nullable;
  std::vector<std::vector<int32_t>> remap(nchunks);
  size_t entries = 0;
  if (dst.type == ValueType::kString)
    for (const ChunkBuilder& c : chunks) entries += static_cast<size_t>(c.columns[fi].dict.size());
  if (nchunks > 1 && entries > (size_t{1} << 16)) {  // large (claim, insured ids): merged in parallel
    std::vector<StringDictionary*> parts;
    for (ChunkBuilder& c : chunks) parts.push_back(&c.columns[fi].dict);
    dst.dict = StringDictionary::MergeInOrder(parts, &remap);
  } else if (dst.type == ValueType::kString) {
    size_t first = 0;
    if (nchunks > 0) {
      StringDictionary& d0 = chunks[0].columns[fi].dict;
      remap[0].resize(static_cast<size_t>(d0.size()));
      for (int32_t k = 0; k < d0.size(); ++k) remap[0][static_cast<size_t>(k)] = k;
      dst.dict = std::move(d0);
      first = 1;
    }
    for (size_t c = first; c < nchunks; ++c) {
      const StringDictionary& d = chunks[c].columns[fi].dict;
      remap[c].resize(static_cast<size_t>(d.size()));
      for (int32_t k = 0; k < d.size(); ++k) remap[c][static_cast<size_t>(k)] = dst.dict.Intern(d.View(k), d.HashOf(k));
    }
  }
  const bool moved = in_place != nullptr && dst.type != ValueType::kBool;
  if (moved) {
    if (dst.type == ValueType::kInt) dst.ints = std::move(in_place->ints);
    else dst.codes = std::move(in_place->codes);
  } else if (dst.type == ValueType::kInt) {
    dst.ints.resize(nrows);
  } else if (dst.type != ValueType::kBool) {
    dst.codes.resize(nrows);
  }
  for (size_t c = 0; c < nchunks; ++c) {
    const ChunkBuilder& ch = chunks[c];
    const size_t rows = ch.rows();
    switch (dst.type) {
      case ValueType::kString: {
        const int32_t* src = ch.codes_of(f);
        const int32_t* map = remap[c].data();
        int32_t* o = dst.codes.data() + off.row[c];
        for (size_t i = 0; i < rows; ++i) o[i] = src[i] < 0 ? -1 : map[src[i]];
        break;
      }
      case ValueType::kDate:
        if (ch.codes_of(f) != dst.codes.data() + off.row[c])
          std::memmove(dst.codes.data() + off.row[c], ch.codes_of(f), rows * sizeof(int32_t));
        break;
      case ValueType::kInt:
        if (ch.ints_of(f) != dst.ints.data() + off.row[c])
          std::memmove(dst.ints.data() + off.row[c], ch.ints_of(f), rows * sizeof(int64_t));
        break;
      case ValueType::kBool:
        if (c == 0) dst.bits.Reserve(nrows);
        dst.bits.Append(ch.columns[fi].bits);
        break;
    }
  }
  if (moved) {
    if (dst.type == ValueType::kInt) dst.ints.resize(nrows);
    else dst.codes.resize(nrows);
  }
  if (dst.nullable) {
    dst.valid.Reserve(nrows);
    for (size_t c = 0; c < nchunks; ++c) dst.valid.Append(chunks[c].columns[fi].valid);
  }
  for (size_t c = 0; c < nchunks; ++c) chunks[c].columns[fi] = Column();  // free early
}

// The records of every chunk in input order, with absolute lines and rows,
// read where the chunks keep them (copying them into one vector cost 0.2 s
// and 80 MB of fresh memory at 5M lines).
class AllRecords {
 public:
  AllRecords(const std::vector<ChunkBuilder>& chunks, const ChunkOffsets& off) : chunks_(chunks), off_(off) {
    for (const ChunkBuilder& c : chunks) size_ += c.records.size();
  }
  size_t size() const { return size_; }
  // Yields the records in order: `while (cursor.Next(&rec))`.
  class Cursor {
   public:
    explicit Cursor(const AllRecords& all) : all_(all) {}
    bool Next(RecordInfo* rec) {
      while (chunk_ < all_.chunks_.size() && next_ == all_.chunks_[chunk_].records.size()) {
        ++chunk_;
        next_ = 0;
      }
      if (chunk_ == all_.chunks_.size()) return false;
      const RecordInfo& r = all_.chunks_[chunk_].records[next_++];
      *rec = {r.line + all_.off_.line[chunk_], r.first_row + all_.off_.row[chunk_], r.rows};
      return true;
    }

   private:
    const AllRecords& all_;
    size_t chunk_ = 0, next_ = 0;
  };

 private:
  const std::vector<ChunkBuilder>& chunks_;
  const ChunkOffsets& off_;
  size_t size_ = 0;
};

// line_no defaults (1, 2, ... per claim_id among the lines kept before) and
// duplicate (claim_id, line_no) detection in input order; a record with a
// duplicate is refused whole (refused[ri] = 1, an error appended). Returns
// whether any record was refused. O(lines): hash sets per record.
bool AssignLineNumbers(ClaimBatch& batch, const AllRecords& records, const LoadOptions& options,
                       int64_t first_error_line, std::vector<LoadError>& errors, std::vector<uint8_t>& refused) {
  Column& claim = batch.column(kClaimId);
  Column& line_no = batch.column(kLineNo);
  std::vector<uint32_t> seen(static_cast<size_t>(claim.dict.size()), 0);
  if (line_no.valid.Count() == 0) {  // no explicit line_no: no duplicates possible
    for (RowIndex r = 0; r < batch.size(); ++r) line_no.ints[r] = ++seen[static_cast<size_t>(claim.codes[r])];
    return false;
  }
  bool any_refused = false;
  refused.assign(records.size(), 0);
  // Lines of the record being read, not yet committed: a record is refused
  // whole, so its keys join `first_line` only when it is kept. `pending_of`
  // counts the pending lines per claim (the default line_no of the next one).
  absl::flat_hash_map<DupKey, int64_t, DupKeyHash> first_line;
  absl::flat_hash_set<DupKey, DupKeyHash> pending;
  absl::flat_hash_map<int32_t, uint32_t> pending_of;
  AllRecords::Cursor cursor(records);
  RecordInfo rec;
  for (size_t ri = 0; cursor.Next(&rec); ++ri) {
    if (options.on_error == OnError::kFail && rec.line > first_error_line) break;
    pending.clear();
    pending_of.clear();
    bool dup = false;
    DupKey dup_key{};
    int64_t dup_first = 0;
    for (RowIndex r = rec.first_row; r < rec.first_row + rec.rows; ++r) {
      const int32_t cc = claim.codes[r];
      uint32_t& in_record = pending_of[cc];
      const int64_t pos = static_cast<int64_t>(seen[static_cast<size_t>(cc)]) + 1 + in_record;
      const int64_t ln = line_no.valid.Get(r) ? line_no.ints[r] : pos;
      line_no.ints[r] = ln;
      const DupKey key{cc, ln};
      auto it = first_line.find(key);
      if (it != first_line.end() || pending.contains(key)) {
        dup = true;
        dup_key = key;
        dup_first = it != first_line.end() ? it->second : rec.line;
        break;
      }
      pending.insert(key);
      ++in_record;
    }
    if (dup) {
      refused[ri] = 1;
      any_refused = true;
      errors.push_back({rec.line, "line_no",
                        "duplicate line (claim_id '" + std::string(claim.dict.View(dup_key.claim)) + "', line_no " +
                            std::to_string(dup_key.line_no) + "); first seen at input line " + std::to_string(dup_first)});
      if (options.on_error == OnError::kFail) break;
      continue;
    }
    for (const DupKey& k : pending) first_line.emplace(k, rec.line);
    for (const auto& [cc, n] : pending_of) seen[static_cast<size_t>(cc)] += n;
  }
  return any_refused;
}

// The input line of every row; the rows of refused records removed.
// Returns the number of records kept.
int64_t KeepAcceptedRows(LoadedClaims& out, const std::vector<ChunkBuilder>& chunks, const ChunkOffsets& off,
                         const AllRecords& records, const std::vector<uint8_t>& refused, bool any_refused) {
  const RowIndex nrows = out.batch.size();
  out.input_lines.resize(nrows);
  std::vector<RowIndex> keep;
  if (any_refused) {
    keep.reserve(nrows);
    AllRecords::Cursor cursor(records);
    RecordInfo rec;
    for (size_t ri = 0; cursor.Next(&rec); ++ri) {
      for (RowIndex r = rec.first_row; r < rec.first_row + rec.rows; ++r) {
        out.input_lines[r] = rec.line;
        if (!refused[ri]) keep.push_back(r);
      }
    }
  } else {  // each chunk's rows are its own range: in parallel (one chunk, an online claim: no tasks)
    auto fill = [&](size_t c) {
      for (const RecordInfo& rec : chunks[c].records)
        for (RowIndex r = rec.first_row; r < rec.first_row + rec.rows; ++r)
          out.input_lines[off.row[c] + r] = rec.line + off.line[c];
    };
    if (chunks.size() <= 1) {
      for (size_t c = 0; c < chunks.size(); ++c) fill(c);
    } else {
      tbb::parallel_for(size_t{0}, chunks.size(), fill);
    }
  }
  int64_t kept = static_cast<int64_t>(records.size());
  if (!any_refused) return kept;
  for (uint8_t x : refused) kept -= x;
  for (int f = 0; f < out.batch.schema().size(); ++f) {
    Column& c = out.batch.column(f);
    if (c.type == ValueType::kInt) CompactVector(c.ints, keep);
    else if (c.type == ValueType::kBool) CompactBitmap(c.bits, keep);
    else CompactVector(c.codes, keep);
    if (c.nullable) CompactBitmap(c.valid, keep);
  }
  CompactVector(out.input_lines, keep);
  out.batch.SetSize(static_cast<RowIndex>(keep.size()));
  return kept;
}

void SortByLine(std::vector<LoadError>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const LoadError& a, const LoadError& b) { return a.line < b.line; });
}

}  // namespace

Result<LoadedClaims> AssembleChunks(std::vector<ChunkBuilder>& chunks, const Schema& schema,
                                    const LoadOptions& options, int64_t extra_records_read,
                                    std::vector<Column>* in_place) {
  for (ChunkBuilder& c : chunks) c.FlushStrings();
  Result<ChunkOffsets> offsets = OffsetsOf(chunks);
  if (!offsets.ok()) return offsets.status();
  const ChunkOffsets& off = *offsets;
  LoadedClaims out;
  out.batch = ClaimBatch(schema);

  // Errors with absolute lines; the records stay in their chunks.
  std::vector<LoadError> errors;
  for (size_t c = 0; c < chunks.size(); ++c) {
    for (LoadError& e : chunks[c].errors) {
      e.line += off.line[c];
      errors.push_back(std::move(e));
    }
  }
  const AllRecords records(chunks, off);
  SortByLine(errors);
  const int64_t first_error_line = errors.empty() ? INT64_MAX : errors.front().line;

  // Columns in parallel (one chunk, e.g. an online claim: no task scheduling).
  // In place only if every chunk stayed there (a chunk that outgrew its rows
  // left; then every column is copied, the in-place rows read as sources).
  bool all_in_place = in_place != nullptr;
  for (const ChunkBuilder& c : chunks) all_in_place = all_in_place && c.in_place();
  auto merge = [&](int f) {
    MergeColumn(chunks, off, f, out.batch.column(f), all_in_place ? &(*in_place)[static_cast<size_t>(f)] : nullptr);
  };
  if (chunks.size() <= 1) {
    for (int f = 0; f < schema.size(); ++f) merge(f);
  } else {
    tbb::parallel_for(0, schema.size(), merge);
  }
  out.batch.SetSize(off.rows);

  std::vector<uint8_t> refused;
  const bool any_refused = AssignLineNumbers(out.batch, records, options, first_error_line, errors, refused);
  SortByLine(errors);
  if (options.on_error == OnError::kFail && !errors.empty()) return Status::Invalid(FormatLoadError(errors.front()));
  const int64_t loaded_records = KeepAcceptedRows(out, chunks, off, records, refused, any_refused);

  // seq defaults: 1-based position among the loaded lines.
  Column& seq = out.batch.column(kSeq);
  for (RowIndex r = 0; r < out.batch.size(); ++r)
    if (!seq.valid.Get(r)) seq.ints[r] = static_cast<int64_t>(r) + 1;
  for (int f : {static_cast<int>(kLineNo), static_cast<int>(kSeq)}) {
    out.batch.column(f).nullable = false;
    out.batch.column(f).valid = Bitmap();
  }

  out.errors = std::move(errors);
  out.records_loaded = loaded_records;
  out.records_read = loaded_records + static_cast<int64_t>(out.errors.size()) + extra_records_read;
  return out;
}

}  // namespace sanad
