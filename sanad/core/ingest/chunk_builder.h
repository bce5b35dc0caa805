#pragma once
/// ChunkBuilder: collects the claim lines parsed from one chunk of input into
/// chunk-local columns and dictionaries. Parsers fill RawValues per record;
/// the builder validates them (required fields, negative amounts, defaults)
/// and appends, or rolls the whole record back. One builder per thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sanad/core/claim_batch.h"
#include "sanad/core/ingest/load_options.h"

namespace sanad {

/// A parsed field value before validation. Strings point into the input or
/// the parser's buffer and must stay valid until AppendLine returns.
struct RawValue {
  enum State : uint8_t { kAbsent, kNull, kValue };
  State state = kAbsent;
  int64_t i = 0;        // int, bool (0/1), date (days)
  std::string_view s;   // string
};

struct RecordInfo {
  int64_t line;       // chunk-relative until assembled, then absolute
  RowIndex first_row; // chunk-local until assembled
  uint32_t rows;
};

class ChunkBuilder {
 public:
  ChunkBuilder(const Schema& schema, const LoadOptions& options);

  /// Parsers call this after each record with the bytes of the chunk read
  /// so far and the chunk's size. After the first 4,096 lines every column
  /// reserves room for the lines the whole chunk will hold at that rate
  /// (plus 5%), so columns do not grow by doubling: each doubling copied
  /// the column into fresh pages, and fresh pages cost a fault and the
  /// kernel's zeroing (4 ms per MB on our VMs).
  void NoteProgress(size_t bytes_read, size_t chunk_bytes);

  /// In place: this chunk's int, date and code values go straight into the
  /// batch's columns, rows [first_row, first_row + capacity) of
  /// `batch_columns` (sized by the reader for the whole input; the CSV
  /// reader gives each chunk as many rows as it has newlines, plus one, so
  /// a chunk cannot outgrow them). The assembler then only renumbers codes
  /// and closes the gaps between chunks, instead of copying every column
  /// into fresh memory (1.0-1.3 s of a 5M-line load on our VMs). Should a
  /// chunk fill its rows anyway, it moves to columns of its own and the
  /// assembler copies as before.
  void WriteInPlace(std::vector<Column>& batch_columns, RowIndex first_row, RowIndex capacity);
  /// Where this chunk's values of field f are (in place or its own).
  const int32_t* codes_of(int f) const;
  const int64_t* ints_of(int f) const;
  bool in_place() const { return in_place_; }

  void BeginRecord(int64_t line);
  /// Validates and appends one claim line. On a bad value fills `error`
  /// (field and message; line filled by the caller) and returns false.
  bool AppendLine(const RawValue* values, LoadError* error);
  void CommitRecord();
  /// Drops every line appended since BeginRecord and records `error`.
  void FailRecord(LoadError error);
  /// Interns the strings still queued (below); the assembler calls it
  /// before it reads the columns.
  void FlushStrings();

  const Schema& schema() const { return *schema_; }
  const LoadOptions& options() const { return *options_; }
  RowIndex rows() const { return rows_; }

  // Read by the assembler.
  std::vector<Column> columns;
  std::vector<RecordInfo> records;
  std::vector<LoadError> errors;  // chunk-relative lines
  int64_t line_count = 0;         // physical lines in the chunk

 private:
  void Truncate(RowIndex rows);
  void LeavePlace();  // copy in-place values into own columns
  // `values` on each column's own value vector (none in place), `bits` on
  // its bitmaps.
  template <typename Values, typename Bits>
  void ForEachStore(Values&& values, Bits&& bits);
  int32_t* code_slots(int f) { return in_place_ ? in_codes_[static_cast<size_t>(f)] : columns[static_cast<size_t>(f)].codes.data(); }
  void PutCode(int f, int32_t v) {
    if (in_place_) in_codes_[static_cast<size_t>(f)][rows_] = v;
    else columns[static_cast<size_t>(f)].codes.push_back(v);
  }
  void PutInt(int f, int64_t v) {
    if (in_place_) in_ints_[static_cast<size_t>(f)][rows_] = v;
    else columns[static_cast<size_t>(f)].ints.push_back(v);
  }
  bool in_place_ = false;
  RowIndex in_capacity_ = 0;
  std::vector<int32_t*> in_codes_;  // per field, row 0 of this chunk (nullptr if not codes)
  std::vector<int64_t*> in_ints_;
  // Strings are not interned one by one: each string column queues its new
  // values (bytes copied, so parsers may reuse their buffers) and interns
  // a queue of kQueue at once with StringDictionary::InternBatch, writing
  // the codes into the rows that wait for them. A value equal to the
  // column's previous one (consecutive lines, the items of a nested claim)
  // takes its code, or its queue entry, without a lookup.
  static constexpr size_t kQueue = 48;
  static constexpr size_t kQueueBytes = size_t{1} << 20;  // queued bytes per column, at most about
  struct Queued {
    RowIndex row;
    uint32_t offset, size;  // in `bytes`
    int32_t same_as;        // an earlier entry with the same bytes, or -1
  };
  struct StringQueue {
    std::vector<Queued> entries;
    std::vector<uint64_t> hashes;  // of entries with same_as < 0, in order
    std::string bytes;
    int32_t last_code = -1;   // the previous value's code, once known
    int32_t last_entry = -1;  // or its queue entry
  };
  void Queue(int f, std::string_view s);
  void Flush(int f);
  std::vector<StringQueue> queues_;  // per field (string fields only used)
  bool reserved_ = false;
  const Schema* schema_;
  const LoadOptions* options_;
  RowIndex rows_ = 0;
  RowIndex record_start_ = 0;
  int64_t record_line_ = 0;
};

/// Merges chunk builders (in input order) into one batch: dictionaries are
/// merged in chunk order so codes follow first appearance in the input and
/// do not depend on how the input was split. Then assigns line_no and seq
/// defaults, refuses records with a duplicate (claim_id, line_no), and
/// applies the error mode. Fails (kFail) with the first error in input order.
/// `in_place`: the columns the chunks wrote into (WriteInPlace), if any;
/// kept alive until this returns.
Result<LoadedClaims> AssembleChunks(std::vector<ChunkBuilder>& chunks, const Schema& schema,
                                    const LoadOptions& options, int64_t extra_records_read = 0,
                                    std::vector<Column>* in_place = nullptr);

}  // namespace sanad
