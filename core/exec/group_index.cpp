#include "core/exec/group_index.h"

#include <tbb/parallel_for.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace sanad {
namespace {

inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// Key value of one field as int64 (string codes, days, ints, bools); false if null.
inline bool KeyValue(const Column& c, RowIndex r, int64_t* out) {
  if (!c.IsValid(r)) return false;
  switch (c.type) {
    case ValueType::kString: *out = c.codes[r]; return c.codes[r] >= 0;
    case ValueType::kDate: *out = c.codes[r]; return true;
    case ValueType::kInt: *out = c.ints[r]; return true;
    case ValueType::kBool: *out = c.bits.Get(r); return true;
  }
  return false;
}

bool Fits32(const Column& c) { return c.type != ValueType::kInt; }

// Dense ids for 64-bit packed keys. Rows are radix-partitioned by hash so
// that each partition's hash table fits in cache; partitions are grouped in
// parallel and numbered in partition order (deterministic for any thread count).
GroupIndex GroupPacked(RowIndex n, const BigVector<uint64_t>& keys, const BigVector<uint8_t>& valid) {
  GroupIndex g;
  g.gid.assign(n, -1);
  int bits = 0;
  while (bits < 12 && (static_cast<size_t>(n) >> bits) > (size_t{1} << 15)) ++bits;
  const size_t parts = size_t{1} << bits;
  auto part_of = [bits](uint64_t h) { return bits == 0 ? size_t{0} : static_cast<size_t>(h >> (64 - bits)); };
  std::vector<size_t> start(parts + 1, 0);
  BigVector<uint64_t> hashes(n);
  for (RowIndex r = 0; r < n; ++r) {
    if (!valid[r]) continue;
    hashes[r] = Mix64(keys[r]);
    ++start[part_of(hashes[r]) + 1];
  }
  for (size_t p = 0; p < parts; ++p) start[p + 1] += start[p];
  BigVector<RowIndex> rows(start[parts]);
  {
    std::vector<size_t> fill(start.begin(), start.end() - 1);
    for (RowIndex r = 0; r < n; ++r)
      if (valid[r]) rows[fill[part_of(hashes[r])]++] = r;
  }
  std::vector<int32_t> groups_in(parts, 0);
  tbb::parallel_for(size_t{0}, parts, [&](size_t p) {
    const size_t m = start[p + 1] - start[p];
    if (m == 0) return;
    size_t cap = 16;
    while (cap < m * 2) cap *= 2;
    const uint64_t mask = cap - 1;
    std::vector<uint64_t> slot_key(cap);
    std::vector<int32_t> slot_id(cap, -1);
    int32_t next = 0;
    for (size_t i = start[p]; i < start[p + 1]; ++i) {
      const RowIndex r = rows[i];
      const uint64_t k = keys[r];
      uint64_t j = hashes[r] & mask;
      while (slot_id[j] >= 0 && slot_key[j] != k) j = (j + 1) & mask;
      if (slot_id[j] < 0) {
        slot_id[j] = next++;
        slot_key[j] = k;
      }
      g.gid[r] = slot_id[j];  // local id for now
    }
    groups_in[p] = next;
  });
  std::vector<int32_t> offset(parts, 0);
  for (size_t p = 1; p < parts; ++p) offset[p] = offset[p - 1] + groups_in[p - 1];
  g.groups = parts ? offset[parts - 1] + groups_in[parts - 1] : 0;
  tbb::parallel_for(size_t{0}, parts, [&](size_t p) {
    for (size_t i = start[p]; i < start[p + 1]; ++i) g.gid[rows[i]] += offset[p];
  });
  return g;
}

}  // namespace

GroupIndex BuildGroupIndex(const ClaimBatch& batch, const std::vector<int>& keys) {
  GroupIndex g;
  const RowIndex n = batch.size();
  if (keys.size() == 1 && batch.column(keys[0]).type == ValueType::kString) {
    const Column& c = batch.column(keys[0]);
    g.gid.assign(c.codes.begin(), c.codes.end());  // -1 for null
    g.groups = c.dict.size();
    return g;
  }
  // One key of any type, or two keys of at most 32 bits: pack into 64 bits.
  if (keys.size() == 1 || (keys.size() == 2 && Fits32(batch.column(keys[0])) && Fits32(batch.column(keys[1])))) {
    BigVector<uint64_t> packed(n);
    BigVector<uint8_t> valid(n, 1);
    const Column& a = batch.column(keys[0]);
    const Column* b = keys.size() == 2 ? &batch.column(keys[1]) : nullptr;
    for (RowIndex r = 0; r < n; ++r) {
      int64_t x = 0, y = 0;
      bool ok = KeyValue(a, r, &x);
      if (b) ok = ok && KeyValue(*b, r, &y);
      valid[r] = ok;
      packed[r] = b ? (static_cast<uint64_t>(static_cast<uint32_t>(x)) << 32) | static_cast<uint32_t>(y)
                    : static_cast<uint64_t>(x);
    }
    return GroupPacked(n, packed, valid);
  }
  // General tuples: XXH3 of the packed values, tuples kept for equality.
  const size_t k = keys.size();
  g.gid.assign(n, -1);
  std::vector<int64_t> tuples;
  std::vector<uint64_t> hashes;
  size_t cap = 1024;
  std::vector<int32_t> slots(cap, -1);
  std::vector<int64_t> tuple(k);
  for (RowIndex r = 0; r < n; ++r) {
    bool valid = true;
    for (size_t i = 0; i < k && valid; ++i) valid = KeyValue(batch.column(keys[i]), r, &tuple[i]);
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
