#pragma once
/// FieldLookup: maps an input field name to its schema index quickly
/// (bucketed by length, then memcmp), -1 for names the schema does not know.

#include <cstring>
#include <string_view>
#include <vector>

#include "sanad/core/schema.h"

namespace sanad::internal {

class FieldLookup {
 public:
  explicit FieldLookup(const Schema& schema) {
    for (int f = 0; f < schema.size(); ++f) {
      const std::string& n = schema.field(f).name;
      if (n.size() >= by_len_.size()) by_len_.resize(n.size() + 1);
      by_len_[n.size()].push_back({n, f});
    }
  }
  int Find(std::string_view name) const {
    if (name.size() >= by_len_.size()) return -1;
    for (const Entry& e : by_len_[name.size()])
      if (std::memcmp(e.name.data(), name.data(), name.size()) == 0) return e.index;
    return -1;
  }

 private:
  struct Entry {
    std::string_view name;
    int index;
  };
  std::vector<std::vector<Entry>> by_len_;
};

}  // namespace sanad::internal
