#include "sanad/core/claim_batch.h"

namespace sanad {

size_t Column::MemoryBytes(bool with_dictionary) const {
  size_t n = codes.capacity() * sizeof(int32_t) + ints.capacity() * sizeof(int64_t) + bits.MemoryBytes() +
             valid.MemoryBytes();
  if (with_dictionary) n += dict.MemoryBytes();
  return n;
}

ClaimBatch::ClaimBatch(Schema schema) : schema_(std::move(schema)) {
  columns_.resize(static_cast<size_t>(schema_.size()));
  for (int i = 0; i < schema_.size(); ++i) {
    columns_[static_cast<size_t>(i)].type = schema_.field(i).type;
    columns_[static_cast<size_t>(i)].nullable = schema_.field(i).nullable;
  }
}

size_t ClaimBatch::ColumnBytes() const {
  size_t n = 0;
  for (const Column& c : columns_) n += c.MemoryBytes(false);
  return n;
}

size_t ClaimBatch::DictionaryBytes() const {
  size_t n = 0;
  for (const Column& c : columns_)
    if (c.type == ValueType::kString) n += c.dict.MemoryBytes();
  return n;
}

void AppendRows(const ClaimBatch& src, RowIndex from, RowIndex to, ClaimBatch& dst) {
  // src code -> dst code, each distinct string interned once; for a few rows
  // of a large dictionary (one claim taken from a file's batch) the strings
  // are interned row by row instead: a remap table the size of the
  // dictionary would cost more than the rows.
  std::vector<int32_t> remap;
  for (int f = 0; f < src.schema().size(); ++f) {
    const Column& s = src.column(f);
    Column& d = dst.column(f);
    const bool by_row = s.type == ValueType::kString && static_cast<size_t>(to - from) * 16 < static_cast<size_t>(s.dict.size());
    if (s.type == ValueType::kString && !by_row) remap.assign(static_cast<size_t>(s.dict.size()), -2);
    for (RowIndex r = from; r < to; ++r) {
      switch (s.type) {
        case ValueType::kString: {
          const int32_t c = s.codes[r];
          if (c < 0) {
            d.codes.push_back(-1);
            break;
          }
          if (by_row) {
            d.codes.push_back(d.dict.Intern(s.dict.View(c), s.dict.HashOf(c)));
            break;
          }
          int32_t& m = remap[static_cast<size_t>(c)];
          if (m == -2) m = d.dict.Intern(s.dict.View(c), s.dict.HashOf(c));
          d.codes.push_back(m);
          break;
        }
        case ValueType::kDate: d.codes.push_back(s.codes[r]); break;
        case ValueType::kInt: d.ints.push_back(s.ints[r]); break;
        case ValueType::kBool: d.bits.PushBack(s.bits.Get(r)); break;
      }
      if (d.nullable) d.valid.PushBack(s.IsValid(r));
    }
  }
  dst.SetSize(dst.size() + (to - from));
}

}  // namespace sanad
