#include "sanad/core/exec/key_partitions.h"

#include <algorithm>

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace sanad {
namespace {

constexpr RowIndex kBlock = 1 << 16;
constexpr int kMaxShift = 10;  // at most 1024 partitions

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

int ShiftFor(int64_t count, int per) {
  int shift = 0;
  while (shift < kMaxShift && (int64_t{1} << shift) * std::max(1, per) < count) ++shift;
  return shift;
}

// Per-thread scratch for putting one partition into line order.
struct SortScratch {
  std::vector<uint64_t> a, b;  // (rank << 32 | slot)
  std::vector<RowIndex> rows;
  std::vector<int32_t> ints;
  std::vector<uint64_t> words;
  std::vector<int64_t> longs;
};

// Sorts slots [b, e) by rank (unique): LSD radix sort of (rank, slot) pairs
// in 11-bit digits, skipping digits where all ranks agree. Returns the
// pairs, sorted, in s.a.
void SortByRank(const RowIndex* rank, RowIndex b, RowIndex e, SortScratch& s) {
  const size_t m = e - b;
  s.a.resize(m);
  s.b.resize(m);
  RowIndex lo = ~RowIndex{0}, hi = 0;
  for (size_t i = 0; i < m; ++i) {
    const RowIndex r = rank[b + i];
    s.a[i] = (static_cast<uint64_t>(r) << 32) | i;
    lo = std::min(lo, r);
    hi = std::max(hi, r);
  }
  const uint32_t differ = m ? lo ^ hi : 0;
  for (int shift = 0; shift < 32 && (differ >> shift) != 0; shift += 11) {
    size_t count[2049] = {};
    for (uint64_t x : s.a) ++count[((x >> (32 + shift)) & 2047) + 1];
    for (int d = 0; d < 2048; ++d) count[d + 1] += count[d];
    for (uint64_t x : s.a) s.b[count[(x >> (32 + shift)) & 2047]++] = x;
    s.a.swap(s.b);
  }
}

// Applies the order in s.a to values[b .. e) (width words per slot).
template <typename T>
void Permute(T* values, size_t width, RowIndex b, RowIndex e, const SortScratch& s, std::vector<T>& tmp) {
  const size_t m = e - b;
  tmp.assign(values + static_cast<size_t>(b) * width, values + static_cast<size_t>(e) * width);
  for (size_t i = 0; i < m; ++i) {
    const size_t from = static_cast<uint32_t>(s.a[i]);
    std::copy_n(tmp.data() + from * width, width, values + (static_cast<size_t>(b) + i) * width);
  }
}

// Splits rows by part_of(row) (-1: left out) with a parallel counting
// scatter over input order (sequential reads; partitions in input order),
// setting group to group_of(row) and, with key_words, copying each row's
// `width` key words into *words; then sorts each partition into line order
// by rank, permuting them all.
template <typename PartOf, typename GroupOf>
void Scatter(const ClaimBatch& batch, int parts, const BigVector<RowIndex>& rank, PartOf part_of, GroupOf group_of,
             const uint64_t* key_words, size_t width, const CarriedColumns& carry, KeyPartitions& kp, BigVector<uint64_t>* words) {
  const RowIndex n = batch.size();
  const int32_t* codes = carry.service_code ? batch.column(kServiceCode).codes.data() : nullptr;
  std::vector<const int64_t*> ints;
  for (int f : carry.int_fields) ints.push_back(batch.column(f).ints.data());
  const int32_t* days = batch.column(kServiceDate).codes.data();
  const RowIndex blocks = std::max<RowIndex>(1, (n + kBlock - 1) / kBlock);
  const size_t np = static_cast<size_t>(parts);
  std::vector<RowIndex> count(static_cast<size_t>(blocks) * np, 0);
  tbb::parallel_for(RowIndex{0}, blocks, [&](RowIndex b) {
    RowIndex* c = count.data() + static_cast<size_t>(b) * np;
    for (RowIndex r = b * kBlock, e = std::min<RowIndex>(n, r + kBlock); r < e; ++r) {
      const int p = part_of(r);
      if (p >= 0) ++c[p];
    }
  });
  kp.parts = parts;
  kp.begin.assign(np + 1, 0);
  RowIndex at = 0;
  for (size_t p = 0; p < np; ++p) {
    kp.begin[p] = at;
    for (RowIndex b = 0; b < blocks; ++b) {
      RowIndex& c = count[static_cast<size_t>(b) * np + p];
      const RowIndex lines = c;
      c = at;
      at += lines;
    }
  }
  kp.begin[np] = at;
  kp.row.resize(at);
  kp.day.resize(at);
  kp.group.resize(at);
  BigVector<RowIndex> prank(at);
  if (key_words) words->resize(static_cast<size_t>(at) * width);
  if (codes) kp.code.resize(at);
  kp.ints.clear();
  for (int f : carry.int_fields) kp.ints.emplace_back(f, BigVector<int64_t>(at));
  tbb::parallel_for(RowIndex{0}, blocks, [&](RowIndex b) {
    RowIndex* next = count.data() + static_cast<size_t>(b) * np;
    for (RowIndex r = b * kBlock, e = std::min<RowIndex>(n, r + kBlock); r < e; ++r) {
      const int p = part_of(r);
      if (p < 0) continue;
      const RowIndex i = next[p]++;
      kp.row[i] = r;
      kp.day[i] = days[r];
      prank[i] = rank[r];
      kp.group[i] = group_of(r);
      if (codes) kp.code[i] = codes[r];
      for (size_t c = 0; c < ints.size(); ++c) kp.ints[c].second[i] = ints[c][r];
      if (key_words) std::copy_n(key_words + static_cast<size_t>(r) * width, width, words->data() + static_cast<size_t>(i) * width);
    }
  });
  tbb::enumerable_thread_specific<SortScratch> scratch;
  tbb::parallel_for(0, parts, [&](int p) {
    const RowIndex b = kp.begin[static_cast<size_t>(p)], e = kp.begin[static_cast<size_t>(p) + 1];
    if (e - b < 2) return;
    SortScratch& s = scratch.local();
    SortByRank(prank.data(), b, e, s);
    Permute(kp.row.data(), 1, b, e, s, s.rows);
    Permute(kp.day.data(), 1, b, e, s, s.ints);
    if (key_words) Permute(words->data(), width, b, e, s, s.words);  // hashed keys: groups are numbered afterwards
    else Permute(kp.group.data(), 1, b, e, s, s.ints);
    if (codes) Permute(kp.code.data(), 1, b, e, s, s.ints);
    for (auto& col : kp.ints) Permute(col.second.data(), 1, b, e, s, s.longs);
  });
}

// Hashed keys: `width` 64-bit words per row from key_of(row, out) (false:
// a key is null), partitioned by the high hash bits; groups are numbered
// in each partition by first appearance in line order.
template <typename KeyOf>
KeyPartitions HashedPartitions(const ClaimBatch& batch, const BigVector<RowIndex>& rank, int groups_per_partition,
                               const CarriedColumns& carry, size_t width, KeyOf key_of) {
  KeyPartitions kp;
  const RowIndex n = batch.size();
  BigVector<uint64_t> key(static_cast<size_t>(n) * width);
  BigVector<int32_t> part(n);
  const int shift = ShiftFor(n, groups_per_partition);
  tbb::parallel_for(tbb::blocked_range<RowIndex>(0, n, kBlock), [&](const tbb::blocked_range<RowIndex>& r) {
    for (RowIndex row = r.begin(); row < r.end(); ++row) {
      uint64_t* k = key.data() + static_cast<size_t>(row) * width;
      if (!key_of(row, k)) {
        part[row] = -1;
        continue;
      }
      const uint64_t h = width == 1 ? Mix64(k[0]) : XXH3_64bits(k, width * sizeof(uint64_t));
      part[row] = shift == 0 ? 0 : static_cast<int32_t>(h >> (64 - shift));
    }
  });
  BigVector<uint64_t> pkey;  // keys in partition order, then line order
  Scatter(
      batch, 1 << shift, rank, [&](RowIndex row) { return static_cast<int>(part[row]); }, [](RowIndex) { return 0; },
      key.data(), width, carry, kp, &pkey);
  // Groups by first appearance in line order, with a table the size of the partition.
  kp.groups.assign(static_cast<size_t>(kp.parts), 0);
  tbb::parallel_for(0, kp.parts, [&](int p) {
    const RowIndex b = kp.begin[static_cast<size_t>(p)], e = kp.begin[static_cast<size_t>(p) + 1];
    size_t cap = 16;
    while (cap < 2 * static_cast<size_t>(e - b)) cap *= 2;
    const uint64_t mask = cap - 1;
    std::vector<int32_t> slot_id(cap, -1);
    std::vector<RowIndex> slot_line(cap);  // a line with the slot's key
    int32_t next = 0;
    for (RowIndex i = b; i < e; ++i) {
      const uint64_t* t = pkey.data() + static_cast<size_t>(i) * width;
      uint64_t j = (width == 1 ? Mix64(t[0]) : XXH3_64bits(t, width * sizeof(uint64_t))) & mask;
      auto same = [&](RowIndex line) {
        const uint64_t* o = pkey.data() + static_cast<size_t>(line) * width;
        return width == 1 ? t[0] == o[0] : std::equal(t, t + width, o);
      };
      while (slot_id[j] >= 0 && !same(slot_line[j])) j = (j + 1) & mask;
      if (slot_id[j] < 0) {
        slot_id[j] = next++;
        slot_line[j] = i;
      }
      kp.group[i] = slot_id[j];
    }
    kp.groups[static_cast<size_t>(p)] = next;
  });
  return kp;
}

}  // namespace

BigVector<RowIndex> LineRanks(const BigVector<RowIndex>& order) {
  BigVector<RowIndex> rank(order.size());
  tbb::parallel_for(tbb::blocked_range<size_t>(0, order.size(), kBlock), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t k = r.begin(); k < r.end(); ++k) rank[order[k]] = static_cast<RowIndex>(k);
  });
  return rank;
}

