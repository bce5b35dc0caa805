#pragma once
/// Basic value types shared by the claim store, the plan and the kernels.

#include <cstdint>
#include <string_view>

namespace sanad {

/// Index of a claim line inside a batch (input order). One index type everywhere.
using RowIndex = uint32_t;

/// Dates are days since 1970-01-01 (Gregorian), as int32.
using Days = int32_t;

/// The value types of the language and of claim-line fields.
enum class ValueType : uint8_t { kInt, kString, kBool, kDate };

inline std::string_view ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kInt: return "int";
    case ValueType::kString: return "string";
    case ValueType::kBool: return "bool";
    case ValueType::kDate: return "date";
  }
  return "?";
}

}  // namespace sanad
