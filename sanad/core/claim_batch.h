#pragma once
/// ClaimBatch: claim lines as struct-of-arrays, in input order.
///   string -> int32 dictionary code per field (StringDictionary)
///   date   -> int32 days since 1970-01-01
///   int    -> int64
///   bool   -> one bit
/// Nullable fields carry a validity bitmap (1 = present). line_no, seq,
/// quantity and referral always hold a value after loading (their defaults).
/// A batch is immutable once built; concurrent readers are safe.

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "sanad/core/big_vector.h"
#include "sanad/core/bitmap.h"
#include "sanad/core/schema.h"
#include "sanad/core/string_dictionary.h"
#include "sanad/core/types.h"

namespace sanad {

struct Column {
  ValueType type = ValueType::kInt;
  bool nullable = false;
  // resize() leaves new entries uninitialised (ColumnVector): write them.
  ColumnVector<int32_t> codes;  // kString (dictionary code) and kDate (days)
  ColumnVector<int64_t> ints;   // kInt
  Bitmap bits;                 // kBool values
  Bitmap valid;                // nullable fields only
  StringDictionary dict;       // kString only

  bool IsValid(RowIndex r) const { return !nullable || valid.Get(r); }
  size_t MemoryBytes(bool with_dictionary) const;
};

class ClaimBatch {
 public:
  ClaimBatch() = default;
  explicit ClaimBatch(Schema schema);

  const Schema& schema() const { return schema_; }
  RowIndex size() const { return size_; }
  Column& column(int field) { return columns_[static_cast<size_t>(field)]; }
  const Column& column(int field) const { return columns_[static_cast<size_t>(field)]; }

  // Typed accessors for the standard fields (valid rows only for nullable ones).
  std::string_view String(int field, RowIndex r) const {
    const Column& c = column(field);
    return c.dict.View(c.codes[r]);
  }
  int64_t Int(int field, RowIndex r) const { return column(field).ints[r]; }
  Days Date(int field, RowIndex r) const { return column(field).codes[r]; }
  bool Bool(int field, RowIndex r) const { return column(field).bits.Get(r); }
  bool IsValid(int field, RowIndex r) const { return column(field).IsValid(r); }

  /// Bytes of the column arrays and bitmaps (without dictionaries), and of dictionaries.
  size_t ColumnBytes() const;
  size_t DictionaryBytes() const;

  // Builders fill columns directly and then set the size.
  void SetSize(RowIndex n) { size_ = n; }

 private:
  Schema schema_;
  std::vector<Column> columns_;
  RowIndex size_ = 0;
};

/// Appends rows [from, to) of `src` to `dst` (same schema), re-interning
/// strings into dst's dictionaries. For small batches (online claims, tests).
void AppendRows(const ClaimBatch& src, RowIndex from, RowIndex to, ClaimBatch& dst);

}  // namespace sanad
