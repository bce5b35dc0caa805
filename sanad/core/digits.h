#pragma once
/// GroupDigits: a decimal number with its digits grouped in threes for
/// people — "12,500,000" in tables and summaries, "500_000_000" where an
/// analyst reads rule text (explain-plan). Files keep plain digits.

#include <string>
#include <string_view>

namespace sanad {

/// `decimal` is an optional '-' and digits, as std::to_string writes them.
inline std::string GroupDigits(std::string_view decimal, char separator) {
  const size_t sign = !decimal.empty() && decimal[0] == '-' ? 1 : 0;
  std::string out(decimal.substr(0, sign));
  for (size_t i = sign; i < decimal.size(); ++i) {
    if (i > sign && (decimal.size() - i) % 3 == 0) out += separator;
    out += decimal[i];
  }
  return out;
}

}  // namespace sanad
