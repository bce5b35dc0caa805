#pragma once
// A ClaimBatch as the reference evaluator's lines (field name -> value).

#include <string>
#include <vector>

#include "core/claim_batch.h"
#include "tests/reference/reference_evaluator.h"

namespace sanad {

inline std::vector<reference::Line> ToReferenceLines(const ClaimBatch& b) {
  std::vector<reference::Line> out(b.size());
  for (RowIndex r = 0; r < b.size(); ++r) {
    for (int f = 0; f < b.schema().size(); ++f) {
      const FieldDef& def = b.schema().field(f);
      reference::Opt v;
      if (b.IsValid(f, r)) {
        reference::Value x;
        switch (def.type) {
          case ValueType::kString: x.is_string = true; x.s = std::string(b.String(f, r)); break;
          case ValueType::kInt: x.i = b.Int(f, r); break;
          case ValueType::kDate: x.i = b.Date(f, r); break;
          case ValueType::kBool: x.i = b.Bool(f, r); break;
        }
        if (def.type != ValueType::kString || b.column(f).codes[r] >= 0) v = x;
      }
      out[r].fields[def.name] = v;
    }
  }
  return out;
}

}  // namespace sanad