KeyPartitions BuildKeyPartitions(const ClaimBatch& batch, const std::vector<int>& keys, const BigVector<RowIndex>& rank,
                                 int groups_per_partition, const CarriedColumns& carry) {
  const size_t nk = keys.size();
  if (nk == 1 && batch.column(keys[0]).type == ValueType::kString) {
    // The dictionary code is the group: partition code % parts, local id code / parts.
    KeyPartitions kp;
    const Column& c = batch.column(keys[0]);
    const int32_t groups = static_cast<int32_t>(c.dict.size());
    const int shift = ShiftFor(groups, groups_per_partition);
    const int32_t mask = (1 << shift) - 1;
    const int32_t* code = c.codes.data();  // -1 for null
    Scatter(
        batch, 1 << shift, rank, [&](RowIndex row) { return code[row] < 0 ? -1 : static_cast<int>(code[row] & mask); },
        [&](RowIndex row) { return code[row] >> shift; }, nullptr, 0, carry, kp, nullptr);
    kp.groups.resize(static_cast<size_t>(kp.parts));
    for (int p = 0; p < kp.parts; ++p) kp.groups[static_cast<size_t>(p)] = groups > p ? (groups - p + kp.parts - 1) / kp.parts : 0;
    return kp;
  }
  auto fits32 = [&](int f) { return batch.column(f).type != ValueType::kInt; };
  if (nk == 1 || (nk == 2 && fits32(keys[0]) && fits32(keys[1]))) {
    // One key, or two of at most 32 bits: one packed word.
    const Column& a = batch.column(keys[0]);
    const Column* b = nk == 2 ? &batch.column(keys[1]) : nullptr;
    return HashedPartitions(batch, rank, groups_per_partition, carry, 1, [&](RowIndex row, uint64_t* key) {
      int64_t x = 0, y = 0;
      if (!KeyValue(a, row, &x) || (b && !KeyValue(*b, row, &y))) return false;
      *key = b ? (static_cast<uint64_t>(static_cast<uint32_t>(x)) << 32) | static_cast<uint32_t>(y) : static_cast<uint64_t>(x);
      return true;
    });
  }
  // General tuples: one word per key.
  return HashedPartitions(batch, rank, groups_per_partition, carry, nk, [&](RowIndex row, uint64_t* key) {
    for (size_t f = 0; f < nk; ++f)
      if (!KeyValue(batch.column(keys[f]), row, reinterpret_cast<int64_t*>(key + f))) return false;
    return true;
  });
}

}  // namespace sanad
