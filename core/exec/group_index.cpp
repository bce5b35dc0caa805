#include "core/exec/group_index.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace sanad {

GroupIndex BuildGroupIndex(const ClaimBatch& batch, const std::vector<int>& keys) {
  GroupIndex g;
  const RowIndex n = batch.size();
  g.gid.assign(n, -1);
  if (keys.size() == 1 && batch.column(keys[0]).type == ValueType::kString) {
    const Column& c = batch.column(keys[0]);
    for (RowIndex r = 0; r < n; ++r) g.gid[r] = c.codes[r];  // -1 for null
    g.groups = c.dict.size();
    return g;
  }
  const size_t k = keys.size();
  std::vector<int64_t> tuples;  // k values per group
  std::vector<uint64_t> hashes;
  size_t cap = 1024;
  std::vector<int32_t> slots(cap, -1);
  std::vector<int64_t> tuple(k);
  for (RowIndex r = 0; r < n; ++r) {
    bool valid = true;
    for (size_t i = 0; i < k && valid; ++i) {
      const Column& c = batch.column(keys[i]);
      if (!c.IsValid(r)) { valid = false; break; }
      switch (c.type) {
        case ValueType::kString: tuple[i] = c.codes[r]; valid = c.codes[r] >= 0; break;
        case ValueType::kDate: tuple[i] = c.codes[r]; break;
        case ValueType::kInt: tuple[i] = c.ints[r]; break;
        case ValueType::kBool: tuple[i] = c.bits.Get(r); break;
      }
    }
    if (!valid) continue;
    const uint64_t h = XXH3_64bits(tuple.data(), k * sizeof(int64_t));
    size_t i = h & (cap - 1);
    int32_t found = -1;
    while (slots[i] >= 0) {
      const int32_t cand = slots[i];
      if (hashes[static_cast<size_t>(cand)] == h &&
          std::equal(tuple.begin(), tuple.end(), tuples.begin() + static_cast<ptrdiff_t>(static_cast<size_t>(cand) * k))) {
        found = cand;
        break;
      }
      i = (i + 1) & (cap - 1);
    }
    if (found < 0) {
      found = g.groups++;
      slots[i] = found;
      hashes.push_back(h);
      tuples.insert(tuples.end(), tuple.begin(), tuple.end());
      if (static_cast<size_t>(g.groups) * 2 > cap) {
        cap *= 2;
        slots.assign(cap, -1);
        for (int32_t q = 0; q < g.groups; ++q) {
          size_t j = hashes[static_cast<size_t>(q)] & (cap - 1);
          while (slots[j] >= 0) j = (j + 1) & (cap - 1);
          slots[j] = q;
        }
      }
    }
    g.gid[r] = found;
  }
  return g;
}

}  // namespace sanad
