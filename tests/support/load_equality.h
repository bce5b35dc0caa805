#pragma once
/// DescribeLoadDifference: the first difference between two loads of one
/// input (every column value as text, validity, errors, input lines, counts),
/// or "" when they are the same. Used by the thread-count independence tests
/// and fuzz targets: loading must give identical records however the input
/// is split into chunks.

#include <string>

#include "sanad/core/ingest/load_options.h"

namespace sanad::testing {

inline std::string CellText(const ClaimBatch& b, int f, RowIndex r) {
  const Column& c = b.column(f);
  if (!c.IsValid(r)) return "<null>";
  switch (c.type) {
    case ValueType::kString: return "s:" + std::string(c.dict.View(c.codes[r]));
    case ValueType::kDate: return "d:" + std::to_string(c.codes[r]);
    case ValueType::kInt: return "i:" + std::to_string(c.ints[r]);
    case ValueType::kBool: return c.bits.Get(r) ? "true" : "false";
  }
  return "?";
}

inline std::string DescribeLoadDifference(const LoadedClaims& a, const LoadedClaims& b) {
  if (a.records_read != b.records_read || a.records_loaded != b.records_loaded)
    return "records read/loaded " + std::to_string(a.records_read) + "/" + std::to_string(a.records_loaded) +
           " vs " + std::to_string(b.records_read) + "/" + std::to_string(b.records_loaded);
  if (a.errors.size() != b.errors.size())
    return "errors " + std::to_string(a.errors.size()) + " vs " + std::to_string(b.errors.size());
  for (size_t i = 0; i < a.errors.size(); ++i)
    if (!(a.errors[i] == b.errors[i])) return "error " + FormatLoadError(a.errors[i]) + " vs " + FormatLoadError(b.errors[i]);
  if (a.batch.size() != b.batch.size())
    return "rows " + std::to_string(a.batch.size()) + " vs " + std::to_string(b.batch.size());
  if (a.input_lines != b.input_lines) return "input lines differ";
  for (int f = 0; f < a.batch.schema().size(); ++f) {
    if (a.batch.column(f).type == ValueType::kString &&
        a.batch.column(f).codes != b.batch.column(f).codes)
      return "codes of field " + a.batch.schema().field(f).name + " differ";
    for (RowIndex r = 0; r < a.batch.size(); ++r) {
      std::string x = CellText(a.batch, f, r), y = CellText(b.batch, f, r);
      if (x != y) return "row " + std::to_string(r) + " field " + a.batch.schema().field(f).name + ": " + x + " vs " + y;
    }
  }
  return "";
}

}  // namespace sanad::testing
