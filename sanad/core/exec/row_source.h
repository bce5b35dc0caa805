#pragma once
/// RowSource: raw column pointers the expression kernels read fields from.
/// Usually a ClaimBatch's columns; Bind() also builds synthetic sources whose
/// "rows" are the codes of one dictionary, to tabulate per-code results.

#include <cstdint>
#include <vector>

#include "sanad/core/claim_batch.h"

namespace sanad {

struct FieldView {
  ValueType type = ValueType::kInt;
  const int32_t* codes = nullptr;   // string codes (-1 = null) / date days
  const int64_t* ints = nullptr;
  const uint64_t* bits = nullptr;   // bool values
  const uint64_t* valid = nullptr;  // nullptr: every row has a value
  const StringDictionary* dict = nullptr;

  bool IsValid(RowIndex r) const { return valid == nullptr || ((valid[r >> 6] >> (r & 63)) & 1); }
};

struct RowSource {
  std::vector<FieldView> fields;
  RowIndex size = 0;

  static RowSource FromBatch(const ClaimBatch& batch) {
    RowSource s;
    s.size = batch.size();
    for (int f = 0; f < batch.schema().size(); ++f) {
      const Column& c = batch.column(f);
      FieldView v;
      v.type = c.type;
      v.codes = c.codes.empty() ? nullptr : c.codes.data();
      v.ints = c.ints.empty() ? nullptr : c.ints.data();
      v.bits = c.bits.word_count() ? c.bits.words() : nullptr;
      v.valid = c.nullable && c.valid.word_count() ? c.valid.words() : nullptr;
      v.dict = &c.dict;
      s.fields.push_back(v);
    }
    return s;
  }
};

}  // namespace sanad
