#include "core/claim_batch.h"

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

}  // namespace sanad
